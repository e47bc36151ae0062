"""Fast feedback, measured: the test suite's wall time, `emotune demo`'s, and `--help`'s,
each beside the same figure of a baseline revision measured in the same run.

- suite: what `make test` runs after lint (pytest, two workers per core, `--dist loadgroup`) vs
  the baseline's own `make test` (pytest in one process). Goal: at most half the time, with
  as many tests passing.
- demo: `emotune demo --out TMP` (8 tracks, SYNTHETIC EEG). Goal: under 60 s.
- help: `emotune --help` (see bench_startup.py for every subcommand). Goal: under 0.2 s.

The baseline (default: the revision before issue 17) is unpacked with `git archive` and run
with the same interpreter and venv, its runs interleaved with this tree's, because the
machine is shared: only figures taken side by side are compared. `--baseline none` reports
this tree's figures beside the ones recorded in RECORDED_BEFORE instead.

Run: .venv/bin/python benchmarks/bench_suite.py [--only suite,demo,help] [--runs 1]
(the suite takes minutes per run, its baseline about twice as long). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_startup import (  # noqa: E402
    BEFORE_REV,
    ROOT,
    app_cmd,
    baseline_tree,
    byte_compile,
    tree_env,
    wall_s,
)

GOALS = {"suite_ratio": 0.5, "demo_s": 60.0, "help_s": 0.2}
# Figures of BEFORE_REV on the 2-core machine, medians of the runs in the README's
# Development section (used only with --baseline none).
RECORDED_BEFORE = {"suite_s": 902.5, "demo_s": 110.0, "help_s": 0.37}

NOW_SUITE = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto", "--dist", "loadgroup"]
BEFORE_SUITE = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]


def run_suite(tree: Path, args: list[str]) -> dict:
    """Wall time and pytest's closing counts of one run of the suite in `tree`."""
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=tree_env(tree),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)}
    # pytest's short summary (-ra) names each failure: kept, so a red run says which test.
    failed = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {
        "wall_s": round(wall, 1),
        "exit": run.returncode,
        "counts": counts,
        "tail": tail,
        "failed": failed,
    }


def run_demo(tree: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="emotune-bench-demo-") as out:
        return wall_s(app_cmd("demo", "--out", out, "--json"), tree, tree_env(tree))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="suite,demo,help", help="Which figures, comma-separated.")
    parser.add_argument("--runs", type=int, default=1, help="Runs of the suite (and x2 demos).")
    parser.add_argument("--help-runs", type=int, default=15, help="Runs of `--help`.")
    parser.add_argument(
        "--baseline", default=BEFORE_REV, help="Git revision to compare with, or 'none'."
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    rev = None if args.baseline == "none" else args.baseline
    figures: dict = {"baseline_rev": rev or "recorded", "load_avg_at_start": os.getloadavg()[0]}
    with baseline_tree(rev) as base:
        for tree in (ROOT, base):
            if tree is not None:
                byte_compile(tree)
        if "help" in only:
            now, before = [], []
            for _ in range(args.help_runs):
                if base is not None:
                    before.append(wall_s(app_cmd("--help"), base, tree_env(base)))
                now.append(wall_s(app_cmd("--help"), ROOT, tree_env(ROOT)))
            figures["help"] = summarise(now, before, "help_s")
        if "demo" in only:
            now, before = [], []
            for _ in range(2 * args.runs):
                if base is not None:
                    before.append(run_demo(base))
                now.append(run_demo(ROOT))
            figures["demo"] = summarise(now, before, "demo_s")
        if "suite" in only:
            now_runs, before_runs = [], []
            for _ in range(args.runs):
                if base is not None:
                    before_runs.append(run_suite(base, BEFORE_SUITE))
                    print(
                        f"suite before: {before_runs[-1]['tail']} ({before_runs[-1]['wall_s']} s)"
                    )
                now_runs.append(run_suite(ROOT, NOW_SUITE))
                print(f"suite now:    {now_runs[-1]['tail']} ({now_runs[-1]['wall_s']} s)")
                for line in now_runs[-1]["failed"]:
                    print(f"  {line}")
            suite = summarise(
                [r["wall_s"] for r in now_runs], [r["wall_s"] for r in before_runs], "suite_s"
            )
            suite["now_runs"], suite["before_runs"] = now_runs, before_runs
            passed_now = {r["counts"].get("passed", 0) for r in now_runs}
            passed_before = {r["counts"].get("passed", 0) for r in before_runs}
            suite["all_green"] = all(r["exit"] == 0 for r in now_runs)
            suite["goal_met"] = suite["all_green"] and suite["ratio"] <= GOALS["suite_ratio"]
            suite["passed_now"], suite["passed_before"] = sorted(passed_now), sorted(passed_before)
            figures["suite"] = suite
    for name, f in figures.items():
        if isinstance(f, dict):
            print(
                f"{name:<6} now {f['now_median']:8.3f} s  before {f['before_median']:8.3f} s  "
                f"ratio {f['ratio']:.2f}  ({f['before_from']}; goal {f['goal']})"
            )
    print(json.dumps(figures))


def summarise(now: list[float], before: list[float], key: str) -> dict:
    now_median = statistics.median(now)
    before_median = statistics.median(before) if before else RECORDED_BEFORE[key]
    goal = f"ratio <= {GOALS['suite_ratio']}" if key == "suite_s" else f"< {GOALS[key]:g} s"
    met = now_median < GOALS[key] if key != "suite_s" else None
    return {
        "now_median": round(now_median, 3),
        "before_median": round(before_median, 3),
        "ratio": round(now_median / before_median, 3),
        "runs": len(now),
        "before_from": "measured in this run" if before else "recorded",
        "goal": goal,
        "goal_met": met,
        "now": [round(x, 3) for x in now],
        "before": [round(x, 3) for x in before],
    }


if __name__ == "__main__":
    main()
