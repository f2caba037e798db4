"""Trust data: providers, their weekly snapshots, queues, pathways and each week's positions.

Storage is shaped for a trust with 200,000 open pathways and years of weekly snapshots:
a pathway's attributes live once in `Pathway` and change only when the extract changes them;
each week adds one narrow `PathwayWeek` row per open pathway (its position and band) and one
`QueueWeek` row per queue (size, joiners, leavers, waits).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

ods_code_validator = RegexValidator(
    r"^[A-Z0-9]{3,5}$", "An ODS code is 3 to 5 capital letters or digits, for example RXX."
)


class ProviderQuerySet(models.QuerySet):
    def for_site(self, ods_code: str) -> "Provider | None":
        """The trust the site presents itself as: the configured one, or the only one there is."""
        if ods_code:
            return self.filter(ods_code=ods_code).first()
        providers = list(self[:2])
        return providers[0] if len(providers) == 1 else None


class Provider(models.Model):
    """An NHS trust that runs Wait Well for the patients on its waiting lists."""

    ods_code = models.CharField(
        "ODS code", max_length=5, unique=True, validators=[ods_code_validator]
    )
    name = models.CharField(max_length=200)
    waiting_list_phone = models.CharField("waiting-list team phone", max_length=30, blank=True)
    waiting_list_email = models.EmailField("waiting-list team email", blank=True)
    split_queues_by_consultant = models.BooleanField(
        default=False, help_text="Run a separate queue for each consultant's list."
    )

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    @property
    def latest_snapshot(self) -> "Snapshot | None":
        return self.snapshots.order_by("-week_ending").first()


class Snapshot(models.Model):
    """One imported open-pathways file: the whole list of one trust at one week's end."""

    id = models.AutoField(primary_key=True)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="snapshots")
    week_ending = models.DateField()
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, unique=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    rows_read = models.PositiveIntegerField(default=0)
    pathways_imported = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    joiners = models.PositiveIntegerField(default=0)
    leavers = models.PositiveIntegerField(default=0)
    # The rejected rows as CSV (line, column, reason): never a full NHS number or birth date.
    reject_report = models.TextField(blank=True)

    class Meta:
        ordering = ["provider", "-week_ending"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "week_ending"], name="one_snapshot_per_provider_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.ods_code} {self.week_ending}"

    def summary(self) -> str:
        """The command-line contract's one-line summary of this import."""
        return (
            f"{self.provider.ods_code} {self.week_ending}: "
            f"{self.pathways_imported} pathways imported, {self.rows_rejected} rows rejected, "
            f"{self.leavers} left the list, {self.joiners} joined"
        )


class Patient(models.Model):
    """A person on one trust's waiting lists, as the trust's extract identifies them."""

    # The unique constraint below serves lookups by provider. Here and below, a foreign key
    # whose index another index already covers has none: each index slows the weekly import.
    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        related_name="patients",
        db_index=False,
        db_constraint=False,  # written only by the import's set-based SQL (decision 0008)
    )
    nhs_number = models.CharField("NHS number", max_length=10)
    birth_date = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "nhs_number"], name="one_patient_per_provider_nhs_number"
            )
        ]

    def __str__(self) -> str:
        # Never the NHS number: this string can reach logs.
        return f"patient {self.pk}"


# Admitted lists (inpatient or day case: `IRTT`, planned `PTLI`, other `RTTI`), where leaving
# means treatment; on an outpatient list (`ORTT`, `PTLO`, `RTTO`) it means being seen, and
# treatment, if any, may follow on another list.
ADMITTED_LIST_TYPES = frozenset({"IRTT", "PTLI", "RTTI"})


