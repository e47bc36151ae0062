"""The emulator enforces each route's OAuth scopes exactly as the bundled OpenAPI file lists
them, answering Spotify's 403 body; emotune asks for every scope its calls need, and turns
a login without one into a one-line "run `emotune login`"."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

import playlists
from playlists.client import SCOPES, make_client
from playlists.emulator import start_emulator
from playlists.emulator.server import PLAYLIST, ROUTES, SCOPES_NEEDED
from playlists.errors import PlaylistsError
from tests.playlists.helpers import CLIENT_ID, redirect_uri

SPEC = Path(playlists.__file__).parent / "openapi" / "spotify-open-api.yml"
INSUFFICIENT = {"error": {"status": 403, "message": "Insufficient client scope"}}
# emotune before issue 12 asked for these: GET /me/player/currently-playing was not among them.
OLD_SCOPES = frozenset(SCOPES) - {"user-read-currently-playing"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def emu():
    with start_emulator() as handle:
        yield handle


def spec_scopes(spec: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(METHOD, /v1 path with `PID` for every path parameter) -> the operation's scopes."""
    out = {}
    for path, ops in spec["paths"].items():
        concrete = "/v1" + re.sub(r"\{[^}]+\}", "PID", path)
        for method, op in ops.items():
            if isinstance(op, dict) and "security" in op:
                scopes = {s for req in op["security"] for s in req.get("oauth_2_0", [])}
                out[(method.upper(), concrete)] = scopes
    return out


def route_path(pattern: re.Pattern[str], pid: str) -> str:
    return pattern.pattern.strip("^$").replace(PLAYLIST, pid)


def spec_scopes_by_route(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Every route the emulator serves -> the scopes its one operation in the spec lists."""
    listed = spec_scopes(spec)
    served = {}
    for method, pattern, name in ROUTES:
        matches = [scopes for (m, p), scopes in listed.items() if m == method and pattern.match(p)]
        assert len(matches) == 1, f"{method} {pattern.pattern}: {len(matches)} operations"
        served[name] = matches[0]
    return served


def answer(emu: Any, method: str, url: str, scopes: set[str]) -> tuple[int, Any]:
    """(status, JSON body or None) of one request with a token granting `scopes`."""
    token = emu.issue_token(frozenset(scopes))["access_token"]
    got = requests.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return got.status_code, got.json() if got.content else None


def test_every_route_needs_exactly_the_scopes_the_spec_lists(spec) -> None:
    served = spec_scopes_by_route(spec)
    assert set(served) == set(SCOPES_NEEDED)  # no table entry for a route not served
    assert {name: set(SCOPES_NEEDED[name]) for name in served} == served
    assert served["currently_playing"] == {"user-read-currently-playing"}


def test_a_token_without_any_of_a_routes_scopes_gets_spotifys_403(emu, spec) -> None:
    flows = spec["components"]["securitySchemes"]["oauth_2_0"]["flows"]
    every_scope = set(flows["authorizationCode"]["scopes"])
    pid = emu.sample_mix_id()
    needs = spec_scopes_by_route(spec)
    for method, pattern, name in ROUTES:
        if name == "me":  # its scopes choose fields: see the test below
            continue
        url = emu.url + route_path(pattern, pid)
        if needs[name]:
            lacking = every_scope - needs[name]
            assert answer(emu, method, url, lacking) == (403, INSUFFICIENT), (method, url)
        for scope in needs[name] or {""}:  # any one listed scope is enough; none: no scope
            assert answer(emu, method, url, {scope} - {""})[0] != 403, (method, url, scope)


def test_a_token_without_user_read_currently_playing_cannot_poll_the_player(emu) -> None:
    old = emu.issue_token(OLD_SCOPES)["access_token"]
    url = f"{emu.url}/v1/me/player/currently-playing"
    got = requests.get(url, headers={"Authorization": f"Bearer {old}"}, timeout=10)
    assert (got.status_code, got.json()) == (403, INSUFFICIENT)
    assert answer(emu, "GET", url, set(SCOPES))[0] in (200, 204)  # emotune's scopes now do


def test_me_answers_any_token_and_its_scopes_choose_the_private_fields(emu) -> None:
    def me(scopes: frozenset[str]) -> dict[str, Any]:
        status, body = answer(emu, "GET", f"{emu.url}/v1/me", set(scopes))
        assert status == 200
        return body

    plain = me(frozenset(SCOPES))  # emotune asks for neither user-read-private nor -email
    assert plain["id"] and not {"product", "country", "email"} & set(plain)
    assert {"product", "country"} <= set(me(frozenset({"user-read-private"})))
    assert "email" in me(frozenset({"user-read-email"}))


def test_a_403_for_a_missing_scope_is_one_line_naming_emotune_login(emu, tmp_path: Path) -> None:
    # The token file says the scope was granted; Spotify's token does not carry it.
    token = emu.issue_token(OLD_SCOPES)
    token.update(scope=" ".join(SCOPES), expires_at=int(time.time()) + token["expires_in"])
    path = tmp_path / "token.json"
    path.write_text(json.dumps(token))
    client = make_client(CLIENT_ID, redirect_uri(), path, api_url=emu.url)
    with pytest.raises(PlaylistsError) as caught:
        client.playback_state()
    message = str(caught.value)
    assert "\n" not in message and "run `emotune login`" in message
    assert "Insufficient client scope" in message and "currently-playing" in message
