"""A local Spotify emulator: a real HTTP server on 127.0.0.1 that spotipy talks to.

It serves the accounts endpoints (authorize approves at once; token verifies
PKCE S256; refresh) and the Web API routes emotune uses, keeps Spotify's rules
(at most 100 items per write, 403 on items of playlists the user neither owns
nor collaborates on, Premium and active-device errors, a new `snapshot_id` per
write, pages of at most 50), plays a virtual player in wall-clock time x
`speed`, enforces each route's OAuth scopes as the OpenAPI file lists them
(403 "Insufficient client scope"), and lets tests inject faults (429 +
Retry-After, 5xx, slow responses, token expiry, revoked logins). Its library is
a synthetic *sample* library.

    with start_emulator(speed=10.0) as emu:
        ... EMOTUNE_SPOTIFY_URL=emu.url ...
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playlists.emulator.library import SampleTrack, generate_sample_library, random_id
from playlists.emulator.server import EmulatorServer, Exchange
from playlists.emulator.state import FRIEND_ID, USER_ID, Entry, Fault, Playlist, World

__all__ = [
    "FRIEND_ID",
    "USER_ID",
    "EmulatorHandle",
    "Exchange",
    "SampleTrack",
    "generate_sample_library",
    "start_emulator",
]

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


@dataclass
class EmulatorHandle:
    """A running emulator: its URL, test helpers, and `stop()` (also a context manager)."""

    server: EmulatorServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def world(self) -> World:
        return self.server.world

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _locked(self, fn: Callable[[], Any]) -> Any:
        with self.server.lock:
            return fn()

    # --- library and playlists -------------------------------------------------

    def sample_track_ids(self) -> list[str]:
        """Ids of every track in the (synthetic) sample library, in library order."""
        return self._locked(lambda: list(self.world.sample_ids))

    def track(self, track_id: str) -> SampleTrack:
        return self._locked(lambda: self.world.library[f"spotify:track:{track_id}"])

    def add_tracks(
        self, durations_ms: list[int], *, name_prefix: str = "Short Sample"
    ) -> list[str]:
        """Add synthetic tracks with the given durations (ms); returns their ids."""

        def add() -> list[str]:
            tracks = [
                SampleTrack(
                    id=random_id(self.world.rng),
                    name=f"{name_prefix} {i + 1}",
                    duration_ms=d,
                    artists=(("0" * 22, "Sample Artist"),),
                    album_id="1" * 22,
                    album_name="Sample Singles",
                )
                for i, d in enumerate(durations_ms)
            ]
            return self.world.add_tracks(tracks)

        return self._locked(add)

    def add_episodes(self, durations_ms: list[int]) -> list[str]:
        """Add synthetic podcast episodes (ms durations); returns their ids."""

        def add() -> list[str]:
            episodes = [
                SampleTrack(
                    id=random_id(self.world.rng),
                    name=f"Sample Episode {i + 1}",
                    duration_ms=d,
                    album_id="2" * 22,
                    album_name="Sample Show",
                    kind="episode",
                )
                for i, d in enumerate(durations_ms)
            ]
            return self.world.add_tracks(episodes)

        return self._locked(add)

    def queue_ad(self, duration_ms: int = 15_000) -> str:
        """Play an ad of `duration_ms` next (currently-playing then says "ad", item null)."""

        def add() -> str:
            ad = SampleTrack(random_id(self.world.rng), "Ad", duration_ms, kind="ad")
            self.world.library[ad.uri] = ad
            self.world.advance()
            self.world.player.queue.insert(0, ad.uri)
            return ad.uri

        return self._locked(add)

    def set_rate_limit(self, requests: int | None, window_s: float = 30.0) -> None:
        """At most `requests` Web API requests per rolling `window_s`; then 429 + Retry-After."""

        def set_() -> None:
            self.world.rate_limit = None if requests is None else (requests, window_s)
            self.world.request_times.clear()

        self._locked(set_)

    def playlist_uris(self, playlist_id: str) -> list[str]:
        return self._locked(lambda: [e.uri for e in self.world.playlists[playlist_id].items])

    def playlist(self, playlist_id: str) -> Playlist:
        return self._locked(lambda: self.world.playlists[playlist_id])

    def playlists_named(self, name: str) -> list[str]:
        return self._locked(lambda: [p.id for p in self.world.playlists.values() if p.name == name])

    def make_playlist(
        self, name: str, uris: list[str], *, owner: str = USER_ID, collaborative: bool = False
    ) -> str:
        """Create a playlist directly (no HTTP); returns its id."""

        def make() -> str:
            pl = self.world.create_playlist(owner, name, collaborative=collaborative)
            now = self.world.clock()
            pl.items = [Entry(u, now, owner) for u in uris]
            pl.new_snapshot()
            if owner != USER_ID:
                self.world.follows[USER_ID].append(pl.id)
            return pl.id

        return self._locked(make)

    def delete_playlist(self, playlist_id: str) -> None:
        """As if the user deleted (unfollowed) it in the Spotify app."""

        def drop() -> None:
            self.world.playlists.pop(playlist_id, None)

        self._locked(drop)

    def sample_mix_id(self) -> str:
        """The id of "Sample Mix", a playlist the emulator's user owns."""
        return self._locked(
            lambda: next(p.id for p in self.world.playlists.values() if p.name == "Sample Mix")
        )

    def friend_playlist_ids(self) -> list[str]:
        return self._locked(
            lambda: [p.id for p in self.world.playlists.values() if p.owner_id == FRIEND_ID]
        )

    # --- player and account ----------------------------------------------------

    def set_premium(self, premium: bool) -> None:
        self._locked(
            lambda: self.world.users[USER_ID].update(product="premium" if premium else "free")
        )

    def set_device(self, *, available: bool = True, active: bool = True) -> None:
        def set_() -> None:
            self.world.has_device, self.world.devices_active = available, active

        self._locked(set_)

    def set_speed(self, speed: float) -> None:
        def set_() -> None:
            self.world.advance()
            p = self.world.player
            p.anchor_progress_ms = float(self.world.progress_ms())
            p.anchor_wall = self.world.clock()
            self.world.speed = speed

        self._locked(set_)

    def now_playing(self) -> tuple[str | None, int, bool]:
        """(uri, progress_ms, is_playing) of the virtual player right now."""

        def read() -> tuple[str | None, int, bool]:
            self.world.advance()
            p = self.world.player
            return p.current, self.world.progress_ms(), p.is_playing

        return self._locked(read)

    def player_queue(self) -> list[str]:
        return self._locked(lambda: list(self.world.player.queue))

    def issue_token(self, scopes: frozenset[str] | None = None) -> dict[str, Any]:
        """A token as the token endpoint returns it, for tests that skip the login dance.

        It grants emotune's SCOPES unless `scopes` says otherwise (an old login's, say).
        """
        return self._locked(lambda: self.world.issue_token_for_tests(scopes))

    # --- faults and the request log --------------------------------------------

    def inject_fault(
        self,
        kind: str,
        *,
        times: int = 1,
        skip: int = 0,
        retry_after_s: int = 1,
        delay_s: float = 0.0,
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Make the next `times` matching requests (after `skip`) fail with `kind`.

        `kind` is "429" (with Retry-After: `retry_after_s`), "500"/"502"/"503", or
        "slow" (answer after `delay_s` seconds).
        """
        fault = Fault(kind, times, skip, retry_after_s, delay_s, path, method)
        self._locked(lambda: self.world.faults.append(fault))
        return fault

    def clear_faults(self) -> None:
        self._locked(self.world.faults.clear)

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now; refresh tokens keep working."""
        self._locked(self.world.expire_tokens)

    def revoke_tokens(self) -> None:
        """The user removed the app's access: every access and refresh token stops working."""
        self._locked(self.world.revoke_tokens)

    def exchanges(self) -> list[Exchange]:
        return self._locked(lambda: list(self.server.log))

    def clear_log(self) -> None:
        self._locked(self.server.log.clear)

    def wait_until_answered(self, timeout_s: float = 30.0) -> None:
        """Return once every request received so far has been answered (and applied).

        A write the client gave up on (a "slow" fault) is still applied when its delay ends,
        as Spotify may apply one; what a later sync reads must include it.
        """
        with self.server.answered:
            if not self.server.answered.wait_for(lambda: self.server.in_flight == 0, timeout_s):
                raise TimeoutError(f"{self.server.in_flight} requests still unanswered")

    def request_counts(self) -> dict[str, int]:
        """Web API requests seen so far: {"read": GETs, "write": POST/PUT/DELETE}."""
        log = [e for e in self.exchanges() if e.path.startswith("/v1/")]
        writes = sum(1 for e in log if e.method in WRITE_METHODS)
        return {"read": len(log) - writes, "write": writes}


def start_emulator(
    port: int = 0,
    speed: float = 1.0,
    *,
    tracks: list[SampleTrack] | None = None,
    n_sample_tracks: int = 300,
    seed: int = 2026,
    token_lifetime_s: int = 3600,
    clock: Callable[[], float] | None = None,
    rate_limit: tuple[int, float] | None = None,
) -> EmulatorHandle:
    """Start an emulator on 127.0.0.1:`port` (0 picks a free port) in a daemon thread.

    `speed` scales the virtual player's clock (10.0 plays a 30 s track in 3 s);
    `tracks` replaces the sample library (e.g. a few short tracks for a test);
    `rate_limit=(n, window_s)` answers 429 + Retry-After beyond n requests per window.
    """
    import time

    world = World(
        speed=speed,
        tracks=tracks,
        n_sample_tracks=n_sample_tracks,
        seed=seed,
        token_lifetime_s=token_lifetime_s,
        clock=clock or time.time,
    )
    server = EmulatorServer(port, world)
    handle_url = f"http://127.0.0.1:{server.server_address[1]}"
    world.base_url = handle_url
    world.rate_limit = rate_limit
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # so stop() returns quickly
        name="spotify-emulator",
        daemon=True,
    )
    thread.start()
    return EmulatorHandle(server=server, thread=thread)
