"""The emulator's world: users, tokens, playlists, a virtual player, and injected faults.

Every method is called with the world's lock held by the HTTP layer, returns
`(status, body, headers)` and raises nothing for a client mistake: Spotify's
rules become Spotify-shaped error bodies. Times are unix seconds (float) from
the injectable `clock`; the player's progress is wall-clock time x `speed`.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from playlists.emulator.library import SampleTrack, generate_sample_library, random_id

Response = tuple[int, Any, dict[str, str]]

USER_ID = "emulator-user"
FRIEND_ID = "sample-friend"
MAX_WRITE_ITEMS = 100
MAX_PAGE = 50
DEVICE_ID = "emulator-device-0000000000000000000000"


def error(status: int, message: str, reason: str | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if reason:
        body["reason"] = reason
    return status, {"error": body}, dict(headers)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    """One item of a playlist."""

    uri: str
    added_at: float
    added_by: str


@dataclass
class Playlist:
    id: str
    name: str
    owner_id: str
    public: bool = False
    collaborative: bool = False
    description: str = ""
    items: list[Entry] = field(default_factory=list)
    snapshot_id: str = ""
    collaborators: set[str] = field(default_factory=set)
    version: int = 0

    def new_snapshot(self) -> None:
        self.version += 1
        raw = f"{self.version},{secrets.token_hex(16)}".encode()
        self.snapshot_id = base64.b64encode(raw).decode()


@dataclass
class Fault:
    """A fault the next matching requests meet (after `skip` of them pass untouched)."""

    kind: str  # "429" | "500" | "503" | "slow"
    times: int = 1
    skip: int = 0
    retry_after_s: int = 1
    delay_s: float = 0.0
    path: str | None = None  # substring of the request path
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Web API requests by default; accounts endpoints only when `path` names them."""
        where = path.startswith("/v1/") if self.path is None else self.path in path
        return where and (self.method is None or self.method == method)


@dataclass
class Token:
    user_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class Player:
    """A virtual device that plays through a context list and a queue in (scaled) real time."""

    context: list[str] = field(default_factory=list)
    context_index: int = 0
    queue: list[str] = field(default_factory=list)
    current: str | None = None
    is_playing: bool = False
    anchor_wall: float = 0.0  # wall time at which progress was `anchor_progress_ms`
    anchor_progress_ms: float = 0.0


