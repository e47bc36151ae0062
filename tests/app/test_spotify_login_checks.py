"""A Spotify login that no longer serves emotune says `emotune login` in one line: one saved
before emotune asked for user-read-currently-playing, one revoked, one expired beyond refresh;
`emotune doctor` finds these with one GET /me instead of trusting the token file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from app.cli.main import app
from app.config import load_settings
from playlists.client import SCOPES
from playlists.emulator import EmulatorHandle, start_emulator
from tests.playlists.helpers import app_emulator, redirect_uri

# What emotune asked for before issue 12: the player poll's own scope was missing.
OLD_SCOPES = frozenset(SCOPES) - {"user-read-currently-playing"}


@pytest.fixture
def old_login(monkeypatch) -> Iterator[EmulatorHandle]:
    """An emulator and a token file as an older emotune saved it (0600, its scopes)."""
    with start_emulator() as emu:
        monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", emu.url)
        monkeypatch.setenv("SPOTIPY_REDIRECT_URI", redirect_uri())
        token = emu.issue_token(OLD_SCOPES)
        token["expires_at"] = int(time.time()) + token["expires_in"]
        path = load_settings().token_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(token, fh)
        yield emu


def spotify_check(cli) -> dict:
    result = cli.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1  # no headset nor model here: doctor fails on those anyway
    return next(c for c in json.loads(result.stdout) if c["name"] == "Spotify")


def assert_one_line_naming_login(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "run `emotune login`" in result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_a_login_saved_with_the_old_scopes_is_refused_in_one_line(
    cli, store, seeded_untrained_model, old_login
) -> None:
    listen = cli.invoke(app, ["listen", "--duration", "1", "--json"])
    assert_one_line_naming_login(listen, "user-read-currently-playing")
    assert listen.stdout == ""  # no session was started
    sync = cli.invoke(app, ["sync", "--json"])
    assert_one_line_naming_login(sync, "user-read-currently-playing")
    check = spotify_check(cli)
    assert not check["ok"] and "user-read-currently-playing" in check["detail"]
    assert old_login.request_counts() == {"read": 0, "write": 0}  # refused before any call


def test_doctor_asks_spotify_so_a_revoked_login_fails(cli, monkeypatch) -> None:
    with app_emulator(monkeypatch) as emu:
        emu.clear_log()
        good = cli.invoke(app, ["doctor"])
        [line] = [x for x in good.stdout.splitlines() if x.startswith("Spotify")]
        assert line.startswith("Spotify       ok: logged in as Emulator User")
        calls = [(e.method, e.path.rstrip("/")) for e in emu.exchanges()]
        assert calls == [("GET", "/v1/me")]  # one cheap call

        emu.revoke_tokens()  # the user removed emotune at spotify.com/account/apps
        revoked = cli.invoke(app, ["doctor"])
        assert revoked.exit_code == 1
        [line] = [x for x in revoked.stdout.splitlines() if x.startswith("Spotify")]
        assert line.startswith("Spotify       fail: ") and line.endswith("run `emotune login`")


def test_doctor_fails_a_login_expired_beyond_refresh(cli, monkeypatch) -> None:
    with app_emulator(monkeypatch) as emu:
        assert spotify_check(cli)["ok"]
        emu.expire_tokens()
        assert spotify_check(cli)["ok"]  # an expired access token is refreshed: still fine
        emu.world.refresh_tokens.clear()  # the refresh token is no longer valid either
        emu.expire_tokens()
        check = spotify_check(cli)
        assert not check["ok"] and check["detail"].endswith("run `emotune login`")