class Queue(models.Model):
    """Provider + treatment function + waiting list type (+ consultant, where lists are split)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="queues")
    treatment_function = models.CharField(max_length=3)
    list_type = models.CharField(max_length=4)
    consultant_code = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        ordering = ["provider", "treatment_function", "list_type", "consultant_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "treatment_function", "list_type", "consultant_code"],
                name="one_queue_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.ods_code} {self.key}"

    @property
    def admitted(self) -> bool:
        return self.list_type in ADMITTED_LIST_TYPES

    @property
    def key(self) -> str:
        parts = [self.treatment_function, self.list_type]
        if self.consultant_code:
            parts.append(self.consultant_code)
        return "-".join(parts)


class Pathway(models.Model):
    """One patient's wait for one treatment, with the extract's fields as last imported."""

    id = models.AutoField(primary_key=True)  # 32 bits: keeps the weekly history narrow
    # No database-level foreign keys on pathways either (docs/decisions/0008): only the
    # import's set-based SQL writes them, from rows it has just resolved in the same
    # transaction, and checking a million new keys at commit doubled a trust's first import.
    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        related_name="pathways",
        db_index=False,
        db_constraint=False,
    )
    identifier = models.CharField("pathway identifier", max_length=20)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="pathways", db_constraint=False
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="pathways", db_constraint=False
    )
    clock_start = models.DateField("RTT clock start")
    procedure_priority = models.CharField(max_length=3, blank=True)
    priority_type = models.CharField(max_length=1, blank=True)
    band = models.PositiveSmallIntegerField(null=True, help_text="Ranking band; none if P5/P6.")
    procedure_code = models.CharField("OPCS-4 procedure", max_length=5, blank=True)
    consultant_code = models.CharField(max_length=8, blank=True)
    local_patient_identifier = models.CharField(max_length=10, blank=True)
    tci_date = models.DateField("booked admission (TCI)", null=True, blank=True)
    outpatient_appointment_date = models.DateField(null=True, blank=True)
    last_validated = models.DateField(null=True, blank=True)
    referring_organisation = models.CharField(max_length=6, blank=True)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=16, blank=True)
    first_snapshot = models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # The first week the pathway was missing from the list: it left (treated or removed).
    # Read only trust-wide, so no index of its own: each weekly leaver would update it.
    left_snapshot = models.ForeignKey(
        Snapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # The snapshot in which the current booked date first appeared (none while not booked):
    # the extract keeps only the latest date, so this is how "newly booked" is known. Written
    # only by the import's set-based SQL, so no database-level key (decision 0005).
    booked_snapshot = models.ForeignKey(
        Snapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "identifier"], name="one_pathway_per_provider_identifier"
            )
        ]
        indexes = [
            # A GP practice's pathways, longest wait first (waitinglist/practices.py): without
            # it each page of the practice list reads every pathway of the trust. Not partial
            # on open pathways: a column in an index's condition is an indexed column, and each
            # weekly leaver would then be rewritten with a new entry in every index of the
            # table instead of in place (decision 0009).
            models.Index(
                fields=["provider", "referring_organisation", "clock_start", "id"],
                name="pathway_by_practice",
            )
        ]

    def __str__(self) -> str:
        return f"pathway {self.pk}"

    @property
    def booked_date(self):
        return self.tci_date or self.outpatient_appointment_date


class PathwayWeek(models.Model):
    """Where one open pathway stood in one week's snapshot."""

    # Snapshot first: each week's rows are appended at the end of the key's index, instead of
    # a million insertions scattered over years of history (decision 0010). A pathway's own
    # weeks are read through its trust's snapshots.
    pk = models.CompositePrimaryKey("snapshot_id", "pathway_id")
    # No database-level foreign keys here (docs/decisions/0005): PostgreSQL checks them row by
    # row at commit, which doubled the cost of a weekly import. Only the import's set-based SQL
    # writes these rows, from pathways and the snapshot it has just written; Django's
    # on_delete still cascades deletions.
    pathway = models.ForeignKey(
        Pathway,
        on_delete=models.CASCADE,
        related_name="weeks",
        db_index=False,
        db_constraint=False,
    )
    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField(null=True, help_text="None when not ranked (P5/P6).")
    band = models.PositiveSmallIntegerField(null=True)

    def __str__(self) -> str:
        return f"pathway {self.pathway_id} in snapshot {self.snapshot_id}"


class PathwayMove(models.Model):
    """A pathway found on another of the trust's lists, keeping its identifier: from the
    outpatient list to the admitted one after a decision to treat, say, or to another
    consultant's list. Also a pathway back on a list (the same or another) after weeks off
    it: seen in outpatients, say, and listed for its operation a few weeks later. The
    pathway's row holds only its latest list and stay; these rows say which list it was on
    before each week (docs/estimates.md, "Pathways that move between lists")."""

    # Written only by the import's set-based SQL, like the history (decision 0005).
    pathway = models.ForeignKey(
        Pathway,
        on_delete=models.CASCADE,
        related_name="moves",
        db_index=False,  # the constraint's index starts with it
        db_constraint=False,
    )
    # The first snapshot that found it on the new list; indexed for that week's queue figures.
    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # For a pathway back after weeks off the lists, the first snapshot that no longer listed
    # it: its stay on `from_queue` ended then. None: it moved from one week to the next.
    left_snapshot = models.ForeignKey(
        Snapshot,
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    from_queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    to_queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # On the list it left, as last seen there: its band (None: not ranked, P5/P6), and whether
    # it was booked, which counts it as treated from that list, as for any leaver (a move from
    # one week to the next counts too if it arrives on the new list booked).
    band = models.PositiveSmallIntegerField(null=True)
    was_booked = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pathway", "snapshot"], name="one_move_a_week")
        ]

    def __str__(self) -> str:
        return f"pathway {self.pathway_id} moved in snapshot {self.snapshot_id}"


