"""Sort: a playlist's items + the store's tags -> reorder plan (pure) -> Spotify."""

from __future__ import annotations

from typing import Any

from app.config import Settings


def tags_by_uri(rows: Any) -> dict[str, Any]:
    """`planning.Tag` per URI for every tagged track."""
    from playlists.planning import Tag

    return {
        r.uri: Tag(r.valence, r.arousal, r.confidence or 0.0)
        for r in rows
        if r.valence is not None and r.arousal is not None
    }


def run_sort(
    cfg: Settings,
    client: Any,
    playlist: str,
    *,
    by: str = "quadrant",
    dry_run: bool = False,
    include_synthetic: bool = False,
) -> dict[str, Any]:
    """Reorder `playlist` (URL, URI or id) by its tracks' tags; returns a summary.

    Tags resting on a model trained on SYNTHETIC EEG are left out unless `include_synthetic`.
    """
    from app.db import repository
    from app.db.engine import open_store
    from app.jobs.synthetic import leave_out_synthetic
    from playlists.apply import sort_playlist
    from playlists.client import playlist_id_from

    playlist_id = playlist_id_from(playlist)
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            rows, left_out = leave_out_synthetic(repository.list_tracks(db), include_synthetic)
            tags = tags_by_uri(rows)
    finally:
        store.close()
    start = client.counts.as_dict()
    info, sort = sort_playlist(client, playlist_id, tags, by, dry_run=dry_run)
    end = client.counts.as_dict()
    return {
        "playlist_id": info.id,
        "name": info.name,
        "by": by,
        "tagged": sort.tagged,
        "untagged": sort.untagged,
        "dry_run": dry_run,
        "left_out_synthetic": left_out,
        **sort.plan.as_dict(),
        "requests": {k: end[k] - start[k] for k in ("read", "write")},
    }
