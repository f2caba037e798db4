"""import_waiting_list FILE [FILE ...] (shared/spec/command-line.md)."""

import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from updates.tasks import digests_after_import
from waitinglist.estimates import recompute
from waitinglist.importer import ImportRefused, import_snapshot


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

    def handle(self, *args, **options) -> None:
        reports: list[tuple[Path, str]] = []
        imported = {}
        try:
            for path in options["files"]:
                if not path.is_file():
                    raise CommandError(f"{path}: no such file")
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
                if options["verbosity"] > 1:
                    self.stderr.write(f"{path.name}: {time.perf_counter() - started:.1f} s")
                if not options["dry_run"]:
                    imported[result.snapshot.provider_id] = result.snapshot.provider
        finally:
            # Estimates follow every import that landed, even if a later file was refused.
            for provider in imported.values():
                started = time.perf_counter()
                outcome = recompute(provider)
                if options["verbosity"] > 1:
                    took = time.perf_counter() - started
                    self.stderr.write(f"{outcome.summary()} ({took:.1f} s)")
                self.start_updates(provider)
            if options["report"]:
                write_report(options["report"], reports)

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
