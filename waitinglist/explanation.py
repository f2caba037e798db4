"""A pathway's estimate in plain English, for the patient's page (and their GP's view).

Reads what `estimates.recompute` stored; computes nothing heavy. Written for someone anxious,
perhaps reading on a phone or hearing it from a screen reader: short sentences, whole months
rather than false precision, and the reason in the queue's own recent figures.
"""

from datetime import date

from waitinglist.models import Estimate, Pathway, PathwayWeek, QueueRates
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def month_range(first: date, last: date) -> str:
    if (first.year, first.month) == (last.year, last.month):
        return f"in {first:%B %Y}"
    if first.year == last.year:
        return f"between {first:%B} and {last:%B %Y}"
    return f"between {first:%B %Y} and {last:%B %Y}"


def people_a_week(rate: float) -> str:
    """A weekly figure as a person would say it."""
    if rate < 0.5:
        return "almost nobody"
    if rate < 1.5:
        return "about 1 person a week"
    return f"about {round(rate):,} people a week"


def list_name(pathway: Pathway) -> str:
    specialty = TREATMENT_FUNCTIONS.get(pathway.queue.treatment_function, "this specialty")
    kind = "treatment" if pathway.queue.admitted else "appointments"
    return f"{specialty} {kind}"


def explain(pathway: Pathway) -> list[str]:
    """Sentences explaining the pathway's place and estimate, reading what they rest on."""
    estimate = Estimate.objects.filter(pathway=pathway).first()
    week = None
    if estimate:
        week = PathwayWeek.objects.filter(pathway=pathway, snapshot=estimate.snapshot).first()
    rates = QueueRates.objects.filter(queue=pathway.queue, band=pathway.band).first()
    return sentences_for(pathway, estimate, week.position if week else None, rates)


def sentences_for(pathway: Pathway, estimate, position: int | None, rates) -> list[str]:
    """The sentences, from what the caller has already loaded (the patient page loads the
    figures of all a patient's pathways at once).

    On an outpatient list, leaving the list means being seen, not treated: the estimate is of
    the appointment, and any treatment that follows is waited for on another list (a pathway
    that moves there is counted there: docs/estimates.md)."""
    admitted = pathway.queue.admitted
    had = "had their treatment" if admitted else "had their appointment"
    need = "treatment" if admitted else "to be seen"
    if pathway.band is None:
        return [
            "You have asked to put your treatment on hold, so you are not in the queue for "
            "now. Contact the waiting-list team when you are ready."
        ]
    if estimate is None:
        return ["We have not worked out an estimate for you yet. Please check again next week."]
    sentences = []
    if position:
        sentences.append(f"You are {ordinal(position)} in the queue for {list_name(pathway)}.")
    if estimate.basis == Estimate.Basis.BOOKED:
        sentences.append(f"Your date is booked: {estimate.p50:%-d %B %Y}.")
        return sentences
    if rates and rates.weeks_of_history:
        sentences.append(
            f"In recent weeks, {people_a_week(rates.treated_per_week)} left this list, most "
            f"of them because they {had}."
            if rates.leavers_counted_as_treated
            else f"In recent weeks, {people_a_week(rates.treated_per_week)} on this list {had}."
        )
        sentences.append(
            f"{people_a_week(rates.joined_ahead_per_week).capitalize()} joined ahead of you, "
            f"because they needed {need} sooner."
        )
    if estimate.basis == Estimate.Basis.MODEL and rates and rates.planned_percent:
        change = rates.planned_percent
        sentences.append(
            f"The hospital plans to treat about {abs(change)}% {'more' if change > 0 else 'fewer'}"
            f" people a week on this list from {rates.planned_from:%B %Y}. Your estimate allows "
            "for this."
        )
    if estimate.basis == Estimate.Basis.MODEL and rates and rates.pace_change_percent:
        change = rates.pace_change_percent
        sentences.append(
            f"Lately this list has moved about {abs(change)}% "
            f"{'faster' if change > 0 else 'more slowly'} than usual. Until we can see whether "
            "that lasts, your range of dates is wider."
        )
    if estimate.basis == Estimate.Basis.MODEL:
        months = month_range(estimate.p10, estimate.p90)
        sentences.append(
            f"Most people in your place are treated {months}."
            if admitted
            else f"Most people in your place have their appointment {months}."
        )
        sentences.append(f"{estimate.p50:%B} is most likely.")
        sentences.append(
            "This is not an appointment. The hospital will contact you to book."
            if admitted
            else "This is not your appointment. The hospital will contact you to book it. If "
            "you then need an operation or other treatment, you will join the list for it, and "
            "we will show your place on that list."
        )
    elif estimate.basis == Estimate.Basis.QUEUE_NOT_MOVING:
        sentences.append(
            f"We cannot give you a date yet. Lately, more people who need {need} sooner have "
            "joined this list than have left it, so places like yours have not moved."
        )
    else:
        sentences.append(
            "We cannot give you a date yet. The hospital has not sent us this list for long "
            "enough to see how fast it moves."
        )
    return sentences
