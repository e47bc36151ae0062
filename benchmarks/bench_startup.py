"""Median wall time of `emotune --help`, beside a bare Python start in the same run.

Goal: under 0.5 s. The baseline is `python -c pass` (what no CLI can beat) and
`python -c "import typer"` (the framework alone); the ratios say what
emotune's own imports add. Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15
GOAL_S = 0.5


def median_wall_s(cmd: list[str], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    exe = shutil.which("emotune") or str(Path(sys.executable).parent / "emotune")
    bare = median_wall_s([sys.executable, "-c", "pass"])
    typer_only = median_wall_s([sys.executable, "-c", "import typer"])
    help_s = median_wall_s([exe, "--help"])
    print(f"python -c pass      median {bare * 1000:7.1f} ms")
    print(f"python -c 'import typer' median {typer_only * 1000:7.1f} ms")
    print(
        f"emotune --help      median {help_s * 1000:7.1f} ms  ({help_s / bare:.1f}x bare python, "
        f"{help_s / typer_only:.1f}x typer alone; goal < {GOAL_S * 1000:.0f} ms)"
    )
    print(
        json.dumps(
            {
                "emotune_help_median_s": round(help_s, 4),
                "python_bare_median_s": round(bare, 4),
                "typer_import_median_s": round(typer_only, 4),
                "ratio_vs_bare": round(help_s / bare, 2),
                "goal_met": help_s < GOAL_S,
                "runs": RUNS,
            }
        )
    )


if __name__ == "__main__":
    main()
