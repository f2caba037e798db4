"""A synthetic trust: weekly open-pathways extracts and the truth of who left when, and why.

Realistic enough to test estimates against: several specialties and list types, a backlog
with a long tail, a priority mix with urgent arrivals, capacity that varies week to week and
dips at bank holidays (and, in some scenarios, strikes or a lasting step up), validation
removals, patients who postpone (P6), bookings a few weeks ahead that are sometimes cancelled,
and some treatment out of strict order. Everything follows from the seed.

Scenarios: `steady`; `capacity-step` (capacity 30% higher from half-way); `winter` (deeper
holiday dips, and strike weeks); `growing` (referrals 12% above capacity).

Beside the extracts and truth.csv it writes capacity-plans.csv: the lasting capacity changes
the trust planned, as a trust would record them in the workspace (`CapacityChange`). In
`capacity-step` the step is planned a quarter (PLAN_LEAD_WEEKS) before it starts.
"""

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import nhs_number

from waitinglist.extract import OPTIONAL, REQUIRED
from waitinglist.ranking import band

SCENARIOS = ("steady", "capacity-step", "winter", "growing")
MEAN_WAIT_WEEKS = 18  # a backlog's typical mean wait in 2025-26 (NHS England RTT statistics)
# By how many weeks ahead, what share of a week's slots are already booked.
BOOKED_BY_WEEKS_AHEAD = {1: 1.0, 2: 0.9, 3: 0.6, 4: 0.3}
STEP_UP = 1.3  # capacity-step: capacity from half-way, against before
PLAN_LEAD_WEEKS = 13  # how long before the step the trust records it
PLAN_COLUMNS = ["treatment_function", "starts", "percent", "known_from", "note"]
TRUTH_COLUMNS = ["PATIENT_PATHWAY_IDENTIFIER", "left_week_ending", "reason"]


@dataclass(frozen=True)
class Specialty:
    treatment_function: str
    list_type: str
    share: float  # of the trust's list
    procedures: tuple[str, ...]


SPECIALTIES = (
    Specialty("110", "IRTT", 0.16, ("W37.1", "W38.1", "W40.1", "W42.1", "W82.3")),
    Specialty("110", "ORTT", 0.10, ()),
    Specialty("130", "IRTT", 0.10, ("C71.2", "C75.1")),
    Specialty("130", "ORTT", 0.08, ()),
    Specialty("120", "IRTT", 0.06, ("F34.1", "E20.1", "D15.1")),
    Specialty("120", "ORTT", 0.07, ()),
    Specialty("101", "IRTT", 0.06, ("M65.1", "M45.9")),
    Specialty("100", "IRTT", 0.08, ("T20.1", "J18.3", "H51.1")),
    Specialty("502", "IRTT", 0.06, ("Q07.4", "Q18.1")),
    Specialty("502", "ORTT", 0.06, ()),
    Specialty("320", "ORTT", 0.08, ()),
    Specialty("330", "ORTT", 0.09, ()),
)


@dataclass
class Pathway:
    identifier: str
    nhs_number: str
    birth_date: date
    clock_start: date
    priority: str  # Procedure_Priority_Code (admitted lists) or ""
    priority_type: str  # PRIORITY_TYPE_CODE
    procedure: str
    consultant: str
    referrer: str
    email: str = ""
    mobile: str = ""
    booked: date | None = None
    validated: date | None = None
    postponed_until: date | None = None
    priority_before_postponing: str = ""

    @property
    def band(self) -> int | None:
        return band(self.priority, self.priority_type)


@dataclass
class QueueState:
    specialty: Specialty
    capacity: float  # treatments a normal week
    consultants: list[str]
    open: list[Pathway] = field(default_factory=list)


