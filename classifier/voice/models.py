"""Voice emotion models: svc / rf / xgboost, an actor-grouped search, save and load.

The search runs on training actors only: a randomized search over a wide space,
then a small grid around the best point ("narrowed"), both scored by accuracy
in cross-validation whose folds hold out whole actors (GroupKFold). A model is
saved together with everything needed to use it again: feature set,
normalisation, classes, sample rate, the average-speaker statistics for
un-enrolled users, and its measured figures.

Files are written with skops, not pickle: loading one never runs code it carries.
skops rebuilds only the types it trusts, plus the few this module's own models
contain (`MODEL_FILE_TYPES`); a file that names any other type is refused unopened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.voice.dataset import EMOTIONS, SAMPLE_RATE
from classifier.voice.errors import VoiceError
from classifier.voice.normalise import (
    SpeakerStats,
    generic_stats,
    normalise_by_speaker,
    shrink_toward,
    speaker_stats,
    std_floor,
)

MODEL_KINDS: tuple[str, ...] = ("svc", "rf", "xgboost")
CHOICES: tuple[str, ...] = (*MODEL_KINDS, "auto")
NORMALISATIONS: tuple[str, ...] = ("speaker", "none")
FORMAT_VERSION = 2  # 2: skops files (1 was a pickle, refused: it could carry code)
MODEL_FILE_TYPES = frozenset(
    {
        # Types beyond skops's own trusted set that svc / rf / xgboost models hold.
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.tree._tree.Tree",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
    }
)

Log = Callable[[str], None]


def build_estimator(kind: str, params: dict[str, Any] | None = None, *, seed: int = 0) -> Any:
    """An unfitted scikit-learn compatible classifier of `kind` with `params` set."""
    params = dict(params or {})
    if kind == "svc":
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        est: Any = Pipeline(
            [("scale", StandardScaler()), ("clf", SVC(kernel="rbf", random_state=seed))]
        )
        est.set_params(**{f"clf__{k}": v for k, v in params.items()})
        return est
    if kind == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=300, n_jobs=1, random_state=seed, **params)
    if kind == "xgboost":
        from xgboost import XGBClassifier

        defaults = dict(n_estimators=200, tree_method="hist", n_jobs=1, random_state=seed)
        return XGBClassifier(**{**defaults, **params})
    raise VoiceError(f"unknown model {kind!r}; choose one of {', '.join(CHOICES)}")


def _space(kind: str) -> dict[str, Any]:
    from scipy.stats import loguniform, randint, uniform

    if kind == "svc":
        return {
            "C": loguniform(0.3, 100.0),
            "gamma": loguniform(1e-4, 3e-2),
            "class_weight": [None, "balanced"],
        }
    if kind == "rf":
        return {
            "min_samples_leaf": randint(1, 6),
            "max_features": ["sqrt", 0.1, 0.2],
            "class_weight": [None, "balanced"],
        }
    return {
        "learning_rate": loguniform(0.03, 0.3),
        "max_depth": randint(2, 7),
        "subsample": uniform(0.6, 0.4),
        "colsample_bytree": uniform(0.3, 0.7),
    }


def _narrow(kind: str, best: dict[str, Any]) -> dict[str, list[Any]]:
    """A small grid around the best randomized point."""
    grid = {k: [v] for k, v in best.items()}
    if kind == "svc":
        grid["C"] = [best["C"] / 2, best["C"], best["C"] * 2]
        grid["gamma"] = [best["gamma"] / 2, best["gamma"], best["gamma"] * 2]
    elif kind == "rf":
        leaf = int(best["min_samples_leaf"])
        grid["min_samples_leaf"] = sorted({max(1, leaf - 1), leaf, leaf + 1})
    else:
        lr = float(best["learning_rate"])
        grid["learning_rate"] = [lr / 1.5, lr, lr * 1.5]
    return grid


def _prefix(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return {f"clf__{k}": v for k, v in params.items()} if kind == "svc" else dict(params)


def _unprefix(params: dict[str, Any]) -> dict[str, Any]:
    return {k.removeprefix("clf__"): _plain(v) for k, v in params.items()}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class SearchResult:
    kind: str
    params: dict[str, Any]
    cv_accuracy: float  # mean over actor-held-out folds
    cv_folds: int
    seconds: float


def search(
    kind: str,
    features: np.ndarray,
    labels: np.ndarray,
    actors: Sequence[int],
    *,
    n_iter: int = 8,
    folds: int = 4,
    seed: int = 0,
    n_jobs: int = 1,
) -> SearchResult:
    """Randomized then narrowed search of `kind`'s hyper-parameters, folds grouped by actor.

    `features` `(n_clips, n_features)` (already normalised), `labels` `(n_clips,)` ints.
    """
    from sklearn.model_selection import GridSearchCV, GroupKFold, RandomizedSearchCV

    start = time.perf_counter()
    groups = np.asarray(actors)
    n_folds = min(folds, len(np.unique(groups)))
    cv = GroupKFold(n_splits=n_folds)
    space = {k: v for k, v in _prefix(kind, _space(kind)).items()}
    wide = RandomizedSearchCV(
        build_estimator(kind, seed=seed),
        space,
        n_iter=n_iter,
        cv=cv,
        scoring="accuracy",
        random_state=seed,
        n_jobs=n_jobs,
        refit=False,
        error_score="raise",
    )
    wide.fit(features, labels, groups=groups)
    best = _unprefix(wide.best_params_)
    narrow = GridSearchCV(
        build_estimator(kind, seed=seed),
        _prefix(kind, _narrow(kind, best)),
        cv=cv,
        scoring="accuracy",
        n_jobs=n_jobs,
        refit=False,
        error_score="raise",
    )
    narrow.fit(features, labels, groups=groups)
    if narrow.best_score_ >= wide.best_score_:
        params, score = _unprefix(narrow.best_params_), float(narrow.best_score_)
    else:
        params, score = best, float(wide.best_score_)
    return SearchResult(kind, params, score, n_folds, time.perf_counter() - start)


@dataclass
class VoiceModel:
    """A fitted voice emotion model and what is needed to use it on new audio."""

    estimator: Any
    kind: str
    classes: tuple[str, ...]  # emotion names, in the estimator's label order
    feature_set: str
    normalisation: str  # "speaker" or "none"
    average_speaker: SpeakerStats | None  # used when a user has not enrolled
    floor: np.ndarray | None  # per-feature floor for speaker spreads
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)
    sample_rate: int = SAMPLE_RATE
    # Same kind and parameters fitted on un-normalised features: for speakers who have not
    # enrolled (measured: better than normalising them as the average speaker).
    unenrolled: Any = None

    def speaker_from(self, clips: np.ndarray) -> SpeakerStats | None:
        """Statistics of a new speaker from their raw features `(n_clips, n_features)`.

        Shrunk toward the average training speaker (see `normalise`); None when the
        model does not normalise or there are no clips (the average speaker is used).
        """
        if self.normalisation == "none" or len(clips) == 0 or self.average_speaker is None:
            return None
        floor = self.floor if self.floor is not None else 1e-3
        return shrink_toward(speaker_stats(clips, floor=floor), self.average_speaker)

    def prepare(self, features: np.ndarray, speaker: SpeakerStats | None) -> np.ndarray:
        """Raw features `(n, n_features)` -> the model's input (normalised as in training)."""
        if self.normalisation == "none":
            return features.astype(np.float32)
        stats = speaker if speaker is not None else self.average_speaker
        assert stats is not None
        return stats.apply(features)

    def predict_proba(
        self, features: np.ndarray, speaker: SpeakerStats | None = None
    ) -> np.ndarray:
        """Class probabilities `(n, len(classes))` for raw features `(n, n_features)`.

        `speaker` None means not enrolled: the un-normalised fallback model answers if
        there is one, else the main model with the average speaker's statistics.
        """
        if speaker is None and self.normalisation == "speaker" and self.unenrolled is not None:
            return np.asarray(self.unenrolled.predict_proba(features.astype(np.float32)))
        return np.asarray(self.estimator.predict_proba(self.prepare(features, speaker)))

    def save(self, path: Path) -> Path:
        """Write the model to `path` (a .skops file), atomically."""
        import skops.io

        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT_VERSION, **self.__dict__}
        # Plain arrays and numbers only, so the file names no type of this project's.
        payload["average_speaker"] = _stats_to_dict(self.average_speaker)
        tmp = path.with_suffix(".tmp")
        skops.io.dump(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> VoiceModel:
        """Read a model saved by `save`; VoiceError if missing, damaged, or not safe to load."""
        import skops.io

        if not path.exists():
            raise VoiceError(
                f"voice model file {path} is missing; train one with `emotune voice train`"
            )
        with path.open("rb") as fh:
            pickled = fh.read(1) == b"\x80"  # every pickle since protocol 2 starts so
        if pickled:
            raise VoiceError(
                f"voice model file {path} is a pickle (emotune's old format), which could run "
                "code when opened; it was not loaded. Train again with `emotune voice train`"
            )
        try:
            named = set(skops.io.get_untrusted_types(file=path))
            foreign = sorted(named - MODEL_FILE_TYPES)
            if not foreign:
                payload = skops.io.load(path, trusted=sorted(named))
        except Exception as exc:  # a damaged or foreign file raises many kinds of error
            raise VoiceError(
                f"voice model file {path} cannot be read ({type(exc).__name__}); "
                "train again with `emotune voice train`"
            ) from None
        if foreign:
            raise VoiceError(
                f"voice model file {path} names types a voice model never holds "
                f"({', '.join(foreign[:3])}); it was not loaded. Train one with "
                "`emotune voice train`"
            )
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
            raise VoiceError(
                f"{path} is not a voice model of this version; train again with "
                "`emotune voice train`"
            )
        payload.pop("format")
        payload["average_speaker"] = _stats_from_dict(payload["average_speaker"])
        return cls(**payload)


def _stats_to_dict(stats: SpeakerStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {"mean": stats.mean, "std": stats.std, "n_clips": int(stats.n_clips)}


def _stats_from_dict(stats: dict[str, Any] | None) -> SpeakerStats | None:
    if stats is None:
        return None
    return SpeakerStats(
        mean=np.asarray(stats["mean"]), std=np.asarray(stats["std"]), n_clips=stats["n_clips"]
    )


def encode_labels(emotions: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Emotion names -> ints 0..k-1 (in RAVDESS order of the classes present), and the classes."""
    classes = tuple(e for e in EMOTIONS if e in set(emotions))
    index = {e: i for i, e in enumerate(classes)}
    return np.array([index[e] for e in emotions], dtype=np.int64), classes


def fit_voice_model(
    features: np.ndarray,
    emotions: Sequence[str],
    actors: Sequence[int],
    *,
    kind: str = "svc",
    feature_set: str = "extended",
    normalisation: str = "speaker",
    n_iter: int = 8,
    folds: int = 4,
    seed: int = 0,
    n_jobs: int = 1,
    log: Log | None = None,
) -> VoiceModel:
    """Search hyper-parameters on these actors (grouped CV), then fit on all of them.

    `features` `(n_clips, n_features)` raw; `emotions` and `actors` `(n_clips,)`.
    `kind="auto"` searches every kind and keeps the best cross-validated one.
    """
    if kind not in CHOICES:
        raise VoiceError(f"unknown model {kind!r}; choose one of {', '.join(CHOICES)}")
    if normalisation not in NORMALISATIONS:
        raise VoiceError(
            f"unknown normalisation {normalisation!r}; choose one of {', '.join(NORMALISATIONS)}"
        )
    if len(set(emotions)) < 2:
        raise VoiceError("the training clips hold only one emotion; a classifier needs two")
    if len(set(actors)) < 2:
        raise VoiceError("the training clips hold only one actor; the search needs two or more")
    labels, classes = encode_labels(emotions)
    floor = std_floor(features)
    average = None
    x = features.astype(np.float32)
    if normalisation == "speaker":
        x, per_speaker = normalise_by_speaker(features, actors, floor=floor)
        average = generic_stats(per_speaker)

    kinds = MODEL_KINDS if kind == "auto" else (kind,)
    results = []
    for k in kinds:
        result = search(k, x, labels, actors, n_iter=n_iter, folds=folds, seed=seed, n_jobs=n_jobs)
        if log:
            log(
                f"{k}: {result.cv_accuracy:.1%} in {result.cv_folds}-fold actor-grouped CV "
                f"({result.seconds:.0f} s search)"
            )
        results.append(result)
    best = max(results, key=lambda r: r.cv_accuracy)
    start = time.perf_counter()
    estimator = _probabilistic(best.kind, best.params, seed).fit(x, labels)
    fit_seconds = time.perf_counter() - start
    unenrolled = None
    fallback_cv = None
    if normalisation == "speaker":
        # Its own search: parameters tuned on normalised features fit raw ones less well.
        raw = features.astype(np.float32)
        fallback = search(
            best.kind, raw, labels, actors, n_iter=n_iter, folds=folds, seed=seed, n_jobs=n_jobs
        )
        unenrolled = _probabilistic(best.kind, fallback.params, seed).fit(raw, labels)
        fallback_cv = round(fallback.cv_accuracy, 4)
        if log:
            log(f"{best.kind} for un-enrolled speakers: {fallback.cv_accuracy:.1%} in CV")
    majority = np.bincount(labels).max() / len(labels)
    return VoiceModel(
        estimator=estimator,
        kind=best.kind,
        classes=classes,
        feature_set=feature_set,
        normalisation=normalisation,
        average_speaker=average,
        floor=floor,
        params=best.params,
        figures={
            "cv_accuracy": round(best.cv_accuracy, 4),
            "cv_protocol": f"{best.cv_folds}-fold CV grouped by actor, training actors only, "
            "each normalised with all of their own clips",
            "cv_majority_rate": round(float(majority), 4),
            "search": {r.kind: round(r.cv_accuracy, 4) for r in results},
            "search_seconds": round(sum(r.seconds for r in results), 1),
            "cv_accuracy_unenrolled": fallback_cv,
            "fit_seconds": round(fit_seconds, 2),
        },
        trained_on={"actors": sorted({int(a) for a in actors}), "n_clips": len(labels)},
        unenrolled=unenrolled,
    )


def _probabilistic(kind: str, params: dict[str, Any], seed: int) -> Any:
    """An unfitted estimator of `kind` that answers calibrated class probabilities."""
    estimator = build_estimator(kind, params, seed=seed)
    if kind == "svc":
        # An SVC has no probabilities of its own: calibrate its scores (sigmoid, inner 3-fold).
        from sklearn.calibration import CalibratedClassifierCV

        estimator = CalibratedClassifierCV(estimator, ensemble=False, cv=3)
    return estimator
