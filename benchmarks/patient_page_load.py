"""The patient page under load: gunicorn and PostgreSQL, a trust with 200,000 pathways.

    .venv/bin/python benchmarks/patient_page_load.py --pathways 200000 --weeks 16

Simulates and imports the trust (not timed), links `--patients` accounts to patients with a
modelled estimate, starts gunicorn with production settings on a free port, then has that many
simulated patients (one thread each, keep-alive connections, each signed in with their own
session) load their page as fast as they can for `--seconds`. Prints pages per second and the
latency percentiles. Targets: at least 200 pages a second, 95th percentile under 100 ms, at 20
concurrent patients. Uses BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/waitwell_page_bench), a database it drops and recreates,
and BENCH_REDIS_URL (default redis://127.0.0.1:6379/12) for the cache and sessions, as in
production; it empties that Redis database.
"""

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waitinglist.simulation import simulate_trust  # noqa: E402

PROVIDER = "RBP"
LAST_WEEK = date(2026, 11, 22)
SESSIONS = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from importlib import import_module
from django.conf import settings
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
from portal.models import User
from portal.roles import Role
from waitinglist.models import Estimate, PatientLink
estimates = Estimate.objects.filter(basis="model").order_by("pathway_id")[:{accounts}]
for n, estimate in enumerate(estimates):
    user = User.objects.filter(email=f"patient{{n}}@bench.invalid").first()
    if user is None:
        user = User.objects.create_user(email=f"patient{{n}}@bench.invalid", password=None)
        user.add_role(Role.PATIENT)
        PatientLink.objects.create(
            user=user, patient_id=estimate.pathway.patient_id, method="nhs-login"
        )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    print(session.session_key)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pathways", type=int, default=200_000)
    parser.add_argument("--weeks", type=int, default=16)
    parser.add_argument("--patients", type=int, default=20, help="concurrent patients")
    parser.add_argument("--accounts", type=int, default=0, help="accounts (default: patients)")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of the last run: no import"
    )
    args = parser.parse_args()
    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitwell_page_bench"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    base, name = url.rsplit("/", 1)
    if not args.reuse:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "VAR_DIR": folder,
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-0123456789-0123456789",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "off",
            "DEBUG": "off",
        }

        def manage(*command: str, capture: bool = False) -> str:
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT, env=env, check=True, capture_output=capture, text=True,
            )  # fmt: skip
            return done.stdout if capture else ""

        manage("migrate", "-v0")
        manage("shell", "-v0", "-c", "from django.core.cache import cache; cache.clear()")
        manage("collectstatic", "--noinput", "-v0")
        if not args.reuse:
            setup(manage, args, folder)
        keys = manage(
            "shell",
            "-v0",
            "-c",
            SESSIONS.format(accounts=max(args.accounts, args.patients)),
            capture=True,
        ).split()
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", str(args.workers), "--log-level", "warning",
            ],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            wait_until_up(port)
            groups = [keys[n :: args.patients] for n in range(args.patients)]
            report(run_load(port, groups, args.seconds), args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def setup(manage, args, folder: str) -> None:
    """The trust and its weeks, imported (not timed)."""
    manage(
        "shell", "-v0", "-c",
        "from waitinglist.models import Provider; "
        f"Provider.objects.create(ods_code='{PROVIDER}', name='Benchmark Trust')",
    )  # fmt: skip
    files = simulate_trust(
        PROVIDER, args.weeks, seed=1, out=Path(folder) / "x", pathways=args.pathways,
        last_week=LAST_WEEK,
    )  # fmt: skip
    manage("import_waiting_list", *map(str, files))


def wait_until_up(port: int) -> None:
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def run_load(port: int, groups: list[list[str]], seconds: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def patient(keys: list[str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for key in itertools.cycle(keys):
            if time.monotonic() >= stop:
                break
            headers = {"Cookie": f"sessionid={key}", "Host": "127.0.0.1"}
            started = time.perf_counter()
            connection.request("GET", "/my-wait/", headers=headers)
            response = connection.getresponse()
            body = response.read()
            took = time.perf_counter() - started
            if response.status != 200 or b"Your place in the queue" not in body:
                with lock:
                    failures[0] += 1
            mine.append(took)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=patient, args=(keys,)) for keys in groups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def report(result: tuple[list[float], int], args) -> None:
    latencies, failures = result
    latencies.sort()
    pct = statistics.quantiles(latencies, n=100)
    print(
        f"{args.pathways} pathways, {args.patients} concurrent patients, "
        f"{max(args.accounts, args.patients)} accounts, "
        f"{args.workers} gunicorn workers, {args.seconds} s: {len(latencies)} pages, "
        f"{len(latencies) / args.seconds:.0f} pages/s, p50 {pct[49] * 1000:.0f} ms, "
        f"p95 {pct[94] * 1000:.0f} ms, p99 {pct[98] * 1000:.0f} ms, {failures} failed"
    )


if __name__ == "__main__":
    main()
