"""The patients' responses inbox: which responses a member of staff sees, filtered, who can be
given one, and the inbox as CSV. The rules for changing a response are its model's methods."""

from collections.abc import Iterator

from django import forms
from django.db.models import QuerySet

from portal.models import User
from portal.roles import Role
from waitinglist.models import PatientResponse, Provider
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

PAGE_SIZE = 50
ASSIGNABLE_ROLES = (Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN)

STATUSES = [
    ("waiting", "Waiting for review"),
    ("handled", "Reviewed or decided"),
    ("all", "All responses"),
]


def responses_of(trust: Provider) -> QuerySet[PatientResponse]:
    return PatientResponse.objects.filter(pathway__provider=trust)


def assignable(trust: Provider) -> QuerySet[User]:
    """The trust's clinical reviewers and admins: who a response can be given to."""
    return (
        trust.staff.filter(is_active=True, groups__name__in=ASSIGNABLE_ROLES)
        .distinct()
        .order_by("email")
    )


def specialties(trust: Provider) -> list[tuple[str, str]]:
    """(treatment function code, name) of each specialty the trust has a queue for."""
    codes = trust.queues.values_list("treatment_function", flat=True).distinct()
    return sorted(
        ((code, TREATMENT_FUNCTIONS.get(code, code)) for code in codes), key=lambda c: c[1]
    )


class InboxFilter(forms.Form):
    answer = forms.ChoiceField(
        label="Answer",
        required=False,
        choices=[("", "Any answer"), *PatientResponse.Answer.choices],
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUSES)
    specialty = forms.ChoiceField(label="Specialty", required=False)
    mine = forms.BooleanField(label="Only those assigned to me", required=False)

    def __init__(self, data, trust: Provider) -> None:
        if data.get("show") == "all":  # the inbox's older link to every response
            data = {**data.dict(), "status": "all"}
        super().__init__(data)
        self.fields["specialty"].choices = [("", "Any specialty"), *specialties(trust)]

    def apply(self, inbox: QuerySet[PatientResponse], user: User) -> QuerySet[PatientResponse]:
        """The responses the chosen filters leave; bad values are ignored, not guessed at."""
        chosen = self.cleaned_data if self.is_valid() else {}
        if answer := chosen.get("answer"):
            inbox = inbox.filter(answer=answer)
        status = chosen.get("status") or "waiting"
        if status == "waiting":
            inbox = inbox.filter(reviewed_at__isnull=True)
        elif status == "handled":
            inbox = inbox.filter(reviewed_at__isnull=False)
        if specialty := chosen.get("specialty"):
            inbox = inbox.filter(pathway__queue__treatment_function=specialty)
        if chosen.get("mine"):
            inbox = inbox.filter(assigned_to=user)
        return inbox


class AssignForm(forms.Form):
    clinician = forms.ModelChoiceField(
        label="Assign to",
        queryset=User.objects.none(),
        empty_label="Choose a clinician",
        help_text="Clinical reviewers and trust admins of your trust.",
        error_messages={
            "required": "Choose who should look at this response",
            "invalid_choice": "Choose a clinical reviewer or trust admin of your trust",
        },
    )

    def __init__(self, data, trust: Provider, current: int | None = None) -> None:
        super().__init__(data, initial={"clinician": current})
        self.fields["clinician"].queryset = assignable(trust)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=PatientResponse.Outcome.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Record removal only after a clinical decision that the patient agreed to. "
            "This does not change the waiting list here: the trust's PAS is the source, "
            "and the next extract shows the change."
        ),
        error_messages={"required": "Choose the outcome"},
    )


CSV_HEADER = [
    "received", "pathway", "local_patient_identifier", "specialty", "queue", "answer",
    "details", "assigned_to", "reviewed_at", "outcome", "outcome_at", "outcome_by",
]  # fmt: skip


def csv_rows(inbox: QuerySet[PatientResponse]) -> Iterator[list]:
    """One row a response, read in chunks."""
    rows = inbox.select_related("pathway__queue", "assigned_to", "outcome_by").order_by(
        "-created_at", "pk"
    )
    for r in rows.iterator(chunk_size=2000):
        yield [
            r.created_at, r.pathway.identifier, r.pathway.local_patient_identifier,
            TREATMENT_FUNCTIONS.get(r.pathway.queue.treatment_function, ""), r.pathway.queue.key,
            r.get_answer_display(), r.details, r.assigned_to.email if r.assigned_to else "",
            r.reviewed_at, r.get_outcome_display(), r.outcome_at,
            r.outcome_by.email if r.outcome_by else "",
        ]  # fmt: skip
