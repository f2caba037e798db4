"""Every URL of the project against every kind of visitor, from one table of expectations.

The URLs come from Django's resolver, not from a list kept by hand: a new page has no row in
`EXPECTED` and fails here until someone writes down who may see it. Ids in URLs are of
objects of the home trust (and of its practice, and of its patient), so "another trust's
staff", who hold every staff role at their own trust, must get 404 on them: scope, not only
role, is checked, and no page they do see (lists, CSV files) shows any of the home trust's
data; likewise a second practice of the home trust for the home practice's patient. Every
visitor who is refused a page by GET is refused it by POST too.

The world is built as a deployment would be: NHS login configured, every staff account with
an authenticator app (tests.factories), signed in without a recent password (so pages that
change how an account signs in ask for it again).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from advice import services as advice_services
from advice.models import Article
from portal import invitations
from portal.roles import Role
from tests.extracts import valid_nhs_number
from tests.factories import ProviderFactory, UserFactory
from updates.models import Subscription
from waitinglist.models import (
    CapacityChange,
    ImportRun,
    Pathway,
    PathwayWeek,
    Patient,
    PatientLink,
    PatientResponse,
    Queue,
    Snapshot,
)

PRACTICE = "A81001"

# The visitors, in the order of each row of the table.
VISITORS = [
    "anonymous",
    "patient",
    "trust editor",
    "clinical reviewer",
    "trust admin",
    "GP practice",
    "another practice",
    "another trust's staff",
]


@dataclass(frozen=True)
class Redirect:
    """A redirect to the named page (query strings such as ?next= allowed)."""

    to: str

    def matches(self, response) -> bool:
        return response.status_code == 302 and response.headers["Location"].startswith(
            reverse(self.to)
        )

    def __repr__(self) -> str:
        return f"→ {self.to}"


class _Allowed:
    """Let through: whatever the view then does with an empty form (a redirect back, a page
    with errors, 400), it is not a refusal, a 404 or a sign-in."""

    def matches(self, response) -> bool:
        return response.status_code not in (401, 403, 404, 405) and not any(
            r.matches(response) for r in (SIGN_IN, ADMIN_SIGN_IN, TURN_ON_MFA)
        )

    def __repr__(self) -> str:
        return "allowed"


SIGN_IN = Redirect("account_login")
ADMIN_SIGN_IN = Redirect("admin:login")
TURN_ON_MFA = Redirect("mfa_activate_totp")
HOME = Redirect("home")
ALLOWED = _Allowed()
REFUSALS = (403, 404)


def matches(expected, response) -> bool:
    if isinstance(expected, int):
        return response.status_code == expected
    return expected.matches(response)


def refused(expected) -> bool:
    return expected in REFUSALS or expected in (SIGN_IN, ADMIN_SIGN_IN)


@dataclass(frozen=True)
class Access:
    """What each visitor gets, by GET (or by POST for pages that only take POST)."""

    method: str
    row: tuple

    def __post_init__(self) -> None:
        assert len(self.row) == len(VISITORS)


def get(*row) -> Access:
    return Access("get", row)


def post(*row) -> Access:
    return Access("post", row)


A, O = ALLOWED, 200  # noqa: E741
# fmt: off
#                      anonymous  patient  editor reviewer admin  practice other   other
#                                                                         practice trust
PUBLIC         = get(  O,         O,       O,     O,       O,     O,       O,      O)
ENTRANCE       = get(  O,         HOME,    HOME,  HOME,    HOME,  HOME,    HOME,   HOME)
SIGNED_IN      = get(  SIGN_IN,   O,       O,     O,       O,     O,       O,      O)
# Changing how an account signs in asks for the password again first (ASVS 2.1 re-auth).
REAUTHENTICATE = get(  SIGN_IN,   *[Redirect("account_reauthenticate")] * 7)
TRUST_STAFF    = get(  SIGN_IN,   403,     O,     O,       O,     403,     403,    O)
STAFF_OBJECT   = get(  SIGN_IN,   403,     O,     O,       O,     403,     403,    404)
STAFF_ACTION   = post( SIGN_IN,   403,     A,     A,       A,     403,     403,    A)
STAFF_OBJ_ACT  = post( SIGN_IN,   403,     A,     A,       A,     403,     403,    404)
ADVICE_STAFF   = get(  SIGN_IN,   403,     O,     O,       403,   403,     403,    O)
ADVICE_OBJECT  = get(  SIGN_IN,   403,     O,     O,       403,   403,     403,    404)
ADVICE_ACTION  = post( SIGN_IN,   403,     A,     A,       403,   403,     403,    A)
ADVICE_OBJ_ACT = post( SIGN_IN,   403,     A,     A,       403,   403,     403,    404)
TRUST_ADMIN    = get(  SIGN_IN,   403,     403,   403,     O,     403,     403,    O)
ADMIN_OBJECT   = get(  SIGN_IN,   403,     403,   403,     O,     403,     403,    404)
ADMIN_ACTION   = post( SIGN_IN,   403,     403,   403,     A,     403,     403,    A)
ADMIN_OBJ_ACT  = post( SIGN_IN,   403,     403,   403,     A,     403,     403,    404)
PRACTICE_PAGE  = get(  SIGN_IN,   403,     403,   403,     403,   O,       O,      O)
PRACTICE_OBJ   = get(  SIGN_IN,   403,     403,   403,     403,   O,       404,    404)
PRACTICE_ACT   = post( SIGN_IN,   403,     403,   403,     403,   A,       404,    404)
# The patient's own pathway: everyone else's answer is that it does not exist.
PATIENT_ACTION = post( SIGN_IN,   A,       404,   404,     404,   404,     404,    404)
SIGNED_IN_POST = post( SIGN_IN,   A,       A,     A,       A,     A,       A,      A)
# Django's admin: superusers only, everyone else is sent to its sign-in.
ADMIN_SITE     = get(  *[ADMIN_SIGN_IN] * 8)
# fmt: on

EXPECTED: dict[str, Access] = {
    # The site's own pages
    "start": PUBLIC,
    "home": SIGNED_IN,
    "accessibility": PUBLIC,
    "privacy": PUBLIC,
    "contact": PUBLIC,
    "healthz": PUBLIC,
    "staff_workspace": TRUST_STAFF,
    # Staff and practice accounts (portal.staff_views)
    "team": TRUST_ADMIN,
    "team_invite": TRUST_ADMIN,
    "team_revoke": ADMIN_OBJ_ACT,
    "team_member": ADMIN_OBJECT,
    "team_remove_role": ADMIN_OBJ_ACT,
    "team_deactivate": ADMIN_OBJ_ACT,
    # The invitation's link works for whoever holds it; what they can do with it is tested
    # in test_staff_invitations.py.
    "join": PUBLIC,
    "join_complete": get(
        SIGN_IN,
        HOME,
        *[Redirect("staff_workspace")] * 3,
        Redirect("waitinglist:practice_patients"),
        Redirect("waitinglist:practice_patients"),
        Redirect("staff_workspace"),
    ),
    # Patients' own pages
    "waitinglist:activate": PUBLIC,
    # The patient's record is linked already; nobody else has one to link.
    "waitinglist:activate_complete": get(
        SIGN_IN, Redirect("waitinglist:my_wait"), *[Redirect("waitinglist:activate")] * 6
    ),
    "waitinglist:my_wait": SIGNED_IN,
    "waitinglist:respond": PATIENT_ACTION,
    "waitinglist:page_feedback": SIGNED_IN_POST,
    # The trust workspace
    "waitinglist:imports": TRUST_ADMIN,
    "waitinglist:imports_csv": TRUST_ADMIN,
    "waitinglist:import_run": ADMIN_OBJECT,
    "waitinglist:import_report": ADMIN_OBJECT,
    "waitinglist:audit": TRUST_ADMIN,
    "waitinglist:capacity_changes": TRUST_ADMIN,
    "waitinglist:capacity_change_withdraw": ADMIN_OBJ_ACT,
    "waitinglist:responses": TRUST_STAFF,
    "waitinglist:responses_csv": TRUST_STAFF,
    "waitinglist:response": STAFF_OBJECT,
    "waitinglist:response_assign": STAFF_OBJ_ACT,
    # An outcome can end a wait: clinical reviewers and admins only (waitinglist.inbox).
    "waitinglist:response_outcome": post(SIGN_IN, 403, 403, A, A, 403, 403, 404),
    "waitinglist:response_review": STAFF_OBJ_ACT,
    "waitinglist:validation": TRUST_STAFF,
    "waitinglist:validation_csv": TRUST_STAFF,
    "waitinglist:validation_ask": STAFF_ACTION,
    "waitinglist:queues": TRUST_STAFF,
    "waitinglist:queues_csv": TRUST_STAFF,
    "waitinglist:queue": STAFF_OBJECT,
    "waitinglist:queue_csv": STAFF_OBJECT,
    "waitinglist:engagement": TRUST_STAFF,
    "waitinglist:engagement_csv": TRUST_STAFF,
    "updates:sending": TRUST_ADMIN,
    # GP practices
    "waitinglist:practice_patients": PRACTICE_PAGE,
    "waitinglist:practice_summary": PRACTICE_OBJ,
    "waitinglist:practice_show_nhs_number": PRACTICE_ACT,
    # Advice: the public library, and the trust's editors and clinical reviewers
    "advice:library": PUBLIC,
    "advice:article": PUBLIC,
    "advice:feedback": post(*[A] * 8),
    "advice:staff_list": ADVICE_STAFF,
    "advice:staff_new": ADVICE_STAFF,
    "advice:staff_live_preview": ADVICE_ACTION,
    "advice:staff_as_patient": ADVICE_STAFF,
    "advice:staff_edit": ADVICE_OBJECT,
    "advice:staff_status": ADVICE_OBJ_ACT,
    "advice:staff_history": ADVICE_OBJECT,
    "advice:staff_restore": ADVICE_OBJ_ACT,
    # Updates: the patient's choices; links from messages; GOV.UK Notify's callbacks, which
    # carry their own bearer token instead of a session (tested in test_updates.py)
    "updates:manage": SIGNED_IN,
    "updates:verify": SIGNED_IN,
    "updates:unsubscribe": PUBLIC,
    "updates:notify_callback": post(*[401] * 8),
    "updates:notify_inbound": post(*[401] * 8),
    # django-allauth: signing in and up, and the account's own settings
    "account_login": ENTRANCE,
    "account_signup": ENTRANCE,
    "account_logout": get(Redirect("start"), *[O] * 7),
    "account_inactive": PUBLIC,
    "account_reauthenticate": SIGNED_IN,
    "account_email": SIGNED_IN,
    "account_email_verification_sent": get(SIGN_IN, *[Redirect("account_email")] * 7),
    "account_change_password": SIGNED_IN,
    "account_set_password": get(SIGN_IN, *[Redirect("account_change_password")] * 7),
    "account_reset_password": PUBLIC,
    "account_reset_password_done": PUBLIC,
    "account_reset_password_from_key": PUBLIC,
    "account_reset_password_from_key_done": PUBLIC,
    "account_confirm_login_code": get(SIGN_IN, *[HOME] * 7),
    "mfa_index": SIGNED_IN,
    "mfa_authenticate": get(SIGN_IN, *[HOME] * 7),
    # The patient has no authenticator; staff have an app but no recovery codes yet.
    "mfa_reauthenticate": get(SIGN_IN, Redirect("account_reauthenticate"), *[O] * 6),
    "mfa_activate_totp": REAUTHENTICATE,
    "mfa_deactivate_totp": get(SIGN_IN, 404, *[Redirect("account_reauthenticate")] * 6),
    "mfa_view_recovery_codes": get(SIGN_IN, *[404] * 7),
    "mfa_generate_recovery_codes": REAUTHENTICATE,
    "mfa_download_recovery_codes": get(SIGN_IN, *[404] * 7),
    "socialaccount_login_cancelled": PUBLIC,
    "socialaccount_login_error": get(*[401] * 8),
    # Only in the middle of an NHS login sign-up; otherwise back to sign in.
    "socialaccount_signup": get(*[SIGN_IN] * 8),
    "socialaccount_connections": SIGNED_IN,
    "nhs_login_login": PUBLIC,
    # Without the state NHS login sends back, the callback refuses everyone.
    "nhs_login_callback": get(*[401] * 8),
}

# Django's admin makes a dozen URLs for each model it shows; they are all behind its own
# sign-in (superusers only), so they share one row rather than needing one each.
EXPECTED_BY_NAMESPACE: dict[str, Access] = {"admin": ADMIN_SITE}
EXPECTED.update(
    {
        # The admin's sign-in page goes through the site's own sign-in first (portal.urls);
        # signed in without the admin's permission, it says so and shows nothing else.
        "admin:login": get(SIGN_IN, *[O] * 7),
        "admin:logout": get(*[Redirect("admin:index")] * 8),
    }
)

# Patterns without a name: allauth's redirects from its old addresses, and the admin's
# catch-all. Anything else must be named so that the table can list it.
UNNAMED_CALLBACK_MODULES = {"django.views.generic.base", "django.contrib.admin.sites"}


def walk(patterns, namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name, pattern, namespace


def named_urls() -> dict[str, str | None]:
    """Every named URL of the project, with its namespace."""
    return {name: ns for name, _, ns in walk(get_resolver().url_patterns) if name}


def expectation(name: str, namespace: str | None) -> Access | None:
    return EXPECTED.get(name) or EXPECTED_BY_NAMESPACE.get(namespace or "")


@dataclass
class World:
    """The home trust's objects, and a client signed in as each visitor."""

    clients: dict[str, Client]
    kwargs: dict[str, dict]
    # Text that a visitor must never be shown: the home practice's patient (their pathway,
    # NHS number and answer) and, to another trust, the home trust's staff, import,
    # invitation and planned capacity change.
    markers: dict[str, list[str]]


