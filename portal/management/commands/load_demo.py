"""Loads a demo trust and one account for each role, for `make run`. Refused when DEBUG is off."""

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from advice import starter
from portal.models import User
from portal.roles import Role
from waitinglist import backtest
from waitinglist.estimates import recompute
from waitinglist.importer import import_snapshot
from waitinglist.models import Estimate, PatientLink, Provider
from waitinglist.simulation import simulate_trust
from waitinglist.tasks import BACKTEST_STEP

DEMO_PASSWORD = "wait-well-demo-2026"

DEMO_TRUST = {
    "ods_code": "RXX",
    "name": "Wait Well Demonstration NHS Foundation Trust",
    "waiting_list_phone": "0300 123 4567",
    "waiting_list_email": "waiting.list@demo-trust.nhs.invalid",
}

# A year of weekly extracts of a simulated trust, so every page has history to show.
DEMO_WEEKS = 52
DEMO_PATHWAYS = 4000
DEMO_SEED = 2026

# (email, role, superuser): a patient, the trust's staff, an administrator and a GP practice.
DEMO_ACCOUNTS = [
    ("patient@example.com", Role.PATIENT, False),
    ("editor@example.com", Role.TRUST_EDITOR, False),
    ("reviewer@example.com", Role.CLINICAL_REVIEWER, False),
    ("admin@example.com", Role.TRUST_ADMIN, True),
    ("practice@example.com", Role.GP_PRACTICE, False),
]
# The simulated trust's referrers are practices Y90001 to Y90040.
DEMO_PRACTICE = "Y90001"
# Staff and practice accounts must use two-step verification: the demo ones share this
# authenticator secret (add it to an authenticator app to sign in as them).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Command(BaseCommand):
    help = "Creates the demo trust and demo accounts (development only); safe to run again."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "load_demo makes accounts with a published password: DEBUG must be on"
            )
        with transaction.atomic():
            trust, _ = Provider.objects.update_or_create(
                ods_code=DEMO_TRUST["ods_code"], defaults=DEMO_TRUST
            )
            for email, role, superuser in DEMO_ACCOUNTS:
                self.make_account(email, role, superuser, trust)
        self.load_history(trust)
        self.link_demo_patient(trust)
        added = starter.load(trust, publish=True, today=timezone.localdate())
        self.stdout.write(f"Starter advice: {added} example articles published")
        self.stdout.write(f"Demo trust: {trust}")
        self.stdout.write(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
        for email, role, _ in DEMO_ACCOUNTS:
            self.stdout.write(f"  {role:<18} {email}")
        self.stdout.write(
            f"Staff and practice accounts ask for an authenticator code: secret {DEMO_TOTP_SECRET}"
        )

    def load_history(self, trust: Provider) -> None:
        if trust.snapshots.exists():
            return
        self.stdout.write(f"Simulating and importing {DEMO_WEEKS} weeks of {trust.ods_code}...")
        folder = settings.VAR_DIR / "demo-extracts"
        files = simulate_trust(
            trust.ods_code, DEMO_WEEKS, DEMO_SEED, folder, pathways=DEMO_PATHWAYS
        )
        for path in files:
            import_snapshot(path)
        self.stdout.write(f"  {trust.latest_snapshot.summary()}")
        self.stdout.write(f"  estimates: {recompute(trust).summary()}")
        # The workspace shows each queue's accuracy from the latest back-test, as the weekly
        # task would have stored it.
        stored = backtest.store(trust, backtest.run(trust, step=BACKTEST_STEP))
        self.stdout.write(
            f"  back-test: {stored} accuracy rows stored (each queue and the trust, by method)"
        )

    def link_demo_patient(self, trust: Provider) -> None:
        """The demo patient account sees one simulated patient's waits: one with a modelled
        estimate, part-way down a queue, so the page has something to explain."""
        user = User.objects.get(email=DEMO_ACCOUNTS[0][0])
        if user.patient_links.exists():
            return
        estimate = (
            Estimate.objects.filter(snapshot__provider=trust, basis=Estimate.Basis.MODEL)
            .select_related("pathway")
            .order_by("p50", "pathway_id")
        )
        chosen = estimate[estimate.count() // 3] if estimate.exists() else None
        if chosen is not None:
            PatientLink.objects.create(
                user=user, patient_id=chosen.pathway.patient_id, method="activation-code"
            )

    def make_account(self, email: str, role: Role, superuser: bool, trust: Provider) -> None:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.is_staff = user.is_superuser = superuser
        user.provider = None if role == Role.PATIENT else trust
        user.practice_ods_code = DEMO_PRACTICE if role == Role.GP_PRACTICE else ""
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.add_role(role)
        if user.needs_mfa and not user.authenticator_set.exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
