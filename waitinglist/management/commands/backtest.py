"""backtest --provider ODS (shared/spec/command-line.md)."""

from django.core.management.base import BaseCommand, CommandError

from waitinglist import backtest
from waitinglist.models import Provider


class Command(BaseCommand):
    help = (
        "Replays the imported history: estimates at past weeks with only what was known then, "
        "scored against what happened, for the portal's method and three baselines."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="ODS code, e.g. RXX")
        parser.add_argument(
            "--step", type=int, default=backtest.DEFAULT_STEP, help="weeks between origins"
        )

    def handle(self, *args, **options) -> None:
        code = options["provider"].upper()
        provider = Provider.objects.filter(ods_code=code).first()
        if provider is None:
            raise CommandError(f"{code} is not a trust in this portal")
        if options["step"] < 1:
            raise CommandError("--step must be 1 or more")
        result = backtest.run(provider, step=options["step"])
        if not result.origins:
            weeks = provider.snapshots.count()
            if weeks >= backtest.weeks_needed():  # rare: every week it could replay was missed
                raise CommandError(
                    f"{code} has too little history to replay: none of the weeks a back-test "
                    "would start from was imported"
                )
            raise CommandError(
                f"{code} has too little history to replay: {weeks} weekly "
                f"snapshot{'' if weeks == 1 else 's'} imported, and a back-test needs "
                f"{backtest.weeks_needed()}"
            )
        for line in result.lines():
            self.stdout.write(line)
        # The trust workspace shows the latest run's accuracy beside each queue.
        backtest.store(provider, result)
