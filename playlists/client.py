"""The Spotify client: the only module that imports spotipy (lazily, inside functions).

It logs in with PKCE through a one-shot callback server on 127.0.0.1, keeps the
token in a 0600 file, reads pages of 50 and writes batches of 100 on today's
endpoints (`/playlists/{id}/items`, `POST /me/playlists`), parses real bodies
tolerantly (nulls, episodes, local files, `items`/`item` or `tracks`/`track`),
and owns every retry: spotipy's own urllib3 retries are switched off, 429 waits
for Retry-After up to a bound, 5xx and timeouts back off a bounded number of
times, 401 refreshes the token once. Every failure becomes a `PlaylistsError`
that says the next step. Requests are counted (read = GET, write = the rest).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playlists.errors import PlaylistsError, SpotifyNotFound

# The fewest scopes the commands need: read and write the user's playlists
# (public ones too, for `sort`), read what is playing (`listen` polls
# GET /me/player/currently-playing, which needs user-read-currently-playing), read
# the devices and control the player (`queue`). A login saved with fewer scopes is
# refused with "run `emotune login`" before any request (see `_login_needed`).
SCOPES: tuple[str, ...] = (
    "playlist-read-private",
    "playlist-modify-private",
    "playlist-modify-public",
    "user-read-currently-playing",
    "user-read-playback-state",
    "user-modify-playback-state",
)
PAGE_SIZE = 50  # the most GET .../items returns per page
WRITE_BATCH = 100  # the most items one add/replace/remove request may carry
SPOTIFY_API = "https://api.spotify.com"
SPOTIFY_ACCOUNTS = "https://accounts.spotify.com"

log = logging.getLogger(__name__)


# --- plain values the rest of emotune sees --------------------------------------


@dataclass(frozen=True)
class PlaylistItem:
    """One entry of a playlist. `uri` is None only when Spotify sent no item at all."""

    uri: str | None
    track_id: str | None  # None for local files and missing items
    item_type: str  # "track" | "episode" | "unknown"
    is_local: bool = False
    name: str = ""
    artists: tuple[str, ...] = ()
    duration_ms: int | None = None


@dataclass(frozen=True)
class PlaylistInfo:
    id: str
    name: str
    owner_id: str | None
    snapshot_id: str | None
    total: int | None
    collaborative: bool = False
    public: bool | None = None


@dataclass(frozen=True)
class PlaybackState:
    """What the player is doing, as of server time `timestamp_ms` (unix ms).

    `progress_ms` is the position in the item at that time; `duration_ms` its length.
    """

    is_playing: bool
    item_type: str | None  # "track" | "episode" | "ad" | "unknown"
    track_id: str | None  # None for local files, ads, and unknown items
    uri: str | None
    name: str
    artists: list[str]
    album: str
    duration_ms: int | None
    progress_ms: int | None
    timestamp_ms: int


@dataclass(frozen=True)
class Device:
    id: str | None
    name: str
    type: str
    is_active: bool


@dataclass
class RequestCounts:
    """HTTP requests sent to the Web API (every attempt counts, retries included)."""

    read: int = 0
    write: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, "write": self.write}


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on waiting: a Retry-After above `max_retry_after_s` is not waited for."""

    max_retry_after_s: float = 30.0
    max_total_wait_s: float = 60.0
    max_retries: int = 4  # for 5xx and timeouts
    backoff_s: float = 0.5  # first back-off; doubles each time
    timeout_s: float = 10.0  # per request


DEFAULT_POLICY = RetryPolicy()


# --- tolerant parsing of real bodies ---------------------------------------------


def _artist_names(obj: dict[str, Any]) -> tuple[str, ...]:
    names = []
    for a in obj.get("artists") or []:
        if isinstance(a, dict) and a.get("name"):
            names.append(str(a["name"]))
    if not names and isinstance(obj.get("show"), dict) and obj["show"].get("name"):
        names.append(str(obj["show"]["name"]))
    return tuple(names)


