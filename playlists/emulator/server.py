"""The emulator's HTTP layer: a real server on 127.0.0.1 that speaks Spotify's HTTP.

Accounts endpoints live at `/authorize` and `/api/token` (as on
accounts.spotify.com), the Web API under `/v1/`. Every exchange is logged
(method, path, query, headers, bodies, status) so tests can count requests and
validate both sides against the OpenAPI description.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from playlists.emulator import state as st

LOG_LIMIT = 20_000


@dataclass
class Exchange:
    """One request and its response, as the server saw them."""

    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    at: float = field(default_factory=time.time)


PLAYLIST = r"(?P<pid>[0-9A-Za-z]+)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(f"^{p}$"), name)
    for m, p, name in [
        ("GET", "/v1/me", "me"),
        ("GET", "/v1/me/playlists", "my_playlists"),
        ("POST", "/v1/me/playlists", "post_playlist"),
        ("GET", f"/v1/playlists/{PLAYLIST}", "get_playlist"),
        ("GET", f"/v1/playlists/{PLAYLIST}/items", "get_items"),
        ("GET", f"/v1/playlists/{PLAYLIST}/tracks", "get_items"),
        ("POST", f"/v1/playlists/{PLAYLIST}/items", "add_items"),
        ("PUT", f"/v1/playlists/{PLAYLIST}/items", "put_items"),
        ("DELETE", f"/v1/playlists/{PLAYLIST}/items", "delete_items"),
        ("GET", "/v1/me/player", "player"),
        ("GET", "/v1/me/player/currently-playing", "currently_playing"),
        ("GET", "/v1/me/player/devices", "devices"),
        ("PUT", "/v1/me/player/play", "play"),
        ("PUT", "/v1/me/player/pause", "pause"),
        ("POST", "/v1/me/player/next", "next"),
        ("POST", "/v1/me/player/queue", "add_to_queue"),
        ("GET", "/v1/me/player/queue", "get_queue"),
    ]
]

# Each Web API route's OAuth scopes exactly as the `security` of its operation in the
# bundled OpenAPI file lists them (tests/playlists/test_emulator_scopes.py holds every
# route to the file). A token needs at least one of a route's scopes (the playlist writes
# list modify-public and modify-private: Spotify wants the one matching the playlist); a
# route that lists none needs a valid token only. The scopes of GET /me gate fields, not
# the call (the spec says so per field), so a token without them gets fewer fields.
SCOPES_NEEDED: dict[str, tuple[str, ...]] = {
    "me": ("user-read-private", "user-read-email"),
    "my_playlists": ("playlist-read-private",),
    "post_playlist": ("playlist-modify-public", "playlist-modify-private"),
    "get_playlist": (),
    "get_items": ("playlist-read-private",),
    "add_items": ("playlist-modify-public", "playlist-modify-private"),
    "put_items": ("playlist-modify-public", "playlist-modify-private"),
    "delete_items": ("playlist-modify-public", "playlist-modify-private"),
    "player": ("user-read-playback-state",),
    "currently_playing": ("user-read-currently-playing",),
    "devices": ("user-read-playback-state",),
    "play": ("user-modify-playback-state",),
    "pause": ("user-modify-playback-state",),
    "next": ("user-modify-playback-state",),
    "add_to_queue": ("user-modify-playback-state",),
    "get_queue": ("user-read-currently-playing", "user-read-playback-state"),
}
FIELD_SCOPED = frozenset({"me"})  # routes whose scopes choose fields instead of refusing


def _int(query: dict[str, str], name: str, default: int) -> int:
    try:
        return int(query.get(name, default))
    except ValueError:
        return -1


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, world: st.World) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.world = world
        self.lock = threading.RLock()
        self.log: list[Exchange] = []
        # Requests received and not yet answered (a "slow" fault answers after its delay,
        # whether or not the client still waits): tests wait for none before reading state.
        self.in_flight = 0
        self.answered = threading.Condition(self.lock)


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the client's delayed
    # ACK would add ~40 ms to every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        with self.server.lock:
            self.server.in_flight += 1
        try:
            self._answer(method)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1
                self.server.answered.notify_all()

    def _answer(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        world = self.server.world
        with self.server.lock:
            fault = world.take_fault(method, parts.path)
            if fault is None and parts.path.startswith("/v1/"):
                wait_s = world.rate_limited()
                if wait_s is not None:
                    fault = st.Fault("429", retry_after_s=wait_s)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_s)
            fault = None
        if fault is not None:
            if fault.kind == "429":
                status, body, headers = st.error(
                    429, "API rate limit exceeded", **{"Retry-After": str(fault.retry_after_s)}
                )
            else:
                status, body, headers = st.error(int(fault.kind), "Server error (injected)")
        else:
            with self.server.lock:
                status, body, headers = self._route(method, parts.path, query, raw)
        self._send(method, parts.path, parts.query, raw, status, body, headers)

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> st.Response:
        world = self.server.world
        if path == "/authorize" and method == "GET":
            return world.authorize(query)
        if path == "/api/token" and method == "POST":
            return world.token(dict(parse_qsl(raw.decode("utf-8", "replace"))))
        path = path.rstrip("/") or "/"  # spotipy asks for "me/"
        for route_method, pattern, route_name in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                name = route_name
                break
        else:
            return st.error(404, "Service not found")
        needed = () if name in FIELD_SCOPED else SCOPES_NEEDED[name]
        token, denied = world.check_auth(self.headers.get("Authorization"), needed)
        if denied or token is None:
            return denied or st.error(401, "Invalid access token")
        user, scopes = token.user_id, token.scopes
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return st.error(400, "Error parsing JSON.")
        pid = match.groupdict().get("pid", "")
        offset, limit = _int(query, "offset", 0), _int(query, "limit", 20)
        handlers = {
            "me": lambda: (200, world.user_json(user, private=True, scopes=scopes), {}),
            "my_playlists": lambda: world.my_playlists(user, offset, limit),
            "post_playlist": lambda: world.post_playlist(user, body),
            "get_playlist": lambda: world.get_playlist(user, pid),
            "get_items": lambda: world.get_items(user, pid, offset, limit),
            "add_items": lambda: world.add_items(user, pid, body, query),
            "put_items": lambda: world.put_items(user, pid, body, query),
            "delete_items": lambda: world.delete_items(user, pid, body),
            "player": lambda: world.playback(full=True),
            "currently_playing": lambda: world.playback(full=False),
            "devices": world.devices,
            "play": lambda: world.play(user, body),
            "pause": lambda: world.pause(user),
            "next": lambda: world.next(user),
            "add_to_queue": lambda: world.add_to_queue(user, query.get("uri")),
            "get_queue": world.get_queue,
        }
        return handlers[name]()

    def _send(
        self,
        method: str,
        path: str,
        query: str,
        raw: bytes,
        status: int,
        body: Any,
        headers: dict[str, str],
    ) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        out_headers = dict(headers)
        if body is not None:
            out_headers["Content-Type"] = "application/json; charset=utf-8"
        # Logged before it is sent, so a test that got the answer also sees the entry.
        exchange = Exchange(
            method=method,
            path=path,
            query=query,
            request_headers={k: v for k, v in self.headers.items() if k.lower() != "authorization"},
            request_body=raw,
            status=status,
            response_headers=out_headers,
            response_body=payload,
        )
        with self.server.lock:
            self.server.log.append(exchange)
            if len(self.server.log) > LOG_LIMIT:
                del self.server.log[: LOG_LIMIT // 2]
        try:
            self.send_response(status)
            for k, v in out_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer
