"""A local Last.fm emulator: a real HTTPS server on 127.0.0.1 answering the XML pylast reads.

It serves `track.getTopTags` and `artist.getTopTags` for the Spotify emulator's
*synthetic* sample library (the same seed gives the same names): each sample track
has a scripted mood (happy, calm, sad or tense; mostly its album's), and its tags
carry that mood among noise tags (genres, years, "seen live", "favourites"), the way
real Last.fm tags do. Some tracks have no track tags (error 6 "Track not found", or an
empty list) and only artist tags; names it does not know get error 6. A wrong API key
gets error 10; more than `rate_limit` requests per window get error 29; tests can
inject errors 8/11/16/29 or HTTP 5xx.

pylast always speaks HTTPS, so the server uses a throwaway CA (`trustme`, a dev
dependency) whose certificate is written to `ca_file`; a client trusts it by loading
that file into `pylast.SSL_CONTEXT` (emotune's `EMOTUNE_LASTFM_CA`).

    with start_lastfm_emulator() as fm:
        ... EMOTUNE_LASTFM_URL=fm.url, EMOTUNE_LASTFM_CA=fm.ca_file ...
"""

from __future__ import annotations

import random
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from playlists.emulator.library import SampleTrack, generate_sample_library

MOODS = ("happy", "calm", "sad", "tense")
SANDBOX_API_KEY = "emotune-sandbox"
# Mood tags of each quadrant: all of them are in the shipped lexicon.
MOOD_TAGS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "upbeat", "fun", "energetic", "party", "cheerful", "feel good"),
    "calm": ("chill", "relaxing", "mellow", "calm", "peaceful", "soothing", "chillout"),
    "sad": ("sad", "melancholy", "depressing", "lonely", "melancholic", "sorrow"),
    "tense": ("aggressive", "angry", "tense", "anxious", "scary", "rage"),
}
NOISE_TAGS = (
    "rock", "indie", "electronic", "pop", "seen live", "favourites", "2010s", "british",
    "female vocalists", "awesome", "alternative", "00s", "love", "instrumental", "my top tracks",
)  # fmt: skip


@dataclass
class LastfmWorld:
    """What the emulator knows: tags per (artist, title) and per artist, by lower-case name."""

    tracks: dict[tuple[str, str], list[tuple[str, int]] | None] = field(default_factory=dict)
    artists: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    moods: dict[str, str] = field(default_factory=dict)  # sample track uri -> scripted mood
    kinds: dict[str, str] = field(default_factory=dict)  # uri -> track | empty | missing
    api_keys: frozenset[str] = frozenset({SANDBOX_API_KEY})
    rate_limit: tuple[int, float] | None = None  # at most n requests per window_s
    request_times: list[float] = field(default_factory=list)
    faults: list[list[Any]] = field(default_factory=list)  # [code, times_left]
    log: list[dict[str, str]] = field(default_factory=list)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _tag_list(rng: random.Random, mood: str, *, n_mood: int, off_mood: bool) -> list:
    moods = rng.sample(MOOD_TAGS[mood], k=min(n_mood, len(MOOD_TAGS[mood])))
    tags = [(moods[0], 100)] + [(t, rng.randint(35, 90)) for t in moods[1:]]
    if off_mood:  # the crowd rarely agrees completely
        other = rng.choice([m for m in MOODS if m != mood])
        tags.append((rng.choice(MOOD_TAGS[other]), rng.randint(5, 25)))
    tags += [(t, rng.randint(10, 100)) for t in rng.sample(NOISE_TAGS, k=rng.randint(3, 6))]
    tags.sort(key=lambda tc: -tc[1])
    return tags


def build_world(
    tracks: Iterable[SampleTrack],
    *,
    moods: Mapping[str, str] | None = None,
    seed: int = 2026,
) -> LastfmWorld:
    """Tags for every sample track; `moods` (uri -> mood) overrides the scripted moods."""
    rng = random.Random(seed)
    world = LastfmWorld()
    by_artist: dict[str, list[str]] = {}
    album_mood: dict[str, str] = {}
    for track in tracks:
        if track.kind != "track" or not track.artists:
            continue
        artist = track.artists[0][1]
        mood = album_mood.setdefault(track.album_id, rng.choice(MOODS))
        if rng.random() < 0.3:
            mood = rng.choice(MOODS)
        mood = (moods or {}).get(track.uri, mood)
        world.moods[track.uri] = mood
        by_artist.setdefault(artist, []).append(mood)
        roll = rng.random()
        key = (_key(artist), _key(track.name))
        if roll < 0.75:
            world.kinds[track.uri] = "track"
            world.tracks[key] = _tag_list(
                rng, mood, n_mood=rng.randint(2, 4), off_mood=rng.random() < 0.4
            )
        elif roll < 0.88:
            world.kinds[track.uri] = "missing"  # error 6: Last.fm does not know the track
        else:
            world.kinds[track.uri] = "empty"
            world.tracks[key] = []  # known, but nobody tagged it
    for artist, artist_moods in by_artist.items():
        majority = max(MOODS, key=artist_moods.count)
        world.artists[_key(artist)] = _tag_list(rng, majority, n_mood=3, off_mood=True)
    return world


class LastfmServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, world: LastfmWorld) -> None:
        super().__init__(("127.0.0.1", port), LastfmHandler)
        self.world = world
        self.lock = threading.RLock()


def _toptags_xml(attrs: Mapping[str, str], tags: list[tuple[str, int]]) -> str:
    attr = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    body = "".join(
        f"<tag><count>{c}</count><name>{escape(n)}</name>"
        f"<url>https://www.last.fm/tag/{quote(n)}</url></tag>"
        for n, c in tags
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<lfm status="ok"><toptags {attr}>{body}</toptags></lfm>'
    )


