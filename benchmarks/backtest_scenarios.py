"""The back-test of docs/estimates.md over several simulated trusts, as one table.

    nice -n 10 .venv/bin/python benchmarks/backtest_scenarios.py --seeds 1 2 --step 1

For each scenario and seed it simulates a trust (`simulate_trust`, 5,000 pathways, 78 weeks by
default), imports it into its own SQLite database under `--dir` (kept: a second run only
back-tests), then runs `backtest` on it and prints one row per run: Wait Well's and the NHS
App method's median absolute error, Wait Well's share treated later than p50, share inside
p10-p90, mean range width, and whether the issue's bar is met; then, for a scenario run with
several seeds, a row `all`: the same figures over every estimate of its runs at once (each
run keeps its scored estimates in `scores.npz`). Each database is built and
back-tested in a child process, since Django reads DATABASE_URL once. The capacity changes the
simulated trust planned (capacity-plans.csv: in `capacity-step`, the step, a quarter ahead)
are recorded by `import_waiting_list`, which takes the whole folder.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("steady", "capacity-step", "winter", "growing")
PROVIDER = "RBT"
LAST_WEEK = "2026-11-22"

CHILD = f"""
import datetime, glob, json, sys
import django
django.setup()
from django.core.management import call_command
import backtest_scenarios
from waitinglist import backtest
from waitinglist.models import Provider
scenario, seed, folder, weeks, pathways, step = sys.argv[1:7]
if not glob.glob(folder + "/done"):
    call_command("migrate", verbosity=0)
    Provider.objects.get_or_create(ods_code="{PROVIDER}", defaults={{"name": "Back-test trust"}})
    call_command(
        "simulate_trust", provider="{PROVIDER}", weeks=int(weeks), seed=int(seed),
        pathways=int(pathways), scenario=scenario, out=folder + "/x",
        last_week=datetime.date.fromisoformat("{LAST_WEEK}"),
    )
    # The extracts, and the capacity changes the trust planned (truth.csv is skipped).
    call_command("import_waiting_list", *sorted(glob.glob(folder + "/x/*.csv")), verbosity=0)
    open(folder + "/done", "w").close()
result = backtest.run(Provider.objects.get(ods_code="{PROVIDER}"), step=int(step))
backtest_scenarios.save_scores(result.scores, folder)
print(json.dumps({{m: s.figures() for m, s in result.scores.items()}}))
"""


TABLE_COLUMNS = (
    "median_abs_error,nhs_app_median,p92_median,position_leavers_median,mean_abs_error,"
    "nhs_app_mean,later_than_p50,inside_p10_p90,mean_range_weeks,estimated,bar_met"
)


def bar(ours: dict, nhs_app: dict) -> str:
    """The issue's bar: "yes", or "no:" and the parts that failed."""
    failed = []
    if not ours["median_abs_error_weeks"] <= nhs_app["median_abs_error_weeks"] / 2:
        failed.append("error")
    if not 0.40 <= ours["later_than_p50"] <= 0.60:
        failed.append("p50")
    if not 0.75 <= ours["inside_p10_p90"] <= 0.85:
        failed.append("p10-p90")
    if not ours["estimated"] >= 0.95:
        failed.append("estimated")
    return "yes" if not failed else "no:" + "+".join(failed)


SCORE_PARTS = ("errors", "later", "inside", "widths")


def save_scores(scores: dict, folder: str) -> None:
    """Keeps a run's scored estimates (each method's `backtest.Score`) in `folder`, so that
    the runs of one scenario can be pooled (`pooled_figures`)."""
    arrays = {}
    for method, score in scores.items():
        for part in SCORE_PARTS:
            pieces = getattr(score, part)
            arrays[f"{method}.{part}"] = np.concatenate(pieces) if pieces else np.zeros(0)
        arrays[f"{method}.counts"] = np.array([score.estimated, score.ranked])
    np.savez(Path(folder) / "scores.npz", **arrays)


POOL = """
import json, sys
from pathlib import Path
import django
django.setup()
import backtest_scenarios
print(json.dumps(backtest_scenarios.pooled_figures([Path(f) for f in sys.argv[1:]])))
"""


def child_env(folder: Path) -> dict:
    """A child's environment: Django on the run's own SQLite database, and benchmarks/ on
    the path (for `save_scores` and `pooled_figures`)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "VAR_DIR": str(folder),
        "DEBUG": "on",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
    }


def pooled(folders: list[Path]) -> dict:
    """`pooled_figures` of the runs in `folders`, worked out in a child (it needs Django)."""
    command = [sys.executable, "-c", POOL, *map(str, folders)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(folders[0]), capture_output=True)
    if done.returncode:
        sys.exit(f"pooling failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def pooled_figures(folders: list[Path]) -> dict:
    """Each method's figures over every estimate of several runs, as one back-test of them
    all would give: a scenario's result, not one seed's draw of its future."""
    from waitinglist.backtest import Score

    runs = [np.load(folder / "scores.npz") for folder in folders]
    methods = sorted({key.split(".")[0] for key in runs[0].files})
    figures = {}
    for method in methods:
        score = Score(**{part: [run[f"{method}.{part}"] for run in runs] for part in SCORE_PARTS})
        score.estimated = int(sum(run[f"{method}.counts"][0] for run in runs))
        score.ranked = int(sum(run[f"{method}.counts"][1] for run in runs))
        figures[method] = score.figures()
    return figures


def result_cells(figures: dict) -> list[str]:
    """One run's figures (each method's `Score.figures()`), in the order of TABLE_COLUMNS."""
    ours, nhs_app = figures["wait-well"], figures["nhs-app-mean"]
    medians = [
        figures[m]["median_abs_error_weeks"]
        for m in ("wait-well", "nhs-app-mean", "p92-current", "position-leavers")
    ]
    row = [
        *medians,
        ours["mean_abs_error_weeks"],
        nhs_app["mean_abs_error_weeks"],
        ours["later_than_p50"],
        ours["inside_p10_p90"],
        ours["mean_range_weeks"],
        ours["estimated"],
    ]
    return [*(f"{v:.3f}" for v in row), bar(ours, nhs_app)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--weeks", type=int, default=78)
    parser.add_argument("--pathways", type=int, default=5000)
    parser.add_argument("--step", type=int, default=1, help="weeks between origins")
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "backtests")
    args = parser.parse_args()

    print(f"scenario,seed,{TABLE_COLUMNS}")
    for scenario in args.scenarios:
        folders = []
        for seed in args.seeds:
            folder = (args.dir / f"{scenario}-{seed}-{args.weeks}w-{args.pathways}").resolve()
            folder.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-c", CHILD, scenario, str(seed), str(folder),
                       str(args.weeks), str(args.pathways), str(args.step)]  # fmt: skip
            done = subprocess.run(command, cwd=ROOT, env=child_env(folder), capture_output=True)
            if done.returncode:
                sys.exit(f"{scenario} seed {seed} failed:\n{done.stderr.decode()[-3000:]}")
            figures = json.loads(done.stdout.decode().strip().splitlines()[-1])
            print(",".join([scenario, str(seed), *result_cells(figures)]), flush=True)
            folders.append(folder)
        if len(folders) > 1:
            print(",".join([scenario, "all", *result_cells(pooled(folders))]), flush=True)


if __name__ == "__main__":
    main()
