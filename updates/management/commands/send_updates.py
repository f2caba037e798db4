"""send_updates --provider ODS (shared/spec/command-line.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from updates.compose import start_digest_run
from updates.tasks import publish
from waitinglist.models import Provider


class Command(BaseCommand):
    help = "Starts a digest run for the trust's subscribers now, exactly as the schedule would."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="the trust's ODS code")

    def handle(self, *args, **options) -> None:
        provider = Provider.objects.filter(ods_code=options["provider"].upper()).first()
        if provider is None:
            raise CommandError(f"{options['provider']} is not a trust in this portal")
        queued = start_digest_run(provider, timezone.localdate(), publish)
        self.stdout.write(f"{provider.ods_code}: {queued} update(s) queued")
