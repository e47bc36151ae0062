"""Repository functions: the only place that queries the store.

Every function takes an open SQLAlchemy `Session` (from `Store.session()`), so
the caller decides the unit of work. No SQL is built from strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.aggregation import Rating, TagResult, WindowProbs, aggregate_track
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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_tracks(db: Session, *, emotion: str | None = None) -> list[TaggedTrack]:
    """All tracks (or those tagged `emotion`), best confidence first, then by name."""
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
        )
        for t, tag in rows
    ]
    out.sort(key=lambda r: (-(r.confidence or -1.0), r.name, r.spotify_id))
    return out


# --- tags -------------------------------------------------------------------


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
        )
        .join(Listen, Listen.id == WindowPrediction.listen_id)
        .where(Listen.track_id == track_id)
    ).all()
    windows = [
        WindowProbs(lid, pv, pa, conf, rejected)
        for lid, pv, pa, conf, rejected in rows
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
    tag.updated_at = utcnow()
    db.flush()
    return result


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
) -> Model:
    model = Model(name=name, kind=kind, path=path, description=description, metrics=metrics or {})
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
