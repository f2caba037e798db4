"""simulate_trust --provider ODS --weeks N --seed S --out DIR (shared/spec/command-line.md)."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from waitinglist.models import ods_code_validator
from waitinglist.simulation import SCENARIOS, simulate_trust


class Command(BaseCommand):
    help = (
        "Writes N weekly open-pathways extracts of a synthetic trust, plus truth.csv and "
        "capacity-plans.csv."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="ODS code, e.g. RXX")
        parser.add_argument("--weeks", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, required=True, help="folder to write into")
        parser.add_argument("--pathways", type=int, default=5000, help="open pathways at start")
        parser.add_argument("--scenario", choices=SCENARIOS, default="steady")
        parser.add_argument(
            "--last-week",
            type=date.fromisoformat,
            help="the last week-ending Sunday (default: the latest)",
        )

    def handle(self, *args, **options) -> None:
        provider = options["provider"].upper()
        if not ods_code_validator.regex.fullmatch(provider):
            raise CommandError(f"--provider {provider!r} is not an ODS code of 3 to 5 characters")
        if options["weeks"] < 1 or options["pathways"] < 1:
            raise CommandError("--weeks and --pathways must be at least 1")
        last_week = options["last_week"]
        if last_week and last_week.weekday() != 6:
            raise CommandError(f"--last-week {last_week} is not a Sunday")
        files = simulate_trust(
            provider,
            options["weeks"],
            options["seed"],
            options["out"],
            pathways=options["pathways"],
            scenario=options["scenario"],
            last_week=last_week,
        )
        self.stdout.write(
            f"wrote {len(files)} weekly extracts, truth.csv and capacity-plans.csv to "
            f"{options['out']}"
        )
