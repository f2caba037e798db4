"""What a GP practice sees of its patients on one trust's waiting lists.

A practice account belongs to one trust (`user.provider`) and one practice
(`user.practice_ods_code`); the extract names the practice that referred each pathway
(`referring_organisation`). Every query here starts from those two, so a practice can only ever
reach its own patients' open pathways.

The list is read in a fixed number of queries whatever its size: the position in the latest
snapshot and the latest "got worse" answer are subqueries of the page's one query.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import nhs_number
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.fields import DateTimeField, IntegerField

from waitinglist.explanation import list_name, month_range, ordinal, sentences_for
from waitinglist.models import (
    AuditEvent,
    Estimate,
    Pathway,
    PathwayWeek,
    PatientResponse,
    QueueRates,
    Snapshot,
)
from waitinglist.procedures import procedure_name
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

PAGE_SIZE = 100

# What each action in the audit log means for a practice account.
LIST_VIEWED = "practice-list-viewed"
NUMBER_SEARCHED = "practice-search-nhs-number"
NUMBER_SHOWN = "practice-show-nhs-number"
SUMMARY_VIEWED = "practice-summary-viewed"


def practice_pathways(user) -> QuerySet[Pathway]:
    """The open pathways of the user's practice on their trust's lists: every practice page's
    scope."""
    return user.provider.pathways.filter(
        referring_organisation=user.practice_ods_code, left_snapshot__isnull=True
    )


def latest_snapshot(user) -> Snapshot | None:
    return user.provider.snapshots.order_by("-week_ending").first()


def clean_nhs_number(text: str) -> str | None:
    """The ten digits of a valid NHS number typed with or without spaces, or None."""
    digits = "".join(text.split()).replace("-", "")
    if len(digits) == 10 and digits.isdigit() and nhs_number.is_valid(digits):
        return digits
    return None


@dataclass(frozen=True)
class Filters:
    """What the practice asked the list for; empty means everyone."""

    nhs_number: str = ""  # a search: the other filters do not apply
    specialty: str = ""
    waited_over_weeks: int | None = None
    worse: bool = False


def with_latest_figures(pathways: QuerySet[Pathway], snapshot: Snapshot | None) -> QuerySet:
    """Each pathway with its patient, queue and estimate, its position in the snapshot and
    when its patient last said their condition got worse."""
    if snapshot is None:
        position = Value(None, output_field=IntegerField())
    else:
        position = Subquery(
            PathwayWeek.objects.filter(pathway=OuterRef("pk"), snapshot=snapshot).values(
                "position"
            )[:1]
        )
    worse = (
        PatientResponse.objects.filter(pathway=OuterRef("pk"), answer=PatientResponse.Answer.WORSE)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return pathways.select_related("patient", "queue", "estimate").annotate(
        position=position, worse_at=Subquery(worse, output_field=DateTimeField())
    )


def filtered(user, filters: Filters, today: date) -> QuerySet[Pathway]:
    """The practice's pathways the filters select, longest wait first."""
    pathways = practice_pathways(user)
    if filters.nhs_number:
        # Through the trust's own patients: their index on (trust, NHS number) finds the one.
        patients = user.provider.patients.filter(nhs_number=filters.nhs_number)
        pathways = pathways.filter(patient__in=patients)
    if filters.specialty:
        pathways = pathways.filter(queue__treatment_function=filters.specialty)
    if filters.waited_over_weeks:
        # "Over 18 weeks": more than 18 whole weeks since the clock started (RTT statistics).
        pathways = pathways.filter(
            clock_start__lt=today - timedelta(weeks=filters.waited_over_weeks)
        )
    if filters.worse:
        pathways = pathways.filter(
            Exists(
                PatientResponse.objects.filter(
                    pathway=OuterRef("pk"), answer=PatientResponse.Answer.WORSE
                )
            )
        )
    return pathways.order_by("clock_start", "pk")


def list_page(user, filters: Filters, snapshot: Snapshot | None, today: date, number) -> Page:
    """One page of the list, longest wait first. The ids of all the pathways selected (a few
    thousand for a big practice) are read in one pass, which also counts them; only the page's
    pathways are then joined to their patient, queue, estimate, position and answers (joining
    all 5,000 of a practice's before choosing took 60 ms more, measured)."""
    chosen = list(filtered(user, filters, today).values_list("pk", flat=True))
    page = Paginator(chosen, PAGE_SIZE).get_page(number)
    shown = practice_pathways(user).filter(pk__in=page.object_list)
    page.object_list = with_latest_figures(shown, snapshot).order_by("clock_start", "pk")
    return page


