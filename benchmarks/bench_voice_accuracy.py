"""Voice accuracy on real RAVDESS speech: the README's tables, by leave-actors-out CV.

For each fold of actors (consecutive actors, `--folds` of them, as `emotune voice evaluate
--folds` makes them), a model is trained on the other actors (hyper-parameter search inside
them) and scored on the held-out actors, for the published reference recipe and the
extended features, each without and with per-speaker normalisation. A held-out actor is
normalised the way a user is: from a random 20 (or 5) of their own clips, unlabelled, or not
at all (the fallback model answers). The code is `emotune voice evaluate`'s own
(classifier.voice.evaluate); the model trained for 20 enrolment clips is scored again with 5
and 0, so each fold fits 4 models, not 6.

Run: .venv/bin/python benchmarks/bench_voice_accuracy.py --ravdess DIR [--folds 5]
     [--model svc] [--n-iter 8] [--cache DIR]
DIR is your copy of RAVDESS (speech clips, `Actor_XX/` folders or one flat folder). Prints
the table as Markdown, then one JSON document on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (row label, feature set, normalisation, enrolment clips scored with the same model)
ROWS: list[tuple[str, str, str, tuple[int | None, ...]]] = [
    ("published recipe (13 MFCC + Δ + ΔΔ + RMS), none", "reference", "none", (None,)),
    ("published recipe, per-speaker", "reference", "speaker", (20,)),
    ("extended, none", "extended", "none", (None,)),
    ("extended, per-speaker (default)", "extended", "speaker", (0, 5, 20)),
]


def enrolled_text(clips: int | None) -> str:
    if clips is None:
        return "—"
    return "not enrolled (fallback model)" if clips == 0 else f"{clips} clips"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ravdess", type=Path, required=True, help="your copy of RAVDESS")
    parser.add_argument("--folds", type=int, default=5, help="leave-actors-out folds")
    parser.add_argument("--model", default="svc", help="svc (default), rf, xgboost or auto")
    parser.add_argument("--n-iter", type=int, default=8, help="randomized search points")
    parser.add_argument("--workers", type=int, default=2, help="feature extraction processes")
    parser.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from classifier.voice.dataset import check_trainable, scan_ravdess
    from classifier.voice.evaluate import actor_folds, score_held_out, train_and_score
    from classifier.voice.features import extract_files
    from classifier.voice.mood import EMOTION_QUADRANT

    started = time.perf_counter()
    clips = scan_ravdess(args.ravdess)
    check_trainable(clips, str(args.ravdess))
    data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for feature_set in ("reference", "extended"):
        extracted = extract_files(
            [c.path for c in clips], feature_set, cache_dir=args.cache, n_jobs=args.workers
        )
        kept = [clips[i] for i in extracted.kept]
        data[feature_set] = (
            extracted.matrix,
            np.array([c.emotion for c in kept]),
            np.array([c.actor for c in kept]),
        )
        print(f"{feature_set} features of {len(kept)} clips ({len(extracted.skipped)} skipped)")
    _, emotions, actors = data["extended"]
    folds = actor_folds(actors.tolist(), args.folds)

    # scores[(row label, enrolment)] = one Score per fold
    scores: dict[tuple[str, int | None], list[Any]] = {}
    for k, fold in enumerate(folds, 1):
        for label, feature_set, normalisation, enrolments in ROWS:
            x, y, who = data[feature_set]
            t0 = time.perf_counter()
            model, score = train_and_score(
                x, y.tolist(), who.tolist(), fold, kind=args.model, feature_set=feature_set,
                normalisation=normalisation, enrol_clips=enrolments[-1], n_iter=args.n_iter,
            )  # fmt: skip
            scores.setdefault((label, enrolments[-1]), []).append(score)
            test = np.isin(who, fold)
            for clips_n in enrolments[:-1]:  # the same model, its speakers enrolled otherwise
                scores.setdefault((label, clips_n), []).append(
                    score_held_out(
                        model,
                        x[test],
                        y[test].tolist(),
                        who[test].tolist(),
                        train_majority=_majority(y[~test]),
                        train_majority_quadrant=_majority([EMOTION_QUADRANT[e] for e in y[~test]]),
                        enrol_clips=clips_n,
                    )  # fmt: skip
                )
            print(
                f"fold {k}/{len(folds)} (actors {fold[0]:02d}-{fold[-1]:02d}) {label}: "
                f"{score.accuracy:.1%} in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )

    report: dict[str, Any] = {
        "benchmark": "voice_accuracy",
        "model": args.model,
        "folds": [[int(a) for a in f] for f in folds],
        "n_clips": int(len(emotions)),
        "n_iter": args.n_iter,
        "rows": [],
    }
    majority = [s.majority_rate for s in next(iter(scores.values()))]
    print()
    print(
        f"{args.folds}-fold leave-actors-out CV, {args.model}; always-the-training-majority "
        f"scores {np.mean(majority):.1%} ({min(majority):.1%}-{max(majority):.1%} per fold)"
    )
    print()
    print("| features / normalisation | unseen speaker enrolled with", end=" ")
    print("| accuracy (mean ± sd, worst fold) |")
    print("|---|---|---|")
    for label, _, _, enrolments in ROWS:
        for clips_n in enrolments:
            acc = np.array([s.accuracy for s in scores[(label, clips_n)]])
            quadrant = np.mean([s.quadrant_accuracy for s in scores[(label, clips_n)]])
            print(
                f"| {label} | {enrolled_text(clips_n)} | {acc.mean():.1%} ± "
                f"{100 * acc.std():.1f} ({acc.min():.1%}) |"
            )
            report["rows"].append(
                {
                    "features": label,
                    "enrol_clips": clips_n,
                    "accuracy_per_fold": [round(float(a), 4) for a in acc],
                    "accuracy_mean": round(float(acc.mean()), 4),
                    "accuracy_sd": round(float(acc.std()), 4),
                    "accuracy_worst": round(float(acc.min()), 4),
                    "quadrant_accuracy_mean": round(float(quadrant), 4),
                }
            )
    default = "extended, per-speaker (default)"
    q = {n: np.mean([s.quadrant_accuracy for s in scores[(default, n)]]) for n in (0, 20)}
    q_majority = np.mean([s.quadrant_majority_rate for s in scores[(default, 20)]])
    print()
    print(
        f"quadrant ({default}): {q[20]:.1%} with 20 enrolment clips, {q[0]:.1%} without; "
        f"always the training set's commonest quadrant: {q_majority:.1%}"
    )
    report.update(
        majority_rate_mean=round(float(np.mean(majority)), 4),
        quadrant_majority_rate_mean=round(float(q_majority), 4),
        seconds=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(report, ensure_ascii=False))


def _majority(labels: Any) -> str:
    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return str(values[counts.argmax()])


if __name__ == "__main__":
    main()
