"""Appliers: read a playlist, plan (pure), send the plan. The I/O edge of the planners.

`sync_playlists` keeps one playlist per name in step with a desired list of
URIs; `sort_playlist` reorders a playlist the user owns; `queue_tracks` queues
or plays URIs. They take a `SpotifyClient` and plain values, never the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from playlists.client import PlaylistInfo, SpotifyClient
from playlists.errors import PlaylistsError
from playlists.planning import (
    Add,
    Move,
    Op,
    Plan,
    Remove,
    Replace,
    SortPlan,
    Tag,
    plan_sort,
    plan_sync,
)


def apply_plan(
    client: SpotifyClient,
    playlist_id: str,
    ops: Sequence[Op],
    snapshot_id: str | None,
    on_write: Callable[[str], None] | None = None,
) -> str | None:
    """Send `ops` in order; returns the newest snapshot id. Moves carry the snapshot."""
    snapshot = snapshot_id
    for op in ops:
        if isinstance(op, Remove):
            snapshot = client.remove_items(playlist_id, list(op.uris))
        elif isinstance(op, Add):
            snapshot = client.add_items(playlist_id, list(op.uris), op.position)
        elif isinstance(op, Replace):
            snapshot = client.replace_items(playlist_id, list(op.uris))
        elif isinstance(op, Move):
            snapshot = client.reorder_items(
                playlist_id, op.range_start, op.insert_before, op.range_length, snapshot
            )
        if on_write is not None and snapshot:
            on_write(snapshot)
    return snapshot


@dataclass(frozen=True)
class KnownPlaylist:
    """What emotune remembers of a playlist it wrote: its id, last snapshot, and items."""

    playlist_id: str
    snapshot_id: str | None = None
    uris: tuple[str | None, ...] | None = None


@dataclass
class SyncResult:
    name: str
    playlist_id: str | None
    snapshot_id: str | None
    plan: Plan
    created: bool = False
    dry_run: bool = False
    uris: list[str | None] = field(default_factory=list)  # the playlist after the sync

    def as_dict(self) -> dict[str, object]:
        return {
            "playlist_id": self.playlist_id,
            "name": self.name,
            "created": self.created,
            **self.plan.as_dict(),
        }


def sync_playlist(
    client: SpotifyClient,
    *,
    name: str,
    desired: Sequence[str],
    known: KnownPlaylist | None,
    mine: Mapping[str, PlaylistInfo],
    description: str = "",
    dry_run: bool = False,
    on_linked: Callable[[str, str | None], None] | None = None,
) -> SyncResult:
    """Bring the playlist called `name` to `desired` (URIs, best first).

    `known` is the playlist emotune made before; when it is no longer among
    the user's playlists (`mine`, by id) it is recreated. With a matching
    snapshot its remembered items are used instead of reading them again.
    `on_linked(playlist_id, snapshot_id)` runs as soon as the playlist exists and
    after every write, so an interrupted sync still knows its playlist.
    """
    info = mine.get(known.playlist_id) if known else None
    if info is None:  # not linked yet (or deleted): adopt one of ours by name, else create
        own = [p for p in mine.values() if p.name == name and p.owner_id == client.user_id]
        info = own[0] if own else None
    created = False
    if info is None:
        if dry_run:
            plan = plan_sync([], desired)
            return SyncResult(name, None, None, plan, created=True, dry_run=True)
        info = client.create_playlist(name, description=description)
        created = True
        if on_linked:
            on_linked(info.id, info.snapshot_id)
    if info.owner_id is not None and info.owner_id != client.user_id:
        raise PlaylistsError(
            f"playlist {name!r} belongs to someone else; emotune will not touch it"
        )
    if created:
        current: list[str | None] = []
    elif (
        known
        and known.playlist_id == info.id
        and known.snapshot_id == info.snapshot_id
        and (known.uris is not None)
        # A write that timed out yet was applied, or an edit between two of ours, leaves
        # our last snapshot current but the items not what we wrote: the count tells.
        and (info.total is None or info.total == len(known.uris))
    ):
        current = list(known.uris)
    else:
        current = [item.uri for item in client.playlist_items(info.id)]
    plan = plan_sync(current, desired)
    if dry_run:
        return SyncResult(name, info.id, info.snapshot_id, plan, dry_run=True, uris=current)

    def linked(snapshot: str) -> None:
        if on_linked:
            on_linked(info.id, snapshot)

    snapshot = apply_plan(client, info.id, plan.ops, info.snapshot_id, linked)
    return SyncResult(name, info.id, snapshot, plan, created=created, uris=list(plan.target))


def sort_playlist(
    client: SpotifyClient,
    playlist_id: str,
    tags: Mapping[str, Tag],
    by: str,
    *,
    dry_run: bool = False,
) -> tuple[PlaylistInfo, SortPlan]:
    """Reorder a playlist the user owns (or collaborates on) by its tracks' tags."""
    info = client.playlist(playlist_id)
    if info is None:
        raise PlaylistsError(f"there is no playlist {playlist_id}; check the link")
    if info.owner_id != client.user_id and not info.collaborative:
        raise PlaylistsError(
            f"you do not own the playlist {info.name!r}; sort one of your own playlists"
        )
    current = [item.uri for item in client.playlist_items(playlist_id)]
    sort = plan_sort(current, tags, by)
    if not dry_run and sort.plan.ops:
        # Moves carry the snapshot read before the items: an edit made meanwhile
        # makes the first move fail instead of scrambling the playlist.
        apply_plan(client, playlist_id, sort.plan.ops, info.snapshot_id)
    return info, sort


def queue_tracks(client: SpotifyClient, uris: Sequence[str], *, play: bool) -> None:
    """Start playback with `uris` (`play`), or add each to the end of the queue."""
    if not uris:
        return
    if play:
        client.start_playback(list(uris))
        return
    for uri in uris:
        client.add_to_queue(uri)
