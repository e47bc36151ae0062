"""Shared helpers for tests that drive spotipy over HTTP against the local emulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playlists.client import SpotifyClient, headless_open_url, login, make_client
from playlists.emulator import EmulatorHandle, start_emulator

CLIENT_ID = "emotune-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


def logged_in_client(emu: EmulatorHandle, token_path: Path, **kwargs: Any) -> SpotifyClient:
    """Log in through the real PKCE flow (headless) and return a client on that token."""
    uri = redirect_uri()
    login(
        CLIENT_ID, uri, token_path, api_url=emu.url, open_url=headless_open_url, show=lambda _: None
    )
    return make_client(CLIENT_ID, uri, token_path, api_url=emu.url, **kwargs)


@contextmanager
def app_emulator(monkeypatch: Any, **kwargs: Any) -> Iterator[EmulatorHandle]:
    """An emulator the app's settings point at, with `emotune login` already done."""
    from app.config import load_settings
    from app.spotify import login as app_login

    with start_emulator(**kwargs) as emu:
        monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", emu.url)
        monkeypatch.setenv("SPOTIPY_REDIRECT_URI", redirect_uri())
        app_login(load_settings(), open_url=headless_open_url, show=lambda _: None)
        yield emu


def tag_tracks(
    store: Any, emu: EmulatorHandle, tags: list[tuple[float, float, float]]
) -> list[str]:
    """Store the first len(tags) sample tracks with (valence, arousal, confidence) tags."""
    from app.db import repository
    from app.db.models import TrackTag
    from app.emotions import quadrant

    ids = emu.sample_track_ids()[: len(tags)]
    with store.session() as db:
        for track_id, (v, a, c) in zip(ids, tags, strict=True):
            t = emu.track(track_id)
            row = repository.upsert_track(
                db, spotify_id=track_id, name=t.name, duration_ms=t.duration_ms
            )
            tag = db.get(TrackTag, row.id) or TrackTag(track_id=row.id)
            tag.valence, tag.arousal, tag.confidence = v, a, c
            tag.quadrant, tag.source, tag.n_windows, tag.n_listens = quadrant(v, a), "eeg", 10, 1
            db.add(tag)
    return [f"spotify:track:{i}" for i in ids]
