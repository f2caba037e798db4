"""Trust workspace figures: queues, one queue's history, engagement, and their CSV downloads.

Every query starts from `request.user.provider`: another trust's queue id gives 404.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from portal.access import trust_admin_required, trust_staff_required
from portal.csv import csv_response
from updates.models import OutboxMessage
from updates.reports import RECENT_DAYS
from waitinglist import workspace
from waitinglist.workspace import weeks


def _number(value: float | None, places: int = 1) -> float | None:
    return None if value is None else round(value, places)


@trust_staff_required
def queues(request: HttpRequest) -> HttpResponse:
    table = workspace.queue_table(request.user.provider)
    context = {"table": table, "recent_weeks": workspace.RECENT_WEEKS}
    return render(request, "waitinglist/workspace/queues.html", context)


@trust_staff_required
def queue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    trust = request.user.provider
    queue = get_object_or_404(trust.queues, pk=pk)
    context = {"history": workspace.queue_history(trust, queue)}
    return render(request, "waitinglist/workspace/queue.html", context)


QUEUE_COLUMNS = [
    "queue", "name", "week_ending", "size", "ranked", "joiners", "leavers",
    f"joiners_mean_{workspace.RECENT_WEEKS}_weeks", f"leavers_mean_{workspace.RECENT_WEEKS}_weeks",
    "median_wait_weeks", "p92_wait_weeks",
]  # fmt: skip
ACCURACY_COLUMNS = ["median_abs_error_weeks", "inside_p10_p90", "later_than_p50"]


@trust_staff_required
def queues_csv(request: HttpRequest) -> HttpResponse:
    table = workspace.queue_table(request.user.provider)
    header = QUEUE_COLUMNS + [
        f"{method}_{column}" for method in workspace.SHOWN_METHODS for column in ACCURACY_COLUMNS
    ]
    header.append("backtest_last_week")
    rows = []
    for row in table.rows:
        line = [row.queue.key, row.name, table.snapshot.week_ending, row.week.size]
        line += [row.week.ranked, row.week.joiners, row.week.leavers]
        line += [_number(row.joiners_mean), _number(row.leavers_mean)]
        line += [_number(row.median_weeks), _number(row.p92_weeks)]
        for method in workspace.SHOWN_METHODS:
            found = row.accuracy.get(method)
            line += [_number(getattr(found, c, None), 3) for c in ACCURACY_COLUMNS]
        backtested = next(iter(row.accuracy.values()), None)
        line.append(backtested.last_week if backtested else None)
        rows.append(line)
    return csv_response(f"queues-{request.user.provider.ods_code}.csv", header, rows)


@trust_staff_required
def queue_csv(request: HttpRequest, pk: int) -> HttpResponse:
    queue = get_object_or_404(request.user.provider.queues, pk=pk)
    header = ["week_ending", "size", "ranked", "joiners", "leavers"]
    header += ["mean_wait_weeks", "median_wait_weeks", "p92_wait_weeks"]
    rows = map(_week_row, workspace.queue_weeks(queue))
    return csv_response(f"queue-{queue.key}.csv", header, rows)


def _week_row(w) -> list:
    waits = [w.mean_wait_days, w.median_wait_days, w.p92_wait_days]
    return [w.snapshot.week_ending, w.size, w.ranked, w.joiners, w.leavers] + [
        _number(weeks(days)) for days in waits
    ]


@trust_staff_required
def engagement(request: HttpRequest) -> HttpResponse:
    figures = workspace.engagement(request.user.provider)
    context = {
        "figures": figures,
        "page_answers": [
            (f"Last {RECENT_DAYS} days", figures.page_recent),
            ("All time", figures.page_all),
        ],
        "subscribers": figures.subscriber_rows,
        "states": OutboxMessage.State.choices,
        "recent_days": RECENT_DAYS,
    }
    return render(request, "waitinglist/workspace/engagement.html", context)


@trust_staff_required
def engagement_csv(request: HttpRequest) -> HttpResponse:
    figures = workspace.engagement(request.user.provider)
    rows = workspace.engagement_rows(figures)
    filename = f"engagement-{request.user.provider.ods_code}.csv"
    return csv_response(filename, ["section", "measure", "value"], rows)


@trust_admin_required
def imports_csv(request: HttpRequest) -> HttpResponse:
    """The trust's import history: each week's counts, rejects and who imported it."""
    snapshots = request.user.provider.snapshots.select_related("imported_by")
    header = ["week_ending", "file_name", "rows_read", "pathways_imported", "rows_rejected"]
    header += ["joiners", "leavers", "imported_at", "imported_by"]
    rows = (
        [s.week_ending, s.file_name, s.rows_read, s.pathways_imported, s.rows_rejected, s.joiners,
         s.leavers, s.imported_at, s.imported_by.email if s.imported_by else None]
        for s in snapshots.order_by("-week_ending")
    )  # fmt: skip
    return csv_response(f"imports-{request.user.provider.ods_code}.csv", header, rows)
