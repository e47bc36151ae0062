"""Sort: a playlist's items + the store's tags -> reorder plan (pure) -> Spotify."""

from __future__ import annotations

from collections import Counter
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
    include_music: bool = True,
) -> dict[str, Any]:
    """Reorder `playlist` (URL, URI or id) by its tracks' tags; returns a summary.

    Tags resting on a model trained on SYNTHETIC EEG are left out unless `include_synthetic`.
    Tracks with no tag are placed by their music position (`emotune music fetch`) unless
    `include_music` is False; the summary counts the tracks placed on each basis.
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
            rows, left_out = leave_out_synthetic(
                repository.list_tracks(db, include_music=include_music), include_synthetic
            )
            tags = tags_by_uri(rows)
            basis = {r.uri: r.basis for r in rows if r.uri in tags}
    finally:
        store.close()
    start = client.counts.as_dict()
    info, sort = sort_playlist(client, playlist_id, tags, by, dry_run=dry_run)
    end = client.counts.as_dict()
    placed = [u for u in sort.plan.target if u is not None and u in tags]
    return {
        "playlist_id": info.id,
        "name": info.name,
        "by": by,
        "tagged": sort.tagged,
        "untagged": sort.untagged,
        "dry_run": dry_run,
        "left_out_synthetic": left_out,
        "by_basis": dict(Counter(basis.get(u) or "unknown" for u in placed)),
        "unplaced": sort.untagged,
        **sort.plan.as_dict(),
        "requests": {k: end[k] - start[k] for k in ("read", "write")},
    }