def parse_playlist_item(raw: Any) -> PlaylistItem:
    """One entry of GET /playlists/{id}/items, whatever shape Spotify sent."""
    raw = raw if isinstance(raw, dict) else {}
    obj = raw.get("item") if isinstance(raw.get("item"), dict) else raw.get("track")
    if not isinstance(obj, dict):
        return PlaylistItem(uri=None, track_id=None, item_type="unknown")
    is_local = bool(obj.get("is_local") or raw.get("is_local"))
    kind = obj.get("type") if obj.get("type") in ("track", "episode") else "unknown"
    uri = obj.get("uri") if isinstance(obj.get("uri"), str) else None
    track_id = obj.get("id") if kind == "track" and not is_local else None
    duration = obj.get("duration_ms")
    return PlaylistItem(
        uri=uri,
        track_id=track_id if isinstance(track_id, str) else None,
        item_type=kind,
        is_local=is_local,
        name=str(obj.get("name") or ""),
        artists=_artist_names(obj),
        duration_ms=int(duration) if isinstance(duration, int | float) else None,
    )


def parse_playlist_info(raw: dict[str, Any]) -> PlaylistInfo:
    ref = raw.get("items") if isinstance(raw.get("items"), dict) else raw.get("tracks")
    total = ref.get("total") if isinstance(ref, dict) else None
    owner = raw.get("owner") if isinstance(raw.get("owner"), dict) else {}
    return PlaylistInfo(
        id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        owner_id=owner.get("id"),
        snapshot_id=raw.get("snapshot_id"),
        total=int(total) if isinstance(total, int) else None,
        collaborative=bool(raw.get("collaborative")),
        public=raw.get("public"),
    )


def parse_playback(raw: dict[str, Any] | None) -> PlaybackState | None:
    """A currently-playing body; None when nothing is playing (HTTP 204 / empty body)."""
    if not raw:
        return None
    obj = raw.get("item") if isinstance(raw.get("item"), dict) else None
    kind = raw.get("currently_playing_type") or (obj or {}).get("type") or "unknown"
    is_local = bool(obj and obj.get("is_local"))
    album = (obj or {}).get("album") if isinstance((obj or {}).get("album"), dict) else {}
    duration = (obj or {}).get("duration_ms")
    progress = raw.get("progress_ms")
    track_id = (obj or {}).get("id") if kind == "track" and not is_local else None
    return PlaybackState(
        is_playing=bool(raw.get("is_playing")),
        item_type=kind if kind in ("track", "episode", "ad", "unknown") else "unknown",
        track_id=track_id if isinstance(track_id, str) else None,
        uri=(obj or {}).get("uri"),
        name=str((obj or {}).get("name") or ""),
        artists=list(_artist_names(obj or {})),
        album=str(album.get("name") or ""),
        duration_ms=int(duration) if isinstance(duration, int | float) else None,
        progress_ms=int(progress) if isinstance(progress, int | float) else None,
        timestamp_ms=int(raw.get("timestamp") or time.time() * 1000),
    )


def playlist_id_from(text: str) -> str:
    """A playlist id from an id, a `spotify:playlist:` URI, or an open.spotify.com URL."""
    import re

    text = text.strip()
    for pattern in (
        r"^spotify:(?:user:[^:]+:)?playlist:([0-9A-Za-z]+)$",
        r"^(?:https?://)?open\.spotify\.com/(?:intl-[a-z]{2}/)?playlist/([0-9A-Za-z]+)",
        r"^([0-9A-Za-z]{10,40})$",
    ):
        m = re.match(pattern, text)
        if m:
            return m.group(1)
    raise PlaylistsError(
        f"{text!r} is not a playlist URL, URI or id; copy the link from Spotify's Share menu"
    )


def chunked(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- token file ------------------------------------------------------------------


def _token_file_handler(path: Path) -> Any:
    """A spotipy cache handler that writes the token file with mode 0600, atomically."""
    from spotipy.cache_handler import CacheHandler

    class TokenFile(CacheHandler):
        def get_cached_token(self) -> dict[str, Any] | None:
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None

        def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(token_info, fh)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)

    return TokenFile()


def _missing_scopes(token: Any) -> list[str]:
    """Those of SCOPES a saved token was not granted (none when it says nothing)."""
    if isinstance(token, dict) and isinstance(token.get("scope"), str):
        return sorted(set(SCOPES) - set(token["scope"].split()))
    return []


