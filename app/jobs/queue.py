"""Queue: a mood (p valence high, p arousal high) + tagged tracks -> queue plan -> Spotify.

`queue_for_mood` is the one path from a mood to the player: the EEG reading
(`--now`), a named emotion (`--mood`) or a voice check-in all end there.
"""

from __future__ import annotations

import time
from typing import Any

from app.config import Settings
from app.errors import NotFoundError, StreamError

MOOD_MAX_AGE_S = 30.0
RECENT_LISTENS = 50  # the newest listens count as "recently played"


def current_eeg_mood(db: Any, *, now: float | None = None) -> tuple[float, float] | None:
    """(p_valence, p_arousal) of the newest EEG mood reading at most 30 s old, or None."""
    from sqlalchemy import select

    from app.db.models import MoodReading

    now = time.time() if now is None else now
    row = db.scalar(
        select(MoodReading)
        .where(MoodReading.source == "eeg", MoodReading.at >= now - MOOD_MAX_AGE_S)
        .order_by(MoodReading.at.desc())
        .limit(1)
    )
    return None if row is None else (row.p_valence, row.p_arousal)


def require_eeg_mood(cfg: Settings) -> tuple[float, float]:
    from app.db.engine import open_store

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            mood = current_eeg_mood(db)
    finally:
        store.close()
    if mood is None:
        raise StreamError(
            "no current mood: --now and --toward need a running `emotune listen` with a headset "
            "stream "
            f"(no EEG mood reading in the last {MOOD_MAX_AGE_S:.0f} s)"
        )
    return mood


def _recent_uris(db: Any) -> set[str]:
    from sqlalchemy import select

    from app.db.models import Listen, Track

    rows = db.execute(
        select(Track.uri)
        .join(Listen, Listen.track_id == Track.id)
        .order_by(Listen.started_at.desc())
        .limit(RECENT_LISTENS)
    ).all()
    return {uri for (uri,) in rows}


def queue_for_mood(
    cfg: Settings,
    client: Any,
    p_valence: float,
    p_arousal: float,
    *,
    count: int = 10,
    toward: str | None = None,
    only_emotion: str | None = None,
    play: bool = False,
    dry_run: bool = False,
    include_synthetic: bool = False,
) -> dict[str, Any]:
    """Queue (or with `play`, start playing) `count` tagged tracks matching the mood.

    With `toward` (an emotion), the tracks walk from the mood to that emotion;
    `only_emotion` keeps to tracks tagged with that emotion (`--mood`). Tags resting on a
    model trained on SYNTHETIC EEG are left out unless `include_synthetic`.
    """
    from app.db import repository
    from app.db.engine import open_store
    from app.emotions import EMOTION_CENTRES
    from app.jobs.synthetic import leave_out_synthetic, left_out_line
    from playlists.apply import queue_tracks
    from playlists.planning import Candidate, Tag, plan_queue

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            tagged = [
                r
                for r in repository.list_tracks(db, emotion=only_emotion, include_music=True)
                if r.valence is not None and r.arousal is not None
            ]
            rows, left_out = leave_out_synthetic(tagged, include_synthetic)
            recent = _recent_uris(db)
    finally:
        store.close()
    if not rows and left_out:
        raise NotFoundError(f"no tagged tracks to queue: {left_out_line(left_out)}")
    if not rows:
        raise NotFoundError(
            "no tagged tracks to queue yet: `emotune listen` tags tracks as you play"
        )
    candidates = [Candidate(r.uri, Tag(r.valence, r.arousal, r.confidence or 0.0)) for r in rows]
    target = EMOTION_CENTRES[toward] if toward else None
    uris = plan_queue(
        candidates, mood=(p_valence, p_arousal), count=count, toward=target, recent=recent
    )
    by_uri = {r.uri: r for r in rows}
    start = client.counts.as_dict() if client is not None else {"read": 0, "write": 0}
    if not dry_run:
        queue_tracks(client, uris, play=play)
    end = client.counts.as_dict() if client is not None else start
    return {
        "mood": {"valence": p_valence, "arousal": p_arousal},
        "toward": toward,
        "played": play and not dry_run,
        "dry_run": dry_run,
        "left_out_synthetic": left_out,
        "tracks": [
            {
                "uri": u,
                "name": by_uri[u].name,
                "artists": by_uri[u].artists,
                "emotion": by_uri[u].emotion,
                "valence": by_uri[u].valence,
                "arousal": by_uri[u].arousal,
                "basis": by_uri[u].basis,
                "recently_played": u in recent,
            }
            for u in uris
        ],
        "requests": {k: end[k] - start[k] for k in ("read", "write")},
    }
