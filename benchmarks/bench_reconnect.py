"""How soon the listener reads a headset stream again after it dropped out and came back.

    python benchmarks/bench_reconnect.py [--rounds 12] [--load 2]

Each round: a SYNTHETIC Muse-like outlet (its own process, tests.reliability.fault_outlet)
sends for 3 s and exits; 3.5 s later a new outlet with the same source id starts. The
latency is from the new outlet's creation (its LSL `created_at`) to EEGSource's reconnect.
Rounds alternate between the shipped reconnect wait (`RECONNECT_RESOLVE_S`, one look for
the stream waits this long for an answer) and the baseline of 0.5 s that emotune used
before, so both see the same load. `--load N` starts N busy processes beside it (the
condition under which the reliability test once missed an outlet that lived 5 s).
Prints medians, maxima and the share of rounds slower than 1.5 s; last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE_S = 0.5
SLOW_S = 1.5


def one_round(resolve_s: float) -> float:
    """Seconds from the restarted outlet's creation to the reconnect (inf if none in 20 s)."""
    import pylsl

    import classifier.lsl_source as lsl_source
    from tests.reliability.helpers import start_fault_outlet, stop, unique_id

    lsl_source.RECONNECT_RESOLVE_S = resolve_s
    source_id = unique_id("bench")
    first = start_fault_outlet(
        {"source_id": source_id, "phases": [["normal", 3.0]], "then": "exit"}
    )
    source = lsl_source.EEGSource(name="Muse", source_id=source_id, resolve_timeout_s=30)
    source.connect()
    first.wait(timeout=60)
    time.sleep(3.5)
    second = start_fault_outlet(
        {"source_id": source_id, "counter_start": 100_000, "phases": [["normal", 8.0]],
         "then": "exit"}
    )  # fmt: skip
    latency = float("inf")
    try:
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            if source.snapshot_status().reconnects >= 1:
                inlet = source._inlet  # noqa: SLF001 - the benchmark reads the opened stream
                if inlet is not None:
                    latency = pylsl.local_clock() - inlet.info().created_at()
                break
            time.sleep(0.02)
    finally:
        source.close()
        stop(second)
    return latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="rounds per setting")
    parser.add_argument("--load", type=int, default=2, help="busy processes beside it")
    args = parser.parse_args()
    from classifier.lsl_source import RECONNECT_RESOLVE_S

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    results: dict[float, list[float]] = {BASELINE_S: [], RECONNECT_RESOLVE_S: []}
    try:
        for i in range(args.rounds):
            for resolve_s in (BASELINE_S, RECONNECT_RESOLVE_S):
                results[resolve_s].append(one_round(resolve_s))
            print(
                f"round {i + 1}/{args.rounds}: baseline {results[BASELINE_S][-1]:.2f} s, "
                f"shipped {results[RECONNECT_RESOLVE_S][-1]:.2f} s",
                flush=True,
            )
    finally:
        for proc in busy:
            proc.kill()
    summary = {}
    for resolve_s, values in results.items():
        arr = np.array(values)
        summary[str(resolve_s)] = {
            "median_s": round(float(np.median(arr)), 3),
            "max_s": round(float(arr.max()), 3),
            "slower_than_1_5_s": int(np.sum(arr > SLOW_S)),
        }
        print(
            f"wait {resolve_s:g} s per look: median {np.median(arr):.2f} s, max {arr.max():.2f} s, "
            f"{int(np.sum(arr > SLOW_S))}/{len(arr)} rounds slower than {SLOW_S:g} s"
        )
    base, shipped = (np.array(results[k]) for k in (BASELINE_S, RECONNECT_RESOLVE_S))
    ratio = float(np.median(shipped) / np.median(base))
    print(
        f"median ratio shipped/baseline: {ratio:.2f}; max ratio: {shipped.max() / base.max():.2f}"
    )
    print(
        json.dumps(
            {"benchmark": "reconnect", "rounds": args.rounds, "load": args.load,
             "shipped_resolve_s": RECONNECT_RESOLVE_S, "baseline_resolve_s": BASELINE_S,
             "results": summary, "median_ratio": round(ratio, 3)}
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
