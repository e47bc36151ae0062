"""Voice check-in speed: feature extraction (files/s) and training (s) for 1,440 clips of 3.5 s.

The clips are SYNTHETIC (tones and noise named like RAVDESS: 24 actors x 60
clips, the size of RAVDESS's speech set), written to a temporary folder; speed
does not depend on what the audio says. Accuracy is not measured here: use
`emotune voice evaluate --ravdess DIR --folds 5` on your copy of RAVDESS.

Baseline, measured in the same run: the published reference recipe (13 MFCC +
deltas + RMS; SVC on raw features). Measured: the product's default (extended
features, per-speaker normalisation, SVC). Both use the same actor-grouped
randomized-then-narrowed search and 2 extraction workers, no feature cache.
`--ravdess DIR` also times extraction on real files of your copy of RAVDESS.

Run: .venv/bin/python benchmarks/bench_voice.py [--repeats 3] [--ravdess DIR]
The last line is one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_time(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per figure (median)")
    parser.add_argument("--clips-seconds", type=float, default=3.5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ravdess", type=Path, default=None, help="your copy of RAVDESS")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from classifier.voice.dataset import scan_ravdess
    from classifier.voice.features import extract_files
    from classifier.voice.models import fit_voice_model
    from classifier.voice.synthetic import write_synthetic_ravdess

    report: dict[str, object] = {"benchmark": "voice", "data": "synthetic", "repeats": args.repeats}
    with tempfile.TemporaryDirectory(prefix="emotune-bench-voice-") as tmp:
        start = time.perf_counter()
        write_synthetic_ravdess(Path(tmp), actors=range(1, 25), takes=8, seconds=args.clips_seconds)
        clips = scan_ravdess(Path(tmp))
        paths = [c.path for c in clips]
        print(
            f"wrote {len(clips)} synthetic clips of {args.clips_seconds} s "
            f"in {time.perf_counter() - start:.1f} s"
        )
        report.update(clips=len(clips), clip_seconds=args.clips_seconds)
        emotions = [c.emotion for c in clips]
        actors = [c.actor for c in clips]

        extract: dict[str, float] = {}
        matrices = {}
        for feature_set in ("reference", "extended"):
            seconds, result = _median_time(
                lambda fs=feature_set: extract_files(paths, fs, n_jobs=args.workers),
                args.repeats,
            )
            matrices[feature_set] = result.matrix
            extract[feature_set] = len(paths) / seconds
            print(
                f"extract {feature_set:<9} {len(paths) / seconds:7.1f} files/s "
                f"(median {seconds:.1f} s, {args.workers} workers)"
            )
        report["extract_files_per_s"] = {k: round(v, 1) for k, v in extract.items()}
        report["extract_ratio_extended_vs_reference"] = round(
            extract["extended"] / extract["reference"], 3
        )

        train: dict[str, float] = {}
        configs = {
            "reference_svc_raw": ("reference", "none"),
            "extended_svc_speaker": ("extended", "speaker"),
        }
        for name, (feature_set, normalisation) in configs.items():
            seconds, model = _median_time(
                lambda fs=feature_set, n=normalisation: fit_voice_model(
                    matrices[fs], emotions, actors, kind="svc", feature_set=fs, normalisation=n
                ),
                args.repeats,
            )
            train[name] = seconds
            print(
                f"train {name:<22} median {seconds:6.1f} s (search "
                f"{model.figures['search_seconds']} s + fit {model.figures['fit_seconds']} s"
                f"{'' if normalisation == 'none' else ' + the un-enrolled fallback'}; "
                f"synthetic CV accuracy {model.figures['cv_accuracy']:.1%})"
            )
        report["train_seconds"] = {k: round(v, 2) for k, v in train.items()}
        report["train_ratio_vs_reference"] = round(
            train["extended_svc_speaker"] / train["reference_svc_raw"], 3
        )

    if args.ravdess is not None:
        real = [c.path for c in scan_ravdess(args.ravdess)]
        real_rate = {}
        for feature_set in ("reference", "extended"):
            seconds, _ = _median_time(
                lambda fs=feature_set: extract_files(real, fs, n_jobs=args.workers), args.repeats
            )
            real_rate[feature_set] = round(len(real) / seconds, 1)
            print(f"extract {feature_set:<9} {real_rate[feature_set]:7.1f} files/s on real clips")
        report["real_extract_files_per_s"] = real_rate
        report["real_clips"] = len(real)

    print(
        "note: the speed figures come from synthetic audio; which model and features win is "
        "decided on real speech (emotune voice evaluate --folds 5), not here"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
