"""Times the portal's own pages through Django's full request cycle and counts their queries.

    .venv/bin/python benchmarks/pages.py [--requests 200]

Uses a throwaway test database on whatever DATABASE_URL names (SQLite by default). Prints,
per page: median and 95th-percentile time in milliseconds, and database queries per request.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "off")
# Production static files (hashed names from collectstatic) in a throwaway folder.
os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="waitwell-bench-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PAGES = {
    "start (anonymous)": ("/", False),
    "sign in form": ("/accounts/login/", False),
    "healthz": ("/healthz", False),
    "account home (signed in)": ("/home/", True),
    "trust workspace (signed in)": ("/staff/", True),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    call_command("collectstatic", interactive=False, verbosity=0)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from portal.models import User
        from portal.roles import Role
        from waitinglist.models import Provider

        trust = Provider.objects.create(ods_code="RBM", name="Benchmark NHS Trust")
        for n in range(20):
            colleague = User.objects.create_user(f"staff{n}@example.com", provider=trust)
            colleague.add_role(Role.TRUST_EDITOR)
        user = User.objects.create_user("admin@example.com", provider=trust)
        user.add_role(Role.TRUST_ADMIN)

        print(f"{args.requests} requests per page on {connection.vendor}")
        print(f"{'page':<30} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for label, (path, signed_in) in PAGES.items():
            client = Client()
            if signed_in:
                client.force_login(user)
            client.get(path)  # warm caches and templates
            timings = []
            for _ in range(args.requests):
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    sys.exit(f"{path} answered {response.status_code}")
            p95 = statistics.quantiles(timings, n=20)[-1]
            print(f"{label:<30} {statistics.median(timings):>8.2f} {p95:>8.2f} {len(queries):>8}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