class World:
    """All state of one emulator instance."""

    def __init__(
        self,
        *,
        base_url: str = "",
        speed: float = 1.0,
        tracks: list[SampleTrack] | None = None,
        n_sample_tracks: int = 300,
        seed: int = 2026,
        clock: Callable[[], float] = time.time,
        token_lifetime_s: int = 3600,
    ) -> None:
        self.base_url = base_url
        self.speed = speed
        self.clock = clock
        self.token_lifetime_s = token_lifetime_s
        self.rng = random.Random(seed + 1)
        self.library: dict[str, SampleTrack] = {}
        self.sample_ids: list[str] = []
        for t in tracks if tracks is not None else generate_sample_library(n_sample_tracks, seed):
            self.library[t.uri] = t
            self.sample_ids.append(t.id)
        self.users: dict[str, dict[str, Any]] = {
            USER_ID: {"display_name": "Emulator User", "product": "premium"},
            FRIEND_ID: {"display_name": "Sample Friend", "product": "premium"},
        }
        self.follows: dict[str, list[str]] = {USER_ID: [], FRIEND_ID: []}
        self.playlists: dict[str, Playlist] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self.revoked_refresh_tokens: set[str] = set()
        self.faults: list[Fault] = []
        # Spotify limits over a rolling 30 s window; None = no limit (faults still apply).
        self.rate_limit: tuple[int, float] | None = None
        self.request_times: list[float] = []
        self.devices_active = True
        self.has_device = True
        self.player = Player()
        self._seed_friend_playlists()

    # --- setup helpers ---------------------------------------------------------

    def _seed_friend_playlists(self) -> None:
        ids = self.sample_ids
        owned = self.create_playlist(FRIEND_ID, "Sample Friend's Mix", public=True)
        collab = self.create_playlist(FRIEND_ID, "Sample Shared Mix", collaborative=True)
        collab.collaborators.add(USER_ID)
        for pl, chunk in ((owned, ids[:30]), (collab, ids[30:45])):
            pl.items = [Entry(f"spotify:track:{i}", self.clock(), FRIEND_ID) for i in chunk]
            pl.new_snapshot()
            self.follows[USER_ID].append(pl.id)
        # One playlist of the user's own, to try `emotune sort` on.
        mix = self.create_playlist(USER_ID, "Sample Mix")
        mix.items = [Entry(f"spotify:track:{i}", self.clock(), USER_ID) for i in ids[45:85]]
        mix.new_snapshot()

    def create_playlist(
        self,
        owner: str,
        name: str,
        *,
        public: bool = False,
        collaborative: bool = False,
        description: str = "",
    ) -> Playlist:
        pl = Playlist(
            id=random_id(self.rng),
            name=name,
            owner_id=owner,
            public=public,
            collaborative=collaborative,
            description=description,
        )
        pl.new_snapshot()
        self.playlists[pl.id] = pl
        self.follows.setdefault(owner, []).insert(0, pl.id)
        return pl

    def add_tracks(self, tracks: list[SampleTrack]) -> list[str]:
        for t in tracks:
            self.library[t.uri] = t
            self.sample_ids.append(t.id)
        return [t.id for t in tracks]

    # --- tokens ----------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> Response:
        """Approve at once: redirect to `redirect_uri` with a code and the caller's state."""
        from urllib.parse import urlencode

        redirect = query.get("redirect_uri", "")
        if query.get("response_type") != "code" or not redirect or not query.get("client_id"):
            return 400, {"error": "invalid_request"}, {}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 needed"}, {}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": query["client_id"],
            "redirect_uri": redirect,
            "challenge": query["code_challenge"],
            "scopes": frozenset(query.get("scope", "").replace(",", " ").split()),
        }
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        sep = "&" if "?" in redirect else "?"
        return 302, None, {"Location": f"{redirect}{sep}{urlencode(params)}"}

    def _issue(self, user_id: str, scopes: frozenset[str], refresh: str | None) -> Response:
        access = secrets.token_urlsafe(32)
        self.tokens[access] = Token(user_id, scopes, self.clock() + self.token_lifetime_s)
        refresh = refresh or secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = (user_id, scopes)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
            "expires_in": self.token_lifetime_s,
            "refresh_token": refresh,
        }
        return 200, body, {}

    def token(self, form: dict[str, str]) -> Response:
        grant = form.get("grant_type")
        if grant == "authorization_code":
            grant_info = self.codes.pop(form.get("code", ""), None)
            if grant_info is None:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code"}, {}
            if form.get("redirect_uri") != grant_info["redirect_uri"]:
                return 400, {"error": "invalid_grant", "error_description": "Bad redirect"}, {}
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if challenge != grant_info["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "code_verifier"}, {}
            return self._issue(USER_ID, grant_info["scopes"], None)
        if grant == "refresh_token":
            found = self.refresh_tokens.get(form.get("refresh_token", ""))
            if found is None:
                # Spotify's two answers: a token it never issued, and one the user revoked.
                revoked = form.get("refresh_token", "") in self.revoked_refresh_tokens
                why = "Refresh token revoked" if revoked else "Invalid refresh token"
                return 400, {"error": "invalid_grant", "error_description": why}, {}
            return self._issue(found[0], found[1], form["refresh_token"])
        return 400, {"error": "unsupported_grant_type"}, {}

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (refresh tokens still work)."""
        for tok in self.tokens.values():
            tok.expires_at = 0.0

    def revoke_tokens(self) -> None:
        """As if the user removed the app's access (spotify.com/account/apps): every
        access token and refresh token issued so far stops working."""
        self.revoked_refresh_tokens.update(self.refresh_tokens)
        self.tokens.clear()
        self.refresh_tokens.clear()

    def issue_token_for_tests(self, scopes: frozenset[str] | None = None) -> dict[str, Any]:
        """A token dict as the token endpoint returns it, without the browser dance.

        `scopes` None grants emotune's own SCOPES; an explicit set (even empty) is used as is.
        """
        from playlists.client import SCOPES

        granted = frozenset(SCOPES) if scopes is None else frozenset(scopes)
        return self._issue(USER_ID, granted, None)[1]

    def check_auth(
        self, header: str | None, scopes: tuple[str, ...]
    ) -> tuple[Token | None, Response | None]:
        """The caller's token, or Spotify's 401/403 answer.

        A route that lists scopes needs at least one of them; one that lists none needs
        only a valid token.
        """
        if not header or not header.startswith("Bearer "):
            return None, error(401, "No token provided")
        tok = self.tokens.get(header[len("Bearer ") :])
        if tok is None:
            return None, error(401, "Invalid access token")
        if tok.expires_at <= self.clock():
            return None, error(401, "The access token expired")
        if scopes and not tok.scopes.intersection(scopes):
            return None, error(403, "Insufficient client scope")
        return tok, None

    # --- JSON shapes -------------------------------------------------------------

    def _api(self, path: str) -> str:
        return f"{self.base_url}/v1/{path}"

    def user_json(
        self, user_id: str, private: bool = False, scopes: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """A PublicUserObject, or with `private` the PrivateUserObject of GET /me, whose
        fields the spec gates by scope: country, product and explicit_content need
        user-read-private, email needs user-read-email."""
        body: dict[str, Any] = {
            "display_name": self.users[user_id]["display_name"],
            "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
            "href": self._api(f"users/{user_id}"),
            "id": user_id,
            "type": "user",
            "uri": f"spotify:user:{user_id}",
        }
        if private:
            body.update(images=[], followers={"href": None, "total": 0})
            if "user-read-private" in scopes:
                body.update(
                    product=self.users[user_id]["product"],
                    country="SE",
                    explicit_content={"filter_enabled": False, "filter_locked": False},
                )
            if "user-read-email" in scopes:
                body["email"] = f"{user_id}@example.invalid"
        return body

    def episode_json(self, t: SampleTrack) -> dict[str, Any]:
        show_id = t.album_id or "0" * 22
        show = {
            "available_markets": ["SE"],
            "copyrights": [],
            "description": "A synthetic sample show.",
            "html_description": "<p>A synthetic sample show.</p>",
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/show/{show_id}"},
            "href": self._api(f"shows/{show_id}"),
            "id": show_id,
            "images": [],
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": t.album_name or "Sample Show",
            "publisher": "emotune sandbox",
            "total_episodes": 1,
            "type": "show",
            "uri": f"spotify:show:{show_id}",
        }
        return {
            "audio_preview_url": None,
            "description": "A synthetic sample episode.",
            "html_description": "<p>A synthetic sample episode.</p>",
            "duration_ms": t.duration_ms,
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/episode/{t.id}"},
            "href": self._api(f"episodes/{t.id}"),
            "id": t.id,
            "images": [],
            "is_externally_hosted": False,
            "is_playable": True,
            "languages": ["en"],
            "name": t.name,
            "release_date": "2024-01-01",
            "release_date_precision": "day",
            "type": "episode",
            "uri": t.uri,
            "show": show,
        }

    def track_json(self, uri: str) -> dict[str, Any] | None:
        """The TrackObject (or EpisodeObject) of `uri`; None for ads and unknown URIs."""
        t = self.library.get(uri)
        if t is None or t.kind == "ad":
            return None
        if t.kind == "episode":
            return self.episode_json(t)
        artists = [
            {
                "external_urls": {"spotify": f"https://open.spotify.com/artist/{aid}"},
                "href": self._api(f"artists/{aid}"),
                "id": aid,
                "name": name,
                "type": "artist",
                "uri": f"spotify:artist:{aid}",
            }
            for aid, name in t.artists
        ]
        album = {
            "album_type": "album",
            "total_tracks": 10,
            "available_markets": ["SE"],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{t.album_id}"},
            "href": self._api(f"albums/{t.album_id}"),
            "id": t.album_id,
            "images": [],
            "name": t.album_name,
            "release_date": "2024-01-01",
            "release_date_precision": "day",
            "type": "album",
            "uri": f"spotify:album:{t.album_id}",
            "artists": artists,
        }
        return {
            "album": album,
            "artists": artists,
            "available_markets": ["SE"],
            "disc_number": 1,
            "duration_ms": t.duration_ms,
            "explicit": False,
            "external_ids": {},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{t.id}"},
            "href": self._api(f"tracks/{t.id}"),
            "id": t.id,
            "is_local": False,
            "is_playable": True,
            "name": t.name,
            "popularity": 0,
            "preview_url": None,
            "track_number": t.track_number,
            "type": "track",
            "uri": t.uri,
        }

    def entry_json(self, e: Entry) -> dict[str, Any]:
        track = self.track_json(e.uri)
        if track is None:  # a local file: what Spotify sends has nulls where ids would be
            name = e.uri.split(":")[-2] if e.uri.count(":") >= 4 else e.uri
            track = {
                "id": None,
                "uri": e.uri,
                "name": name,
                "type": "track",
                "is_local": True,
                "duration_ms": int(e.uri.split(":")[-1]) * 1000 if e.uri[-1].isdigit() else 0,
                "artists": [],
                "album": {"name": None, "id": None},
            }
        return {
            "added_at": iso(e.added_at),
            "added_by": {
                "external_urls": {"spotify": f"https://open.spotify.com/user/{e.added_by}"},
                "href": self._api(f"users/{e.added_by}"),
                "id": e.added_by,
                "type": "user",
                "uri": f"spotify:user:{e.added_by}",
            },
            "is_local": track.get("is_local", False),
            "item": track,
            "track": track,
        }

    def playlist_json(self, pl: Playlist, *, full: bool, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "collaborative": pl.collaborative,
            "description": pl.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pl.id}"},
            "href": self._api(f"playlists/{pl.id}"),
            "id": pl.id,
            "images": [],
            "name": pl.name,
            "owner": {**self.user_json(pl.owner_id), "display_name": None},
            "public": pl.public,
            "snapshot_id": pl.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{pl.id}",
        }
        body["owner"]["display_name"] = self.users[pl.owner_id]["display_name"]
        ref = {"href": self._api(f"playlists/{pl.id}/items"), "total": len(pl.items)}
        if not full:
            body["items"] = ref
            body["tracks"] = ref
            return body
        body["followers"] = {"href": None, "total": 0}
        if self.can_read_items(pl, user_id):
            page = self.page(pl, 0, MAX_WRITE_ITEMS)
        else:
            page = {**self._paging(f"playlists/{pl.id}/items", 0, 0, len(pl.items)), "items": []}
        body["items"] = page
        body["tracks"] = page
        return body

    def _paging(self, path: str, offset: int, limit: int, total: int) -> dict[str, Any]:
        def link(off: int) -> str:
            return self._api(f"{path}?offset={off}&limit={limit}")

        return {
            "href": link(offset),
            "limit": limit,
            "offset": offset,
            "total": total,
            "next": link(offset + limit) if limit and offset + limit < total else None,
            "previous": link(max(0, offset - limit)) if offset > 0 and limit else None,
        }

    def page(self, pl: Playlist, offset: int, limit: int) -> dict[str, Any]:
        items = [self.entry_json(e) for e in pl.items[offset : offset + limit]]
        return {
            **self._paging(f"playlists/{pl.id}/items", offset, limit, len(pl.items)),
            "items": items,
        }

    # --- playlists ---------------------------------------------------------------

    def can_read_items(self, pl: Playlist, user_id: str) -> bool:
        return pl.owner_id == user_id or user_id in pl.collaborators

    def _writable(self, playlist_id: str, user_id: str) -> tuple[Playlist | None, Response | None]:
        pl = self.playlists.get(playlist_id)
        if pl is None:
            return None, error(404, "Resource not found")
        if not self.can_read_items(pl, user_id):
            return None, error(403, "You can only modify playlists you own or collaborate on")
        return pl, None

    def _check_uris(self, uris: Any) -> Response | None:
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            return error(400, "uris must be a list of Spotify URIs")
        if len(uris) > MAX_WRITE_ITEMS:
            return error(400, f"Too many items. The maximum is {MAX_WRITE_ITEMS}")
        for u in uris:
            if u not in self.library or self.library[u].kind == "ad":
                return error(400, f"Invalid or unknown URI: {u}")
        return None

    def my_playlists(self, user_id: str, offset: int, limit: int) -> Response:
        if not 0 <= limit <= MAX_PAGE or offset < 0:
            return error(400, "Invalid limit or offset")
        ids = [i for i in self.follows.get(user_id, []) if i in self.playlists]
        items = [
            self.playlist_json(self.playlists[i], full=False, user_id=user_id)
            for i in ids[offset : offset + limit]
        ]
        return 200, {**self._paging("me/playlists", offset, limit, len(ids)), "items": items}, {}

    def post_playlist(self, user_id: str, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            return error(400, "Missing required field: name")
        pl = self.create_playlist(
            user_id,
            body["name"],
            public=bool(body.get("public", True)),
            collaborative=bool(body.get("collaborative", False)),
            description=str(body.get("description") or ""),
        )
        return 201, self.playlist_json(pl, full=True, user_id=user_id), {}

    def get_playlist(self, user_id: str, playlist_id: str) -> Response:
        pl = self.playlists.get(playlist_id)
        if pl is None:
            return error(404, "Resource not found")
        return 200, self.playlist_json(pl, full=True, user_id=user_id), {}

    def get_items(self, user_id: str, playlist_id: str, offset: int, limit: int) -> Response:
        pl = self.playlists.get(playlist_id)
        if pl is None:
            return error(404, "Resource not found")
        if not self.can_read_items(pl, user_id):
            return error(403, "Forbidden: you neither own nor collaborate on this playlist")
        if not 0 <= limit <= MAX_PAGE or offset < 0:
            return error(400, f"Invalid limit: the maximum is {MAX_PAGE}")
        return 200, self.page(pl, offset, limit), {}

    def add_items(
        self, user_id: str, playlist_id: str, body: Any, query: dict[str, str]
    ) -> Response:
        pl, err = self._writable(playlist_id, user_id)
        if err:
            return err
        assert pl is not None
        body = body if isinstance(body, dict) else {"uris": body} if isinstance(body, list) else {}
        uris = query["uris"].split(",") if query.get("uris") else body.get("uris")
        bad = self._check_uris(uris)
        if bad:
            return bad
        position = query.get("position", body.get("position"))
        now = self.clock()
        new = [Entry(u, now, user_id) for u in uris]
        if position is None:
            pl.items.extend(new)
        else:
            pos = int(position)
            if not 0 <= pos <= len(pl.items):
                return error(400, "Index out of bounds")
            pl.items[pos:pos] = new
        pl.new_snapshot()
        return 201, {"snapshot_id": pl.snapshot_id}, {}

    def put_items(
        self, user_id: str, playlist_id: str, body: Any, query: dict[str, str]
    ) -> Response:
        pl, err = self._writable(playlist_id, user_id)
        if err:
            return err
        assert pl is not None
        body = body if isinstance(body, dict) else {}
        if "range_start" in body or "insert_before" in body:
            return self._reorder(pl, body)
        uris = query["uris"].split(",") if query.get("uris") else body.get("uris")
        bad = self._check_uris(uris)
        if bad:
            return bad
        now = self.clock()
        pl.items = [Entry(u, now, user_id) for u in uris]
        pl.new_snapshot()
        return 200, {"snapshot_id": pl.snapshot_id}, {}

    def _reorder(self, pl: Playlist, body: dict[str, Any]) -> Response:
        try:
            start = int(body["range_start"])
            before = int(body["insert_before"])
            length = int(body.get("range_length", 1))
        except (KeyError, TypeError, ValueError):
            return error(400, "range_start and insert_before must be integers")
        snap = body.get("snapshot_id")
        # Stricter than Spotify (which rebases): a stale snapshot is refused, so a
        # reorder computed against an old copy can never scramble the playlist.
        if snap is not None and snap != pl.snapshot_id:
            return error(400, "snapshot_id is not the playlist's current snapshot")
        n = len(pl.items)
        if length < 1 or start < 0 or start + length > n or not 0 <= before <= n:
            return error(400, "Index out of bounds")
        moving = pl.items[start : start + length]
        rest = pl.items[:start] + pl.items[start + length :]
        at = before if before <= start else before - length
        pl.items = rest[:at] + moving + rest[at:]
        pl.new_snapshot()
        return 200, {"snapshot_id": pl.snapshot_id}, {}

    def delete_items(self, user_id: str, playlist_id: str, body: Any) -> Response:
        pl, err = self._writable(playlist_id, user_id)
        if err:
            return err
        assert pl is not None
        entries = body.get("items", body.get("tracks")) if isinstance(body, dict) else None
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("uri"), str) for e in entries
        ):
            return error(400, "items must be a list of {uri} objects")
        if len(entries) > MAX_WRITE_ITEMS:
            return error(400, f"Too many items. The maximum is {MAX_WRITE_ITEMS}")
        gone = {e["uri"] for e in entries}
        pl.items = [e for e in pl.items if e.uri not in gone]
        pl.new_snapshot()
        return 200, {"snapshot_id": pl.snapshot_id}, {}

    # --- player ------------------------------------------------------------------

    def advance(self) -> None:
        """Move the player to where wall-clock time x speed has taken it."""
        p = self.player
        if p.current is None or not p.is_playing:
            return
        now = self.clock()
        while p.current is not None:
            duration = self.library[p.current].duration_ms
            progress = p.anchor_progress_ms + (now - p.anchor_wall) * 1000.0 * self.speed
            if progress < duration:
                return
            ended_at = p.anchor_wall + (duration - p.anchor_progress_ms) / (1000.0 * self.speed)
            self._go_next(ended_at)

    def _go_next(self, at: float) -> None:
        p = self.player
        p.anchor_wall, p.anchor_progress_ms = at, 0.0
        if p.queue:
            p.current = p.queue.pop(0)
        elif p.context_index + 1 < len(p.context):
            p.context_index += 1
            p.current = p.context[p.context_index]
        else:
            p.current, p.is_playing = None, False

    def progress_ms(self, now: float | None = None) -> int:
        p = self.player
        if p.current is None:
            return 0
        if not p.is_playing:
            return int(p.anchor_progress_ms)
        now = self.clock() if now is None else now
        elapsed = (now - p.anchor_wall) * 1000.0 * self.speed
        return int(p.anchor_progress_ms + elapsed)

    def device_json(self) -> dict[str, Any]:
        return {
            "id": DEVICE_ID,
            "is_active": self.devices_active,
            "is_private_session": False,
            "is_restricted": False,
            "name": "emotune sandbox player",
            "type": "Computer",
            "volume_percent": 70,
            "supports_volume": True,
        }

    def devices(self) -> Response:
        return 200, {"devices": [self.device_json()] if self.has_device else []}, {}

    def _control_allowed(self, user_id: str) -> Response | None:
        if self.users[user_id]["product"] != "premium":
            return error(403, "Player command failed: Premium required", "PREMIUM_REQUIRED")
        if not (self.has_device and self.devices_active):
            return error(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE")
        return None

    def playback(self, *, full: bool) -> Response:
        self.advance()
        p = self.player
        if p.current is None:
            return 204, None, {}
        # One clock reading for both: progress is the position at `timestamp` exactly
        # (two readings drift apart by their gap times `speed`).
        stamp_ms = int(self.clock() * 1000)
        body: dict[str, Any] = {
            "timestamp": stamp_ms,
            "progress_ms": self.progress_ms(stamp_ms / 1000),
            "is_playing": p.is_playing,
            "item": self.track_json(p.current),
            "currently_playing_type": self.library[p.current].kind,
            "actions": {"pausing": not p.is_playing, "resuming": p.is_playing},
        }
        if full:
            body.update(device=self.device_json(), repeat_state="off", shuffle_state=False)
        return 200, body, {}

    def play(self, user_id: str, body: Any) -> Response:
        bad = self._control_allowed(user_id)
        if bad:
            return bad
        self.advance()
        p = self.player
        body = body if isinstance(body, dict) else {}
        uris = body.get("uris")
        if uris is not None:
            if not isinstance(uris, list) or not uris:
                return error(400, "uris must be a non-empty list")
            for u in uris:
                if u not in self.library:
                    return error(400, f"Invalid or unknown URI: {u}")
            p.context, p.context_index, p.current = list(uris), 0, uris[0]
            p.anchor_progress_ms = float(body.get("position_ms", 0))
        elif p.current is None:
            return error(404, "Player command failed: Nothing to resume", "NO_ACTIVE_DEVICE")
        p.anchor_wall, p.is_playing = self.clock(), True
        return 204, None, {}

    def pause(self, user_id: str) -> Response:
        bad = self._control_allowed(user_id)
        if bad:
            return bad
        self.advance()
        p = self.player
        if p.current is not None and p.is_playing:
            p.anchor_progress_ms = float(self.progress_ms())
            p.anchor_wall, p.is_playing = self.clock(), False
        return 204, None, {}

    def next(self, user_id: str) -> Response:
        bad = self._control_allowed(user_id)
        if bad:
            return bad
        self.advance()
        playing = self.player.is_playing
        self._go_next(self.clock())
        self.player.is_playing = playing and self.player.current is not None
        return 204, None, {}

    def add_to_queue(self, user_id: str, uri: str | None) -> Response:
        bad = self._control_allowed(user_id)
        if bad:
            return bad
        if not uri or uri not in self.library:
            return error(400, f"Invalid or unknown URI: {uri}")
        self.advance()
        self.player.queue.append(uri)
        return 204, None, {}

    def get_queue(self) -> Response:
        self.advance()
        p = self.player
        current = self.track_json(p.current) if p.current else None
        upcoming = p.queue + p.context[p.context_index + 1 :]
        return (
            200,
            {"currently_playing": current, "queue": [self.track_json(u) for u in upcoming]},
            {},
        )

    # --- faults ------------------------------------------------------------------

    def rate_limited(self) -> int | None:
        """Seconds to wait when the rolling window is full (the request is not counted)."""
        if self.rate_limit is None:
            return None
        limit, window_s = self.rate_limit
        now = self.clock()
        self.request_times = [t for t in self.request_times if t > now - window_s]
        if len(self.request_times) >= limit:
            return max(1, int(self.request_times[0] + window_s - now + 0.999))
        self.request_times.append(now)
        return None

    def take_fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.matches(method, path):
                if f.skip > 0:
                    f.skip -= 1
                    return None
                f.times -= 1
                return f
        return None
