"""Windows kept by the quality check on real Muse recordings, before and after per-electrode
quality, in one run.

    python benchmarks/bench_quality.py DIR      # a folder of `muselsl record` CSVs + labels.csv

DIR is e.g. the shared eyes open/closed recordings of 18 people (eyes closed = arousal 1,
eyes open = arousal 5: a physiological proxy, not emotion). "before" re-implements the gate
emotune had until per-electrode quality (split at every duplicate or backward stamp; a
window rejected when any electrode showed mains > 50% of its power, muscle > 30%, a peak
over 200 µV, or a flat line); "after" is emotune's own `recording_windows` today.

Prints windows kept overall, per condition and per person, the reasons, and the goals of
the issue that asked for it (>= 75% kept, >= 16 of 18 people with >= 10 windows of each
condition, the conditions' kept shares within 15 points), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

GOAL_KEPT = 0.75
GOAL_PEOPLE_WINDOWS = 10
GOAL_CLASS_GAP = 0.15


def legacy_reasons(samples: np.ndarray, timestamps: np.ndarray, labels: list[str]) -> list[str]:
    """The old gate's reject reason per window ("" = kept), on the old window grid."""
    from classifier.signal import (
        MODEL_RATE_HZ,
        MUSE_MODEL_CHANNELS,
        bandpass_notch,
        pick_channels,
        resample,
        window_starts,
    )

    rate, win, stride = 256.0, 512, 128
    picked = pick_channels(samples, labels, MUSE_MODEL_CHANNELS).T
    step = np.diff(timestamps)
    breaks = np.flatnonzero((step > max(0.1, 2.5 / rate)) | (step <= 0)) + 1
    edges = [0, *breaks.tolist(), len(timestamps)]
    freqs = np.fft.rfftfreq(win, 1.0 / MODEL_RATE_HZ)
    near_mains = np.abs(freqs - 50.0) <= 2.0
    muscle = (freqs >= 30.0) & (freqs <= 60.0) & ~near_mains
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        raw = resample(picked[:, a:b], rate, axis=1)
        if raw.shape[1] < win:
            continue
        filt = bandpass_notch(raw, MODEL_RATE_HZ, axis=1)
        for s in window_starts(raw.shape[1], win, stride):
            r, f = raw[:, s : s + win], filt[:, s : s + win]
            power = np.abs(np.fft.rfft(r - r.mean(axis=1, keepdims=True), axis=1)) ** 2
            total = power[:, freqs >= 1.0].sum(axis=1) + 1e-12
            reason = ""
            for c, ch in enumerate(MUSE_MODEL_CHANNELS):
                if f[c].std() < 0.5:
                    reason = f"flat signal on {ch}"
                elif power[c, near_mains].sum() / total[c] > 0.5:
                    reason = f"line noise on {ch}"
                elif power[c, muscle].sum() / total[c] > 0.3:
                    reason = f"muscle on {ch}"
                elif np.abs(f[c]).max() > 200.0:
                    reason = f"amplitude > 200 µV on {ch}"
                if reason:
                    break
            out.append(reason)
    return out


def summarise(kept: dict[tuple[str, str], list[int]], reasons: Counter) -> dict[str, Any]:
    """Kept shares overall, per condition and per person; the goals' figures."""
    total = sum(n for _, n in kept.values())
    conditions = sorted({c for _, c in kept})
    people = sorted({s for s, _ in kept})
    by_condition = {
        c: sum(k for (_, cc), (k, _) in kept.items() if cc == c)
        / max(1, sum(n for (_, cc), (_, n) in kept.items() if cc == c))
        for c in conditions
    }
    enough = [
        s
        for s in people
        if all(kept.get((s, c), (0, 0))[0] >= GOAL_PEOPLE_WINDOWS for c in conditions)
    ]
    return {
        "windows": total,
        "kept_share": round(sum(k for k, _ in kept.values()) / max(1, total), 4),
        "by_condition": {c: round(v, 4) for c, v in by_condition.items()},
        "condition_gap": round(max(by_condition.values()) - min(by_condition.values()), 4),
        "people": len(people),
        "people_with_enough": len(enough),
        "by_person": {s: {c: kept.get((s, c), (0, 0))[0] for c in conditions} for s in people},
        "reasons": dict(reasons.most_common(8)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="muselsl CSVs with labels.csv")
    args = parser.parse_args()
    from classifier.datasets import read_labels, read_muselsl_csv
    from classifier.signal import recording_windows

    rows = read_labels(args.folder / "labels.csv", args.folder)
    before: dict[tuple[str, str], list[int]] = {}
    after: dict[tuple[str, str], list[int]] = {}
    reasons_before: Counter = Counter()
    reasons_after: Counter = Counter()
    masked: Counter = Counter()
    seconds = {"before": 0.0, "after": 0.0}
    for row in rows:
        condition = f"arousal {row.arousal:g}" if row.arousal is not None else "unrated"
        samples, stamps, labels = read_muselsl_csv(args.folder / row.file)
        started = time.perf_counter()
        old = legacy_reasons(samples, stamps, labels)
        seconds["before"] += time.perf_counter() - started
        started = time.perf_counter()
        new = recording_windows(samples, stamps, labels, 256.0)
        seconds["after"] += time.perf_counter() - started
        for key, table, kept_n, n in (
            ((row.subject, condition), before, sum(not r for r in old), len(old)),
            ((row.subject, condition), after, sum(r is None for r in new.reasons), len(new)),
        ):
            k0, n0 = table.get(key, (0, 0))
            table[key] = [k0 + kept_n, n0 + n]
        reasons_before.update(r.split(" on ")[0] for r in old if r)
        reasons_after.update(r.split(" (")[0] for r in new.reasons if r)
        for q in new.quality:
            masked.update(f"{ch} {f['issue']}" for ch, f in q.items() if f.get("issue"))
    results = {
        "before": summarise(before, reasons_before),
        "after": summarise(after, reasons_after),
    }
    results["after"]["electrodes_masked"] = dict(masked.most_common(12))
    print(f"{args.folder.name}: {len(rows)} files")
    for name, r in results.items():
        print(
            f"\n{name}: {r['kept_share']:.1%} of {r['windows']} windows kept; "
            f"{r['people_with_enough']} of {r['people']} people with >= {GOAL_PEOPLE_WINDOWS} "
            f"windows of each condition; by condition "
            + ", ".join(f"{c} {v:.1%}" for c, v in r["by_condition"].items())
            + f" (gap {r['condition_gap'] * 100:.1f} points); {seconds[name]:.1f} s"
        )
        print("  reasons: " + "; ".join(f"{k} {v}" for k, v in r["reasons"].items()))
        print(
            "  kept per person: "
            + ", ".join(
                f"{s} {'/'.join(str(v) for v in d.values())}" for s, d in r["by_person"].items()
            )
        )
    a = results["after"]
    print("\n  electrodes masked (after): " + "; ".join(f"{k} {v}" for k, v in masked.items()))
    print(
        f"\ngoals: kept {a['kept_share']:.1%} (>= {GOAL_KEPT:.0%}): "
        f"{'met' if a['kept_share'] >= GOAL_KEPT else 'MISSED'}; people "
        f"{a['people_with_enough']} (>= 16): {'met' if a['people_with_enough'] >= 16 else 'MISSED'}"
        f"; condition gap {a['condition_gap'] * 100:.1f} points (< 15): "
        f"{'met' if a['condition_gap'] < GOAL_CLASS_GAP else 'MISSED'}; ratio of kept shares "
        f"after/before {a['kept_share'] / max(results['before']['kept_share'], 1e-9):.2f}"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
