"""SQLAlchemy 2 typed models of the emotune store.

Times that EEG windows are aligned on are float seconds since the Unix epoch
(UTC), because alignment needs sub-second precision; bookkeeping times
(`updated_at`, `created_at`) are timezone-naive UTC datetimes.
Probabilities are p(high) in [0, 1]; ratings are the 1-5 self-assessment scale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    spotify_id: Mapped[str] = mapped_column(String(64), unique=True)
    uri: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(512), default="")
    artists: Mapped[str] = mapped_column(String(1024), default="")  # ", "-joined names
    album: Mapped[str] = mapped_column(String(512), default="")
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    tag: Mapped[TrackTag | None] = relationship(back_populates="track", uselist=False)


class Model(Base):
    """A trained model file registered with the store (EEG or voice)."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # "eeg" | "voice"
    path: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")  # what it was trained on
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ListeningSession(Base):
    __tablename__ = "listening_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    stream_name: Mapped[str] = mapped_column(String(256), default="")
    stream_source_id: Mapped[str] = mapped_column(String(256), default="")
    stream_channels: Mapped[list[Any]] = mapped_column(default=list)  # channel labels
    stream_rate_hz: Mapped[float | None] = mapped_column(Float)
    stream_clock: Mapped[str] = mapped_column(String(16), default="")  # "unix" | "lsl"
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    raw_path: Mapped[str | None] = mapped_column(Text)  # raw EEG file (FIF), MNE-readable
    # The per-wearer alignment its windows were classified with (classifier.alignment's
    # to_json), so `reclassify` can say what was used; None for an unaligned model.
    alignment: Mapped[dict[str, Any] | None] = mapped_column()

    listens: Mapped[list[Listen]] = relationship(back_populates="session")


class StreamGap(Base):
    """A stretch of a session in which no EEG samples arrived."""

    __tablename__ = "stream_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("listening_sessions.id"), index=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)


class Listen(Base):
    """One play of one track inside a session."""

    __tablename__ = "listens"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("listening_sessions.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    progress_start_ms: Mapped[int] = mapped_column(Integer, default=0)
    progress_end_ms: Mapped[int | None] = mapped_column(Integer)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_s: Mapped[float] = mapped_column(Float, default=0.0)
    windows_dropped: Mapped[int] = mapped_column(Integer, default=0)  # across transitions/pauses
    # Playing stretches as [[start, end], ...] Unix s; pauses and seeks split them. Windows are
    # placed (and re-placed by `reclassify`) only wholly inside one of them.
    segments: Mapped[list[Any]] = mapped_column(default=list)

    session: Mapped[ListeningSession] = relationship(back_populates="listens")
    track: Mapped[Track] = relationship()
    windows: Mapped[list[WindowPrediction]] = relationship(back_populates="listen")
    rating: Mapped[SelfRating | None] = relationship(back_populates="listen", uselist=False)


class WindowPrediction(Base):
    """The model's output for one EEG window (kept even when rejected)."""

    __tablename__ = "window_predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("listening_sessions.id"), index=True)
    listen_id: Mapped[int | None] = mapped_column(ForeignKey("listens.id"), index=True)
    start_time: Mapped[float] = mapped_column(Float)
    end_time: Mapped[float] = mapped_column(Float)
    p_valence: Mapped[float | None] = mapped_column(Float)
    p_arousal: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per-channel figures
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    reject_reason: Mapped[str | None] = mapped_column(String(256))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))

    listen: Mapped[Listen | None] = relationship(back_populates="windows")


class SelfRating(Base):
    """The listener's own valence and arousal (1-5) for one listen.

    One of them may be None: not rated (the listener only knew the other). An unrated
    dimension is no label for calibration, and the track's tag keeps the EEG's value for it.
    """

    __tablename__ = "self_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    listen_id: Mapped[int] = mapped_column(ForeignKey("listens.id"), unique=True)
    valence: Mapped[int | None] = mapped_column(Integer)
    arousal: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    listen: Mapped[Listen] = relationship(back_populates="rating")


class TrackTag(Base):
    """The emotion of a track, aggregated over all its listens."""

    __tablename__ = "track_tags"

    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), primary_key=True)
    valence: Mapped[float] = mapped_column(Float)  # p(valence high)
    arousal: Mapped[float] = mapped_column(Float)  # p(arousal high)
    quadrant: Mapped[str] = mapped_column(String(16), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    n_windows: Mapped[int] = mapped_column(Integer, default=0)
    n_listens: Mapped[int] = mapped_column(Integer, default=0)
    # "eeg" | "self" | "self+eeg" (one dimension rated, the other from the EEG) | "voice"
    source: Mapped[str] = mapped_column(String(16))
    # What the tag rests on: "self" (a rating), "calibrated" (a model fine-tuned on this
    # wearer), "generic" (a model trained on other people), "synthetic" (trained on
    # SYNTHETIC EEG only) or "voice".
    basis: Mapped[str] = mapped_column(String(16), default="generic", server_default="generic")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    track: Mapped[Track] = relationship(back_populates="tag")


class MoodReading(Base):
    """A reading of the listener's current mood (from the EEG stream or a voice check-in)."""

    __tablename__ = "mood_readings"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    source: Mapped[str] = mapped_column(String(16))  # "eeg" | "voice"
    p_valence: Mapped[float] = mapped_column(Float)
    p_arousal: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    label: Mapped[str] = mapped_column(String(32), default="")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("listening_sessions.id"))


class PlaylistLink(Base):
    """Which Spotify playlist holds which emotion."""

    __tablename__ = "playlist_links"

    emotion: Mapped[str] = mapped_column(String(16), primary_key=True)
    playlist_id: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|failed
    added: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    requests_read: Mapped[int] = mapped_column(Integer, default=0)
    requests_write: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class MusicTag(Base):
    """A track's Last.fm tags (its own, else its artist's) and the music position from them.

    A music position describes the song as the crowd tags it (fitted to the listener by
    `emotune music fit`); it never replaces an EEG or self tag (`TrackTag`).
    """

    __tablename__ = "music_tags"

    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # "track" | "artist" | "none"
    tags: Mapped[list[Any]] = mapped_column(default=list)  # [[name, count], ...]
    lookup_artist: Mapped[str] = mapped_column(String(512), default="")
    lookup_title: Mapped[str] = mapped_column(String(512), default="")
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    crowd_valence: Mapped[float | None] = mapped_column(Float)
    crowd_arousal: Mapped[float | None] = mapped_column(Float)
    crowd_confidence: Mapped[float | None] = mapped_column(Float)
    n_mood_tags: Mapped[int] = mapped_column(Integer, default=0)
    valence: Mapped[float | None] = mapped_column(Float)
    arousal: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    fitted: Mapped[bool] = mapped_column(Boolean, default=False)


class MusicFit(Base):
    """A per-listener correction from music positions to the listener's own tags."""

    __tablename__ = "music_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_tracks: Mapped[int] = mapped_column(Integer, default=0)
