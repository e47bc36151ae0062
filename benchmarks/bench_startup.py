"""Median wall time of `emotune --help` and of every subcommand's `--help`, beside a bare
Python start and the emotune of a baseline revision, measured in the same run.

Goal: every median under 0.2 s. What is timed is `python -m app ... --help` (the
`emotune` script runs the same imports), with both trees byte-compiled as an install
leaves them. The baselines are `python -c pass` (what no CLI can beat) and, by default, the
revision before the lazy CLI (`--baseline REV`; `--baseline none` skips it): its tree is
unpacked with `git archive` and run with the same interpreter, the runs interleaved with
this tree's, so the ratio compares like with like on a busy machine.

Run: .venv/bin/python benchmarks/bench_startup.py [--runs 9] [--baseline REV] [--root-only]
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.2
# The last revision before issue 17 (lazy CLI, parallel suite, demo without waiting).
BEFORE_REV = "eb8fb57"

LIST_COMMANDS = """
import json, typer.main
from app.cli.main import app
def paths(command, prefix=()):
    for name, sub in command.commands.items():
        yield [*prefix, name]
        if hasattr(sub, "commands"):
            yield from paths(sub, (*prefix, name))
print(json.dumps(list(paths(typer.main.get_command(app)))))
"""


@contextmanager
def baseline_tree(rev: str | None) -> Iterator[Path | None]:
    """The project at `rev`, unpacked from git into a temporary folder (None: no baseline)."""
    if rev is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="emotune-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
            check=True,
            capture_output=True,
        ).stdout
        tar_path = Path(tmp) / "tree.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(Path(tmp) / "tree", filter="data")
        yield Path(tmp) / "tree"


def tree_env(tree: Path) -> dict[str, str]:
    """The environment that makes `python -m app` (and its subprocesses) run `tree`'s code."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def app_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def wall_s(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def command_paths(tree: Path) -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", LIST_COMMANDS],
        cwd=tree,
        env=tree_env(tree),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def byte_compile(tree: Path) -> None:
    """Both trees as an install leaves them (`make venv` byte-compiles the project too)."""
    packages = ("app", "classifier", "playlists", "migrations")
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=tree, check=True)


def measure(runs: int, base: Path | None, *, every_command: bool = True) -> dict:
    """Medians (s) of each `--help`, this tree's and the baseline's, interleaved run by run."""
    for tree in (ROOT, base):
        if tree is not None:
            byte_compile(tree)
    helps = [[]] + (command_paths(ROOT) if every_command else [])
    common = set(map(tuple, command_paths(base))) if base is not None and every_command else set()
    samples: dict[str, list[float]] = {"python -c pass": []}
    before: dict[str, list[float]] = {}
    for _ in range(runs):
        samples["python -c pass"].append(
            wall_s([sys.executable, "-c", "pass"], ROOT, dict(os.environ))
        )
        for path in helps:
            name = " ".join(["emotune", *path, "--help"])
            if base is not None and (not path or tuple(path) in common):
                before.setdefault(name, []).append(
                    wall_s(app_cmd(*path, "--help"), base, tree_env(base))
                )
            samples.setdefault(name, []).append(
                wall_s(app_cmd(*path, "--help"), ROOT, tree_env(ROOT))
            )
    return {
        "now": {k: statistics.median(v) for k, v in samples.items()},
        "before": {k: statistics.median(v) for k, v in before.items()},
    }


def report(figures: dict, runs: int, rev: str | None) -> dict:
    now, before = figures["now"], figures["before"]
    bare = now.pop("python -c pass")
    root = "emotune --help"
    print(f"python -c pass{'':<24} median {bare * 1000:7.1f} ms")
    for name, s in now.items():
        was = before.get(name)
        vs = f"  before {was * 1000:6.1f} ms  ratio {s / was:.2f}" if was else ""
        print(f"{name:<38} median {s * 1000:7.1f} ms{vs}")
    slowest = max(now, key=now.get)
    ratios = [now[k] / before[k] for k in before]
    summary = {
        "emotune_help_median_s": round(now[root], 4),
        "emotune_help_before_median_s": round(before[root], 4) if root in before else None,
        "emotune_help_ratio_vs_before": round(now[root] / before[root], 2)
        if root in before
        else None,
        "slowest_help": slowest,
        "slowest_help_median_s": round(now[slowest], 4),
        "median_ratio_vs_before_all_helps": round(statistics.median(ratios), 2) if ratios else None,
        "python_bare_median_s": round(bare, 4),
        "ratio_vs_bare": round(now[root] / bare, 2),
        "commands_timed": len(now),
        "goal_s": GOAL_S,
        "goal_met": all(s < GOAL_S for s in now.values()),
        "runs": runs,
        "baseline_rev": rev,
    }
    verdict = "met" if summary["goal_met"] else "NOT met"
    print(
        f"emotune --help {now[root] * 1000:.0f} ms; slowest: {slowest} "
        f"{now[slowest] * 1000:.0f} ms (goal < {GOAL_S * 1000:.0f} ms for every one: {verdict})"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="Runs of each command.")
    parser.add_argument(
        "--baseline", default=BEFORE_REV, help="Git revision to compare with, or 'none'."
    )
    parser.add_argument(
        "--root-only", action="store_true", help="Time `emotune --help` alone (quicker)."
    )
    args = parser.parse_args()
    rev = None if args.baseline == "none" else args.baseline
    with baseline_tree(rev) as base:
        figures = measure(args.runs, base, every_command=not args.root_only)
    print(json.dumps(report(figures, args.runs, rev)))


if __name__ == "__main__":
    main()