def build_world() -> World:
    home, other = ProviderFactory(ods_code="RHO"), ProviderFactory(ods_code="ROT")
    users = {
        "patient": UserFactory(role=Role.PATIENT),
        "trust editor": UserFactory(
            role=Role.TRUST_EDITOR, provider=home, email="editor@home.nhs.uk"
        ),
        "clinical reviewer": UserFactory(
            role=Role.CLINICAL_REVIEWER, provider=home, email="reviewer@home.nhs.uk"
        ),
        "trust admin": UserFactory(role=Role.TRUST_ADMIN, provider=home, email="admin@home.nhs.uk"),
        "GP practice": UserFactory(
            role=Role.GP_PRACTICE, provider=home, practice_ods_code=PRACTICE
        ),
        "another practice": UserFactory(
            role=Role.GP_PRACTICE, provider=home, practice_ods_code="B82002"
        ),
        # Every staff role, and the same practice code, at another trust: only scope stops them.
        "another trust's staff": UserFactory(
            role=Role.TRUST_ADMIN, provider=other, practice_ods_code=PRACTICE
        ),
    }
    stranger = users["another trust's staff"]
    for role in (Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.GP_PRACTICE):
        stranger.add_role(role)
    assert all(Authenticator.objects.filter(user=u).exists() for u in list(users.values())[1:])

    pathway = _pathway(home, users["patient"])
    response = PatientResponse.objects.create(
        pathway=pathway,
        user=users["patient"],
        answer=PatientResponse.Answer.WORSE,
        details="HOME-ANSWER-DETAILS",
    )
    run = ImportRun.objects.create(
        provider=home,
        uploaded_by=users["trust admin"],
        file_name="home-upload.csv",
        stored_path="/x",
    )
    article = _article(home, users["trust editor"])
    admin = users["trust admin"]
    capacity_change = CapacityChange.objects.create(
        provider=home,
        starts=timezone.localdate(),
        percent=30,
        known_from=timezone.localdate(),
        note="HOME-CAPACITY-NOTE",
        recorded_by=admin,
    )
    invitation = invitations.invite(home, admin, "new@home.nhs.uk", Role.TRUST_EDITOR)
    token = re.search(r"/staff/join/([\w-]+)/", mail.outbox[-1].body).group(1)
    subscription = Subscription.objects.create(user=users["patient"])
    kwargs = {
        "team_revoke": {"pk": invitation.pk},
        "team_member": {"pk": users["trust editor"].pk},
        "team_remove_role": {"pk": users["trust editor"].pk},
        "team_deactivate": {"pk": users["clinical reviewer"].pk},
        "join": {"token": token},
        "waitinglist:respond": {"pk": pathway.pk},
        "waitinglist:import_run": {"pk": run.pk},
        "waitinglist:import_report": {"pk": run.pk},
        "waitinglist:capacity_change_withdraw": {"pk": capacity_change.pk},
        "waitinglist:response": {"pk": response.pk},
        "waitinglist:response_assign": {"pk": response.pk},
        "waitinglist:response_outcome": {"pk": response.pk},
        "waitinglist:response_review": {"pk": response.pk},
        "waitinglist:queue": {"pk": pathway.queue_id},
        "waitinglist:queue_csv": {"pk": pathway.queue_id},
        "waitinglist:practice_summary": {"pk": pathway.pk},
        "waitinglist:practice_show_nhs_number": {"pk": pathway.pk},
        "advice:article": {"pk": article.pk},
        "advice:feedback": {"pk": article.pk},
        "advice:staff_edit": {"pk": article.pk},
        "advice:staff_status": {"pk": article.pk},
        "advice:staff_history": {"pk": article.pk},
        "advice:staff_restore": {"pk": article.pk, "number": 1},
        "updates:unsubscribe": {"token": subscription.unsubscribe_token},
        "account_reset_password_from_key": {"uidb36": "1", "key": "set-by-email"},
    }
    clients = {"anonymous": Client()}
    for visitor, user in users.items():
        clients[visitor] = Client()
        clients[visitor].force_login(user)
    nhs = pathway.patient.nhs_number
    patients_data = [
        "HOMEPATHWAY1",
        nhs,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        "29 Feb 1932",
        "29 February 1932",
        "HOME-ANSWER-DETAILS",
    ]
    markers = {
        "another practice": patients_data,
        "another trust's staff": [
            *patients_data,
            "home-upload.csv",
            "home.nhs.uk",
            "HOME-CAPACITY-NOTE",
        ],
    }
    return World(clients=clients, kwargs=kwargs, markers=markers)


