"""Sync: tags in the store -> one desired list per emotion -> plan -> Spotify.

Reads top to bottom: desired lists from the store, the user's playlists from
Spotify, then per emotion find/create "emotune · <emotion>", plan (pure) and
apply. Playlist ids and snapshots are remembered in `playlist_links` as soon as
they change, so an interrupted sync picks up where it stopped; the items last
written are cached in a JSON file in the data dir (the schema has no column for
them), so a sync with nothing changed reads no items and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import Settings
from app.emotions import EMOTIONS

PLAYLIST_PREFIX = "emotune · "
CACHE_FILE = "spotify-playlist-cache.json"
DESCRIPTION = "Tracks emotune tagged as {emotion} from your own listening (EEG or check-ins)."


def playlist_name(emotion: str) -> str:
    return f"{PLAYLIST_PREFIX}{emotion}"


def desired_by_emotion(rows: Sequence[Any], min_confidence: float = 0.0) -> dict[str, list[str]]:
    """URIs per emotion from tagged tracks (rows best-confidence first, as list_tracks gives)."""
    out: dict[str, list[str]] = {e: [] for e in EMOTIONS}
    for r in rows:
        if r.emotion in out and (r.confidence or 0.0) >= min_confidence:
            out[r.emotion].append(r.uri)
    return {e: list(dict.fromkeys(uris)) for e, uris in out.items()}


@dataclass
class SyncReport:
    playlists: list[dict[str, Any]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    run_id: int | None = None
    left_out_synthetic: int = 0  # tags from a synthetic-trained model, not synced

    def as_dict(self) -> dict[str, Any]:
        return {
            "playlists": self.playlists,
            "requests": self.requests,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "left_out_synthetic": self.left_out_synthetic,
        }


def _load_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, cache: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(cache), encoding="utf-8")
    tmp.replace(path)


def run_sync(
    cfg: Settings,
    client: Any,
    *,
    dry_run: bool = False,
    min_confidence: float = 0.0,
    include_synthetic: bool = False,
    include_music: bool = False,
    on_playlist: Callable[[str], None] | None = None,
) -> SyncReport:
    """Sync the four emotion playlists; records a `sync_runs` row unless `dry_run`.

    Tags resting on a model trained on SYNTHETIC EEG are left out unless `include_synthetic`;
    music positions (basis "music") only join with `include_music`.
    """
    from sqlalchemy import select

    from app.db import repository
    from app.db.engine import open_store
    from app.db.models import PlaylistLink, SyncRun, utcnow
    from app.jobs.synthetic import is_synthetic, leave_out_synthetic
    from playlists.apply import KnownPlaylist, sync_playlist
    from playlists.errors import PlaylistsError

    store = open_store(cfg.database_url)
    cache_path = cfg.data_dir / CACHE_FILE
    try:
        with store.session() as db:
            rows, left_out = leave_out_synthetic(
                repository.list_tracks(db, include_music=include_music), include_synthetic
            )
            desired = desired_by_emotion(rows, min_confidence)
            synthetic = {r.uri for r in rows if is_synthetic(r)}  # marked in the report
            links = {
                link.emotion: (link.playlist_id, link.snapshot_id)
                for link in db.scalars(select(PlaylistLink))
            }
            run_id = None
            if not dry_run:
                run = SyncRun()
                db.add(run)
                db.flush()
                run_id = run.id
        cache = _load_cache(cache_path)
        start = client.counts.as_dict()
        report = SyncReport(dry_run=dry_run, run_id=run_id, left_out_synthetic=left_out)
        totals = {"added": 0, "removed": 0, "moved": 0}
        error: str | None = None
        try:
            mine = {p.id: p for p in client.my_playlists()}
            for emotion in EMOTIONS:
                link = links.get(emotion)
                known = None
                if link:
                    cached = cache.get(link[0]) or {}
                    known = KnownPlaylist(
                        playlist_id=link[0],
                        snapshot_id=cached.get("snapshot_id"),
                        uris=tuple(cached["uris"]) if "uris" in cached else None,
                    )

                def remember(
                    playlist_id: str, snapshot: str | None, emotion: str = emotion
                ) -> None:
                    with store.session() as db:
                        row = db.get(PlaylistLink, emotion)
                        if row is None:
                            row = PlaylistLink(emotion=emotion, playlist_id=playlist_id)
                            db.add(row)
                        row.playlist_id, row.snapshot_id, row.updated_at = (
                            playlist_id,
                            snapshot,
                            utcnow(),
                        )

                result = sync_playlist(
                    client,
                    name=playlist_name(emotion),
                    desired=desired[emotion],
                    known=known,
                    mine=mine,
                    description=DESCRIPTION.format(emotion=emotion),
                    dry_run=dry_run,
                    on_linked=remember,
                )
                if not dry_run and result.playlist_id:
                    cache[result.playlist_id] = {
                        "snapshot_id": result.snapshot_id,
                        "uris": result.uris,
                    }
                    _save_cache(cache_path, cache)
                    if result.snapshot_id and not result.plan.ops:
                        remember(result.playlist_id, result.snapshot_id)
                plan = result.plan
                totals["added"] += plan.added
                totals["removed"] += plan.removed
                totals["moved"] += plan.moved
                report.playlists.append(
                    {
                        "emotion": emotion,
                        "playlist_id": result.playlist_id,
                        "name": result.name,
                        "created": result.created,
                        "desired": len(desired[emotion]),
                        "synthetic": sum(u in synthetic for u in desired[emotion]),
                        **plan.as_dict(),
                    }
                )
                if on_playlist:
                    on_playlist(emotion)
        except PlaylistsError as exc:
            error = str(exc)
            writes = client.counts.write - start["write"]
            if writes:  # say that some playlists are half-way, never leave it unexplained
                raise PlaylistsError(
                    f"sync stopped part-way ({writes} writes sent; playlists partly updated, "
                    f"the next `emotune sync` finishes them): {exc}"
                ) from None
            raise
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            raise
        finally:
            end = client.counts.as_dict()
            report.requests = {k: end[k] - start[k] for k in ("read", "write")}
            if run_id is not None:
                with store.session() as db:
                    run = db.get(SyncRun, run_id)
                    if run is not None:
                        run.ended_at = utcnow()
                        run.status = "failed" if error else "ok"
                        run.error = error
                        run.added, run.removed, run.moved = (
                            totals["added"],
                            totals["removed"],
                            totals["moved"],
                        )
                        run.requests_read = report.requests["read"]
                        run.requests_write = report.requests["write"]
        return report
    finally:
        store.close()
