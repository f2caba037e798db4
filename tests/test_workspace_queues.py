"""The workspace's queues: the table, one queue's history and charts, their CSVs, and who may
see them."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.csv import safe_cell
from portal.roles import Role
from tests.conftest import session_reads
from tests.factories import ProviderFactory, UserFactory
from waitinglist.models import Queue, QueueAccuracy, QueueRates, QueueWeek, Snapshot
from waitinglist.workspace import queue_history

FIRST = date(2026, 1, 4)  # a Sunday
TRUST_ROLES = [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN]


def build_history(trust, weeks: int) -> tuple[Queue, Queue]:
    """Two queues with `weeks` weeks of figures: orthopaedics grows by 10 a week, with 5 more
    joining than leaving; ENT holds at 40."""
    ortho = Queue.objects.create(provider=trust, treatment_function="110", list_type="IRTT")
    ent = Queue.objects.create(provider=trust, treatment_function="120", list_type="ORTT")
    for w in range(weeks):
        snapshot = Snapshot.objects.create(
            provider=trust, week_ending=FIRST + timedelta(weeks=w), file_name=f"w{w}.csv",
            file_sha256=f"{trust.ods_code}{w:060d}",
        )  # fmt: skip
        QueueWeek.objects.bulk_create([
            QueueWeek(queue=ortho, snapshot=snapshot, size=100 + 10 * w, ranked=90 + 10 * w,
                      joiners=20 + w, leavers=15 + w, median_wait_days=70 + 7 * w,
                      p92_wait_days=280 + 7 * w, mean_wait_days=90.0),
            QueueWeek(queue=ent, snapshot=snapshot, size=40, ranked=40, joiners=4, leavers=4,
                      median_wait_days=35, p92_wait_days=140, mean_wait_days=50.0),
        ])  # fmt: skip
    QueueRates.objects.create(
        queue=ortho, band=5, snapshot=snapshot, weeks_of_history=12, treated_per_week=14.5,
        joined_ahead_per_week=2.25, removed_share_per_week=0.004,
    )  # fmt: skip
    return ortho, ent


def accuracy(trust, queue, method: str, **figures) -> QueueAccuracy:
    return QueueAccuracy.objects.create(
        provider=trust, queue=queue, method=method, computed_at=timezone.now(),
        last_week=date(2026, 8, 30), origins=20, scored=500, **figures,
    )  # fmt: skip


@pytest.fixture
def staff(db, trust):
    return UserFactory(role=Role.TRUST_EDITOR, provider=trust)


@pytest.fixture
def queues(trust):
    return build_history(trust, 14)


def get(client, name: str, *args):
    return client.get(reverse(f"waitinglist:{name}", args=args))


def rows_of(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- The queues table -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_table_shows_each_queue_largest_first_with_flow_and_waits(client, staff, queues):
    client.force_login(staff)
    page = get(client, "queues").content.decode()
    ortho = page.index("Trauma and Orthopaedics, admitted (IRTT)")
    assert ortho < page.index("Ear, Nose and Throat, non-admitted (ORTT)")
    assert "week ending 5 April 2026" in page  # the 14th week
    assert ">230<" in page and ">220<" in page  # size and ranked at week 13
    # Joined that week 33, mean of the last 12 weeks (weeks 2 to 13) 27.5; left 28 and 22.5.
    assert "33 (27.5)" in page and "28 (22.5)" in page
    assert "23.0 weeks" in page and "53.0 weeks" in page  # median 161 days, p92 371 days


@pytest.mark.django_db
def test_accuracy_comes_from_the_latest_back_test_or_says_there_is_none(client, staff, queues):
    ortho, ent = queues
    client.force_login(staff)
    assert get(client, "queues").content.decode().count("Not yet back-tested") >= 4
    accuracy(staff.provider, ortho, "wait-well", median_abs_error_weeks=2.46,
             inside_p10_p90=0.81, later_than_p50=0.47)  # fmt: skip
    accuracy(staff.provider, ortho, "nhs-app-mean", median_abs_error_weeks=11.2,
             later_than_p50=0.66)  # fmt: skip
    accuracy(staff.provider, None, "wait-well", median_abs_error_weeks=3.1,
             inside_p10_p90=0.79, later_than_p50=0.5)  # fmt: skip
    accuracy(staff.provider, ortho, "p92-current", median_abs_error_weeks=99)  # not shown
    page = get(client, "queues").content.decode()
    assert "2.5 weeks" in page and "81%" in page and "47%" in page
    assert "11.2 weeks" in page and "No range given" in page and "66%" in page
    assert "3.1 weeks" in page and "79%" in page  # the whole trust
    assert "99.0 weeks" not in page
    assert "history to 30 August 2026, 20 past weeks replayed" in page
    detail = get(client, "queue", ent.pk).content.decode()
    assert detail.count("Not yet back-tested") == 2


@pytest.mark.django_db
def test_a_trust_with_no_list_yet_is_told_so(client, staff):
    client.force_login(staff)
    assert "No waiting list has been imported yet." in get(client, "queues").content.decode()
    assert rows_of(get(client, "queues_csv")) == []


@pytest.mark.django_db
def test_the_pages_cost_the_same_queries_for_few_weeks_or_many(
    client, django_assert_num_queries, trust
):
    staff = UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    other = ProviderFactory(ods_code="RYY")
    other_staff = UserFactory(role=Role.TRUST_ADMIN, provider=other)
    few = build_history(trust, 3)[0]
    many = build_history(other, 60)[0]
    for user, queue in ((staff, few), (other_staff, many)):
        client.force_login(user)
        with django_assert_num_queries(8 + session_reads()):
            assert get(client, "queues").status_code == 200
        with django_assert_num_queries(8 + session_reads()):
            assert get(client, "queue", queue.pk).status_code == 200


# --- One queue ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_queue_shows_52_weeks_as_charts_with_their_figures_and_its_rates(client, staff, trust):
    ortho, _ = build_history(trust, 60)
    client.force_login(staff)
    page = get(client, "queue", ortho.pk).content.decode()
    assert "The last 52 weeks" in page
    assert page.count("week by week</title>") == 3
    for title in ("People waiting", "Joined and left each week", "Waits so far, in weeks"):
        assert f"{title}, week by week</title>" in page
    first_shown = FIRST + timedelta(weeks=8)
    assert f"from {first_shown:%-d %B %Y} to" in page.replace("From", "from")
    assert f"{FIRST:%-d %b %Y}</td>" not in page  # week 0 is beyond the 52 shown
    assert "Treated a week </span>14.5<" in page and "Joined ahead a week </span>2.3<" in page
    assert "0.40% of the list" in page
    assert "showed a booking date" not in page
    # A list whose extract does not show its bookings: staff are told what that means.
    QueueRates.objects.filter(queue=ortho).update(leavers_counted_as_treated=True)
    page = get(client, "queue", ortho.pk).content.decode()
    assert "Your extract showed a booking date" in page


@pytest.mark.django_db
def test_the_flow_chart_leaves_out_the_queues_first_week_when_everyone_joined(trust):
    ortho, ent = build_history(trust, 5)
    first = ortho.weeks.get(snapshot__week_ending=FIRST)
    first.joiners, first.leavers = first.size, 0  # as in a trust's first extract
    first.save()

    def flow(queue):
        charts = {c.title: c for c in queue_history(trust, queue).charts}
        return charts["Joined and left each week"]

    assert flow(ortho).first == FIRST + timedelta(weeks=1)
    assert flow(ent).first == FIRST  # people left in its first week: a real week of flow


@pytest.mark.django_db
def test_the_queue_csv_has_every_week_newest_first(client, staff, trust):
    ortho, _ = build_history(trust, 60)
    client.force_login(staff)
    rows = rows_of(get(client, "queue_csv", ortho.pk))
    assert len(rows) == 60
    assert rows[0] == {
        "week_ending": "2027-02-21", "size": "690", "ranked": "680", "joiners": "79",
        "leavers": "74", "mean_wait_weeks": "12.9", "median_wait_weeks": "69.0",
        "p92_wait_weeks": "99.0",
    }  # fmt: skip


@pytest.mark.django_db
def test_the_queues_csv_has_every_figure_of_the_table(client, staff, queues):
    ortho, _ = queues
    accuracy(staff.provider, ortho, "wait-well", median_abs_error_weeks=2.4567,
             inside_p10_p90=0.81, later_than_p50=0.47)  # fmt: skip
    client.force_login(staff)
    rows = rows_of(get(client, "queues_csv"))
    assert [r["queue"] for r in rows] == ["110-IRTT", "120-ORTT"]
    assert rows[0]["size"] == "230" and rows[0]["joiners_mean_12_weeks"] == "27.5"
    assert rows[0]["median_wait_weeks"] == "23.0" and rows[0]["p92_wait_weeks"] == "53.0"
    assert rows[0]["wait-well_median_abs_error_weeks"] == "2.457"
    assert rows[0]["nhs-app-mean_median_abs_error_weeks"] == ""
    assert rows[0]["backtest_last_week"] == "2026-08-30"
    assert rows[1]["backtest_last_week"] == ""


def test_csv_cells_that_look_like_formulas_are_made_text():
    for text in ("=SUM(A1)", "+1", "-1+2", "@cmd", "\tx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("RXX") == "RXX" and safe_cell(-3) == -3 and safe_cell(None) == ""


# --- Who may see them -----------------------------------------------------------------------

PAGES = ["queues", "queues_csv"]
QUEUE_PAGES = ["queue", "queue_csv"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES + QUEUE_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, queues, name):
    response = get(client, name, *([queues[0].pk] if name in QUEUE_PAGES else []))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE])
@pytest.mark.parametrize("name", PAGES + QUEUE_PAGES)
def test_patients_and_practices_are_refused(client, queues, trust, role, name):
    client.force_login(UserFactory(role=role, provider=trust if role == Role.GP_PRACTICE else None))
    args = [queues[0].pk] if name in QUEUE_PAGES else []
    assert get(client, name, *args).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", TRUST_ROLES)
@pytest.mark.parametrize("name", PAGES + QUEUE_PAGES)
def test_every_trust_role_sees_its_own_trusts_queues(client, queues, trust, role, name):
    client.force_login(UserFactory(role=role, provider=trust))
    args = [queues[0].pk] if name in QUEUE_PAGES else []
    assert get(client, name, *args).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", TRUST_ROLES)
def test_another_trusts_staff_get_404_for_its_queues_and_see_none_of_them(client, queues, role):
    other = ProviderFactory(ods_code="RYY")
    client.force_login(UserFactory(role=role, provider=other))
    for queue in queues:
        assert get(client, "queue", queue.pk).status_code == 404
        assert get(client, "queue_csv", queue.pk).status_code == 404
    assert "No waiting list has been imported yet." in get(client, "queues").content.decode()
    assert rows_of(get(client, "queues_csv")) == []
