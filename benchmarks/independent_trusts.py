"""The back-test over trusts from a second, independent generator of weekly extracts.

    nice -n 10 .venv/bin/python benchmarks/independent_trusts.py --seeds 1 2
    nice -n 10 .venv/bin/python benchmarks/independent_trusts.py --variants strikes --seeds 3
    nice -n 10 .venv/bin/python benchmarks/independent_trusts.py --generate-only --seeds 1

Our estimates have so far only been back-tested on trusts from our own simulator
(`waitinglist/simulation.py`). This script is **deliberately independent of it**: it was
written without reading simulation.py, estimates.py or docs/estimates.md, only the extract and
command-line contracts (shared/spec/) and the NHS background (shared/domain.md). It shares no
code and no parameters with the simulator, so a method tuned to the simulator's mechanics can
be judged on histories whose mechanics it was not designed around.

The generator (`Trust`, plain Python, deterministic for a seed) runs a trust of about
`--pathways` open pathways for `--weeks` weeks ending on Sunday 2026-11-22 and writes one
open-pathways CSV a week, `RXQ-YYYY-MM-DD.csv`, plus `truth.csv` (when and how each pathway
left). Its mechanics, in short (see the constants below for the numbers):

- thirteen specialties of very different sizes, an outpatient (ORTT) queue each and an admitted
  (IRTT) queue for the surgical ones, each run by one to four consultants whose capacity share
  is not quite their referral share;
- outpatient referrals arrive Poisson-like; an attended first appointment converts to an
  admitted pathway (new pathway id, same RTT clock start) some weeks later; a few admitted
  pathways are listed directly, with clocks that started weeks earlier;
- weekly capacity (slots) per queue with a slow drift and week-to-week noise, minus bank
  holidays; slots are booked one to six weeks ahead (a TCI or outpatient date shows in the
  extract before the pathway leaves), nearest weeks filled first;
- who is booked: the most urgent first, then longest wait, but a real share out of order
  (a pick among the next few, or a cherry-picked short case anywhere in the list); urgent
  (P1a/P1b, two-week-wait) patients bump a routine booking;
- on-the-day hospital cancellations (rebooked first), did-not-attends (outpatients partly
  discharged), short-notice fills of cancelled slots (treated with no date ever in an extract);
- validation sprints every four weeks for pathways waiting 12+ weeks (some removed a few weeks
  later, some postpone), patients who go elsewhere (more after 40 weeks), clinical upgrades
  (P4 to P3 to P2), P5/P6 postponements that later come back as P4.

Variants: `plain` (about stable), `step-down` (capacity falls 20% for good mid-history),
`strikes` (several one- or two-week strikes cutting capacity 50-70%, announced three weeks
ahead so booked dates are cancelled, and deeper Christmas and Easter dips), `small` (1,500
pathways: small queues), `shrinking` (capacity above demand: the list falls), `same-id` (as
`plain`, but an outpatient listed for surgery moves to the admitted list in the same week
keeping the pathway identifier, as the WLMDS intends for one RTT pathway), `same-id-later`
(the same, but the pathway is off both lists for the one to eight weeks between the
appointment and the listing, as `plain`'s new pathway is). The last two were added later, by
the session that taught the estimates about such moves, and not tuned to.

For each variant and seed the extracts (with truth.csv and stats.json: how bookings were
chosen, how pathways left, strike and step weeks) go to `<--dir>/<variant>-<seed>/extracts`
(`--dir` defaults to /tmp/indep), and a child process (Django reads DATABASE_URL once) imports
them into its own SQLite database there, runs `waitinglist.backtest.run` and prints each
method's figures as JSON, as benchmarks/backtest_scenarios.py does. A row the import rejects
stops the run (the import is strict by contract: fix the generator). The folder is kept: a
second run only back-tests. One CSV row per run is printed, with the bar of
backtest_scenarios.py: `yes`, or `no:` and the failed parts (error, p50, p10-p90, estimated);
then, for a variant run with several seeds, a row `all` over every estimate of its runs.
"""

import argparse
import csv
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from backtest_scenarios import TABLE_COLUMNS, pooled, result_cells  # the same table and bar

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = "RXQ"
LAST_WEEK = date(2026, 11, 22)
VARIANTS = ("plain", "step-down", "strikes", "small", "shrinking", "same-id", "same-id-later")
SMALL_PATHWAYS = 1500
BURN_IN = 13  # weeks run before the first extract, so bookings and flows have settled
HORIZON = 6  # weeks ahead that slots are booked

