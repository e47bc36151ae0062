"""Repository functions: the only place that queries the store.

Every function takes an open SQLAlchemy `Session` (from `Store.session()`), so
the caller decides the unit of work. No SQL is built from strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.aggregation import (
    Rating,
    TagResult,
    WindowProbs,
    aggregate_track,
    counted_windows,
    electrode_share,
)
from app.db.models import (
    Listen,
    Model,
    SelfRating,
    Track,
    TrackTag,
    WindowPrediction,
    utcnow,
)
from app.errors import ModelError, NotFoundError

# --- tracks -----------------------------------------------------------------


def upsert_track(
    db: Session,
    *,
    spotify_id: str,
    uri: str | None = None,
    name: str = "",
    artists: Sequence[str] | str = (),
    album: str = "",
    duration_ms: int | None = None,
) -> Track:
    """Insert the track or refresh its metadata; returns the row."""
    artist_text = artists if isinstance(artists, str) else ", ".join(artists)
    track = db.scalar(select(Track).where(Track.spotify_id == spotify_id))
    if track is None:
        track = Track(spotify_id=spotify_id, uri=uri or f"spotify:track:{spotify_id}")
        db.add(track)
    if uri:
        track.uri = uri
    if name:
        track.name = name
    if artist_text:
        track.artists = artist_text
    if album:
        track.album = album
    if duration_ms is not None:
        track.duration_ms = duration_ms
    db.flush()
    return track


@dataclass(frozen=True)
class TaggedTrack:
    """A track with its tag, as plain values (safe to use after the session closes)."""

    spotify_id: str
    uri: str
    name: str
    artists: str
    album: str
    duration_ms: int | None
    emotion: str | None
    valence: float | None
    arousal: float | None
    confidence: float | None
    n_windows: int
    n_listens: int
    source: str | None
    basis: str | None  # what the tag rests on: self, calibrated, generic, synthetic, voice, music

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_tracks(
    db: Session, *, emotion: str | None = None, include_music: bool = False
) -> list[TaggedTrack]:
    """All tracks (or those tagged `emotion`), best confidence first, then by name.

    With `include_music`, a track with no EEG/self/voice tag but a music position
    (`emotune music fetch`) carries that position with the basis "music"; a music
    position never replaces a tag.
    """
    if include_music:
        from app.db.music_repository import with_music_positions

        rows = with_music_positions(db, list_tracks(db))
        if emotion is not None:
            rows = [r for r in rows if r.emotion == emotion]
        return rows
    stmt = select(Track, TrackTag).join(TrackTag, TrackTag.track_id == Track.id, isouter=True)
    if emotion is not None:
        stmt = stmt.where(TrackTag.quadrant == emotion)
    rows = db.execute(stmt).all()
    out = [
        TaggedTrack(
            spotify_id=t.spotify_id,
            uri=t.uri,
            name=t.name,
            artists=t.artists,
            album=t.album,
            duration_ms=t.duration_ms,
            emotion=tag.quadrant if tag else None,
            valence=tag.valence if tag else None,
            arousal=tag.arousal if tag else None,
            confidence=tag.confidence if tag else None,
            n_windows=tag.n_windows if tag else 0,
            n_listens=tag.n_listens if tag else 0,
            source=tag.source if tag else None,
            basis=tag.basis if tag else None,
        )
        for t, tag in rows
    ]
    out.sort(key=lambda r: (-(r.confidence or -1.0), r.name, r.spotify_id))
    return out


# --- tags -------------------------------------------------------------------

# Model bases from weakest to strongest: a tag made from several models' windows rests on
# the weakest of them.
MODEL_BASES = ("synthetic", "generic", "calibrated")
BASIS_KEY = "basis"  # the key in `Model.metrics` that caches a model's basis


def basis_from_trained_on(trained_on: Mapping[str, Any]) -> str:
    """A checkpoint's basis from its `trained_on` dict."""
    if trained_on.get("calibrated"):
        return "calibrated"  # fine-tuned on this wearer, even from a synthetic base
    if trained_on.get("synthetic"):
        return "synthetic"
    return "generic"


def checkpoint_basis(path: str | Path) -> str | None:
    """The basis of the checkpoint at `path`, or None when it cannot be read."""
    if not Path(path).is_file():
        return None  # checked first: no torch import for a file that is gone
    from classifier.errors import ClassifierError
    from classifier.model import load_checkpoint

    try:
        return basis_from_trained_on(load_checkpoint(path)["trained_on"])
    except ClassifierError:
        return None


def model_basis(db: Session, model_id: int | None) -> str:
    """A registered EEG model's basis: cached in its metrics, else read once from its file.

    A model that is unknown or whose file cannot be read counts as "generic".
    """
    model = db.get(Model, model_id) if model_id is not None else None
    if model is None:
        return "generic"
    cached = (model.metrics or {}).get(BASIS_KEY)
    if cached in MODEL_BASES:
        return str(cached)
    basis = checkpoint_basis(model.path)
    if basis is None:
        return "generic"  # not cached: the file may come back
    model.metrics = {**(model.metrics or {}), BASIS_KEY: basis}  # a new dict: JSON is not tracked
    return basis


def weakest_basis(bases: Iterable[str]) -> str:
    """The weakest of model bases (synthetic < generic < calibrated); "generic" if none."""
    ranked = sorted(bases, key=MODEL_BASES.index)
    return ranked[0] if ranked else "generic"


