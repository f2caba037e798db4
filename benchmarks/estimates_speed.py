"""How long `estimates.recompute` takes for a large trust, on PostgreSQL.

    .venv/bin/python benchmarks/estimates_speed.py --pathways 1000000 --weeks 8

Simulates the trust, imports its weeks with `import_waiting_list` (timed apart, since the
import recomputes the estimates once at its end), then times the recompute of every ranked
pathway's estimate again, `--runs` times, and prints each run (the target is under 60 seconds
for 1,000,000 ranked pathways). Uses BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/waitwell_estimates_bench), a database it drops and recreates.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waitinglist.simulation import simulate_trust  # noqa: E402

PROVIDER = "RBN"
LAST_WEEK = date(2026, 11, 22)
TIMING = (
    "import time; from waitinglist.estimates import recompute; "
    "from waitinglist.models import Provider; "
    "p = Provider.objects.get(ods_code='{code}'); "
    "s = time.perf_counter(); r = recompute(p); "
    "print(f'recompute {{time.perf_counter() - s:.1f}} s: {{r.summary()}}')"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pathways", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitwell_estimates_bench"
    )
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "VAR_DIR": folder,
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-0123456789-0123456789",
            "LOG_LEVEL": "WARNING",
        }

        def manage(*command: str) -> None:
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)

        manage("migrate", "-v0")
        manage(
            "shell", "-v0", "-c",
            "from waitinglist.models import Provider; "
            f"Provider.objects.create(ods_code='{PROVIDER}', name='Benchmark Trust')",
        )  # fmt: skip
        files = simulate_trust(
            PROVIDER, args.weeks, seed=1, out=Path(folder) / "x", pathways=args.pathways,
            last_week=LAST_WEEK,
        )  # fmt: skip
        started = time.perf_counter()
        manage("import_waiting_list", *map(str, files))
        print(f"imported {args.weeks} weeks (and estimated once) in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        for _ in range(args.runs):
            manage("shell", "-v0", "-c", TIMING.format(code=PROVIDER))


if __name__ == "__main__":
    main()