COLUMNS = [
    "Week_Ending_Date", "ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER", "PATIENT_PATHWAY_IDENTIFIER",
    "LOCAL_PATIENT_IDENTIFIER", "NHS_NUMBER", "PERSON_BIRTH_DATE",
    "ACTIVITY_TREATMENT_FUNCTION_CODE", "Waiting_List_Type",
    "REFERRAL_TO_TREATMENT_PERIOD_START_DATE", "Procedure_Priority_Code", "PRIORITY_TYPE_CODE",
    "Proposed_Procedure_OPCS_Code", "CONSULTANT_CODE", "TCI_Date",
    "Outpatient_Future_Appointment_Date", "Last_PAS_Validation_Date",
    "ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION",
]  # fmt: skip


@dataclass(frozen=True)
class Specialty:
    code: str  # treatment function code
    outpatients: int  # relative size of the ORTT list
    admitted: int  # relative size of the IRTT list (0: none)
    outpatient_weeks: float  # mean time on the ORTT list, weeks
    admitted_weeks: float  # mean time on the IRTT list, weeks
    age: tuple[int, int]  # mean, sd
    procedures: tuple[tuple[str, bool], ...] = ()  # OPCS-4 code, short case?
    two_week_wait: bool = False


SPECIALTIES = (
    Specialty("110", 643, 557, 19.4, 27.3, (61, 17),
              (("W37.1", False), ("W40.1", False), ("W82.3", True), ("A65.1", True),
               ("T52.1", True), ("W15.1", False))),
    Specialty("130", 421, 304, 13.6, 16.8, (71, 12),
              (("C71.2", True), ("C75.1", True), ("C22.3", False), ("C86.6", True))),
    Specialty("120", 468, 183, 16.7, 22.6, (38, 22),
              (("F34.1", False), ("E20.1", True), ("D15.1", True), ("E03.6", False)), True),
    Specialty("100", 379, 268, 12.9, 20.8, (54, 17),
              (("T20.2", True), ("J18.3", False), ("H51.1", True), ("T24.4", True)), True),
    Specialty("101", 262, 147, 11.7, 18.4, (63, 15),
              (("M65.3", False), ("M45.9", True), ("N30.3", True), ("M09.1", False)), True),
    Specialty("502", 333, 119, 15.8, 23.7, (44, 13),
              (("Q07.4", False), ("Q18.1", True), ("Q10.3", True), ("P23.2", False)), True),
    Specialty("330", 391, 26, 10.6, 8.9, (52, 20), (("S06.1", True), ("S05.1", True)), True),
    Specialty("320", 238, 0, 12.8, 0, (64, 14)),
    Specialty("301", 207, 0, 14.7, 0, (55, 16)),
    Specialty("400", 153, 0, 23.1, 0, (47, 17)),
    Specialty("410", 94, 0, 16.9, 0, (56, 15)),
    Specialty("160", 83, 57, 15.2, 24.6, (48, 18),
              (("S06.1", True), ("T52.1", True), ("S35.1", False))),
    Specialty("340", 71, 0, 9.7, 0, (62, 15)),
)  # fmt: skip

# Referral (and admitted-list) priority mixes.
OUTPATIENT_MIX = (("3", 0.047), ("2", 0.173), ("", 0.026))  # rest "1" routine
ADMITTED_MIX = (("P1a", 0.004), ("P1b", 0.013), ("P2", 0.081), ("P3", 0.187),
                ("P5", 0.011), ("P6", 0.006))  # rest P4  # fmt: skip
BAND = {"P1a": 1, "P1b": 2, "P2": 3, "P3": 4, "P4": 5, "3": 2, "2": 3, "1": 5, "": 6}
UPGRADE = {"P4": "P3", "P3": "P2", "1": "2"}
POSTPONE_WEEKS = {"P5": 9.5, "P6": 17.0}  # mean length of a postponement

# Share of slots of week (now + d) filled in this week's booking round, by list type.
FILL = {
    "ORTT": (1.0, 0.47, 0.38, 0.33, 0.29, 0.23),
    "IRTT": (1.0, 0.56, 0.43, 0.31, 0.14, 0.07),
}
HOSPITAL_CANCELS = {"ORTT": 0.013, "IRTT": 0.031}  # on the day; IRTT nearly doubles in winter
DID_NOT_ATTEND = {"ORTT": 0.068, "IRTT": 0.013}
DNA_DISCHARGED = 0.44  # outpatients discharged after a DNA (the rest are rebooked)
SHORT_NOTICE = 0.028  # short-notice fills per booked slot, never seen booked
DECLINES_DATE = 0.017  # patients offered a date who decline it
VALIDATION_EVERY, VALIDATION_COVERS = 4, 0.86
VALIDATION_REMOVES = {"ORTT": 0.104, "IRTT": 0.073}
VALIDATION_POSTPONES, VALIDATION_UPGRADES = 0.022, 0.014
GOES_ELSEWHERE, GOES_ELSEWHERE_AFTER_40 = 0.0014, 0.0031  # weekly, unbooked
WITHDRAWS_WHILE_BOOKED = 0.0006
UPGRADES_WEEKLY = {"P4": 0.0011, "P3": 0.0009, "1": 0.0008}
POSTPONES_WEEKLY = 0.0006
CAPACITY_RATIO = {"plain": 1.007, "step-down": 1.012, "strikes": 1.009, "small": 1.007,
                  "shrinking": 1.118, "same-id": 1.007, "same-id-later": 1.007}  # fmt: skip