class TrustSimulation:
    def __init__(self, provider: str, seed: int, pathways: int, scenario: str, weeks: int):
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}")
        self.provider, self.scenario, self.weeks = provider, scenario, weeks
        self.rng = random.Random(seed)
        self.next_id = 0
        self.next_patient = 0
        self.truth: list[tuple[str, str, str]] = []
        self.practices = [f"Y9{n:04d}" for n in range(1, 41)]
        self.strikes: set[int] = set()
        if scenario == "winter":
            self.strikes = set(self.rng.sample(range(weeks), k=max(1, weeks // 12)))
        self.queues = [
            QueueState(
                s,
                capacity=pathways * s.share / MEAN_WAIT_WEEKS,
                consultants=[f"C{self.rng.randrange(10**6, 10**7)}" for _ in range(3)],
            )
            for s in SPECIALTIES
        ]
        self.target = pathways
        self._factors: dict[int, float] = {}

    # --- people -------------------------------------------------------------------------
    def _nhs_number(self) -> str:
        while True:
            base = f"{990000000 + self.next_patient:09d}"
            self.next_patient += 1
            check = nhs_number.calculate_checksum(base)
            if check is not None and check < 10:
                return f"{base}{check}"

    def _new_pathway(self, queue: QueueState, clock_start: date, backlog: bool) -> Pathway:
        rng = self.rng
        self.next_id += 1
        admitted = queue.specialty.list_type == "IRTT"
        if admitted:
            mix = (("P2", 0.04), ("P3", 0.30)) if backlog else (("P2", 0.15), ("P3", 0.35))
            roll, priority = rng.random(), "P4"
            for code, share in mix:
                if roll < share:
                    priority = code
                    break
                roll -= share
            priority_type = "1"
        else:
            priority = ""
            roll = rng.random()
            priority_type = "3" if roll < 0.04 else "2" if roll < 0.2 else "1"
        age = rng.randint(18, 90)
        n = self.next_id
        return Pathway(
            identifier=f"{self.provider}{n:09d}",
            nhs_number=self._nhs_number(),
            birth_date=clock_start - timedelta(days=age * 365 + rng.randint(0, 364)),
            clock_start=clock_start,
            priority=priority,
            priority_type=priority_type,
            procedure=rng.choice(queue.specialty.procedures) if queue.specialty.procedures else "",
            consultant=rng.choice(queue.consultants),
            referrer=rng.choice(self.practices),
            email=f"patient{n}@example.com" if rng.random() < 0.4 else "",
            mobile=f"07700 900{rng.randrange(1000):03d}" if rng.random() < 0.5 else "",
        )

    # --- the weeks ------------------------------------------------------------------------
    def _capacity_factor(self, week: int, week_ending: date) -> float:
        """This week's capacity against a normal week's; drawn once per week."""
        if week not in self._factors:
            self._factors[week] = self._draw_capacity_factor(week, week_ending)
        return self._factors[week]

    def _draw_capacity_factor(self, week: int, week_ending: date) -> float:
        factor = self.rng.gauss(1.0, 0.08)
        month, day = week_ending.month, week_ending.day
        holiday = (month == 12 and day >= 22) or (month == 1 and day <= 7)
        if holiday:
            factor *= 0.35 if self.scenario == "winter" else 0.5
        elif month == 4 and day <= 21:
            factor *= 0.8  # Easter, roughly
        elif month == 8:
            factor *= 0.85
        if week in self.strikes:
            factor *= 0.55
        if self.scenario == "capacity-step" and week >= self.weeks // 2:
            factor *= STEP_UP
        return max(factor, 0.0)

    def _arrivals(self, queue: QueueState) -> int:
        mean = queue.capacity * (1.12 if self.scenario == "growing" else 1.0)
        return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))

    def seed_backlog(self, first_week: date) -> None:
        for queue in self.queues:
            for _ in range(round(self.target * queue.specialty.share)):
                # A long tail: most wait weeks to months, a few over a year.
                weeks = min(self.rng.expovariate(1 / (MEAN_WAIT_WEEKS * 0.9)), 104)
                if self.rng.random() < 0.04:
                    weeks = self.rng.uniform(52, 104)
                start = first_week - timedelta(days=int(weeks * 7) + self.rng.randint(0, 6))
                queue.open.append(self._new_pathway(queue, start, backlog=True))

    def advance(self, week: int, week_ending: date) -> None:
        """Moves the trust on to the end of this week: treatments, removals, arrivals."""
        rng = self.rng
        for queue in self.queues:
            still_open = []
            for p in queue.open:
                if p.booked and p.booked <= week_ending:
                    self.truth.append((p.identifier, week_ending.isoformat(), "treated"))
                elif (
                    not p.booked
                    and _weeks(p.clock_start, week_ending) > 12
                    and rng.random() < 0.003
                ):
                    self.truth.append((p.identifier, week_ending.isoformat(), "validation"))
                elif rng.random() < 0.0008:
                    self.truth.append((p.identifier, week_ending.isoformat(), "elsewhere"))
                else:
                    still_open.append(p)
            queue.open = still_open
            self._postpone_and_return(queue, week_ending)
            for _ in range(self._arrivals(queue)):
                start = week_ending - timedelta(days=rng.randint(0, 6))
                queue.open.append(self._new_pathway(queue, start, backlog=False))
            self._book(queue, week, week_ending)
            for p in queue.open:  # NHS England: validate 12+ week waiters every 12 weeks
                due = not p.validated or _weeks(p.validated, week_ending) > 12
                if due and _weeks(p.clock_start, week_ending) > 12 and rng.random() < 0.05:
                    p.validated = week_ending - timedelta(days=rng.randint(0, 6))

    def _postpone_and_return(self, queue: QueueState, week_ending: date) -> None:
        rng = self.rng
        for p in queue.open:
            if p.postponed_until and p.postponed_until <= week_ending:
                p.priority, p.postponed_until = p.priority_before_postponing, None
            elif p.priority in ("P3", "P4") and not p.booked and rng.random() < 0.002:
                p.priority_before_postponing, p.priority = p.priority, "P6"
                p.postponed_until = week_ending + timedelta(weeks=rng.randint(4, 12))
            elif p.priority == "P4" and rng.random() < 0.001:
                p.priority = "P2"  # got worse: clinically re-prioritised

    def _book(self, queue: QueueState, week: int, week_ending: date) -> None:
        """Fills the next four weeks' slots, nearer weeks fuller; mostly in turn, some not."""
        rng = self.rng
        for p in queue.open:  # a few hospital cancellations go back on the list
            if p.booked and p.booked > week_ending and rng.random() < 0.01:
                p.booked = None
        waiting = sorted(
            (p for p in queue.open if not p.booked and p.band is not None),
            key=lambda p: (p.band, p.clock_start, p.identifier),
        )
        for ahead, share_booked in BOOKED_BY_WEEKS_AHEAD.items():
            slot_end = week_ending + timedelta(weeks=ahead)
            capacity = queue.capacity * self._capacity_factor(week + ahead, slot_end)
            already = sum(
                1 for p in queue.open if p.booked and slot_end - timedelta(7) < p.booked <= slot_end
            )
            slots = round(capacity * share_booked) - already
            if slots <= 0 or not waiting:
                continue
            in_turn = waiting[: round(slots * 0.85)]
            pool = waiting[len(in_turn) : len(in_turn) + slots * 3]
            chosen = in_turn + rng.sample(pool, k=min(len(pool), slots - len(in_turn)))
            for p in chosen:
                p.booked = slot_end - timedelta(days=rng.randint(0, 6))
            taken = {id(p) for p in chosen}
            waiting = [p for p in waiting if id(p) not in taken]

    # --- output -----------------------------------------------------------------------------
    def rows(self, week_ending: date):
        for queue in self.queues:
            admitted = queue.specialty.list_type == "IRTT"
            for p in queue.open:
                yield [
                    week_ending.isoformat(), self.provider, p.identifier, p.nhs_number,
                    p.birth_date.isoformat(), queue.specialty.treatment_function,
                    queue.specialty.list_type, p.clock_start.isoformat(),
                    f"H{p.nhs_number[-7:]}", p.priority, p.priority_type, p.procedure,
                    p.consultant,
                    p.booked.isoformat() if p.booked and admitted else "",
                    p.booked.isoformat() if p.booked and not admitted else "",
                    p.validated.isoformat() if p.validated else "", p.referrer, p.email, p.mobile,
                ]  # fmt: skip


def _weeks(since: date, until: date) -> float:
    return (until - since).days / 7


def last_sunday(today: date) -> date:
    return today - timedelta(days=(today.weekday() + 1) % 7)


def simulate_trust(
    provider: str,
    weeks: int,
    seed: int,
    out: Path,
    pathways: int = 5000,
    scenario: str = "steady",
    last_week: date | None = None,
) -> list[Path]:
    """Writes one extract CSV per week and truth.csv into `out`; returns the extracts' paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    last_week = last_week or last_sunday(date.today())
    first_week = last_week - timedelta(weeks=weeks - 1)
    trust = TrustSimulation(provider, seed, pathways, scenario, weeks)
    # Start a few weeks early and run unseen, so the first extract already has bookings.
    warm_up = 6
    trust.seed_backlog(first_week - timedelta(weeks=warm_up))
    for week in range(-warm_up + 1, 1):
        trust.advance(week, first_week + timedelta(weeks=week))
    trust.truth.clear()
    header = REQUIRED + OPTIONAL
    files = []
    for week in range(weeks):
        week_ending = first_week + timedelta(weeks=week)
        if week:
            trust.advance(week, week_ending)
        path = out / f"{provider}-{week_ending.isoformat()}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(trust.rows(week_ending))
        files.append(path)
    with (out / "truth.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TRUTH_COLUMNS)
        writer.writerows(trust.truth)
        writer.writerows((p.identifier, "", "still-waiting") for q in trust.queues for p in q.open)
    with (out / "capacity-plans.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(PLAN_COLUMNS)
        if scenario == "capacity-step":
            # Weeks end on Sundays: the step starts on the Monday of week weeks // 2.
            starts = first_week + timedelta(weeks=weeks // 2, days=-6)
            known = starts - timedelta(weeks=PLAN_LEAD_WEEKS)
            percent = round((STEP_UP - 1) * 100)
            writer.writerow(["", starts.isoformat(), percent, known.isoformat(), "new capacity"])
    return files
