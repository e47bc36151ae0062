"""Pieces of the end-to-end listening tests: emulator login, simulator and listener processes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playlists.emulator import SampleTrack
from tests.waiting import wait_for

# Made-up 22-character ids: these tracks exist only in the test's emulator.
SYNTHETIC_TRACK_IDS = ("0SynthHappyTrack000001", "0SynthSadTrack00000002", "0SynthTenseTrack000003")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_tracks(moods: list[str], duration_ms: int) -> list[SampleTrack]:
    return [
        SampleTrack(
            id=SYNTHETIC_TRACK_IDS[i],
            name=f"Synthetic {mood} track",
            duration_ms=duration_ms,
            artists=(("0SynthArtist0000000001", "Synthetic Artist"),),
        )
        for i, mood in enumerate(moods)
    ]


def login_to_emulator(monkeypatch, emulator_url: str) -> None:
    """Point emotune at the emulator and complete the real PKCE flow headlessly."""
    from app.config import load_settings
    from app.spotify import login

    monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", emulator_url)
    monkeypatch.setenv("SPOTIPY_REDIRECT_URI", f"http://127.0.0.1:{free_port()}/callback")
    login(
        load_settings(),
        open_url=lambda url: urllib.request.urlopen(url, timeout=10).read(),
        show=lambda text: None,
        timeout_s=20,
    )


def start_simulator(args: list[str], source_id: str) -> subprocess.Popen:
    """`emotune simulate muse ...` as its own process (a real LSL outlet)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "simulate", "muse", "--source-id", source_id, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_listener(args: list[str], events: Path, source_id: str) -> subprocess.Popen:
    """`emotune listen --json ...` as its own process, events to a file, stdin a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", "listen", "--json", "--source-id", source_id, *args],
        stdin=subprocess.PIPE,
        stdout=events.open("w"),
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        text=True,
    )


def wait_for_stream(source_id: str, timeout_s: float = 20.0) -> None:
    from classifier.lsl_discovery import find_streams

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(s.source_id == source_id for s in find_streams("Muse", timeout_s=1.0)):
            return
    raise AssertionError(f"simulated stream {source_id} never appeared")


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_event(path: Path, kind: str, timeout_s: float = 60.0) -> dict:
    """Wait until the listener has written an event of `kind` (e.g. "session": it is ready)."""
    return wait_for_events(path, kind, 1, timeout_s)[0]


def wait_for_events(
    path: Path,
    kind: str,
    n: int,
    timeout_s: float = 60.0,
    where: Callable[[dict], bool] | None = None,
) -> list[dict]:
    """Wait until the listener has written `n` events of `kind` (that satisfy `where`)."""

    def found() -> list[dict]:
        events = read_events_tolerant(path) if path.exists() else []
        return [e for e in events if e.get("event") == kind and (where is None or where(e))]

    assert wait_for(lambda: len(found()) >= n, timeout_s, interval_s=0.1), (
        f"the listener wrote {len(found())} of {n} {kind!r} events in {timeout_s:g} s; "
        + event_summary(path)
    )
    return found()


def ended_gaps(path: Path) -> list[float]:
    """The ends (Unix s) of the outages the listener has reported as over so far. A gap seen
    only after it ended is one `gap` event that carries its end; else a `gap_end` follows."""
    events = read_events_tolerant(path) if path.exists() else []
    return [
        float(e["ended_at"])
        for e in events
        if e.get("event") in ("gap", "gap_end") and e.get("ended_at")
    ]


def wait_for_ended_gaps(path: Path, n: int, timeout_s: float = 60.0) -> list[float]:
    """Wait until `n` outages have ended; their ends, Unix s."""
    assert wait_for(lambda: len(ended_gaps(path)) >= n, timeout_s, interval_s=0.1), (
        f"{len(ended_gaps(path))} of {n} outages ended in {timeout_s:g} s; " + event_summary(path)
    )
    return ended_gaps(path)


def event_summary(path: Path) -> str:
    """What the listener has said so far: event counts, and its gap events in full."""
    events = read_events_tolerant(path) if path.exists() else []
    counts: dict[str, int] = {}
    for e in events:
        counts[e.get("event", "?")] = counts.get(e.get("event", "?"), 0) + 1
    gaps = [e for e in events if e.get("event") in ("gap", "gap_end")]
    return f"events {counts}; gaps {gaps}"


def read_events_tolerant(path: Path) -> list[dict]:
    """Events written so far (a line still being written is skipped)."""
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def in_process_session(
    store: Any,
    source: Any,
    model_path: Path,
    client: Any,
    home: Path,
    options: Any,
    events: list[dict],
    **extra: Any,
) -> Any:
    """A `ListenSession` run in this process (not the CLI) on a connected source, polling
    `client`'s player, with its events appended to `events` (or given to `extra["emit"]`);
    `extra`: ask_rating, stop, emit."""
    from app.jobs.listen import ListenSession, snapshot_from_playback
    from classifier.pipeline import Predictor

    return ListenSession(
        store,
        source,
        Predictor.load(model_path),
        lambda: snapshot_from_playback(client.playback_state(), time.time()),
        model_id=None,
        recordings_dir=home / "recordings",
        options=options,
        **{"emit": events.append, **extra},
    )
