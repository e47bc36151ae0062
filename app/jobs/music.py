"""Music-side mood: tracks -> Last.fm tags -> music positions (cached) -> fitted to you.

`run_music_fetch` reads top to bottom: which tracks (a playlist's or the store's),
which need asking (not cached, or older than the maximum age), then per track the
Last.fm lookup (track tags, else artist tags), the crowd position from the lexicon
and the listener's fit, each track written as soon as it is fetched (a failure keeps
what came before it, and never touches a cached tag or an EEG tag).
`run_music_fit` fits music positions to the listener's own tags and measures it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from app.config import Settings

FIT_BASES = ("self", "calibrated", "generic")


def _position(tags: Any, lexicon: Any, source: str) -> tuple[float, float, float, int] | None:
    from playlists.music_mood import music_position

    pos = music_position(tags, lexicon, source=source)
    return None if pos is None else (pos.valence, pos.arousal, pos.confidence, pos.n_mood_tags)


def _used(
    crowd: tuple[float, float, float, int] | None, params: Any
) -> tuple[float, float, float] | None:
    from app.music_fit import apply

    if crowd is None:
        return None
    if not params:
        return crowd[0], crowd[1], crowd[2]
    v, a = apply(params, (crowd[0], crowd[1]))
    return v, a, crowd[2]


def _target_tracks(db: Any, spotify: Any, playlist: str | None) -> list[tuple[int, str, str, str]]:
    """(track id, uri, artists, name) of a playlist's tracks (stored as they come) or all."""
    from sqlalchemy import select

    from app.db import repository
    from app.db.models import Track

    if playlist is None:
        return [(t.id, t.uri, t.artists, t.name) for t in db.scalars(select(Track))]
    from playlists.client import playlist_id_from

    out: dict[str, tuple[int, str, str, str]] = {}
    for item in spotify.playlist_items(playlist_id_from(playlist)):
        if item.track_id is None or item.item_type != "track" or item.uri in out:
            continue
        t = repository.upsert_track(
            db,
            spotify_id=item.track_id,
            uri=item.uri,
            name=item.name,
            artists=item.artists,
            duration_ms=item.duration_ms,
        )
        out[item.uri] = (t.id, t.uri, t.artists, t.name)
    return list(out.values())


def run_music_fetch(
    cfg: Settings,
    client: Any,
    *,
    spotify: Any = None,
    playlist: str | None = None,
    refresh: bool = False,
    max_age_days: float = 30.0,
    on_total: Callable[[int], None] | None = None,
    on_track: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fetch Last.fm tags for a playlist's tracks (or every stored track); a summary."""
    from app.db import music_repository as music
    from app.db.engine import open_store
    from playlists.music_mood import clean_title, load_lexicon, music_position, primary_artist

    started = time.monotonic()
    lexicon = load_lexicon()  # a broken lexicon stops here, before any request

    def useful(tags: Any) -> bool:
        return music_position(tags, lexicon) is not None

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            targets = _target_tracks(db, spotify, playlist)
            fresh = (
                set()
                if refresh
                else music.fresh_track_ids(db, [t[0] for t in targets], max_age_days)
            )
            params = music.latest_fit(db)
        todo = [t for t in targets if t[0] not in fresh]
        if on_total:
            on_total(len(todo))
        sources: Counter[str] = Counter()
        for track_id, uri, artists, name in todo:
            artist, title = primary_artist(artists), clean_title(name)
            result = client.top_tags(artist, title, useful)
            crowd = _position(result.tags, lexicon, result.source)
            with store.session() as db:  # one commit per track: a later failure keeps it
                music.save_music_tags(
                    db,
                    track_id,
                    source=result.source,
                    tags=result.tags[:200],
                    lookup_artist=artist,
                    lookup_title=title,
                    crowd=crowd,
                    used=_used(crowd, params),
                    fitted=bool(params),
                )
            sources[result.source if crowd is not None else "none"] += 1
            if on_track:
                on_track(uri)
        with store.session() as db:
            rows = {r.track_id: r for r in music.music_rows(db)}
    finally:
        store.close()
    cached = [rows[t[0]] for t in targets if t[0] in fresh and t[0] in rows]
    for row in cached:
        sources_key = row.source if row.crowd is not None else "none"
        sources[f"cached_{sources_key}"] += 1
    placed = sum(1 for t in targets if t[0] in rows and rows[t[0]].crowd is not None)
    counts = client.counts
    return {
        "playlist": playlist,
        "tracks": len(targets),
        "fetched": len(todo),
        "cached": len(cached),
        "track_tags": sources["track"] + sources["cached_track"],
        "artist_tags": sources["artist"] + sources["cached_artist"],
        "no_mood_tags": sources["none"] + sources["cached_none"],
        "placed": placed,
        "requests": counts.requests,
        "rate_limited": counts.rate_limited,
        "retried": counts.retried,
        "fitted": bool(params),
        "wall_s": round(time.monotonic() - started, 3),
    }


def run_music_fit(cfg: Settings, *, include_synthetic: bool = False) -> dict[str, Any]:
    """Fit music positions to the listener's own tags; store it and re-place every track."""
    from app.db import music_repository as music
    from app.db.engine import open_store
    from app.music_fit import MIN_TRACKS, Pair, fit, leave_one_track_out
    from playlists.music_mood import load_lexicon

    lexicon = load_lexicon()
    bases = FIT_BASES + (("synthetic",) if include_synthetic else ())
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            rows = music.music_rows(db)
            # Positions are recomputed from the cached tags: a lexicon edit takes effect here.
            crowd = {r.track_id: _position(r.tags, lexicon, r.source) for r in rows}
            targets = music.listener_targets(db, bases)
            pairs = [
                Pair((c[0], c[1]), (targets[tid][0], targets[tid][1]))
                for tid, c in crowd.items()
                if c is not None and tid in targets
            ]
            params = fit(pairs)
            metrics = leave_one_track_out(pairs)
            fitted = len(pairs) >= MIN_TRACKS
            for tid, c in crowd.items():
                music.set_positions(db, tid, c, _used(c, params if fitted else None), fitted)
            fit_id = music.save_fit(db, params if fitted else {}, metrics, len(pairs))
            basis_counts = Counter(targets[tid][2] for tid in crowd if tid in targets)
    finally:
        store.close()
    return {
        "fit_id": fit_id,
        "fitted": fitted,
        "min_tracks": MIN_TRACKS,
        "bases": list(bases),
        "tracks_with_music_tags": len(rows),
        "placed": sum(1 for c in crowd.values() if c is not None),
        "own_tags_by_basis": dict(basis_counts),
        "params": params if fitted else None,
        **metrics,
    }
