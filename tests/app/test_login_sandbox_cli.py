"""`emotune sandbox` as a real process and `emotune login` against it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from app.cli.main import app
from playlists.emulator import start_emulator
from tests.playlists.helpers import free_port, redirect_uri


def test_login_headless_against_the_emulator_saves_a_0600_token(
    cli, monkeypatch, emotune_home: Path
) -> None:
    with start_emulator() as emu:
        monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", emu.url)
        monkeypatch.setenv("SPOTIPY_REDIRECT_URI", redirect_uri())
        result = cli.invoke(app, ["login", "--headless"])
        assert result.exit_code == 0, result.output
        assert "logged in to Spotify as Emulator User;" in result.stdout
        token = emotune_home / "spotify-token.json"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        assert "access_token" not in result.output  # the token is never printed


def test_login_with_a_redirect_without_port_is_a_clear_error(cli, monkeypatch) -> None:
    monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SPOTIPY_REDIRECT_URI", "http://127.0.0.1/callback")
    result = cli.invoke(app, ["login", "--no-browser"])
    assert result.exit_code == 1 and "needs a port" in result.stderr


def test_sandbox_process_serves_login_and_sync(tmp_path: Path, emotune_home: Path) -> None:
    port = free_port()
    env = {**os.environ, "EMOTUNE_SPOTIFY_URL": f"http://127.0.0.1:{port}"}
    env["SPOTIPY_REDIRECT_URI"] = redirect_uri()
    cmd = [sys.executable, "-c", "from app.cli.main import run; run()"]
    sandbox = subprocess.Popen(
        [*cmd, "sandbox", "--port", str(port), "--speed", "5"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = sandbox.stdout.readline()
        assert f"127.0.0.1:{port}" in first and "synthetic" in first
        login = subprocess.run(
            [*cmd, "login", "--headless"], env=env, capture_output=True, text=True, timeout=60
        )
        assert login.returncode == 0, login.stderr
        sync = subprocess.run(
            [*cmd, "sync", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert sync.returncode == 0, sync.stderr
        assert '"playlists"' in sync.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
