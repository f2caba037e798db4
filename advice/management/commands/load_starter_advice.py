"""load_starter_advice --provider ODS [--publish]: the example advice library for a trust."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from advice import starter
from waitinglist.models import Provider


class Command(BaseCommand):
    help = "Adds the starter advice library (examples for the trust's clinicians to review)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="the trust's ODS code")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="publish them at once, marked as examples (for demonstrations)",
        )

    def handle(self, *args, **options) -> None:
        provider = Provider.objects.filter(ods_code=options["provider"].upper()).first()
        if provider is None:
            raise CommandError(f"{options['provider']} is not a trust in this portal")
        added = starter.load(provider, options["publish"], timezone.localdate())
        state = "published as examples" if options["publish"] else "as drafts for review"
        self.stdout.write(f"{provider.ods_code}: {added} starter articles added, {state}")
