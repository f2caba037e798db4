"""issue_invitations --provider ODS --out PATH (shared/spec/command-line.md)."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from updates.invitations import queue
from updates.tasks import publish
from waitinglist import activation
from waitinglist.models import Provider


class Command(BaseCommand):
    help = (
        "Creates an activation code for every patient on the latest snapshot with no linked "
        "account, and writes them as CSV for the trust's letters."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", required=True, help="ODS code, e.g. RXX")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument(
            "--days",
            type=int,
            default=activation.DEFAULT_VALID_DAYS,
            help="days each code works for",
        )
        parser.add_argument(
            "--send",
            action="store_true",
            help="also send each invitation by email and text to the contacts in the extract",
        )

    def handle(self, *args, **options) -> None:
        code = options["provider"].upper()
        provider = Provider.objects.filter(ods_code=code).first()
        if provider is None:
            raise CommandError(f"{code} is not a trust in this portal")
        if not 1 <= options["days"] <= 365:
            raise CommandError("--days must be between 1 and 365")
        if not options["out"].parent.is_dir():
            raise CommandError(f"{options['out'].parent}: no such folder")
        try:
            invitations = activation.issue(provider, days=options["days"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        with options["out"].open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(
                ["PATIENT_PATHWAY_IDENTIFIER", "activation_code", "activation_url", "expires"]
            )
            for invitation in invitations:
                writer.writerow([
                    invitation.pathway_identifier,
                    activation.formatted(invitation.code),
                    activation.activation_url(invitation.code),
                    invitation.expires.isoformat(),
                ])  # fmt: skip
        self.stdout.write(f"wrote {len(invitations)} activation codes to {options['out']}")
        if options["send"]:
            emails, texts = queue(provider, invitations, publish)
            self.stdout.write(f"queued {emails} invitations by email and {texts} by text")
