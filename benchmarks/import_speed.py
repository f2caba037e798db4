"""How fast, and in how much memory, `import_waiting_list` takes a trust's extracts.

    .venv/bin/python benchmarks/import_speed.py snapshot --pathways 1000000 --runs 3 # PostgreSQL
    .venv/bin/python benchmarks/import_speed.py year --pathways 200000               # PostgreSQL
    .venv/bin/python benchmarks/import_speed.py sqlite --pathways 50000              # SQLite
    .venv/bin/python benchmarks/import_speed.py statements --pathways 1000000        # by statement

`snapshot` imports one synthetic snapshot and, in the same run, times a bare `COPY` of the same
file into an unindexed table of text columns (three times, taking the median): it prints both
and their ratio (the target is 8 or less), and the import's peak memory (target under 1 GB).
With `--runs N` it does so N times, each into a new database, and prints the median ratio: on
this machine the same import's time varies by a third from run to run.
`year` imports 52 weekly snapshots (target under 15 minutes). `sqlite` imports one snapshot
into a new SQLite file (target under 30 seconds). `statements` imports the same two weeks as
`snapshot` and prints, for each, every SQL statement that took a tenth of a second or more, in
order: where an import's time goes.
PostgreSQL is reached through BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/waitwell_bench), a database this script drops and recreates.
"""

import argparse
import os
import statistics
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
GNU_TIME = "/usr/bin/time"  # Debian package "time"
LAST_WEEK = date(2026, 11, 22)


PEAKS_MB: list[float] = []