def recompute_track_tag(
    db: Session, track_id: int, *, min_windows_per_listen: int = 1
) -> TagResult | None:
    """Recompute one track's tag from all its windows and self-ratings, and store it.

    Idempotent: running it twice leaves the same row. A track with nothing
    usable loses any EEG tag it had.
    """
    rows = db.execute(
        select(
            WindowPrediction.listen_id,
            WindowPrediction.p_valence,
            WindowPrediction.p_arousal,
            WindowPrediction.confidence,
            WindowPrediction.rejected,
            WindowPrediction.model_id,
            WindowPrediction.quality,
        )
        .join(Listen, Listen.id == WindowPrediction.listen_id)
        .where(Listen.track_id == track_id)
    ).all()
    windows = [
        WindowProbs(lid, pv, pa, conf, rejected, model_id, electrode_share(quality))
        for lid, pv, pa, conf, rejected, model_id, quality in rows
        if pv is not None and pa is not None
    ]
    ratings = [
        Rating(lid, v, a)
        for lid, v, a in db.execute(
            select(SelfRating.listen_id, SelfRating.valence, SelfRating.arousal)
            .join(Listen, Listen.id == SelfRating.listen_id)
            .where(Listen.track_id == track_id)
        ).all()
    ]
    result = aggregate_track(windows, ratings, min_windows_per_listen=min_windows_per_listen)
    tag = db.get(TrackTag, track_id)
    if result is None:
        if tag is not None and tag.source != "voice":
            db.delete(tag)
        db.flush()
        return None
    if tag is None:
        tag = TrackTag(track_id=track_id)
        db.add(tag)
    tag.valence = result.valence
    tag.arousal = result.arousal
    tag.quadrant = result.quadrant
    tag.confidence = result.confidence
    tag.n_windows = result.n_windows
    tag.n_listens = result.n_listens
    tag.source = result.source
    tag.basis = _tag_basis(db, result, windows, min_windows_per_listen)
    tag.updated_at = utcnow()
    db.flush()
    return replace(result, basis=tag.basis)


def _tag_basis(
    db: Session, result: TagResult, windows: list[WindowProbs], min_windows_per_listen: int
) -> str:
    if result.source == "self":
        return "self"
    # "self+eeg" (one dimension rated) rests on the EEG for the other: the model's basis.
    # One lookup per model, not per window: a track's windows come from a few models at most.
    model_ids = {w.model_id for w in counted_windows(windows, min_windows_per_listen)}
    return weakest_basis(model_basis(db, model_id) for model_id in model_ids)


# --- models -----------------------------------------------------------------


def register_model(
    db: Session,
    *,
    name: str,
    kind: str,
    path: str,
    description: str = "",
    metrics: dict[str, Any] | None = None,
    activate: bool = False,
    basis: str | None = None,
) -> Model:
    """Add a model file to the registry.

    An EEG model's basis ("synthetic", "generic" or "calibrated": what tags made with it
    rest on) is cached in its metrics: `basis` when given, else read from the checkpoint's
    `trained_on` now (an unreadable file is looked at again when a tag needs it).
    """
    metrics = dict(metrics or {})
    if basis is not None and basis not in MODEL_BASES:
        raise ValueError(f"basis must be one of {', '.join(MODEL_BASES)} (got {basis!r})")
    if kind == "eeg":
        basis = basis or checkpoint_basis(path)
        if basis is not None:
            metrics[BASIS_KEY] = basis
    model = Model(name=name, kind=kind, path=path, description=description, metrics=metrics)
    db.add(model)
    db.flush()
    if activate:
        set_active_model(db, model.id)
    return model


def list_models(db: Session, *, kind: str | None = None) -> list[Model]:
    stmt = select(Model).order_by(Model.id)
    if kind:
        stmt = stmt.where(Model.kind == kind)
    return list(db.scalars(stmt))


def active_model(db: Session, kind: str = "eeg") -> Model | None:
    return db.scalar(select(Model).where(Model.kind == kind, Model.active.is_(True)))


def require_active_eeg_model(db: Session) -> Model:
    """The active EEG model, or a ModelError saying how to get one."""
    model = active_model(db, "eeg")
    if model is None:
        raise ModelError(
            "no active EEG model; train one (`emotune model train`) "
            "or pick one (`emotune model use ID`)"
        )
    return model


# --- window predictions --------------------------------------------------------


def window_prediction_values(
    w: Any, *, session_id: int, listen_id: int | None, model_id: int | None
) -> dict[str, Any]:
    """Column values of one classified window (a `classifier.pipeline.WindowResult`)."""
    return {
        "session_id": session_id,
        "listen_id": listen_id,
        "start_time": w.start_time,
        "end_time": w.end_time,
        "p_valence": w.p_valence,
        "p_arousal": w.p_arousal,
        "confidence": w.confidence,
        "quality": w.quality,
        "rejected": w.rejected,
        "reject_reason": w.reject_reason,
        "model_id": model_id,
    }


def set_active_model(db: Session, model_id: int) -> Model:
    """Make `model_id` the one active model of its kind."""
    model = db.get(Model, model_id)
    if model is None:
        raise NotFoundError(f"no model with id {model_id}; `emotune model list` shows the ids")
    db.execute(update(Model).where(Model.kind == model.kind).values(active=False))
    model.active = True
    db.flush()
    return model
