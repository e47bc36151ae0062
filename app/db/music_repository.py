"""Repository functions for music tags (Last.fm) and the listener's music fit.

Same rules as `app.db.repository`: every function takes an open `Session`; no SQL
is built from strings. Music positions live in their own table, so a fetch or a fit
never touches an EEG, self or voice tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import MusicFit, MusicTag, Track, TrackTag, utcnow
from app.emotions import quadrant

MUSIC = "music"


@dataclass(frozen=True)
class MusicRow:
    """A track's cached Last.fm tags as plain values."""

    track_id: int
    uri: str
    source: str
    tags: list[list[Any]]
    fetched_at: datetime
    crowd: tuple[float, float, float] | None  # valence, arousal, confidence


def with_music_positions(db: Session, rows: Sequence[Any]) -> list[Any]:
    """`rows` (repository.TaggedTrack) with music positions filled in for untagged tracks."""
    music = {
        uri: (v, a, c)
        for uri, v, a, c in db.execute(
            select(Track.uri, MusicTag.valence, MusicTag.arousal, MusicTag.confidence)
            .join(MusicTag, MusicTag.track_id == Track.id)
            .where(MusicTag.valence.is_not(None), MusicTag.arousal.is_not(None))
        ).all()
    }
    out = []
    for r in rows:
        pos = music.get(r.uri) if r.emotion is None else None
        if pos is None:
            out.append(r)
            continue
        v, a, c = pos
        out.append(
            replace(
                r,
                emotion=quadrant(v, a),
                valence=v,
                arousal=a,
                confidence=c or 0.0,
                source=MUSIC,
                basis=MUSIC,
            )
        )
    out.sort(key=lambda r: (-(r.confidence or -1.0), r.name, r.spotify_id))
    return out


def fresh_track_ids(db: Session, track_ids: Sequence[int], max_age_days: float) -> set[int]:
    """Those of `track_ids` whose tags were fetched less than `max_age_days` ago."""
    if not track_ids:
        return set()
    cutoff = utcnow() - timedelta(days=max_age_days)
    return set(
        db.scalars(
            select(MusicTag.track_id).where(
                MusicTag.track_id.in_(list(track_ids)), MusicTag.fetched_at >= cutoff
            )
        )
    )


def _set_positions(
    row: MusicTag,
    crowd: tuple[float, float, float, int] | None,
    used: tuple[float, float, float] | None,
    fitted: bool,
) -> None:
    """The crowd's position (with its mood-tag count) and the one used (fitted or not)."""
    row.crowd_valence, row.crowd_arousal, row.crowd_confidence, n = crowd or (None, None, None, 0)
    row.n_mood_tags = n
    row.valence, row.arousal, row.confidence = used or (None, None, None)
    row.fitted = fitted and used is not None


def save_music_tags(
    db: Session,
    track_id: int,
    *,
    source: str,
    tags: Sequence[tuple[str, int]],
    lookup_artist: str,
    lookup_title: str,
    crowd: tuple[float, float, float, int] | None,
    used: tuple[float, float, float] | None,
    fitted: bool,
) -> None:
    """Insert or replace one track's fetched tags and positions."""
    row = db.get(MusicTag, track_id)
    if row is None:
        row = MusicTag(track_id=track_id)
        db.add(row)
    row.source = source
    row.tags = [[str(n), int(c)] for n, c in tags]
    row.lookup_artist, row.lookup_title = lookup_artist[:512], lookup_title[:512]
    row.fetched_at = utcnow()
    _set_positions(row, crowd, used, fitted)
    db.flush()


def music_rows(db: Session) -> list[MusicRow]:
    rows = db.execute(select(MusicTag, Track.uri).join(Track, Track.id == MusicTag.track_id)).all()
    return [
        MusicRow(
            m.track_id,
            uri,
            m.source,
            list(m.tags or []),
            m.fetched_at,
            None
            if m.crowd_valence is None or m.crowd_arousal is None
            else (m.crowd_valence, m.crowd_arousal, m.crowd_confidence or 0.0),
        )
        for m, uri in rows
    ]


def set_positions(
    db: Session,
    track_id: int,
    crowd: tuple[float, float, float, int] | None,
    used: tuple[float, float, float] | None,
    fitted: bool,
) -> None:
    """Replace a cached track's positions (after a fit or a lexicon change), tags kept."""
    row = db.get(MusicTag, track_id)
    if row is None:
        return
    _set_positions(row, crowd, used, fitted)


def listener_targets(db: Session, bases: Sequence[str]) -> dict[int, tuple[float, float, str]]:
    """track id -> (valence, arousal, basis) of the listener's own tags of these bases."""
    return {
        tid: (v, a, b)
        for tid, v, a, b in db.execute(
            select(TrackTag.track_id, TrackTag.valence, TrackTag.arousal, TrackTag.basis).where(
                TrackTag.basis.in_(list(bases))
            )
        ).all()
    }


def save_fit(db: Session, params: dict[str, Any], metrics: dict[str, Any], n_tracks: int) -> int:
    fit = MusicFit(params=params, metrics=metrics, n_tracks=n_tracks)
    db.add(fit)
    db.flush()
    return fit.id


def latest_fit(db: Session) -> dict[str, Any] | None:
    fit = db.scalar(select(MusicFit).order_by(MusicFit.id.desc()).limit(1))
    return None if fit is None else dict(fit.params or {})
