"""export_estimates --provider ODS --out PATH (shared/spec/command-line.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from waitinglist.export import write_estimates
from waitinglist.models import Provider


class Command(BaseCommand):
    help = "Writes each ranked pathway's queue, position and estimated dates as CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="ODS code, e.g. RXX")
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args, **options) -> None:
        code = options["provider"].upper()
        provider = Provider.objects.filter(ods_code=code).first()
        if provider is None:
            raise CommandError(f"{code} is not a trust in this portal")
        try:
            count = write_estimates(provider, options["out"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"wrote {count} pathways to {options['out']}")