def specialties(user) -> list[tuple[str, str]]:
    """The treatment functions of the trust's queues, by name, for the specialty filter."""
    codes = set(user.provider.queues.order_by().values_list("treatment_function", flat=True))
    return sorted(
        ((code, TREATMENT_FUNCTIONS.get(code, f"Treatment function {code}")) for code in codes),
        key=lambda choice: choice[1],
    )


def weeks_waited(pathway: Pathway, today: date) -> int:
    return max(0, (today - pathway.clock_start).days // 7)


def masked_nhs_number(number: str) -> str:
    return f"*** *** {number[-4:]}"


def formatted_nhs_number(number: str) -> str:
    """In the NHS's 3-3-4 form."""
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def estimate_range(pathway: Pathway) -> str:
    """The estimate in a few words, or why there is none."""
    estimate = getattr(pathway, "estimate", None)
    if pathway.band is None:
        return "None: on hold at the patient's request"
    if estimate is None:
        return "Not estimated yet"
    if estimate.basis == Estimate.Basis.BOOKED:
        return "Booked"
    if estimate.basis == Estimate.Basis.MODEL:
        words = month_range(estimate.p10, estimate.p90)
        return words[0].upper() + words[1:]
    if estimate.basis == Estimate.Basis.QUEUE_NOT_MOVING:
        return "None: the queue is not moving"
    return "None: too little history yet"


@dataclass
class PracticeRow:
    """One line of the practice list."""

    pathway: Pathway
    weeks_waited: int
    nhs_number_shown: bool

    @property
    def nhs_number(self) -> str:
        number = self.pathway.patient.nhs_number
        return formatted_nhs_number(number) if self.nhs_number_shown else masked_nhs_number(number)

    @property
    def last_four(self) -> str:
        return self.pathway.patient.nhs_number[-4:]

    @property
    def specialty(self) -> str:
        code = self.pathway.queue.treatment_function
        return TREATMENT_FUNCTIONS.get(code, code)

    @property
    def procedure(self) -> str:
        return procedure_name(self.pathway.procedure_code)

    @property
    def estimate(self) -> str:
        return estimate_range(self.pathway)


def rows(
    pathways, today: date, shown_pk: int | None = None, all_shown: bool = False
) -> list[PracticeRow]:
    return [
        PracticeRow(p, weeks_waited(p, today), nhs_number_shown=all_shown or p.pk == shown_pk)
        for p in pathways
    ]


@dataclass
class PatientSummary:
    """The printable one-page summary of one pathway, in words a GP can hand over."""

    pathway: Pathway
    snapshot: Snapshot | None
    weeks_waited: int
    position: int | None
    list_name: str
    procedure: str
    estimate: str
    explanation: list[str]

    @property
    def nhs_number(self) -> str:
        return formatted_nhs_number(self.pathway.patient.nhs_number)

    @property
    def position_words(self) -> str:
        if self.position:
            return f"{ordinal(self.position)} in the queue for {self.list_name}"
        return "Not in the queue at the moment"


def patient_summary(pathway: Pathway, snapshot: Snapshot | None, today: date) -> PatientSummary:
    """The summary of a pathway already loaded `with_latest_figures`."""
    rates = QueueRates.objects.filter(queue_id=pathway.queue_id, band=pathway.band).first()
    estimate = getattr(pathway, "estimate", None)
    return PatientSummary(
        pathway=pathway,
        snapshot=snapshot,
        weeks_waited=weeks_waited(pathway, today),
        position=pathway.position,
        list_name=list_name(pathway),
        procedure=procedure_name(pathway.procedure_code),
        estimate=estimate_range(pathway),
        explanation=sentences_for(pathway, estimate, pathway.position, rates),
    )


def record(request, action: str, pathways=(None,)) -> None:
    """One audit record per pathway (or one with none): who, what, when, from where."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            provider_id=request.user.provider_id,
            user=request.user,
            pathway=pathway,
            action=action,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        for pathway in pathways
    )