def _pathway(trust, patient_user) -> Pathway:
    """One open pathway of the home trust, referred by the practice and linked to the patient."""
    week = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 1)
    snapshot = Snapshot.objects.create(
        provider=trust, week_ending=week, file_name="w.csv", file_sha256="matrix".ljust(64, "0")
    )
    queue = Queue.objects.create(provider=trust, treatment_function="110", list_type="IRTT")
    patient = Patient.objects.create(
        provider=trust, nhs_number=valid_nhs_number(1), birth_date=date(1932, 2, 29)
    )
    pathway = Pathway.objects.create(
        provider=trust,
        identifier="HOMEPATHWAY1",
        patient=patient,
        queue=queue,
        clock_start=week - timedelta(weeks=30),
        procedure_priority="P4",
        band=4,
        referring_organisation=PRACTICE,
        first_snapshot=snapshot,
    )
    PathwayWeek.objects.create(pathway=pathway, snapshot=snapshot, position=1, band=4)
    PatientLink.objects.create(
        user=patient_user, patient=patient, method=PatientLink.Method.ACTIVATION_CODE
    )
    return pathway


def _article(trust, author) -> Article:
    article = Article(
        provider=trust,
        title="Staying active",
        summary="Gentle exercise while you wait.",
        body="Walk every day.",
        author=author,
        review_by=timezone.localdate() + timedelta(days=300),
    )
    advice_services.save(article, author)
    Article.objects.filter(pk=article.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now()
    )
    return article