def demand(mean_weeks: float) -> float:
    """Arrivals per slot that balance a list at capacity ratio 1: a slot treats a little under
    one patient (cancellations, DNAs, short-notice fills), and about 0.6% of the list leaves
    untreated each week."""
    return 0.977 + 0.0063 * mean_weeks


BANK_HOLIDAYS = frozenset(
    date.fromisoformat(d)
    for d in (
        "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
        "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
        "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    )
)  # fmt: skip
GOOD_FRIDAYS = (date(2025, 4, 18), date(2026, 4, 3))


class Pathway:
    __slots__ = (
        "band", "booked_week", "clock_start", "consultant", "ident", "joined", "patient",
        "postponed_until", "priority", "priority_type", "procedure", "rebook", "removal_week",
        "short", "tci", "validated",
    )  # fmt: skip

    def __init__(self, ident, patient, consultant, clock_start, joined, priority, priority_type):
        self.ident = ident
        self.patient = patient  # (NHS number, birth date, local id, GP practice)
        self.consultant = consultant
        self.clock_start = clock_start
        self.joined = joined
        self.priority = priority  # Procedure_Priority_Code (admitted only)
        self.priority_type = priority_type
        self.band = BAND[priority or priority_type] if priority not in POSTPONE_WEEKS else None
        self.procedure, self.short = "", False
        self.tci: date | None = None
        self.booked_week: int | None = None
        self.rebook = False
        self.postponed_until: int | None = None
        self.removal_week: int | None = None
        self.validated: date | None = None

    def set_priority(self, priority: str, priority_type: str) -> None:
        self.priority, self.priority_type = priority, priority_type
        self.band = BAND[priority or priority_type] if priority not in POSTPONE_WEEKS else None


@dataclass
class Queue:
    specialty: Specialty
    list_type: str
    consultants: list[str]
    referral_share: list[float]
    capacity_share: list[float]
    slots_per_week: float  # at capacity ratio 1
    arrivals_per_week: float  # referrals (ORTT) or direct listings (IRTT)
    converts: float = 0.0  # ORTT: share of attended appointments listed for surgery
    in_order: float = 0.6  # share of picks that take the next in turn
    near_order: float = 0.28  # share of picks among the next few
    near_depth: float = 0.04  # how far "the next few" reach, as a share of the list
    initial: float = 0.0  # pathways on the list at the start of the burn-in
    mean_weeks: float = 0.0  # mean time on the list the sizes were set from
    admitted: "Queue | None" = None  # ORTT: the specialty's IRTT queue
    drift: float = 0.0
    open: dict[int, Pathway] = field(default_factory=dict)
    slots: dict[tuple[int, int], int] = field(default_factory=dict)  # (week, consultant)
    booked: dict[int, list[Pathway]] = field(default_factory=dict)  # week -> pathways


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def stochastic_round(rng: random.Random, x: float) -> int:
    whole = math.floor(x)
    return whole + (rng.random() < x - whole)


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.choice((4, 6, 7))] + [rng.randrange(10) for _ in range(8)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits)) + str(check)