def _login_needed(token: Any) -> str:
    """Why the saved token cannot serve emotune without a new login, as one line.

    spotipy silently drops a saved token whose scopes lack one of SCOPES and would
    prompt for a new login; a login saved before emotune asked for a scope must say
    which scope is missing, since `emotune login` is the only way to grant it.
    """
    missing = _missing_scopes(token)
    if missing:
        return (
            f"the saved Spotify login does not grant {', '.join(missing)}, which this "
            "version of emotune needs; run `emotune login` to grant it"
        )
    return "not logged in to Spotify; run `emotune login`"


def _auth_manager(
    client_id: str,
    redirect_uri: str,
    token_path: Path,
    api_url: str | None,
    *,
    state: str | None = None,
    interactive: bool = False,
) -> Any:
    """spotipy's PKCE manager pointed at Spotify or the emulator.

    Unless `interactive`, it never prompts: a missing or unusable token raises
    "run `emotune login`" instead of spotipy's input() prompt.
    """
    from spotipy.oauth2 import SpotifyPKCE

    class Pkce(SpotifyPKCE):
        def get_authorization_code(self, response: str | None = None) -> str:
            if response or interactive:
                return super().get_authorization_code(response)
            raise PlaylistsError(_login_needed(self.cache_handler.get_cached_token()))

    # spotipy logs tokens, codes and verifiers at DEBUG and every handled HTTP error
    # at ERROR; emotune reports errors itself, so it stays quiet even under --verbose.
    logging.getLogger("spotipy").setLevel(logging.CRITICAL)
    auth = Pkce(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=list(SCOPES),
        state=state,
        cache_handler=_token_file_handler(token_path),
        open_browser=False,
        requests_timeout=RetryPolicy().timeout_s,
    )
    accounts = api_url.rstrip("/") if api_url else SPOTIFY_ACCOUNTS
    auth.OAUTH_AUTHORIZE_URL = f"{accounts}/authorize"
    auth.OAUTH_TOKEN_URL = f"{accounts}/api/token"
    return auth


# --- the client ----------------------------------------------------------------


def _describe_403(message: str, reason: str | None, path: str) -> str:
    if reason == "PREMIUM_REQUIRED" or "premium" in message.lower():
        return "Spotify Premium is needed for player control; upgrade the account or skip --play"
    if "scope" in message.lower():
        return (
            f"the saved Spotify login lacks a permission {urlsplit(path).path} needs "
            f"(Spotify: {message}); run `emotune login` to grant it"
        )
    if "playlists/" in path:
        return (
            "you do not own this playlist (nor collaborate on it); "
            "pick one of your own playlists, or copy this one first"
        )
    return f"Spotify refused the request ({message}); run `emotune login` and try again"


