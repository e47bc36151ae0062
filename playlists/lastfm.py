"""Last.fm through pylast: a track's top tags, falling back to its artist's (read-only).

The only module that imports pylast, inside functions, so `emotune --help` stays
fast. Read methods need an API key only. Last.fm's limits are kept here:

- calls are spaced `min_interval_s` apart (Last.fm asks for at most 5 per second);
- error 29 (rate limit exceeded) is waited out with growing pauses, up to
  `max_rate_wait_s` in all, then reported;
- errors 8, 11, 16, HTTP 5xx and network failures are retried `retries` times with
  back-off, then reported;
- error 6 (not found / invalid parameters) means "no tags", not a failure;
- errors 10 and 26 (bad or suspended key) stop at once with the next step.

The API key is never put into a message or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playlists.errors import PlaylistsError

LASTFM_HOST = ("ws.audioscrobbler.com", "/2.0/")
RETRYABLE = frozenset({"8", "11", "16", "500", "502", "503", "504"})
NOT_FOUND = "6"
RATE_LIMITED = "29"
BAD_KEY = frozenset({"10", "26"})
KEY_HELP = "set LASTFM_API_KEY to a key from https://www.last.fm/api/account/create"


class LastfmError(PlaylistsError):
    """Last.fm refused or failed a request; the message names the next step."""


class LastfmUnavailable(LastfmError):
    """Last.fm could not be reached or kept failing; cached tags are untouched."""


@dataclass(frozen=True)
class TopTags:
    """What Last.fm says about one track: its own tags, else its artist's, else none."""

    source: str  # "track" | "artist" | "none"
    tags: tuple[tuple[str, int], ...]  # (name, count), strongest first


@dataclass
class LastfmCounts:
    requests: int = 0
    rate_limited: int = 0  # error-29 answers waited out
    retried: int = 0  # 8/11/16/5xx/network answers retried


