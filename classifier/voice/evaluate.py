"""Scoring on held-out actors: accuracy, macro F1, majority-class rate, confusion matrix.

Held-out actors are normalised the way a user is: with statistics from a
random `enrol_clips` of their own clips (unlabelled; 0 = not enrolled), shrunk
toward the average training speaker. The majority-class rate is the accuracy
of always answering the training set's most common emotion on the same
held-out clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.voice.errors import VoiceError
from classifier.voice.models import Log, VoiceModel, fit_voice_model
from classifier.voice.mood import EMOTION_QUADRANT, quadrant_of, valence_arousal
from classifier.voice.normalise import RECOMMENDED_CLIPS


@dataclass(frozen=True)
class Score:
    """Figures of one model on one set of held-out actors."""

    model: str
    feature_set: str
    normalisation: str
    accuracy: float
    macro_f1: float
    majority_rate: float
    per_class: dict[str, dict[str, float]]
    classes: tuple[str, ...]
    confusion: np.ndarray  # (k, k): rows true class, columns predicted
    test_actors: list[int]
    n_test: int
    # The product acts on quadrants: accuracy of the quadrant from summed probabilities,
    # and of always answering the training set's most common quadrant.
    quadrant_accuracy: float = 0.0
    quadrant_majority_rate: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "feature_set": self.feature_set,
            "normalisation": self.normalisation,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "majority_rate": round(self.majority_rate, 4),
            "per_class": self.per_class,
            "test_actors": self.test_actors,
            "n_test_clips": self.n_test,
            "quadrant_accuracy": round(self.quadrant_accuracy, 4),
            "quadrant_majority_rate": round(self.quadrant_majority_rate, 4),
        }


def score_held_out(
    model: VoiceModel,
    features: np.ndarray,
    emotions: Sequence[str],
    actors: Sequence[int],
    *,
    train_majority: str,
    train_majority_quadrant: str = "",
    enrol_clips: int | None = RECOMMENDED_CLIPS,
    seed: int = 0,
) -> Score:
    """Score `model` on held-out clips `features` `(n, n_features)` (raw)."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    actors_arr = np.asarray(actors)
    rng = np.random.default_rng(seed)
    probs = np.zeros((len(features), len(model.classes)))
    for actor in np.unique(actors_arr):
        rows = np.flatnonzero(actors_arr == actor)
        enrol = rows
        if enrol_clips is not None and len(rows) > enrol_clips:
            enrol = rng.choice(rows, size=enrol_clips, replace=False)
        stats = model.speaker_from(features[enrol])
        probs[rows] = model.predict_proba(features[rows], stats)
    predicted = [model.classes[i] for i in probs.argmax(axis=1)]
    predicted_quadrants = [quadrant_of(*valence_arousal(model.classes, p)) for p in probs]
    true_quadrants = [EMOTION_QUADRANT[t] for t in emotions]
    truth = list(emotions)
    labels = list(model.classes) + sorted(set(truth) - set(model.classes))
    accuracy = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    present = [label for label in labels if label in set(truth)]
    return Score(
        model=model.kind,
        feature_set=model.feature_set,
        normalisation=model.normalisation,
        accuracy=accuracy,
        macro_f1=float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        majority_rate=float(np.mean([t == train_majority for t in truth])),
        per_class=per_class,
        classes=tuple(labels),
        confusion=confusion_matrix(truth, predicted, labels=labels),
        test_actors=sorted(int(a) for a in np.unique(actors_arr)),
        n_test=len(truth),
        quadrant_accuracy=float(
            np.mean([p == t for p, t in zip(predicted_quadrants, true_quadrants, strict=True)])
        ),
        quadrant_majority_rate=float(
            np.mean([t == train_majority_quadrant for t in true_quadrants])
        ),
    )