def manage(*args: str, database_url: str, var_dir: Path) -> float:
    """Runs manage.py in a child process; returns its wall-clock seconds (for
    import_waiting_list, the import's own seconds, without starting up and estimates).

    GNU time records the child's own peak memory (a forked child's ru_maxrss would count the
    pages it shares with this parent, which holds the simulated trust).
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-0123456789-0123456789",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", *args]
    with tempfile.NamedTemporaryFile("r") as peak:
        if Path(GNU_TIME).exists():
            command = [GNU_TIME, "-f", "%M", "-o", peak.name, *command]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, check=True, stderr=subprocess.PIPE)
        took = time.perf_counter() - start
        if text := peak.read().strip():
            PEAKS_MB.append(int(text.splitlines()[-1]) / 1024)
    if args[0] == "import_waiting_list":
        # With -v 2 the command says how long each file and the estimates took.
        timings = [line for line in done.stderr.decode().splitlines() if line.endswith(" s)")]
        files = [line for line in done.stderr.decode().splitlines() if line.endswith(" s")]
        took = sum(float(line.rsplit(" ", 2)[-2]) for line in files)
        for line in timings:
            print(f"  then {line}")
    return took


def import_peak_mb() -> str:
    return f"{max(PEAKS_MB):.0f} MB" if PEAKS_MB else f"not measured (install {GNU_TIME})"


def fresh_postgres(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(database_url: str, var_dir: Path) -> None:
    manage("migrate", "-v0", database_url=database_url, var_dir=var_dir)
    manage(
        "shell",
        "--no-imports",
        "-c",
        "from waitinglist.models import Provider; "
        f"Provider.objects.create(ods_code='{PROVIDER}', name='Benchmark NHS Trust')",
        database_url=database_url,
        var_dir=var_dir,
    )


def bare_copy_seconds(url: str, path: Path) -> float:
    """The median of three bare `COPY`s of the file: one varies by a third on this machine."""
    runs = sorted(_bare_copy(url, path) for _ in range(3))
    print(f"  bare COPY: {', '.join(f'{run:.2f}' for run in runs)} s")
    return runs[1]


def _bare_copy(url: str, path: Path) -> float:
    with psycopg.connect(url) as conn:
        header = path.open(encoding="utf-8").readline().strip().split(",")
        columns = ", ".join(f'"{c}" text' for c in header)
        conn.execute(f"CREATE TEMP TABLE bare ({columns})")
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY bare FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - start


# Run by `manage.py shell` for `statements`: the import, each statement timed on the way.
STATEMENTS = """
import time
from django.db import connection
from waitinglist.importer import import_snapshot
timings = []
def timed(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        timings.append((time.perf_counter() - started, " ".join(sql.split())[:90]))
started = time.perf_counter()
with connection.execute_wrapper(timed):
    summary = import_snapshot({path!r}).summary()
total = time.perf_counter() - started
print(summary)
for seconds, sql in timings:
    if seconds >= 0.1:
        print(f"  {{seconds:6.2f}} s  {{sql}}")
rest = total - sum(seconds for seconds, _ in timings)
print(f"  {{rest:6.2f}} s  the rest: reading, checking and COPYing the file into staging, commit")
print(f"  {{total:6.2f}} s  in all")
"""


def simulate(work: Path, weeks: int, pathways: int) -> list[Path]:
    start = time.perf_counter()
    files = simulate_trust(PROVIDER, weeks, 1, work / "extracts", pathways, last_week=LAST_WEEK)
    rows = sum(1 for f in files for _ in f.open()) - len(files)
    size = sum(f.stat().st_size for f in files) / 1e6
    took = time.perf_counter() - start
    print(f"simulated {len(files)} extract(s): {rows} rows, {size:.0f} MB, in {took:.0f} s")
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["snapshot", "year", "sqlite", "statements"])
    parser.add_argument("--pathways", type=int, default=None)
    parser.add_argument(
        "--runs", type=int, default=1,
        help="snapshot: import both weeks this many times, each into a new database",
    )  # fmt: skip
    args = parser.parse_args()
    pg_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitwell_bench"
    )
    with tempfile.TemporaryDirectory(prefix="waitwell-bench-") as tmp:
        work = Path(tmp)
        if args.mode in ("snapshot", "statements"):
            # Two weeks: the first import of a list (all inserts) and a typical later week.
            first, second = simulate(work, 2, args.pathways or 1_000_000)
            fresh_postgres(pg_url)
            prepare(pg_url, work)
            if args.mode == "statements":
                for path in (first, second):
                    code = STATEMENTS.format(path=str(path))
                    manage("shell", "--no-imports", "-c", code, database_url=pg_url, var_dir=work)
                return
            ratios: dict[str, list[float]] = {"first week": [], "next week": []}
            for run in range(1, args.runs + 1):
                if run > 1:
                    fresh_postgres(pg_url)
                    prepare(pg_url, work)
                for label, path in (("first week", first), ("next week", second)):
                    copy = bare_copy_seconds(pg_url, path)
                    took = manage(
                        "import_waiting_list", "-v", "2", str(path), database_url=pg_url,
                        var_dir=work,
                    )  # fmt: skip
                    ratios[label].append(took / copy)
                    print(
                        f"run {run}, {label}: bare COPY into an unindexed table {copy:.1f} s; "
                        f"import (checked, ranked, history written) {took:.1f} s; "
                        f"ratio {took / copy:.1f} (target 8)"
                    )
            for label, found in ratios.items():
                print(
                    f"{label}: median ratio {statistics.median(found):.1f} of {len(found)} "
                    f"run(s) ({', '.join(f'{ratio:.1f}' for ratio in found)}; target 8)"
                )
            print(f"peak memory of the import process: {import_peak_mb()} (target under 1 GB)")
        elif args.mode == "year":
            files = simulate(work, 52, args.pathways or 200_000)
            fresh_postgres(pg_url)
            prepare(pg_url, work)
            took = manage(
                "import_waiting_list", "-v", "2", *map(str, files), database_url=pg_url,
                var_dir=work,
            )  # fmt: skip
            print(f"52 weekly snapshots imported in {took / 60:.1f} min (target under 15 min)")
            print(f"peak memory of the import process: {import_peak_mb()}")
        else:
            [path] = simulate(work, 1, args.pathways or 50_000)
            url = f"sqlite:///{work / 'bench.sqlite3'}"
            prepare(url, work)
            took = manage(
                "import_waiting_list", "-v", "2", str(path), database_url=url, var_dir=work
            )
            print(f"SQLite: one snapshot imported in {took:.1f} s (target under 30 s)")


if __name__ == "__main__":
    main()