def _error_xml(code: int, message: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="failed">'
        f'<error code="{code}">{escape(message)}</error></lfm>'
    )


ERRORS = {
    6: "Track not found",
    8: "Operation failed - Most likely the backend service failed. Please try again.",
    10: "Invalid API key - You must be granted a valid key by last.fm",
    11: "Service Offline - This service is temporarily offline. Try again later.",
    16: "There was a temporary error processing your request. Please try again",
    29: "Rate Limit Exceeded - Your IP has made too many requests in a short period",
}


class LastfmHandler(BaseHTTPRequestHandler):
    server: LastfmServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self._handle(dict(parse_qsl(body, keep_blank_values=True)))

    def _send(self, status: int, text: str, content_type: str = "text/xml; charset=utf-8") -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, params: dict[str, str]) -> None:
        world = self.server.world
        method = params.get("method", "").lower()
        with self.server.lock:
            now = time.monotonic()
            world.log.append({"method": method, "artist": params.get("artist", "")})
            world.request_times.append(now)
            fault = next((f for f in world.faults if f[1] > 0), None)
            if fault is not None:
                fault[1] -= 1
            limited = False
            if world.rate_limit is not None:
                n, window = world.rate_limit
                recent = [t for t in world.request_times if t > now - window]
                limited = len(recent) > n
            keys = world.api_keys
        if fault is not None:
            code = int(fault[0])
            if code >= 500:
                self._send(code, "<html><body>Service unavailable</body></html>", "text/html")
            else:
                self._send(200 if code != 29 else 429, _error_xml(code, ERRORS[code]))
            return
        if params.get("api_key") not in keys:
            self._send(403, _error_xml(10, ERRORS[10]))
            return
        if limited:
            self._send(429, _error_xml(29, ERRORS[29]))
            return
        artist = params.get("artist", "")
        if method == "track.gettoptags":
            tags = world.tracks.get((_key(artist), _key(params.get("track", ""))))
            if tags is None:
                self._send(200, _error_xml(6, ERRORS[6]))
            else:
                self._send(200, _toptags_xml({"artist": artist, "track": params["track"]}, tags))
        elif method == "artist.gettoptags":
            tags = world.artists.get(_key(artist))
            if tags is None:
                self._send(200, _error_xml(6, "The artist you supplied could not be found"))
            else:
                self._send(200, _toptags_xml({"artist": artist}, tags))
        else:
            self._send(
                200, _error_xml(3, "Invalid Method - No method with that name in this package")
            )


@dataclass
class LastfmEmulatorHandle:
    server: LastfmServer
    thread: threading.Thread
    ca_file: str
    _tmp: Any = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"https://{host}:{port}"

    @property
    def world(self) -> LastfmWorld:
        return self.server.world

    def scripted_mood(self, uri: str) -> str | None:
        return self.world.moods.get(uri)

    def kind(self, uri: str) -> str | None:
        """How the track is tagged: "track", "empty" (no track tags) or "missing" (error 6)."""
        return self.world.kinds.get(uri)

    def inject_error(self, code: int, times: int = 1) -> None:
        """The next `times` requests answer Last.fm error `code` (or HTTP `code` when >= 500)."""
        with self.server.lock:
            self.world.faults.append([code, times])

    def set_rate_limit(self, requests: int | None, window_s: float = 1.0) -> None:
        with self.server.lock:
            self.world.rate_limit = None if requests is None else (requests, window_s)
            self.world.request_times.clear()

    def set_track_tags(self, artist: str, title: str, tags: list[tuple[str, int]] | None) -> None:
        with self.server.lock:
            self.world.tracks[(_key(artist), _key(title))] = tags

    def request_count(self) -> int:
        with self.server.lock:
            return len(self.world.log)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LastfmEmulatorHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_lastfm_emulator(
    port: int = 0,
    *,
    tracks: list[SampleTrack] | None = None,
    n_sample_tracks: int = 300,
    seed: int = 2026,
    moods: Mapping[str, str] | None = None,
    api_keys: Iterable[str] = (SANDBOX_API_KEY,),
    rate_limit: tuple[int, float] | None = None,
    ca_dir: Path | None = None,
) -> LastfmEmulatorHandle:
    """Start the emulator on 127.0.0.1:`port` (0 picks one) over HTTPS, in a daemon thread.

    `tracks` defaults to the Spotify emulator's sample library for the same seed;
    the CA certificate clients must trust is written under `ca_dir` (a temporary
    folder removed by `stop()` when not given).
    """
    try:
        import trustme
    except ImportError:  # a dev dependency: the emulator is for tests, the demo and sandbox
        from playlists.errors import PlaylistsError

        raise PlaylistsError(
            "the Last.fm emulator needs the trustme package; install emotune with its dev "
            "extra (pip install -e '.[dev]')"
        ) from None
    world = build_world(
        tracks if tracks is not None else generate_sample_library(n_sample_tracks, seed),
        moods=moods,
        seed=seed,
    )
    world.api_keys = frozenset(api_keys)
    world.rate_limit = rate_limit
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    tmp = None
    if ca_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="emotune-lastfm-ca-")
        ca_dir = Path(tmp.name)
    ca_dir.mkdir(parents=True, exist_ok=True)
    ca_file = ca_dir / "lastfm-emulator-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = LastfmServer(port, world)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="lastfm-emulator",
        daemon=True,
    )
    thread.start()
    return LastfmEmulatorHandle(server=server, thread=thread, ca_file=str(ca_file), _tmp=tmp)
