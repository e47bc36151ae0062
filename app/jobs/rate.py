"""Rate: a self-rating on a listen already recorded -> the track re-tagged at once.

A rating is a label: it outranks the EEG in the track's tag, and `emotune model calibrate`
fine-tunes on rated listens whose session kept its raw EEG (`calibrate.rated_segments`).
One dimension may be rated alone: the other stays unrated (null in the store), is no label,
and the tag keeps the EEG's value for it.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.errors import ConfigError, NotFoundError

RATING_RANGE = range(1, 6)


def check_rating(name: str, value: int | None) -> int | None:
    """A 1-5 rating, or None (that dimension not rated)."""
    if value is not None and value not in RATING_RANGE:
        raise ConfigError(f"--{name} must be a whole number 1-5 (got {value}): 1 low, 5 high")
    return value


def rate_listen(
    cfg: Settings, track: str | None, *, last: bool, valence: int | None, arousal: int | None
) -> dict[str, Any]:
    """Rate the most recent listen of `track` (a link, URI or id) or, with `last`, the
    most recent listen of all; an earlier rating of that listen is replaced as a whole (a
    dimension left out is then unrated; "previous" says what it was).

    "tag" is None when a dimension is known from neither a rating nor counted EEG."""
    from sqlalchemy import select

    from app.db import repository
    from app.db.engine import open_store
    from app.db.models import Listen, SelfRating, Track, utcnow
    from app.jobs.reclassify import track_id_from

    if (track is None) == (not last):
        raise ConfigError("give a TRACK (Spotify link, URI or id) or --last, not both or neither")
    valence, arousal = check_rating("valence", valence), check_rating("arousal", arousal)
    if valence is None and arousal is None:
        raise ConfigError(
            "give --valence 1-5, --arousal 1-5 or both (1 low, 5 high); a dimension left out "
            "stays unrated"
        )
    spotify_id = track_id_from(track) if track is not None else None
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            stmt = select(Listen).order_by(Listen.started_at.desc(), Listen.id.desc()).limit(1)
            if spotify_id is not None:
                stmt = stmt.join(Track, Track.id == Listen.track_id).where(
                    Track.spotify_id == spotify_id
                )
            listen = db.scalar(stmt)
            if listen is None and spotify_id is not None:
                raise NotFoundError(
                    f"no listen of {track} recorded yet; play it during `emotune listen` "
                    "or bring it in with `emotune import-recording`"
                )
            if listen is None:
                raise NotFoundError(
                    "no listens recorded yet; play a track during `emotune listen` "
                    "or bring one in with `emotune import-recording`"
                )
            rating = db.scalar(select(SelfRating).where(SelfRating.listen_id == listen.id))
            replaced = rating is not None
            previous = None
            if rating is None:
                rating = SelfRating(listen_id=listen.id)
                db.add(rating)
            else:
                previous = {"valence": rating.valence, "arousal": rating.arousal}
            rating.valence, rating.arousal, rating.rated_at = valence, arousal, utcnow()
            db.flush()
            tag = repository.recompute_track_tag(
                db, listen.track_id, min_windows_per_listen=cfg.min_windows_per_listen
            )
            t = listen.track
            return {
                "listen_id": listen.id,
                "session_id": listen.session_id,
                "listened_at": listen.started_at,
                "track": t.name or t.spotify_id,
                "uri": t.uri,
                "valence": valence,
                "arousal": arousal,
                "replaced": replaced,
                "previous": previous,
                "tag": None
                if tag is None
                else {
                    "emotion": tag.quadrant,
                    "valence": round(tag.valence, 4),
                    "arousal": round(tag.arousal, 4),
                    "confidence": round(tag.confidence, 4),
                    "listens": tag.n_listens,
                    "windows": tag.n_windows,
                    "source": tag.source,
                    "basis": tag.basis,
                },
            }
    finally:
        store.close()