@dataclass
class LastfmClient:
    """A pylast network with emotune's spacing, retries and error translation."""

    api_key: str
    api_url: str | None = None  # "https://127.0.0.1:PORT" for the local emulator
    ca_file: str | None = None  # a PEM CA to trust (the emulator's throwaway CA)
    min_interval_s: float = 0.2
    retries: int = 3
    backoff_s: float = 1.0
    max_rate_wait_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    counts: LastfmCounts = field(default_factory=LastfmCounts)
    _network: Any = field(default=None, init=False, repr=False)
    _last_call: float | None = field(default=None, init=False, repr=False)
    _artist_cache: dict[str, tuple[tuple[str, int], ...] | None] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_key.strip():
            raise LastfmError(f"no Last.fm API key; {KEY_HELP}")

    def _net(self) -> Any:
        if self._network is None:
            import pylast

            network = pylast.LastFMNetwork(api_key=self.api_key.strip())
            if self.api_url:
                parts = urlsplit(self.api_url)
                if parts.scheme != "https" or not parts.netloc:
                    raise LastfmError(
                        f"Last.fm URL {self.api_url!r} must be https://HOST[:PORT][/PATH] "
                        "(pylast speaks HTTPS only); fix EMOTUNE_LASTFM_URL"
                    )
                path = parts.path.rstrip("/") + "/" if parts.path not in ("", "/") else "/2.0/"
                network.ws_server = (parts.netloc, path)
            if self.ca_file:
                try:
                    pylast.SSL_CONTEXT.load_verify_locations(cafile=self.ca_file)
                except (OSError, ValueError) as exc:
                    raise LastfmError(
                        f"cannot load the CA file {self.ca_file} ({exc}); fix EMOTUNE_LASTFM_CA"
                    ) from None
            self._network = network
        return self._network

    def _space(self) -> None:
        if self._last_call is not None and self.min_interval_s > 0:
            wait = self._last_call + self.min_interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_call = self.clock()

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        """`fn()` with spacing, retries and translation; None for Last.fm's "not found"."""
        import pylast

        failures = 0
        rate_waited = 0.0
        while True:
            self._space()
            self.counts.requests += 1
            try:
                return fn()
            except pylast.WSError as exc:
                code = str(exc.status)
                details = " ".join(str(exc.details or "").split())[:200]
                if code == NOT_FOUND:
                    return None
                if code in BAD_KEY:
                    state = "invalid" if code == "10" else "suspended"
                    raise LastfmError(
                        f"Last.fm refused the API key (error {code}: {state} API key); {KEY_HELP}"
                    ) from None
                if code == RATE_LIMITED:
                    pause = min(self.backoff_s * 2 ** min(failures, 6), 30.0)
                    if rate_waited + pause > self.max_rate_wait_s:
                        raise LastfmUnavailable(
                            f"Last.fm kept answering 'rate limit exceeded' (error 29) for "
                            f"{rate_waited:.0f} s while fetching {what}; tags fetched so far "
                            "are kept: run the same command again in a few minutes"
                        ) from None
                    self.counts.rate_limited += 1
                    rate_waited += pause
                    failures += 1
                    self.sleep(pause)
                    continue
                if code in RETRYABLE and failures < self.retries:
                    failures += 1
                    self.counts.retried += 1
                    self.sleep(self.backoff_s * 2 ** (failures - 1))
                    continue
                if code in RETRYABLE:
                    raise LastfmUnavailable(
                        f"Last.fm is failing (error {code}: {details}) while fetching {what}; "
                        "tags fetched so far are kept: try again later"
                    ) from None
                raise LastfmError(
                    f"Last.fm refused {what} (error {code}: {details}); "
                    "check the artist and title, or report it if it persists"
                ) from None
            except (pylast.NetworkError, pylast.MalformedResponseError) as exc:
                if failures < self.retries:
                    failures += 1
                    self.counts.retried += 1
                    self.sleep(self.backoff_s * 2 ** (failures - 1))
                    continue
                kind = "cannot be reached" if isinstance(exc, pylast.NetworkError) else "answered"
                reason = type(getattr(exc, "underlying_error", exc)).__name__
                raise LastfmUnavailable(
                    f"Last.fm {kind} ({reason}) while fetching {what}; tags fetched so far "
                    "and cached tags are kept: check the connection and run it again"
                ) from None

    @staticmethod
    def _pairs(items: Any) -> tuple[tuple[str, int], ...]:
        out = []
        for item in items or ():
            name = item.item.get_name() if hasattr(item.item, "get_name") else str(item.item)
            try:
                count = int(float(item.weight))
            except (TypeError, ValueError):
                count = 0
            if name:
                out.append((str(name), count))
        return tuple(out)

    def track_top_tags(self, artist: str, title: str) -> tuple[tuple[str, int], ...] | None:
        """A track's top tags; None when Last.fm does not know the track."""
        import pylast

        net = self._net()
        items = self._call(
            lambda: pylast.Track(artist, title, net).get_top_tags(),
            f"the tags of {artist!r} - {title!r}",
        )
        return None if items is None else self._pairs(items)

    def artist_top_tags(self, artist: str) -> tuple[tuple[str, int], ...] | None:
        """An artist's top tags (cached per client, so an album costs one lookup)."""
        import pylast

        key = artist.casefold()
        if key not in self._artist_cache:
            net = self._net()
            items = self._call(
                lambda: pylast.Artist(artist, net).get_top_tags(), f"the tags of {artist!r}"
            )
            self._artist_cache[key] = None if items is None else self._pairs(items)
        return self._artist_cache[key]

    def top_tags(
        self,
        artist: str,
        title: str,
        useful: Callable[[tuple[tuple[str, int], ...]], bool] = bool,
    ) -> TopTags:
        """The track's tags, else the artist's, else none (the fallback beets' lastgenre uses).

        The artist is asked when the track has no tags that are `useful` (by default:
        none at all; emotune passes "has a mood tag")."""
        if not artist.strip():
            return TopTags("none", ())  # no artist: nothing to ask Last.fm
        track_tags: tuple[tuple[str, int], ...] = ()
        if title.strip():
            track_tags = self.track_top_tags(artist, title) or ()
            if track_tags and useful(track_tags):
                return TopTags("track", track_tags)
        tags = self.artist_top_tags(artist)
        if tags and useful(tags):
            return TopTags("artist", tags)
        if track_tags:
            return TopTags("track", track_tags)  # kept: the lexicon may learn its words
        return TopTags("none", ())
