"""import_waiting_list FILE [FILE ...] (shared/spec/command-line.md).

Besides extracts it takes the two other files `simulate_trust` writes, so that a simulated
trust's whole folder imports as it is (`import_waiting_list OUT/*.csv`): capacity-plans.csv,
whose plans it records for the trust (`waitinglist/capacity_plans.py`), and truth.csv, which
it skips. Each is known by its header.
"""

import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from kombu.exceptions import OperationalError

from updates.tasks import digests_after_import
from waitinglist.capacity_plans import PlansRefused, header, is_plans_file, read_plans
from waitinglist.estimates import recompute
from waitinglist.importer import ImportRefused, import_snapshot
from waitinglist.models import CapacityChange, Provider
from waitinglist.simulation import TRUTH_COLUMNS


class Command(BaseCommand):
    help = "Imports open-pathways snapshots in the order given; prints one summary line each."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--report", type=Path, help="write the rejected rows here as CSV")
        parser.add_argument("--dry-run", action="store_true", help="validate; change nothing")
        parser.add_argument(
            "--allow-shrink",
            action="store_true",
            help="import a file listing under half last week's pathways",
        )
        parser.add_argument(
            "--provider",
            help="the trust a capacity plans file is for (default: the trust of the extracts)",
        )

    def handle(self, *args, **options) -> None:
        reports: list[tuple[Path, str]] = []
        imported, seen, replanned = {}, {}, {}
        extracts, plans = self.files_by_kind(options["files"])
        try:
            for path in extracts:
                started = time.perf_counter()
                try:
                    result = import_snapshot(
                        path, dry_run=options["dry_run"], allow_shrink=options["allow_shrink"]
                    )
                except ImportRefused as refusal:
                    reports.append((path, refusal.report_csv))
                    raise CommandError(f"{path.name}: refused: {refusal}") from None
                reports.append((path, result.report_csv))
                self.stdout.write(result.summary())
                if note := result.missed_weeks_note():
                    self.stderr.write(f"{path.name}: {note}")
                if options["verbosity"] > 1:
                    self.stderr.write(f"{path.name}: {time.perf_counter() - started:.1f} s")
                seen[result.snapshot.provider_id] = result.snapshot.provider
                if not options["dry_run"]:
                    imported[result.snapshot.provider_id] = result.snapshot.provider
            if plans:
                provider = self.plans_provider(options["provider"], seen)
                if self.record_plans(provider, plans, options["dry_run"]):
                    replanned[provider.pk] = provider
        finally:
            # Estimates follow every import that landed, even if a later file was refused, and
            # every new plan; updates to subscribers follow a new week only, as in the workspace.
            for provider in {**replanned, **imported}.values():
                started = time.perf_counter()
                outcome = recompute(provider)
                if options["verbosity"] > 1:
                    took = time.perf_counter() - started
                    self.stderr.write(f"{outcome.summary()} ({took:.1f} s)")
                if provider.pk in imported:
                    self.start_updates(provider)
            if options["report"]:
                write_report(options["report"], reports)

    def files_by_kind(self, files: list[Path]) -> tuple[list[Path], list[tuple[Path, list]]]:
        """The extracts, and each plans file with its plans, all checked before anything is
        imported; simulate_trust's truth.csv is left out. A folder stands for its .csv files,
        in name order (a simulated trust's weeks are named by date)."""
        extracts, plans = [], []
        for path in self.in_folders(files):
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            if is_plans_file(path):
                try:
                    plans.append((path, read_plans(path)))
                except PlansRefused as refusal:
                    raise CommandError(f"{path.name}: refused: {refusal}") from None
            elif header(path) == TRUTH_COLUMNS:
                self.stdout.write(
                    f"{path.name}: skipped: simulate_trust's record of when each pathway left, "
                    "not an extract"
                )
            else:
                extracts.append(path)
        return extracts, plans

    @staticmethod
    def in_folders(files: list[Path]) -> list[Path]:
        named = []
        for path in files:
            if path.is_dir():
                inside = sorted(path.glob("*.csv"))
                if not inside:
                    raise CommandError(f"{path}: a folder with no .csv files in it")
                named.extend(inside)
            else:
                named.append(path)
        return named

    @staticmethod
    def plans_provider(code: str | None, seen: dict) -> Provider:
        if code:
            if provider := Provider.objects.filter(ods_code=code.upper()).first():
                return provider
            raise CommandError(f"--provider {code}: not a trust in this portal")
        if len(seen) != 1:
            among = f" (the extracts given are of {len(seen)} trusts)" if seen else ""
            raise CommandError(
                f"capacity plans: say which trust they are for with --provider ODS{among}"
            )
        return next(iter(seen.values()))

    def record_plans(self, provider: Provider, files: list[tuple[Path, list]], dry_run) -> int:
        """Records the plans the trust does not have yet; returns how many were new."""
        added = 0
        with transaction.atomic():
            for path, plans in files:
                new = 0
                for plan in [] if dry_run else plans:
                    new += CapacityChange.objects.get_or_create(provider=provider, **plan)[1]
                added += new
                count = f"{len(plans)} planned capacity change{'s' if len(plans) != 1 else ''}"
                if dry_run:
                    outcome = f"{count} checked (dry run: nothing changed)"
                elif not plans:
                    outcome = "no planned capacity changes"
                else:
                    outcome = f"{count}, {new} newly recorded"
                self.stdout.write(f"{provider.ods_code} {path.name}: {outcome}")
        return added

    def start_updates(self, provider) -> None:
        """Subscribers' alerts and due digests follow the new week (a worker sends them)."""
        try:
            digests_after_import.delay(provider.pk)
        except OperationalError:
            self.stderr.write(
                f"{provider.ods_code}: updates not started (the task queue is unreachable); "
                "the weekly run will send them"
            )


def write_report(target: Path, reports: list[tuple[Path, str]]) -> None:
    """line, column, reason; with several files, a first column says which file."""
    several = len(reports) > 1
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow((["file"] if several else []) + ["line", "column", "reason"])
        for path, report in reports:
            rows = list(csv.reader(report.splitlines()))[1:]
            writer.writerows(([path.name] if several else []) + row for row in rows)