@dataclass
class SpotifyClient:
    """A spotipy client with emotune's retry rules, counters and plain return values."""

    sp: Any  # spotipy.Spotify
    auth: Any  # the PKCE manager (for the one forced refresh on 401)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    counts: RequestCounts = field(default_factory=RequestCounts)
    _user_id: str | None = None

    # --- the one place every request goes through ---------------------------------

    def _call(self, method: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import requests
        from spotipy.exceptions import SpotifyException
        from spotipy.oauth2 import SpotifyOauthError

        waited = 0.0
        failures = 0
        refreshed = False
        while True:
            if method == "GET":
                self.counts.read += 1
            else:
                self.counts.write += 1
            try:
                return fn(*args, **kwargs)
            except SpotifyException as exc:
                status = exc.http_status
                log.debug("%s %s -> HTTP %s", method, getattr(fn, "__name__", fn), status)
                path = str(exc.msg).split(":\n")[0]
                message = str(exc.msg).split(":\n", 1)[-1].strip()
                if status == 429:
                    wait = _retry_after(exc.headers)
                    if wait > self.policy.max_retry_after_s or (
                        waited + wait > self.policy.max_total_wait_s
                    ):
                        raise PlaylistsError(
                            f"Spotify is rate-limiting emotune and asks it to wait {wait:.0f} s; "
                            f"try again in {max(1, round(wait / 60))} min"
                        ) from None
                    self.sleep(wait)
                    waited += wait
                    continue
                if status == 401 and not refreshed:
                    refreshed = True
                    self._force_refresh()
                    continue
                if status is not None and status >= 500:
                    failures += 1
                    if failures > self.policy.max_retries:
                        raise PlaylistsError(
                            f"Spotify answered HTTP {status} {failures} times in a row; "
                            "try again in a few minutes"
                        ) from None
                    self._back_off(failures)
                    continue
                raise self._translate(status, message, exc.reason, path) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                failures += 1
                if failures > self.policy.max_retries:
                    kind = "timed out" if isinstance(exc, requests.Timeout) else "failed"
                    raise PlaylistsError(
                        f"the connection to Spotify {kind} {failures} times in a row; "
                        "check the network (or that `emotune sandbox` runs) and try again"
                    ) from None
                self._back_off(failures)
            except SpotifyOauthError:
                raise PlaylistsError(
                    "Spotify no longer accepts the saved login; run `emotune login`"
                ) from None

    def _back_off(self, failures: int) -> None:
        self.sleep(self.policy.backoff_s * 2 ** (failures - 1))

    def _force_refresh(self) -> None:
        from spotipy.oauth2 import SpotifyOauthError

        token = self.auth.cache_handler.get_cached_token()
        if not token or not token.get("refresh_token"):
            raise PlaylistsError("not logged in to Spotify; run `emotune login`")
        try:
            self.auth.refresh_access_token(token["refresh_token"])
        except SpotifyOauthError:
            raise PlaylistsError(
                "Spotify no longer accepts the saved login; run `emotune login`"
            ) from None

    def _translate(
        self, status: int | None, message: str, reason: str | None, path: str
    ) -> PlaylistsError:
        if status == 401:
            return PlaylistsError("Spotify no longer accepts the saved login; run `emotune login`")
        if status == 403:
            return PlaylistsError(_describe_403(message, reason, path))
        if status == 404 and (reason == "NO_ACTIVE_DEVICE" or "device" in message.lower()):
            return PlaylistsError(
                "no active device: start Spotify on a phone or computer, play something, "
                "then try again"
            )
        if status == 400 and "snapshot" in message.lower():
            return PlaylistsError(
                "the playlist changed while emotune was editing it; run the command again"
            )
        if status == 404:
            return SpotifyNotFound(f"Spotify has no such thing ({path}); check the id or link")
        return PlaylistsError(f"Spotify refused the request: HTTP {status} {message}")

    # --- account -------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        body = self._call("GET", self.sp.me) or {}
        self._user_id = body.get("id")
        return body

    @property
    def user_id(self) -> str:
        if self._user_id is None:
            self.me()
        if not self._user_id:
            raise PlaylistsError("Spotify sent no user id; run `emotune login` again")
        return self._user_id

    # --- playlists -------------------------------------------------------------------

    def my_playlists(self) -> list[PlaylistInfo]:
        out: list[PlaylistInfo] = []
        offset = 0
        while True:
            page = self._call("GET", self.sp.current_user_playlists, PAGE_SIZE, offset) or {}
            items = [p for p in page.get("items") or [] if isinstance(p, dict) and p.get("id")]
            out.extend(parse_playlist_info(p) for p in items)
            offset += PAGE_SIZE
            if not page.get("next") or offset >= int(page.get("total") or 0):
                return out

    def playlist(self, playlist_id: str) -> PlaylistInfo | None:
        """The playlist's metadata; None when it does not exist (e.g. deleted)."""
        try:
            raw = self._call(
                "GET",
                self.sp.playlist,
                playlist_id,
                fields="id,name,owner(id),snapshot_id,collaborative,public,items(total),tracks(total)",
            )
        except SpotifyNotFound:
            return None
        return parse_playlist_info(raw) if raw else None

    def playlist_items(self, playlist_id: str) -> list[PlaylistItem]:
        """Every entry in order (pages of 50), including local files and empty slots."""
        out: list[PlaylistItem] = []
        offset = 0
        while True:
            page = self._call(
                "GET", self.sp.playlist_items, playlist_id, limit=PAGE_SIZE, offset=offset
            )
            page = page or {}
            out.extend(parse_playlist_item(raw) for raw in page.get("items") or [])
            offset += PAGE_SIZE
            total = int(page.get("total") or 0)
            if not page.get("items") or offset >= total:
                return out

    def create_playlist(
        self, name: str, description: str = "", public: bool = False
    ) -> PlaylistInfo:
        raw = self._call(
            "POST",
            self.sp.current_user_playlist_create,
            name,
            public=public,
            collaborative=False,
            description=description,
        )
        return parse_playlist_info(raw)

    def add_items(self, playlist_id: str, uris: list[str], position: int | None = None) -> str:
        if len(uris) > WRITE_BATCH:
            raise ValueError(f"at most {WRITE_BATCH} items per request")
        sp = self.sp
        body: dict[str, Any] = {"uris": uris}
        if position is not None:
            body["position"] = position
        raw = self._call("POST", sp._post, f"playlists/{playlist_id}/items", payload=body)
        return str((raw or {}).get("snapshot_id") or "")

    def remove_items(
        self, playlist_id: str, uris: list[str], snapshot_id: str | None = None
    ) -> str:
        """Remove every occurrence of each URI (Spotify removes by URI, not position)."""
        if len(uris) > WRITE_BATCH:
            raise ValueError(f"at most {WRITE_BATCH} items per request")
        body: dict[str, Any] = {"items": [{"uri": u} for u in uris]}
        if snapshot_id:
            body["snapshot_id"] = snapshot_id
        raw = self._call("DELETE", self.sp._delete, f"playlists/{playlist_id}/items", payload=body)
        return str((raw or {}).get("snapshot_id") or "")

    def replace_items(self, playlist_id: str, uris: list[str]) -> str:
        if len(uris) > WRITE_BATCH:
            raise ValueError(f"at most {WRITE_BATCH} items per request")
        raw = self._call(
            "PUT", self.sp._put, f"playlists/{playlist_id}/items", payload={"uris": uris}
        )
        return str((raw or {}).get("snapshot_id") or "")

    def reorder_items(
        self,
        playlist_id: str,
        range_start: int,
        insert_before: int,
        range_length: int = 1,
        snapshot_id: str | None = None,
    ) -> str:
        raw = self._call(
            "PUT",
            self.sp.playlist_reorder_items,
            playlist_id,
            range_start,
            insert_before,
            range_length=range_length,
            snapshot_id=snapshot_id,
        )
        return str((raw or {}).get("snapshot_id") or "")

    # --- player ----------------------------------------------------------------------

    def playback_state(self) -> PlaybackState | None:
        """What is playing now; None when nothing is (HTTP 204)."""
        raw = self._call("GET", self.sp.currently_playing, additional_types="track,episode")
        return parse_playback(raw)

    def devices(self) -> list[Device]:
        raw = self._call("GET", self.sp.devices) or {}
        return [
            Device(
                id=d.get("id"),
                name=str(d.get("name") or ""),
                type=str(d.get("type") or ""),
                is_active=bool(d.get("is_active")),
            )
            for d in raw.get("devices") or []
            if isinstance(d, dict)
        ]

    def start_playback(self, uris: list[str]) -> None:
        self._call("PUT", self.sp.start_playback, uris=list(uris))

    def add_to_queue(self, uri: str) -> None:
        self._call("POST", self.sp.add_to_queue, uri)

    def next_track(self) -> None:
        self._call("POST", self.sp.next_track)

    def pause(self) -> None:
        self._call("PUT", self.sp.pause_playback)


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


def make_client(
    client_id: str,
    redirect_uri: str,
    token_path: Path,
    *,
    api_url: str | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SpotifyClient:
    """A client using the saved token at `token_path` (Spotify, or the emulator at `api_url`)."""
    import requests
    import spotipy

    if not token_path.exists():
        raise PlaylistsError("not logged in to Spotify; run `emotune login`")
    policy = policy or DEFAULT_POLICY
    auth = _auth_manager(client_id, redirect_uri, token_path, api_url)
    # A login saved with fewer scopes fails every command up front (not in the middle
    # of a listening session) and names the scope it lacks.
    saved = auth.cache_handler.get_cached_token()
    if _missing_scopes(saved):
        raise PlaylistsError(_login_needed(saved))
    # A plain session has no urllib3 retries: spotipy would otherwise retry and
    # sleep on 429/5xx without bound; SpotifyClient._call does it with limits.
    sp = spotipy.Spotify(
        auth_manager=auth,
        requests_session=requests.Session(),
        requests_timeout=policy.timeout_s,
        retries=0,
        status_retries=0,
    )
    sp.prefix = f"{(api_url or SPOTIFY_API).rstrip('/')}/v1/"
    return SpotifyClient(sp=sp, auth=auth, policy=policy, sleep=sleep)


# --- login ---------------------------------------------------------------------------


def headless_open_url(url: str) -> None:
    """Open `url` without a browser: a GET that follows the redirect to the callback.

    Against the emulator (which approves at once) this completes the login.
    """
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()


@dataclass
class _CallbackResult:
    code: str | None = None
    error: str | None = None


def _callback_server(redirect_uri: str, state: str) -> tuple[HTTPServer, _CallbackResult]:
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise PlaylistsError(
            f"redirect URI {redirect_uri} must be http://127.0.0.1:PORT/callback; "
            "set SPOTIPY_REDIRECT_URI to that and add it to your Spotify app"
        )
    if not parts.port:
        raise PlaylistsError(
            f"redirect URI {redirect_uri} needs a port, e.g. http://127.0.0.1:8888/callback"
        )
    result = _CallbackResult()
    path = parts.path or "/"

    class Callback(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            got = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(got.query).items()}
            if got.path != path:
                self._reply(404, "not the emotune callback")
                return
            if query.get("state") != state:
                result.error = "the login answer did not carry emotune's state (a stale tab?)"
                self._reply(400, "state mismatch: start `emotune login` again")
            elif "error" in query:
                result.error = f"Spotify refused the login ({query['error']})"
                self._reply(400, "login refused; you can close this tab")
            elif query.get("code"):
                result.code = query["code"]
                self._reply(200, "emotune is logged in to Spotify; you can close this tab")
            else:
                result.error = "the login answer carried no code"
                self._reply(400, "no code in the answer")

        def _reply(self, status: int, text: str) -> None:
            body = f"<html><body><p>{text}</p></body></html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    try:
        server = HTTPServer(("127.0.0.1", parts.port), Callback)
    except OSError as exc:
        raise PlaylistsError(
            f"cannot listen on 127.0.0.1:{parts.port} for the login callback ({exc.strerror}); "
            "stop whatever uses that port or change SPOTIPY_REDIRECT_URI"
        ) from None
    server.timeout = 0.5
    return server, result


def login(
    client_id: str,
    redirect_uri: str,
    token_path: Path,
    *,
    api_url: str | None = None,
    open_url: Callable[[str], Any] | None = None,
    no_browser: bool = False,
    show: Callable[[str], Any] = print,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Run the PKCE login; save the token (mode 0600); return the user's profile.

    A one-shot server on 127.0.0.1 waits for the redirect, checks `state`, and
    stops after one answer. `open_url` opens the authorize URL (default: the
    browser); `no_browser` only shows it.
    """
    import webbrowser

    state = secrets.token_urlsafe(16)
    auth = _auth_manager(client_id, redirect_uri, token_path, api_url, state=state)
    url = auth.get_authorize_url(state)
    server, result = _callback_server(redirect_uri, state)
    done = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + timeout_s
        while result.code is None and result.error is None and time.monotonic() < deadline:
            server.handle_request()
        done.set()

    thread = threading.Thread(target=serve, name="login-callback", daemon=True)
    thread.start()
    try:
        if no_browser:
            show(f"Open this URL in a browser to log in to Spotify:\n{url}")
        else:
            if open_url is None:
                show("Opening the Spotify login in your browser...")
            (open_url or webbrowser.open)(url)
        done.wait(timeout_s + 1)
    finally:
        thread.join(timeout=2)
        server.server_close()
    if result.error:
        raise PlaylistsError(f"{result.error}; run `emotune login` again")
    if result.code is None:
        raise PlaylistsError(
            f"no login answer arrived within {timeout_s:.0f} s; run `emotune login` again"
        )
    from spotipy.oauth2 import SpotifyOauthError

    try:
        auth.get_access_token(code=result.code, check_cache=False)
    except SpotifyOauthError as exc:
        raise PlaylistsError(
            f"Spotify refused the login code ({exc}); run `emotune login` again"
        ) from None
    client = make_client(client_id, redirect_uri, token_path, api_url=api_url)
    return client.me()