def path_of(name: str, namespace: str | None, world: World) -> str:
    if name in world.kwargs:
        return reverse(name, kwargs=world.kwargs[name])
    pattern = next(p for n, p, _ in walk(get_resolver().url_patterns) if n == name)
    parameters = list(pattern.pattern.regex.groupindex)
    if namespace == "admin":
        # Behind the admin's sign-in the ids are never looked up: any value reaches it.
        filler = {"app_label": "portal"}
        return reverse(name, kwargs={k: filler.get(k, "1") for k in parameters})
    assert not parameters, f"{name}: build its ids from the home trust's objects in kwargs"
    return reverse(name)


# The invitation's page shows its address to whoever holds the link: the link is the secret.
SHOWN_TO_LINK_HOLDERS = {"join"}


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def visit(client: Client, method: str, path: str):
    return client.get(path) if method == "get" else client.post(path, {})


URLS = named_urls()


@pytest.fixture(autouse=True)
def _nhs_login_on(settings):
    # As deployed with NHS login: without a client the provider's own pages have no app to
    # work with (see the report on issue 8), and a deployment always configures one.
    settings.NHS_LOGIN_CLIENT_ID = "matrix-client"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "nhs_login": {
            "APPS": [
                {
                    "provider_id": "nhs_login",
                    "name": "NHS login",
                    "client_id": "matrix-client",
                    "secret": "",
                    "settings": {"server_url": "https://auth.login.nhs.invalid"},
                }
            ]
        }
    }


