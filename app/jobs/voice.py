"""Voice check-in jobs: train / evaluate on a RAVDESS-named folder, enrol a user, check in.

train:    folder -> clips -> features (cached) -> per-speaker normalisation ->
          actor-grouped search -> fit -> model file + store registry (active).
evaluate: the same, with chosen actors held out (or leave-actors-out folds) -> scores.
enrol:    the user's unlabelled clips -> copied into the data dir; their
          feature statistics normalise that user's check-ins.
check-in: clip -> features -> normalise (enrolment, else an average speaker) ->
          8 emotion probabilities -> valence/arousal -> quadrant -> MoodReading row.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import ModelError, NotFoundError
from app.privacy import user_umask

Progress = Callable[[int, int], None]
Log = Callable[[str], None]

# Measured on RAVDESS actors 01-20 (leave-actors-out CV): see README / the issue report.
DEFAULT_MODEL = "svc"
DEFAULT_FEATURES = "extended"
LICENSE_NOTE = (
    "trained on RAVDESS (CC BY-NC-SA 4.0): the model inherits those terms (non-commercial)"
)


def feature_cache_dir(cfg: Settings) -> Path:
    return cfg.data_dir / "cache" / "voice-features"


def enrolment_dir(cfg: Settings) -> Path:
    return cfg.data_dir / "voice" / "enrolment"


def reports_dir(cfg: Settings) -> Path:
    return cfg.data_dir / "reports"


@dataclass
class Dataset:
    """Features `(n, n_features)` of the usable clips, with their emotions and actors."""

    features: np.ndarray
    emotions: list[str]
    actors: list[int]
    feature_set: str
    n_files: int
    skipped: list[tuple[Path, str]]
    from_cache: int


def load_dataset(
    cfg: Settings,
    root: Path,
    *,
    feature_set: str = DEFAULT_FEATURES,
    include_song: bool = False,
    progress: Progress | None = None,
    n_jobs: int = 2,
) -> Dataset:
    """Scan a RAVDESS-named folder and extract (or read cached) features of its clips."""
    from classifier.voice.dataset import check_trainable, scan_ravdess
    from classifier.voice.features import extract_files

    clips = scan_ravdess(root, include_song=include_song)
    check_trainable(clips, str(root))
    extracted = extract_files(
        [c.path for c in clips],
        feature_set,
        cache_dir=feature_cache_dir(cfg),
        n_jobs=n_jobs,
        progress=progress,
    )
    kept = [clips[i] for i in extracted.kept]
    check_trainable(kept, f"{root} (usable clips)")
    return Dataset(
        features=extracted.matrix,
        emotions=[c.emotion for c in kept],
        actors=[c.actor for c in kept],
        feature_set=feature_set,
        n_files=len(clips),
        skipped=extracted.skipped,
        from_cache=extracted.from_cache,
    )


@dataclass
class TrainOutcome:
    model_id: int
    path: Path
    summary: dict[str, Any]


def train_voice(
    cfg: Settings,
    root: Path,
    *,
    test_actors: Sequence[int] | None = None,
    kind: str = DEFAULT_MODEL,
    feature_set: str = DEFAULT_FEATURES,
    normalisation: str = "speaker",
    n_iter: int = 8,
    progress: Progress | None = None,
    log: Log | None = None,
) -> TrainOutcome:
    """Train on `root` (minus `test_actors`, which are then scored), save, register, activate."""
    from classifier.voice.evaluate import save_confusion_png, train_and_score
    from classifier.voice.models import fit_voice_model

    data = load_dataset(cfg, root, feature_set=feature_set, progress=progress)
    held_out = None
    present_test = sorted(set(test_actors or ()) & set(data.actors))
    if test_actors and not present_test and log:
        log(
            f"no clips of test actors {_fmt(test_actors)} in {root}: training on every "
            "actor; only the cross-validated figure is available"
        )
    if present_test:
        model, score = train_and_score(
            data.features,
            data.emotions,
            data.actors,
            present_test,
            kind=kind,
            feature_set=feature_set,
            normalisation=normalisation,
            n_iter=n_iter,
            log=log,
        )
        held_out = score.as_dict()
        model.figures["held_out"] = held_out
        held_out["confusion_png"] = str(
            save_confusion_png(score, reports_dir(cfg) / f"voice-confusion-{_stamp()}.png")
        )
    else:
        model = fit_voice_model(
            data.features,
            data.emotions,
            data.actors,
            kind=kind,
            feature_set=feature_set,
            normalisation=normalisation,
            n_iter=n_iter,
            log=log,
        )
    model.trained_on.update({"dataset": str(root), "license": LICENSE_NOTE})
    name = f"voice-{model.kind}-{model.feature_set}-{_stamp()}"
    path = model.save(cfg.models_dir / f"{name}.skops")

    from app.db import repository

    actors = model.trained_on["actors"]
    store = _open_store(cfg)
    try:
        with store.session() as db:
            row = repository.register_model(
                db,
                name=name,
                kind="voice",
                path=str(path),
                description=(
                    f"{model.kind} on {model.feature_set} features, "
                    f"{normalisation_text(model.normalisation)}; speech of actors {_fmt(actors)} "
                    f"({model.trained_on['n_clips']} clips); {LICENSE_NOTE}"
                ),
                metrics=model.figures,
                activate=True,
            )
            model_id = row.id
    finally:
        store.close()
    summary = {
        "model_id": model_id,
        "path": str(path),
        "model": model.kind,
        "feature_set": model.feature_set,
        "normalisation": model.normalisation,
        "classes": list(model.classes),
        "params": model.params,
        "train_actors": actors,
        "n_train_clips": model.trained_on["n_clips"],
        "skipped_files": [f"{p}: {reason}" for p, reason in data.skipped],
        **{k: v for k, v in model.figures.items() if k != "held_out"},
        "held_out": held_out,
    }
    return TrainOutcome(model_id=model_id, path=path, summary=summary)


def normalisation_text(normalisation: str) -> str:
    return "per-speaker normalisation" if normalisation == "speaker" else "no normalisation"


def evaluate_voice(
    cfg: Settings,
    root: Path,
    *,
    test_actors: Sequence[int] | None = None,
    folds: int | None = None,
    kind: str = DEFAULT_MODEL,
    feature_set: str = DEFAULT_FEATURES,
    normalisation: str = "speaker",
    enrol_clips: int | None = 20,
    n_iter: int = 8,
    confusion_png: Path | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """Train on the other actors and score `test_actors`, or run `folds` leave-actors-out folds.

    Nothing is saved to the store; the confusion matrix of a held-out run is written as PNG.
    """
    from classifier.voice.evaluate import (
        cross_validate,
        save_confusion_png,
        summarise_folds,
        train_and_score,
    )

    if (test_actors is None) == (folds is None):
        raise ModelError("give either --test-actors (e.g. 17-20) or --folds (e.g. 5), not both")
    data = load_dataset(cfg, root, feature_set=feature_set, progress=progress)
    common = dict(
        kind=kind,
        feature_set=feature_set,
        normalisation=normalisation,
        enrol_clips=enrol_clips,
        n_iter=n_iter,
    )
    if folds is not None:
        scores = cross_validate(
            data.features, data.emotions, data.actors, n_folds=folds, log=log, **common
        )
        result = summarise_folds(scores)
        result["protocol"] = (
            f"{folds}-fold leave-actors-out CV; search inside training actors; held-out "
            f"actors {_enrolment_text(enrol_clips, normalisation)}"
        )
        return result
    assert test_actors is not None
    _, score = train_and_score(data.features, data.emotions, data.actors, test_actors, **common)
    result = score.as_dict()
    png = confusion_png or reports_dir(cfg) / f"voice-confusion-{_stamp()}.png"
    # --confusion follows the user's umask; the default, in the home, is owner-only
    with user_umask() if confusion_png else nullcontext():
        result["confusion_png"] = str(save_confusion_png(score, png))
    result["protocol"] = (
        f"trained on actors {_fmt(sorted(set(data.actors) - set(score.test_actors)))}, "
        f"held out {_fmt(score.test_actors)}; held-out actors "
        f"{_enrolment_text(enrol_clips, normalisation)}"
    )
    return result


# --- the user's side: enrolment and check-in ---------------------------------------


@dataclass
class Enrolment:
    n_clips: int
    added: list[str]
    skipped: list[str]
    advice: str


def enrolment_advice(n_clips: int) -> str:
    """What a user should do next with `n_clips` enrolled clips."""
    from classifier.voice.normalise import RECOMMENDED_CLIPS

    if n_clips >= RECOMMENDED_CLIPS:
        return f"{n_clips} clips enrolled: enough for per-speaker normalisation"
    more = RECOMMENDED_CLIPS - n_clips
    return (
        f"{n_clips} clips enrolled; {more} more clips in varied moods would help "
        f"(about {RECOMMENDED_CLIPS} keep most of the gain)"
    )


def enrol_voice(cfg: Settings, files: Sequence[Path], *, reset: bool = False) -> Enrolment:
    """Check each clip and copy the usable ones into the enrolment folder (content-named)."""
    from classifier.voice.dataset import load_audio
    from classifier.voice.errors import VoiceError

    folder = enrolment_dir(cfg)
    if reset and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    added, skipped = [], []
    for file in files:
        file = Path(file)
        try:
            audio = load_audio(file)
        except VoiceError as exc:
            skipped.append(str(exc))
            continue
        if audio.is_clipped:
            skipped.append(
                f"{file} is clipped ({audio.clipped_share:.1%} of samples at full scale); "
                "record it again further from the microphone"
            )
            continue
        digest = hashlib.sha1(file.read_bytes()).hexdigest()[:16]
        target = folder / f"enrol-{digest}{file.suffix.lower()}"
        if not target.exists():
            shutil.copyfile(file, target)
            added.append(str(file))
        else:
            skipped.append(f"{file} is already enrolled")
    n = len(enrolled_clips(cfg))
    return Enrolment(n_clips=n, added=added, skipped=skipped, advice=enrolment_advice(n))


def enrolled_clips(cfg: Settings) -> list[Path]:
    folder = enrolment_dir(cfg)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".wav", ".flac"))


@dataclass
class CheckIn:
    emotion: str
    probabilities: dict[str, float]
    p_valence: float
    p_arousal: float
    quadrant: str
    confidence: float
    enrolled_clips: int
    # "enrolment"; "none" (not enrolled: the un-normalised fallback model answered);
    # "average speaker" (not enrolled, a model without fallback)
    normalised_with: str
    model_id: int
    notes: list[str] = field(default_factory=list)
    reading_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _active_voice_model(cfg: Settings) -> tuple[int, Any]:
    from app.db import repository
    from classifier.voice.models import VoiceModel

    store = _open_store(cfg)
    try:
        with store.session() as db:
            row = repository.active_model(db, "voice")
            if row is None:
                raise NotFoundError(
                    "no voice model yet; train one with `emotune voice train --ravdess DIR`"
                )
            model_id, path = row.id, Path(row.path)
    finally:
        store.close()
    return model_id, VoiceModel.load(path)


def check_in(cfg: Settings, path: Path, *, store_reading: bool = True) -> CheckIn:
    """Classify one clip of the user's speech and store it as a voice MoodReading."""
    from classifier.voice.dataset import load_audio
    from classifier.voice.features import extract_files, features_of
    from classifier.voice.mood import EMOTION_QUADRANT, quadrant_of, valence_arousal
    from classifier.voice.normalise import RECOMMENDED_CLIPS

    model_id, model = _active_voice_model(cfg)
    audio = load_audio(Path(path))
    notes = []
    if audio.is_clipped:
        notes.append(
            f"{audio.clipped_share:.1%} of the samples are clipped: the reading is less reliable; "
            "record further from the microphone"
        )
    if audio.original_rate != audio.rate or audio.original_channels != 1:
        notes.append(
            f"read {audio.original_channels} channel(s) at {audio.original_rate} Hz "
            f"as mono at {audio.rate} Hz"
        )
    vector = features_of(audio.samples, model.feature_set, audio.rate)[None, :]

    clips = enrolled_clips(cfg)
    stats = None
    normalised_with = "none"
    if model.normalisation == "speaker":
        if clips:
            extracted = extract_files(
                clips, model.feature_set, cache_dir=feature_cache_dir(cfg), n_jobs=1
            )
            stats = model.speaker_from(extracted.matrix)
        if stats is None:
            if model.unenrolled is None:
                normalised_with = "average speaker"
            notes.append(
                "not enrolled: less accurate; `emotune voice enrol` about "
                f"{RECOMMENDED_CLIPS} clips of yours in varied moods"
            )
        else:
            normalised_with = "enrolment"
            if len(clips) < RECOMMENDED_CLIPS:
                notes.append(enrolment_advice(len(clips)))

    probs = model.predict_proba(vector, stats)[0]
    p_valence, p_arousal = valence_arousal(model.classes, probs)
    quadrant = quadrant_of(p_valence, p_arousal)
    best = int(np.argmax(probs))
    emotion = model.classes[best]
    if EMOTION_QUADRANT[emotion] != quadrant:
        notes.append(
            f"the likeliest emotion ({emotion}) lies in {EMOTION_QUADRANT[emotion]}, but the "
            f"summed probabilities point to {quadrant}"
        )
    confidence = _quadrant_probability(model.classes, probs, quadrant)
    result = CheckIn(
        emotion=emotion,
        probabilities={c: round(float(p), 4) for c, p in zip(model.classes, probs, strict=True)},
        p_valence=round(p_valence, 4),
        p_arousal=round(p_arousal, 4),
        quadrant=quadrant,
        confidence=round(confidence, 4),
        enrolled_clips=len(clips),
        normalised_with=normalised_with,
        model_id=model_id,
        notes=notes,
    )
    if store_reading:
        result.reading_id = _store_reading(cfg, result)
    return result


