"""The export_estimates CSV (shared/spec/command-line.md): one row per ranked pathway."""

import csv
from pathlib import Path

from waitinglist.models import Estimate, PathwayWeek, Provider

COLUMNS = [
    "PATIENT_PATHWAY_IDENTIFIER", "queue", "position",
    "estimate_p10", "estimate_p50", "estimate_p90", "basis",
]  # fmt: skip

# A ranked pathway without a stored estimate: estimates not yet computed for this snapshot.
NOT_YET_ESTIMATED = "not-yet-estimated"


def write_estimates(provider: Provider, out: Path) -> int:
    """Writes the latest snapshot's ranked pathways to `out`; returns how many rows."""
    snapshot = provider.latest_snapshot
    if snapshot is None:
        raise ValueError(f"{provider.ods_code} has no imported snapshot yet")
    estimates = {e.pathway_id: e for e in Estimate.objects.filter(snapshot=snapshot).iterator(5000)}
    weeks = (
        PathwayWeek.objects.filter(snapshot=snapshot, position__isnull=False)
        .select_related("pathway__queue")
        .order_by("pathway__queue_id", "position")
    )
    count = 0
    with Path(out).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for week in weeks.iterator(chunk_size=5000):
            pathway = week.pathway
            estimate = estimates.get(pathway.pk)
            if estimate is None:
                dates, basis = ["", "", ""], NOT_YET_ESTIMATED
            else:
                dates = [
                    d.isoformat() if d else "" for d in (estimate.p10, estimate.p50, estimate.p90)
                ]
                basis = estimate.basis
            writer.writerow([pathway.identifier, pathway.queue.key, week.position, *dates, basis])
            count += 1
    return count
