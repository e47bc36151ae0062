"""Every emulator route's responses and the client's requests against the OpenAPI file.

One scenario drives every Web API route through the real client (login, sync-like
writes, reorder, player, queue, rule violations); each logged exchange is then
validated with openapi-core against `playlists/openapi/spotify-open-api.yml`.
Error statuses the file does not declare for a route (e.g. 404 NO_ACTIVE_DEVICE)
are checked against the file's ErrorObject shape instead, and an undeclared 204
from a player route (nothing playing, as Spotify does) must have an empty body.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import playlists
from playlists.emulator import start_emulator
from playlists.emulator.server import ROUTES
from playlists.errors import PlaylistsError
from tests.playlists.helpers import logged_in_client

SPEC = Path(playlists.__file__).parent / "openapi" / "spotify-open-api.yml"


def _with_discriminator_mappings(node):
    """The file's `discriminator: {propertyName: type}` has no mapping; openapi-core then
    looks for a schema literally named "track". Spell out the mapping the file means."""
    if isinstance(node, dict):
        disc = node.get("discriminator")
        if isinstance(disc, dict) and "mapping" not in disc:
            disc["mapping"] = {
                "track": "#/components/schemas/TrackObject",
                "episode": "#/components/schemas/EpisodeObject",
            }
        for value in node.values():
            _with_discriminator_mappings(value)
    elif isinstance(node, list):
        for value in node:
            _with_discriminator_mappings(value)
    return node


@pytest.fixture(scope="module")
def openapi():
    import yaml
    from openapi_core import OpenAPI

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(_with_discriminator_mappings(spec))


def drive_every_route(emu, client) -> None:
    ids = emu.sample_track_ids()
    uris = [f"spotify:track:{i}" for i in ids[:120]]
    client.me()
    client.my_playlists()
    pl = client.create_playlist("emotune · happy", description="synthetic test")
    client.add_items(pl.id, uris[:100])
    client.add_items(pl.id, uris[100:120], position=3)
    [episode] = emu.add_episodes([90_000])
    client.add_items(pl.id, [f"spotify:episode:{episode}"], position=1)  # an EpisodeObject too
    client.playlist_items(pl.id)
    info = client.playlist(pl.id)
    snap = client.reorder_items(pl.id, 0, 10, 2, info.snapshot_id)
    client.remove_items(pl.id, uris[:5], snap)
    client.replace_items(pl.id, uris[:7])
    client._call("GET", client.sp._get, f"playlists/{pl.id}/tracks", limit=50)  # the old route
    friend = next(p for p in emu.friend_playlist_ids() if not emu.playlist(p).collaborative)
    client.playlist(friend)
    with pytest.raises(PlaylistsError):
        client.playlist_items(friend)  # 403
    client.devices()
    client.playback_state()  # 204: nothing playing yet
    client.start_playback(uris[:2])
    client.add_to_queue(uris[50])
    client._call("GET", client.sp.queue)
    client._call("GET", client.sp.current_playback)
    client.next_track()
    time.sleep(0.01)
    client.playback_state()
    client.pause()
    emu.set_device(active=False)
    with pytest.raises(PlaylistsError):
        client.add_to_queue(uris[51])  # 404 NO_ACTIVE_DEVICE
    emu.set_device(active=True)
    emu.inject_fault("429", retry_after_s=0)
    client.me()


def _error_shaped(body: dict, status: int) -> bool:
    err = body.get("error")
    return (
        isinstance(err, dict)
        and err.get("status") == status
        and isinstance(err.get("message"), str)
    )


# openapi-core does not check oauth2 security schemes (it warns); tokens are checked by tests
# of the emulator itself.
@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
def test_every_route_and_request_validates_against_the_openapi_file(openapi, tmp_path) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    with start_emulator(speed=5.0) as emu:
        client = logged_in_client(emu, tmp_path / "token.json")
        drive_every_route(emu, client)
        exchanges = [e for e in emu.exchanges() if e.path.startswith("/v1/")]

    seen_routes = set()
    checked = 0
    for ex in exchanges:
        path = ex.path.rstrip("/")
        for method, pattern, _name in ROUTES:
            if method == ex.method and pattern.match(path):
                seen_routes.add((method, pattern.pattern))
        headers = {**ex.request_headers, "Authorization": "Bearer redacted"}
        content_type = headers.get("Content-Type", "application/json")
        args = dict(re.findall(r"([^&=]+)=([^&]*)", ex.query))
        request = MockRequest(
            "https://api.spotify.com",
            ex.method,
            path,
            args=args,
            headers=headers,
            data=ex.request_body or None,
            content_type=content_type if ex.request_body else None,
        )
        openapi.validate_request(request)
        declared = _declared_statuses(openapi, ex.method, path)
        if ex.status in declared:
            response = MockResponse(
                ex.response_body,
                status_code=ex.status,
                headers=ex.response_headers,
                content_type="application/json" if ex.response_body else None,
            )
            openapi.validate_response(request, response)
        elif ex.status == 204 and path.startswith("/v1/me/player"):
            # Spotify answers 204 when nothing plays; the file omits it for some routes.
            assert ex.response_body == b""
        else:
            assert ex.status >= 400, (ex.method, path, ex.status)
            assert _error_shaped(json.loads(ex.response_body), ex.status)
        checked += 1
    assert seen_routes == {(m, p.pattern) for m, p, _ in ROUTES}  # every route was exercised
    assert checked == len(exchanges) > 25


def _declared_statuses(openapi, method: str, path: str) -> set[int]:
    spec_paths = openapi.spec / "paths"
    for template in spec_paths.keys():  # noqa: SIM118 - a SchemaPath, not a dict
        regex = "^/v1" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(regex, path):
            op = spec_paths / template / method.lower()
            return {int(code) for code in (op / "responses").keys()}  # noqa: SIM118
    raise AssertionError(f"{method} {path} is not in the OpenAPI file")