class Trust:
    """One synthetic trust: build with a variant and seed, then `write` its extracts."""

    def __init__(self, variant: str, seed: int, pathways: int, weeks: int) -> None:
        self.variant, self.weeks = variant, weeks
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible from a seed
        self.ratio = CAPACITY_RATIO[variant]
        self.next_id = 0
        self.queues: list[Queue] = []
        self.truth: list[tuple[str, str, str, date, date | None, str]] = []
        self.joins: dict[int, list[tuple]] = {}  # week -> pending admitted listings
        self.picks: Counter[str] = Counter()  # how each booking was chosen
        self.practices = [
            f"{self.rng.choice('ABCDEFGHJKLMNPY')}{self.rng.randrange(81000, 89999)}"
            for _ in range(37)
        ]
        self._build(pathways)
        self._plan_disruptions()

    # -- structure ---------------------------------------------------------------------------

    def _build(self, pathways: int) -> None:
        rng = self.rng
        total = sum(s.outpatients + s.admitted for s in SPECIALTIES)
        scale = pathways / total / 1.1  # the lists fill up a little during the burn-in
        for s in SPECIALTIES:
            size = (s.outpatients + s.admitted) * scale
            n = max(1, min(4, round(size / 170 + rng.uniform(-0.4, 0.4))))
            consultants = [f"C{rng.randrange(1000000, 9999999)}" for _ in range(n)]
            referral = [rng.uniform(0.6, 1.4) for _ in range(n)]
            capacity = [r * rng.uniform(0.91, 1.09) for r in referral]
            referral = [r / sum(referral) for r in referral]
            capacity = [c / sum(capacity) for c in capacity]
            ortt_size = s.outpatients * scale * math.exp(rng.gauss(0, 0.15))
            ortt_weeks = s.outpatient_weeks * math.exp(rng.gauss(0, 0.12))
            ortt = Queue(s, "ORTT", consultants, referral, capacity, ortt_size / ortt_weeks, 0.0,
                         in_order=rng.uniform(0.58, 0.74), near_order=rng.uniform(0.18, 0.3),
                         near_depth=rng.uniform(0.02, 0.06))  # fmt: skip
            ortt.initial, ortt.mean_weeks = ortt_size, ortt_weeks
            self.queues.append(ortt)
            if s.admitted:
                irtt_size = s.admitted * scale * math.exp(rng.gauss(0, 0.15))
                irtt_weeks = s.admitted_weeks * math.exp(rng.gauss(0, 0.12))
                irtt = Queue(s, "IRTT", consultants, referral, capacity, irtt_size / irtt_weeks,
                             0.0, in_order=rng.uniform(0.5, 0.66), near_order=rng.uniform(0.2, 0.3),
                             near_depth=rng.uniform(0.03, 0.08))  # fmt: skip
                irtt.initial, irtt.mean_weeks = irtt_size, irtt_weeks
                direct = rng.uniform(0.15, 0.3)
                listed = irtt.slots_per_week * demand(irtt_weeks)
                irtt.arrivals_per_week = direct * listed
                ortt.converts = min(0.7, (1 - direct) * listed / (0.95 * ortt.slots_per_week))
                ortt.admitted = irtt
                self.queues.append(irtt)
            ortt.arrivals_per_week = ortt.slots_per_week * demand(ortt_weeks)
        start = self.week_ending(-BURN_IN)
        for q in self.queues:
            for _ in range(round(q.initial)):
                self._initial_pathway(q, start)

    def _initial_pathway(self, q: Queue, start: date) -> None:
        rng = self.rng
        priority, priority_type = self._priorities(q)
        if priority in ("P1a", "P1b", "P2") or (not priority and priority_type == "3"):
            waited = rng.uniform(0, 3.5)
        elif priority == "P3" or (not priority and priority_type == "2"):
            waited = rng.lognormvariate(math.log(5.5), 0.6)
        else:
            waited = min(130.0, rng.lognormvariate(math.log(0.74 * q.mean_weeks), 0.83))
        if q.list_type == "IRTT":
            waited += rng.gammavariate(1.7, 5.5)
        clock = start - timedelta(days=round(waited * 7))
        p = self._join(q, clock, -BURN_IN, priority, priority_type)
        if waited >= 12 and rng.random() < 0.7:
            p.validated = start - timedelta(days=rng.randrange(1, 84))
        if priority in POSTPONE_WEEKS:
            p.postponed_until = -BURN_IN + rng.randrange(1, 21)

    def _plan_disruptions(self) -> None:
        rng = self.rng
        self.step_week = self.weeks // 2 + rng.randrange(-5, 6)
        self.strikes: dict[int, float] = {}
        if self.variant == "strikes":
            week = rng.randrange(6, 12)
            while week < self.weeks - 4:
                length = 1 if rng.random() < 0.55 else 2
                cut = rng.uniform(0.5, 0.7)
                for w in range(week, min(week + length, self.weeks)):
                    self.strikes[w] = cut
                week += length + rng.randrange(7, 16)
        self.validation_offset = rng.randrange(VALIDATION_EVERY)

    def week_ending(self, k: int) -> date:
        """The Sunday ending week k (0 = first extract; negative = burn-in)."""
        return LAST_WEEK - timedelta(weeks=self.weeks - 1 - k)

    def planned_capacity(self, k: int) -> float:
        """The capacity multiplier of week k as planned (strikes come later, announced)."""
        monday = self.week_ending(k) - timedelta(days=6)
        days = [monday + timedelta(days=d) for d in range(5)]
        multiplier = self.ratio * (1 - 0.2 * sum(d in BANK_HOLIDAYS for d in days))
        if self.variant == "step-down" and k >= self.step_week:
            multiplier *= 0.8
        if self.variant == "strikes":
            if any(d.month == 12 and d.day == 25 for d in days):
                multiplier *= 0.52
            elif any(d.month == 1 and d.day <= 2 for d in days):
                multiplier *= 0.71
            elif any(0 <= (d - g).days <= 10 for d in days for g in GOOD_FRIDAYS):
                multiplier *= 0.74
        return multiplier

    # -- people ------------------------------------------------------------------------------

    def _priorities(self, q: Queue, priority_type: str | None = None) -> tuple[str, str]:
        rng = self.rng
        if priority_type is None:
            priority_type, u = "1", rng.random()
            for code, share in OUTPATIENT_MIX:
                if code == "3" and not q.specialty.two_week_wait:
                    continue
                if u < share:
                    priority_type = code
                    break
                u -= share
        if q.list_type == "ORTT":
            return "", priority_type
        priority, u = "P4", rng.random()
        for code, share in ADMITTED_MIX:
            if u < share:
                priority = code
                break
            u -= share
        return priority, priority_type

    def _patient(self, q: Queue, start: date) -> tuple[str, str, str, str]:
        rng = self.rng
        mean, sd = q.specialty.age
        age = min(96.0, max(0.6, rng.gauss(mean, sd)))
        birth = start - timedelta(days=round(age * 365.25) + rng.randrange(365))
        return (nhs_number(rng), birth.isoformat(), f"K{rng.randrange(1000000, 9999999)}",
                rng.choice(self.practices))  # fmt: skip

    def _join(self, q, clock, week, priority, priority_type, patient=None, consultant=None,
              number=None):  # fmt: skip
        rng = self.rng
        if number is None:
            self.next_id += 1
            number = self.next_id
        if consultant is None:
            consultant = rng.choices(range(len(q.consultants)), q.referral_share)[0]
        if patient is None:
            patient = self._patient(q, self.week_ending(week))
        p = Pathway(f"RXQ{number:08d}", patient, consultant, clock, week, priority,
                    priority_type)  # fmt: skip
        if q.list_type == "IRTT":
            p.procedure, p.short = rng.choice(q.specialty.procedures)
        if priority in POSTPONE_WEEKS:
            p.postponed_until = week + 1 + int(rng.expovariate(1 / POSTPONE_WEEKS[priority]))
        q.open[number] = p
        return p

    def _leave(self, q: Queue, key: int, p: Pathway, week: int, how: str) -> None:
        del q.open[key]
        if p.booked_week is not None:
            q.booked[p.booked_week].remove(p)
            p.booked_week = p.tci = None
        self.truth.append((p.ident, q.specialty.code, q.list_type, self.week_ending(p.joined),
                           self.week_ending(week), how))  # fmt: skip

    def _unbook(self, q: Queue, p: Pathway) -> None:
        q.booked[p.booked_week].remove(p)
        p.booked_week = p.tci = None
        p.rebook = True

    def _postpone(self, p: Pathway, week: int) -> None:
        code = "P5" if self.rng.random() < 0.62 else "P6"
        p.set_priority(code, p.priority_type)
        p.postponed_until = week + 1 + int(self.rng.expovariate(1 / POSTPONE_WEEKS[code]))

    # -- one week ----------------------------------------------------------------------------

    def step(self, week: int) -> None:
        rng = self.rng
        end = self.week_ending(week)
        monday = end - timedelta(days=6)
        winter = end.month in (12, 1, 2)
        for q in self.queues:
            q.drift = 0.88 * q.drift + rng.gauss(0, 0.035)
            self._plan_slots(q, week + HORIZON)
            if week + 3 in self.strikes:
                self._strike(q, week + 3, self.strikes[week + 3])
        # Arrivals: referrals, direct listings, and outpatients listed for surgery.
        for q in self.queues:
            for _ in range(poisson(rng, q.arrivals_per_week)):
                clock = monday + timedelta(days=rng.randrange(7))
                if q.list_type == "IRTT":
                    clock -= timedelta(days=round(7 * rng.gammavariate(1.7, 5.5)))
                elif rng.random() < 0.057:  # transferred in, clock already running
                    clock -= timedelta(days=rng.randrange(14, 180))
                self._join(q, clock, week, *self._priorities(q))
        for q, clock, patient, consultant, priority_type, number in self.joins.pop(week, []):
            self._join(q, clock, week, *self._priorities(q, priority_type), patient, consultant,
                       number)  # fmt: skip
        for q in self.queues:
            self._treat(q, week, monday, winter)
            self._attrition(q, week, end)
            self._book(q, week)

    def _plan_slots(self, q: Queue, week: int) -> None:
        noise = math.exp(q.drift + self.rng.gauss(0, 0.13))
        total = q.slots_per_week * self.planned_capacity(week) * noise
        for c, share in enumerate(q.capacity_share):
            q.slots[week, c] = stochastic_round(self.rng, total * share)

    def _strike(self, q: Queue, week: int, cut: float) -> None:
        for c in range(len(q.consultants)):
            q.slots[week, c] = stochastic_round(self.rng, q.slots[week, c] * (1 - cut))
            mine = [p for p in q.booked.get(week, []) if p.consultant == c]
            self.rng.shuffle(mine)
            for p in mine[q.slots[week, c] :]:
                self._unbook(q, p)

    def _treat(self, q: Queue, week: int, monday: date, winter: bool) -> None:
        rng = self.rng
        cancels = HOSPITAL_CANCELS[q.list_type] * (1.8 if winter and q.list_type == "IRTT" else 1)
        booked = list(q.booked.get(week, []))
        for p in booked:
            u = rng.random()
            if u < cancels:
                self._unbook(q, p)
            elif u < cancels + DID_NOT_ATTEND[q.list_type]:
                if q.list_type == "ORTT" and rng.random() < DNA_DISCHARGED:
                    self._leave(q, self._key(p), p, week, "discharged-after-dna")
                else:
                    self._unbook(q, p)
                    p.rebook = False
            else:
                self._leave(q, self._key(p), p, week, "treated")
                self._maybe_convert(q, p, week)
        q.booked.pop(week, None)
        # Short-notice fills: treated this week, never seen booked.
        for _ in range(binomial(rng, len(booked), SHORT_NOTICE)):
            candidates = self._candidates(q, None)
            if not candidates:
                break
            p = candidates[self._pick(q, candidates)]
            self._leave(q, self._key(p), p, week, "treated-short-notice")
            self._maybe_convert(q, p, week)

    def _maybe_convert(self, q: Queue, p: Pathway, week: int) -> None:
        if q.list_type == "ORTT" and q.converts and self.rng.random() < q.converts:
            if self.variant == "same-id":  # listed at once, keeping the pathway identifier
                priority = self._priorities(q.admitted, p.priority_type)
                self._join(q.admitted, p.clock_start, week, *priority, p.patient, p.consultant,
                           self._key(p))  # fmt: skip
                return
            delay = min(8, 1 + int(self.rng.expovariate(1 / 1.2)))  # pre-op, diagnostics
            number = self._key(p) if self.variant == "same-id-later" else None
            self.joins.setdefault(week + delay, []).append(
                (q.admitted, p.clock_start, p.patient, p.consultant, p.priority_type, number)
            )

    def _key(self, p: Pathway) -> int:
        return int(p.ident[3:])

    def _attrition(self, q: Queue, week: int, end: date) -> None:
        rng = self.rng
        validating = week % VALIDATION_EVERY == self.validation_offset
        for key, p in list(q.open.items()):
            if p.removal_week is not None:
                if p.removal_week <= week:
                    self._leave(q, key, p, week, "removed-at-validation")
                continue
            if p.booked_week is not None:
                if rng.random() < WITHDRAWS_WHILE_BOOKED:
                    self._leave(q, key, p, week, "withdrew-while-booked")
                continue
            waited = (end - p.clock_start).days / 7
            hazard = GOES_ELSEWHERE + (GOES_ELSEWHERE_AFTER_40 if waited > 40 else 0)
            if rng.random() < hazard:
                self._leave(q, key, p, week, "went-elsewhere")
                continue
            if p.postponed_until is not None and p.postponed_until <= week:
                p.set_priority("P3" if rng.random() < 0.08 else "P4", p.priority_type)
                p.postponed_until = None
            if (
                validating
                and waited >= 12
                and rng.random() < VALIDATION_COVERS
                and (p.validated is None or (end - p.validated).days >= 84)
            ):
                p.validated = end - timedelta(days=rng.randrange(2, 7))
                u = rng.random()
                if u < VALIDATION_REMOVES[q.list_type]:
                    p.removal_week = week + rng.choice((0, 1, 1, 2, 3))
                    if p.removal_week == week:
                        self._leave(q, key, p, week, "removed-at-validation")
                    continue
                u -= VALIDATION_REMOVES[q.list_type]
                if q.list_type == "IRTT" and p.band is not None and u < VALIDATION_POSTPONES:
                    self._postpone(p, week)
                    continue
                if u < VALIDATION_POSTPONES + VALIDATION_UPGRADES:
                    self._upgrade(p)
                    continue
            if p.band is None:
                continue
            code = p.priority or p.priority_type
            if rng.random() < UPGRADES_WEEKLY.get(code, 0):
                self._upgrade(p)
            elif q.list_type == "IRTT" and p.band >= 4 and rng.random() < POSTPONES_WEEKLY:
                self._postpone(p, week)

    def _upgrade(self, p: Pathway) -> None:
        if p.priority in UPGRADE:
            p.set_priority(UPGRADE[p.priority], p.priority_type)
        elif not p.priority and p.priority_type in UPGRADE:
            p.set_priority("", UPGRADE[p.priority_type])

    # -- booking -----------------------------------------------------------------------------

    def _candidates(self, q: Queue, consultant: int | None) -> list[Pathway]:
        found = [
            p
            for p in q.open.values()
            if p.booked_week is None and p.band is not None and p.removal_week is None
            and (consultant is None or p.consultant == consultant)
        ]  # fmt: skip
        found.sort(key=lambda p: (p.band, not p.rebook, p.clock_start, p.ident))
        return found

    def _pick(self, q: Queue, candidates: list[Pathway]) -> int:
        """The index of the candidate booked next: in turn, near it, or cherry-picked."""
        rng = self.rng
        if len(candidates) == 1 or candidates[0].band <= 3:
            self.picks["urgent or only one"] += 1
            return 0  # urgent patients are never passed over
        u = rng.random()
        if u < q.in_order:
            self.picks["in turn"] += 1
            return 0
        if u < q.in_order + q.near_order:
            self.picks["near the front"] += 1
            depth = q.near_depth * len(candidates) + 1.5
            return min(len(candidates) - 1, 1 + int(rng.expovariate(1 / depth)))
        self.picks["cherry-picked"] += 1
        if q.list_type == "IRTT":  # a short case that fits the theatre list, however recent
            short = [i for i, p in enumerate(candidates) if p.short and p.band >= 4]
            return rng.choice(short) if short else 0
        routine = [i for i, p in enumerate(candidates) if p.band >= 4]  # a clinic gap
        return rng.choice(routine) if routine else 0

    def _book(self, q: Queue, week: int) -> None:
        rng = self.rng
        fill = FILL[q.list_type]
        lists = {c: self._candidates(q, c) for c in range(len(q.consultants))}
        # Urgent patients take a routine patient's slot next week when it is full.
        nxt = week + 1
        for c, candidates in lists.items():
            urgent = sum(1 for p in candidates if p.band <= 2)
            mine = [p for p in q.booked.get(nxt, []) if p.consultant == c]
            free = q.slots[nxt, c] - len(mine)
            routine = [p for p in mine if p.band is not None and p.band >= 4]
            bump = min(len(routine), urgent - free)
            if bump > 0:
                for p in routine[len(routine) - bump :]:  # the latest booked
                    self._unbook(q, p)
                    candidates.append(p)
                candidates.sort(key=lambda p: (p.band, not p.rebook, p.clock_start, p.ident))
        for d in range(1, HORIZON + 1):
            target = week + d
            booked = q.booked.setdefault(target, [])
            for c in range(len(q.consultants)):
                free = q.slots[target, c] - sum(1 for p in booked if p.consultant == c)
                if free <= 0:
                    continue
                n = free if d == 1 else binomial(rng, free, fill[d - 1])
                while n > 0:
                    candidates = lists[c] or max(lists.values(), key=len)
                    if not candidates:
                        break
                    p = candidates.pop(self._pick(q, candidates))
                    p.consultant = c  # a colleague's patient, when c's own list is empty
                    if rng.random() < DECLINES_DATE:
                        if q.list_type == "IRTT" and rng.random() < 0.55:
                            self._postpone(p, week)
                        continue
                    p.booked_week, p.rebook = target, False
                    monday = self.week_ending(target) - timedelta(days=6)
                    p.tci = monday + timedelta(days=rng.randrange(5))
                    booked.append(p)
                    n -= 1

    # -- output ------------------------------------------------------------------------------

    def rows(self, week: int):
        end = self.week_ending(week).isoformat()
        for q in self.queues:
            code, list_type = q.specialty.code, q.list_type
            for p in q.open.values():
                nhs, birth, local, practice = p.patient
                tci = p.tci.isoformat() if p.tci else ""
                yield (
                    end, PROVIDER, p.ident, local, nhs, birth, code, list_type,
                    p.clock_start.isoformat(), p.priority, p.priority_type, p.procedure,
                    q.consultants[p.consultant], tci if list_type == "IRTT" else "",
                    tci if list_type == "ORTT" else "",
                    p.validated.isoformat() if p.validated else "", practice,
                )  # fmt: skip

    def write(self, folder: Path) -> list[Path]:
        """Runs the burn-in and every week, writing one extract a week; returns the files."""
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for q in self.queues:
            for week in range(-BURN_IN + 1, -BURN_IN + HORIZON):
                self._plan_slots(q, week)
        for week in range(-BURN_IN, self.weeks):
            self.step(week)
            if week < 0:
                continue
            path = folder / f"{PROVIDER}-{self.week_ending(week).isoformat()}.csv"
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(COLUMNS)
                writer.writerows(self.rows(week))
            files.append(path)
        with (folder / "truth.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["pathway", "function", "list_type", "joined", "left", "how"])
            writer.writerows(self.truth)
        stats = {
            "picks": dict(self.picks),
            "left": dict(Counter(how for *_, how in self.truth)),
            "strike_weeks": {self.week_ending(w).isoformat(): round(c, 2)
                             for w, c in sorted(self.strikes.items())},
            "step_down_week": self.week_ending(self.step_week).isoformat(),
        }  # fmt: skip
        (folder / "stats.json").write_text(json.dumps(stats, indent=1))
        return files


CHILD = f"""
import glob, io, json, re, sys, time
import django
django.setup()
from django.core.management import call_command
import backtest_scenarios
from waitinglist import backtest
from waitinglist.models import Provider
folder, step = sys.argv[1:3]
started = time.perf_counter()
if not glob.glob(folder + "/done"):
    call_command("migrate", verbosity=0)
    Provider.objects.get_or_create(ods_code="{PROVIDER}", defaults={{"name": "Independent trust"}})
    extracts = sorted(glob.glob(folder + "/extracts/{PROVIDER}-*.csv"))
    out = io.StringIO()
    call_command("import_waiting_list", *extracts, verbosity=0, stdout=out)
    rejected = sum(int(n) for n in re.findall(r"([0-9]+) rows? rejected", out.getvalue()))
    open(folder + "/import.txt", "w").write(out.getvalue())
    if rejected:
        sys.exit(f"the import rejected {{rejected}} rows: see {{folder}}/import.txt")
    open(folder + "/done", "w").close()
imported = time.perf_counter()
result = backtest.run(Provider.objects.get(ods_code="{PROVIDER}"), step=int(step))
backtest_scenarios.save_scores(result.scores, folder)
print(json.dumps({{"import_seconds": imported - started,
                  "backtest_seconds": time.perf_counter() - imported}}))
print(json.dumps({{m: s.figures() for m, s in result.scores.items()}}))
"""


def generate(variant: str, seed: int, pathways: int, weeks: int, folder: Path) -> None:
    if (folder / "extracts" / "truth.csv").exists():
        return
    started = time.perf_counter()
    trust = Trust(variant, seed, pathways, weeks)
    files = trust.write(folder / "extracts")
    sizes = [sum(1 for _ in f.open(encoding="utf-8")) - 1 for f in (files[0], files[-1])]
    print(
        f"# {variant} seed {seed}: {len(files)} extracts, {sizes[0]} -> {sizes[1]} pathways, "
        f"generated in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def backtest(folder: Path, step: int) -> tuple[dict, dict]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "VAR_DIR": str(folder / "var"),
        "SECRET_KEY": "independent-trusts-backtest-only-not-a-secret-" + "x" * 14,
        "DEBUG": "off",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
    }
    command = [sys.executable, "-c", CHILD, str(folder), str(step)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True)
    if done.returncode:
        sys.exit(f"{folder.name} failed:\n{done.stderr.decode()[-3000:]}")
    timing, figures = done.stdout.decode().strip().splitlines()[-2:]
    return json.loads(timing), json.loads(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--weeks", type=int, default=78)
    parser.add_argument(
        "--pathways", type=int, default=5000, help=f"open pathways ({SMALL_PATHWAYS} for small)"
    )
    parser.add_argument("--step", type=int, default=1, help="weeks between origins")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "indep")
    parser.add_argument("--generate-only", action="store_true", help="write extracts; no DB")
    args = parser.parse_args()

    if not args.generate_only:
        print(f"variant,seed,{TABLE_COLUMNS},seconds")
    for variant in args.variants:
        pathways = SMALL_PATHWAYS if variant == "small" else args.pathways
        folders = []
        for seed in args.seeds:
            folder = (args.dir / f"{variant}-{seed}").resolve()
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            generate(variant, seed, pathways, args.weeks, folder)
            if args.generate_only:
                continue
            timing, figures = backtest(folder, args.step)
            took = time.perf_counter() - started
            print(",".join([variant, str(seed), *result_cells(figures), f"{took:.0f}"]), flush=True)
            print(
                f"# {variant} seed {seed}: import {timing['import_seconds']:.0f} s, "
                f"backtest {timing['backtest_seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            folders.append(folder)
        if len(folders) > 1:
            # The variant over all its seeds' estimates at once: its result, not one draw.
            print(",".join([variant, "all", *result_cells(pooled(folders)), ""]), flush=True)


if __name__ == "__main__":
    main()