def train_and_score(
    features: np.ndarray,
    emotions: Sequence[str],
    actors: Sequence[int],
    test_actors: Sequence[int],
    *,
    kind: str = "svc",
    feature_set: str = "extended",
    normalisation: str = "speaker",
    enrol_clips: int | None = RECOMMENDED_CLIPS,
    n_iter: int = 8,
    seed: int = 0,
    log: Log | None = None,
) -> tuple[VoiceModel, Score]:
    """Train on every actor not in `test_actors` (search included) and score the held-out ones."""
    actors_arr = np.asarray(actors)
    emotions_arr = np.asarray(emotions)
    test = np.isin(actors_arr, list(test_actors))
    if not test.any():
        raise VoiceError(
            f"no clips of test actors {_actors(test_actors)} in the dataset; pick actors it holds"
        )
    if test.all():
        raise VoiceError("every actor is a test actor; leave some actors for training")
    model = fit_voice_model(
        features[~test],
        list(emotions_arr[~test]),
        list(actors_arr[~test]),
        kind=kind,
        feature_set=feature_set,
        normalisation=normalisation,
        n_iter=n_iter,
        seed=seed,
        log=log,
    )
    values, counts = np.unique(emotions_arr[~test], return_counts=True)
    score = score_held_out(
        model,
        features[test],
        list(emotions_arr[test]),
        list(actors_arr[test]),
        train_majority=str(values[counts.argmax()]),
        train_majority_quadrant=_majority_quadrant(emotions_arr[~test]),
        enrol_clips=enrol_clips,
        seed=seed,
    )
    return model, score


def actor_folds(actors: Sequence[int], n_folds: int) -> list[list[int]]:
    """Split the distinct actors into `n_folds` groups of consecutive actors (01-04, 05-08 ...)."""
    distinct = sorted({int(a) for a in actors})
    if n_folds < 2 or n_folds > len(distinct):
        raise VoiceError(
            f"cannot make {n_folds} actor folds from {len(distinct)} actors; "
            f"use 2 to {len(distinct)} folds"
        )
    return [list(chunk) for chunk in np.array_split(np.array(distinct), n_folds)]


def cross_validate(
    features: np.ndarray,
    emotions: Sequence[str],
    actors: Sequence[int],
    *,
    n_folds: int = 5,
    log: Log | None = None,
    **kwargs: Any,
) -> list[Score]:
    """Leave-actors-out CV: each fold of actors is held out once (search inside the rest)."""
    scores = []
    for fold in actor_folds(actors, n_folds):
        _, score = train_and_score(features, emotions, actors, fold, log=None, **kwargs)
        if log:
            log(
                f"held out actors {_actors(fold)}: accuracy {score.accuracy:.1%} "
                f"(majority rate {score.majority_rate:.1%})"
            )
        scores.append(score)
    return scores


def summarise_folds(scores: Sequence[Score]) -> dict[str, Any]:
    """Mean, spread and worst fold of a cross-validation."""
    acc = np.array([s.accuracy for s in scores])
    return {
        "model": scores[0].model,
        "feature_set": scores[0].feature_set,
        "normalisation": scores[0].normalisation,
        "folds": [
            {
                "test_actors": s.test_actors,
                "accuracy": round(s.accuracy, 4),
                "macro_f1": round(s.macro_f1, 4),
                "majority_rate": round(s.majority_rate, 4),
            }
            for s in scores
        ],
        "accuracy_mean": round(float(acc.mean()), 4),
        "accuracy_std": round(float(acc.std()), 4),
        "accuracy_worst": round(float(acc.min()), 4),
        "macro_f1_mean": round(float(np.mean([s.macro_f1 for s in scores])), 4),
        "majority_rate_mean": round(float(np.mean([s.majority_rate for s in scores])), 4),
        "quadrant_accuracy_mean": round(float(np.mean([s.quadrant_accuracy for s in scores])), 4),
        "quadrant_majority_rate_mean": round(
            float(np.mean([s.quadrant_majority_rate for s in scores])), 4
        ),
    }


def save_confusion_png(score: Score, path: Path, *, title: str = "") -> Path:
    """Write the confusion matrix (rows true, columns predicted, counts) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(score.classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * k, 0.8 + 0.7 * k))
    ax.imshow(score.confusion, cmap="Blues")
    ax.set_xticks(range(k), score.classes, rotation=45, ha="right")
    ax.set_yticks(range(k), score.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = score.confusion.max() or 1
    for i in range(k):
        for j in range(k):
            value = int(score.confusion[i, j])
            color = "white" if value > peak / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=color, fontsize=8)
    ax.set_title(
        title
        or f"{score.model}, actors {_actors(score.test_actors)} held out: "
        f"{score.accuracy:.1%} (majority {score.majority_rate:.1%})",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _majority_quadrant(emotions: Sequence[str]) -> str:
    quadrants, counts = np.unique([EMOTION_QUADRANT[e] for e in emotions], return_counts=True)
    return str(quadrants[counts.argmax()])


def _actors(actors: Sequence[int]) -> str:
    return ",".join(f"{int(a):02d}" for a in actors)