class QueueWeek(models.Model):
    """One queue's figures in one week's snapshot."""

    pk = models.CompositePrimaryKey("queue_id", "snapshot_id")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="weeks", db_index=False)
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    size = models.PositiveIntegerField(help_text="Open pathways, ranked or not.")
    ranked = models.PositiveIntegerField()
    joiners = models.PositiveIntegerField()
    leavers = models.PositiveIntegerField()
    # Leavers by the band they had when last seen (band 0: not ranked, P5/P6).
    leavers_band_0 = models.PositiveIntegerField(default=0)
    leavers_band_1 = models.PositiveIntegerField(default=0)
    leavers_band_2 = models.PositiveIntegerField(default=0)
    leavers_band_3 = models.PositiveIntegerField(default=0)
    leavers_band_4 = models.PositiveIntegerField(default=0)
    leavers_band_5 = models.PositiveIntegerField(default=0)
    leavers_band_6 = models.PositiveIntegerField(default=0)
    mean_wait_days = models.FloatField(null=True)
    median_wait_days = models.PositiveIntegerField(null=True)
    p92_wait_days = models.PositiveIntegerField(null=True)

    def __str__(self) -> str:
        return f"queue {self.queue_id} in snapshot {self.snapshot_id}"


class ImportRun(models.Model):
    """An upload from the trust workspace, imported by a Celery worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="import_runs")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    message = models.TextField(blank=True)
    # For a refused file, its rejected rows (an imported file keeps them on its snapshot).
    report_csv = models.TextField(blank=True)
    snapshot = models.ForeignKey(Snapshot, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REFUSED, self.Status.FAILED)

    @property
    def rejections_csv(self) -> str:
        return self.snapshot.reject_report if self.snapshot else self.report_csv

    def claim(self) -> bool:
        """Marks a queued run as running; False if another worker already has it."""
        claimed = ImportRun.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING
        )
        return claimed == 1


class Estimate(models.Model):
    """When an open, ranked pathway is likely to be treated, as of the latest snapshot.

    Replaced as a whole after each import (`waitinglist.estimates.recompute`); pages only read
    it. The dates are blank when no honest estimate is possible, and `basis` says why.
    """

    class Basis(models.TextChoices):
        BOOKED = "booked", "Booked"
        MODEL = "model", "Estimated from the queue's recent weeks"
        TOO_LITTLE_HISTORY = "too-little-history", "Too little history to estimate"
        QUEUE_NOT_MOVING = "queue-not-moving", "The queue is not moving"

    # As for PathwayWeek (docs/decisions/0005), no database-level foreign keys: checking a
    # million of them at commit took 12 s of a 50 s recompute. Only `recompute` writes these
    # rows, from pathways and the snapshot it has just read; Django's on_delete still cascades.
    pathway = models.OneToOneField(
        Pathway,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="estimate",
        db_constraint=False,
    )
    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    p10 = models.DateField(null=True)
    p50 = models.DateField(null=True)
    p90 = models.DateField(null=True)
    basis = models.CharField(max_length=20, choices=Basis)

    def __str__(self) -> str:
        return f"estimate for pathway {self.pathway_id}"


class QueueRates(models.Model):
    """The recent weekly figures an estimate rests on, per queue and ranking band.

    Kept for the latest snapshot only, so a patient's page can say in plain words why their
    estimate is what it is.
    """

    pk = models.CompositePrimaryKey("queue_id", "band")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="rates")
    band = models.PositiveSmallIntegerField()
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    weeks_of_history = models.PositiveSmallIntegerField()
    treated_per_week = models.FloatField(help_text="Left the list while booked: treated.")
    joined_ahead_per_week = models.FloatField(help_text="Joined in a more urgent band.")
    removed_share_per_week = models.FloatField(help_text="Share of the list removed untreated.")
    # The next planned capacity change the estimates allowed for (`CapacityChange`), if any.
    planned_percent = models.SmallIntegerField(null=True)
    planned_from = models.DateField(null=True)
    # How much faster (+) or slower (-) than usual the list has moved lately, in percent, where
    # that change made the estimates' ranges wider (docs/estimates.md, step 6); else None.
    pace_change_percent = models.SmallIntegerField(null=True)
    # The trust's extract showed a booking for under half of this list's leavers, so who was
    # treated cannot be told apart: every leaver counted as treated (docs/estimates.md).
    leavers_counted_as_treated = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"queue {self.queue_id} band {self.band}"


class CapacityChange(models.Model):
    """A lasting change, planned ahead, in how many patients a trust's lists treat a week: a
    new surgical hub, theatres closed for a refit, an insourcing contract ending.

    Estimates allow for it from `starts` on, and only from `known_from`: the day the trust
    recorded it, so that the back-test replays each past week with the plans known then
    (docs/estimates.md, "Planned capacity changes").
    """

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="capacity_changes"
    )
    treatment_function = models.CharField(
        max_length=3, blank=True, help_text="Blank: every specialty of the trust."
    )
    starts = models.DateField()
    percent = models.SmallIntegerField(
        validators=[MinValueValidator(-90), MaxValueValidator(300)],
        help_text="+30 treats 30% more patients a week from `starts`; -20, 20% fewer.",
    )
    known_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["provider", "starts", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gte=-90, percent__lte=300),
                name="capacity_change_percent_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.ods_code} {self.percent:+d}% from {self.starts}"

    @property
    def factor(self) -> float:
        return 1 + self.percent / 100


class PatientLink(models.Model):
    """A portal account's access to one patient's records at one trust."""

    class Method(models.TextChoices):
        ACTIVATION_CODE = "activation-code", "Activation code and date of birth"
        NHS_LOGIN = "nhs-login", "NHS login"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patient_links"
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="links")
    method = models.CharField(max_length=16, choices=Method)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "patient"], name="one_link_per_user_patient")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} to patient {self.patient_id}"


class ActivationCode(models.Model):
    """A single-use code a trust sends a patient so they can link their record.

    Only a keyed hash of the code is stored (`waitinglist.activation`), so a copy of the
    database does not give away working codes.
    """

    MAX_FAILURES = 5

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="activation_codes")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    failures = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"activation code {self.pk}"

    def usable(self, now) -> bool:
        return self.used_at is None and self.expires_at > now and self.failures < self.MAX_FAILURES


class PatientResponse(models.Model):
    """What a patient told the trust about one of their pathways (NHS England validation)."""

    class Answer(models.TextChoices):
        STILL_NEED = "still-need", "Yes, I still need this treatment"
        NO_LONGER_NEED = "no-longer-need", "No, I no longer need it"
        NOT_SURE = "not-sure", "I'm not sure"
        WORSE = "worse", "My condition has got worse"

    class Outcome(models.TextChoices):
        STAYS = "stays", "Stays on the list"
        POSTPONES = "postpones", "Postpones treatment"
        REMOVED = "removed", "Removed after clinical review"

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="responses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    answer = models.CharField(max_length=16, choices=Answer)
    details = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The waiting-list team's handling: who should look at it, and what was decided. Nothing
    # here changes the list by itself: the trust's own systems act on the outcome.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=Outcome, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"response {self.pk} ({self.answer})"

    # The inbox's rules. Each change is a conditional UPDATE on the state its caller saw, so
    # when two of the team act on one response at once, one wins and the other is told.

    def assign(self, to, by, ip: str | None = None) -> bool:
        """Gives the response to a clinician of its trust; False if someone else changed its
        assignee meanwhile. Raises NotAssignable for anyone who cannot take it."""
        from portal.roles import Role

        if self.outcome:
            raise NotAssignable("An outcome is already recorded: it no longer needs a clinician.")
        if to is None or not to.is_active or to.provider_id != self.pathway.provider_id:
            raise NotAssignable("Choose someone on your trust's team.")
        if not to.has_role(Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN):
            raise NotAssignable(
                f"{to.email} is not a clinical reviewer or trust admin, so cannot be assigned."
            )
        changed = PatientResponse.objects.filter(
            pk=self.pk, assigned_to_id=self.assigned_to_id, outcome=""
        ).update(assigned_to=to)
        if not changed:
            return False
        self.assigned_to = to
        self._record(ResponseEvent.Action.ASSIGNED, f"Assigned to {to.email}", by, ip)
        return True

    def record_outcome(self, outcome: str, by, ip: str | None = None) -> bool:
        """Records what was decided, once: False if an outcome was recorded meanwhile. It also
        counts as reviewed. The waiting list itself is the trust's PAS's: nothing changes here."""
        from django.db.models.functions import Coalesce, Now
        from django.utils import timezone

        label = self.Outcome(outcome).label  # ValueError for anything else
        changed = PatientResponse.objects.filter(pk=self.pk, outcome="").update(
            outcome=outcome,
            outcome_at=Now(),
            outcome_by=by,
            reviewed_at=Coalesce("reviewed_at", Now()),
            reviewed_by=Coalesce("reviewed_by", models.Value(by.pk)),
        )
        if not changed:
            return False
        self.outcome, self.outcome_by, self.outcome_at = outcome, by, timezone.now()
        self._record(ResponseEvent.Action.OUTCOME, f"Outcome: {label}", by, ip)
        return True

    def mark_reviewed(self, by, ip: str | None = None) -> bool:
        """Marks the response as seen by the team; False if it already was."""
        from django.utils import timezone

        now = timezone.now()
        changed = PatientResponse.objects.filter(pk=self.pk, reviewed_at__isnull=True).update(
            reviewed_at=now, reviewed_by=by
        )
        if not changed:
            return False
        self.reviewed_at, self.reviewed_by = now, by
        self._record(ResponseEvent.Action.REVIEWED, "Marked as reviewed", by, ip)
        return True

    def _record(self, action: str, note: str, by, ip: str | None) -> None:
        from waitinglist.patient_page import patient_data_changed

        ResponseEvent.objects.create(response=self, user=by, action=action, note=note[:300])
        AuditEvent.objects.create(
            provider_id=self.pathway.provider_id,
            user=by,
            pathway_id=self.pathway_id,
            action=f"response-{action}",
            ip_address=ip,
        )
        # Conditional updates send no signals; the patient's page shows what the team did.
        patient_data_changed()


class NotAssignable(Exception):
    """The response cannot be given to that person; the message says why."""


class ResponseEvent(models.Model):
    """One step in the handling of a patient's response: the inbox's audit trail."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        OUTCOME = "outcome", "Outcome recorded"
        REVIEWED = "reviewed", "Marked as reviewed"

    response = models.ForeignKey(PatientResponse, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action)
    # What changed, in the team's words ("Assigned to a.clinician@trust.nhs.uk"): no clinical
    # detail beyond the outcome's own label.
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} on response {self.response_id}"