def test_every_named_url_has_an_expectation():
    missing = sorted(name for name, ns in URLS.items() if expectation(name, ns) is None)
    assert missing == [], f"add these pages to EXPECTED in {__file__}: {missing}"


def test_the_table_names_no_url_that_is_gone():
    assert sorted(set(EXPECTED) - set(URLS)) == []


def test_every_unnamed_url_is_a_known_redirect_or_the_admins_catch_all():
    unnamed = {
        str(p.pattern): p.callback.__module__
        for name, p, _ in walk(get_resolver().url_patterns)
        if not name
    }
    assert {m for m in unnamed.values() if m not in UNNAMED_CALLBACK_MODULES} == set(), unnamed


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(URLS))
def test_each_visitor_gets_what_the_table_says(name):
    access = expectation(name, URLS[name])
    if access is None:
        pytest.fail(f"{name} has no row in EXPECTED")
    world = build_world()
    path = path_of(name, URLS[name], world)
    wrong = []
    # Refused visitors go first: what an allowed one changes (an account deactivated, an
    # invitation withdrawn) must not turn a wrongly allowed request into a 404 by luck.
    visits = sorted(zip(VISITORS, access.row, strict=True), key=lambda v: not refused(v[1]))
    for visitor, expected in visits:
        response = visit(world.clients[visitor], access.method, path)
        if not matches(expected, response):
            where = response.headers.get("Location", "")
            wrong.append(f"{visitor}: expected {expected!r}, got {response.status_code} {where}")
        if name not in SHOWN_TO_LINK_HOLDERS:
            shown = [m for m in world.markers.get(visitor, []) if m.encode() in body(response)]
            if shown:
                wrong.append(f"{visitor} was shown {shown}")
        # Refused by GET means refused by POST (or the method refused): no view may check
        # roles on one method only.
        if access.method == "get" and refused(expected):
            posted = visit(world.clients[visitor], "post", path)
            if ALLOWED.matches(posted):
                wrong.append(f"{visitor} by POST: expected a refusal, got {posted.status_code}")
    assert wrong == [], f"{path}: " + "; ".join(wrong)


# What the home trust's own people do see of the same data: without it, the checks above that
# others are shown none of it would prove nothing.
SEEN_AT_HOME = [
    ("waitinglist:practice_patients", "GP practice", "29 Feb 1932"),
    ("waitinglist:practice_summary", "GP practice", "29 February 1932"),
    ("waitinglist:responses", "trust editor", "HOMEPATHWAY1"),
    ("waitinglist:responses_csv", "clinical reviewer", "HOME-ANSWER-DETAILS"),
    ("waitinglist:imports", "trust admin", "home-upload.csv"),
    ("waitinglist:capacity_changes", "trust admin", "HOME-CAPACITY-NOTE"),
    ("team", "trust admin", "home.nhs.uk"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "visitor", "marker"), SEEN_AT_HOME)
def test_the_home_trusts_own_people_see_its_data(name, visitor, marker):
    world = build_world()
    response = world.clients[visitor].get(path_of(name, URLS.get(name), world))
    assert response.status_code == 200
    assert marker.encode() in body(response)
