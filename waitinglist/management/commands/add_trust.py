"""add_trust --provider ODS --name NAME: adds a trust, so that its extracts can be imported."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from waitinglist.models import Provider


class Command(BaseCommand):
    help = "Adds a trust to the portal (or renames it), so that its extracts can be imported."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="ODS code, e.g. RXX")
        parser.add_argument("--name", required=True, help="e.g. 'Example Hospitals NHS Trust'")
        parser.add_argument(
            "--split-queues-by-consultant",
            action="store_true",
            help="run a separate queue for each consultant's list",
        )

    def handle(self, *args, **options) -> None:
        code, name = options["provider"].strip().upper(), " ".join(options["name"].split())
        provider = Provider.objects.filter(ods_code=code).first()
        added = provider is None
        provider = provider or Provider(ods_code=code)
        provider.name = name
        if options["split_queues_by_consultant"]:
            provider.split_queues_by_consultant = True
        try:
            provider.full_clean()
        except ValidationError as error:
            field, [message, *_] = next(iter(error.message_dict.items()))
            option = {"ods_code": "--provider", "name": "--name"}.get(field, field)
            raise CommandError(f"{option}: {message}") from None
        provider.save()
        outcome = "added" if added else "already in the portal, now named"
        self.stdout.write(f"{code}: {outcome}: {name}")