class ValidationRequest(models.Model):
    """The trust asked a patient "do you still need this treatment?" (NHS England validation)."""

    pathway = models.ForeignKey(
        Pathway, on_delete=models.CASCADE, related_name="validation_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    messages_queued = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["pathway", "-requested_at"], name="validation_by_pathway")]

    def __str__(self) -> str:
        return f"validation request {self.pk}"


class PageFeedback(models.Model):
    """A patient's answer to "Did this page answer your question about your wait?": how the
    trust measures the GP calls the page saves."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="page_feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    answered = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"page feedback {self.pk}"


class QueueAccuracy(models.Model):
    """How well each method's estimates came true for one queue (or, with no queue, the whole
    trust) in the latest back-test: what the trust workspace shows beside each queue."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="accuracy")
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="accuracy"
    )
    method = models.CharField(max_length=20)
    computed_at = models.DateTimeField()
    last_week = models.DateField(help_text="The latest snapshot the back-test could see.")
    origins = models.PositiveSmallIntegerField(help_text="Past weeks replayed.")
    scored = models.PositiveIntegerField(help_text="Estimates scored against what happened.")
    median_abs_error_weeks = models.FloatField(null=True)
    mean_abs_error_weeks = models.FloatField(null=True)
    later_than_p50 = models.FloatField(null=True)
    inside_p10_p90 = models.FloatField(null=True)
    mean_range_weeks = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "queue"], name="accuracy_by_queue")]

    def __str__(self) -> str:
        return f"{self.method} accuracy for queue {self.queue_id}"


class AuditEvent(models.Model):
    """Who saw or did what with whose record, and when: no clinical detail."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="audit_events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, null=True, related_name="+")
    action = models.CharField(max_length=40)
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["provider", "-at"], name="audit_by_provider_time")]

    def __str__(self) -> str:
        return f"{self.action} by user {self.user_id}"
