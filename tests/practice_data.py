"""Trusts, practices and pathways for the GP practice tests, written straight to the tables
(the import is tested elsewhere; these tests need exact weeks, positions and estimates)."""

import itertools
from datetime import date, timedelta

from django.utils import timezone

from portal.roles import Role
from tests.extracts import valid_nhs_number
from tests.factories import ProviderFactory, UserFactory
from waitinglist.models import (
    Estimate,
    Pathway,
    PathwayWeek,
    Patient,
    PatientResponse,
    Queue,
    Snapshot,
)

PRACTICE = "Y90001"
_numbers = itertools.count(1)


def today() -> date:
    return timezone.localdate()


def trust_with_snapshot(ods_code: str = "RXX", weeks_ago: int = 0) -> tuple:
    trust = ProviderFactory(ods_code=ods_code)
    week = today() - timedelta(days=today().weekday() + 1, weeks=weeks_ago)
    snapshot = Snapshot.objects.create(
        provider=trust,
        week_ending=week,
        file_name=f"{ods_code}-{week}.csv",
        file_sha256=f"{ods_code}-{week}".ljust(64, "0"),
    )
    return trust, snapshot


def practice_user(trust, practice: str = PRACTICE, **kwargs):
    return UserFactory(role=Role.GP_PRACTICE, provider=trust, practice_ods_code=practice, **kwargs)


def queue(trust, treatment_function: str = "110", list_type: str = "IRTT") -> Queue:
    return Queue.objects.get_or_create(
        provider=trust, treatment_function=treatment_function, list_type=list_type
    )[0]


def pathway(
    trust,
    snapshot,
    practice: str = PRACTICE,
    weeks_waited: int = 10,
    position: int | None = 1,
    treatment_function: str = "110",
    procedure: str = "W40.1",
    estimate: str | None = Estimate.Basis.MODEL,
    band: int | None = 4,
    **fields,
) -> Pathway:
    n = next(_numbers)
    patient = Patient.objects.create(
        provider=trust, nhs_number=valid_nhs_number(n), birth_date=date(1950, 1, 1)
    )
    made = Pathway.objects.create(
        provider=trust,
        identifier=f"P{n}",
        patient=patient,
        queue=queue(trust, treatment_function),
        clock_start=today() - timedelta(weeks=weeks_waited, days=3),
        band=band,
        procedure_code=procedure,
        referring_organisation=practice,
        first_snapshot=snapshot,
        **fields,
    )
    PathwayWeek.objects.create(pathway=made, snapshot=snapshot, position=position, band=band)
    if estimate:
        booked = made.booked_date
        p10, p50, p90 = (
            (booked, booked, booked)
            if estimate == Estimate.Basis.BOOKED
            else (date(2027, 1, 10), date(2027, 3, 10), date(2027, 5, 10))
        )
        if estimate not in (Estimate.Basis.BOOKED, Estimate.Basis.MODEL):
            p10 = p50 = p90 = None
        Estimate.objects.create(
            pathway=made, snapshot=snapshot, p10=p10, p50=p50, p90=p90, basis=estimate
        )
    return made


def many_pathways(trust, snapshot, count: int, practice: str = PRACTICE) -> None:
    """`count` open pathways of the practice, each with a position and an estimate, and every
    tenth patient saying their condition got worse: in a handful of bulk inserts."""
    start = next(_numbers)
    for _ in range(count):  # keep the shared counter ahead of the numbers used here
        next(_numbers)
    patients = Patient.objects.bulk_create(
        Patient(provider=trust, nhs_number=valid_nhs_number(start + n), birth_date=date(1960, 1, 1))
        for n in range(count)
    )
    q = queue(trust)
    pathways = Pathway.objects.bulk_create(
        Pathway(
            provider=trust,
            identifier=f"B{start + n}",
            patient=patient,
            queue=q,
            clock_start=today() - timedelta(days=7 * (79 - n % 80) + 1),
            band=4,
            referring_organisation=practice,
            first_snapshot=snapshot,
        )
        for n, patient in enumerate(patients)
    )
    PathwayWeek.objects.bulk_create(
        PathwayWeek(pathway=p, snapshot=snapshot, position=n + 1, band=4)
        for n, p in enumerate(pathways)
    )
    Estimate.objects.bulk_create(
        Estimate(
            pathway=p,
            snapshot=snapshot,
            p10=date(2027, 1, 1),
            p50=date(2027, 2, 1),
            p90=date(2027, 4, 1),
            basis=Estimate.Basis.MODEL,
        )
        for p in pathways
    )
    PatientResponse.objects.bulk_create(
        PatientResponse(pathway=p, answer=PatientResponse.Answer.WORSE) for p in pathways[::10]
    )