def _quadrant_probability(classes: Sequence[str], probs: np.ndarray, quadrant: str) -> float:
    from classifier.voice.mood import EMOTION_QUADRANT

    pairs = zip(classes, probs, strict=True)
    return float(sum(p for c, p in pairs if EMOTION_QUADRANT[c] == quadrant))


def _store_reading(cfg: Settings, result: CheckIn) -> int:
    from app.db.models import MoodReading

    store = _open_store(cfg)
    try:
        with store.session() as db:
            row = MoodReading(
                at=time.time(),
                source="voice",
                p_valence=result.p_valence,
                p_arousal=result.p_arousal,
                confidence=result.confidence,
                label=result.quadrant,
            )
            db.add(row)
            db.flush()
            return row.id
    finally:
        store.close()


def mood_from_voice(cfg: Settings, path: Path) -> tuple[float, float, str]:
    """Check in with one clip, stored as a MoodReading.

    Returns (p valence high, p arousal high, quadrant name), each probability in [0, 1].
    """
    result = check_in(cfg, path)
    return result.p_valence, result.p_arousal, result.quadrant


def _enrolment_text(enrol_clips: int | None, normalisation: str) -> str:
    if normalisation == "none":
        return "not normalised per speaker (no enrolment needed)"
    if enrol_clips == 0:
        return "not enrolled (the fallback model fitted on un-normalised features answers)"
    amount = "all" if enrol_clips is None else str(enrol_clips)
    return f"enrolled with {amount} of their own unlabelled clips"


def _open_store(cfg: Settings) -> Any:
    from app.db.engine import open_store

    return open_store(cfg.database_url)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{int(time.time() * 1000) % 1000:03d}"


def _fmt(actors: Sequence[int]) -> str:
    return ",".join(f"{int(a):02d}" for a in actors)
