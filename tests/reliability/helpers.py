"""Pieces the reliability tests share: fault outlets, sync runs, and loss accounting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def unique_id(prefix: str = "MuseREL") -> str:
    """A source id (or stream name) no other test's outlet uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def start_fault_outlet(spec: dict[str, Any]) -> subprocess.Popen:
    """`tests/reliability/fault_outlet.py` in its own process: a real LSL outlet."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.fault_outlet", json.dumps(spec)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
    if proc is not None:
        proc.wait(timeout=10)


def emotune(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """`python -m app ARGS` as its own process with the test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_emotune(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        cwd=REPO,
        env=dict(os.environ),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def tag_track_ids(store: Any, emu: Any, ids: Sequence[str], quadrants: Sequence[str]) -> None:
    """Store tags for emulator tracks: quadrant -> a (valence, arousal) in that quadrant."""
    from app.db import repository
    from app.db.models import TrackTag

    va = {"happy": (0.9, 0.9), "calm": (0.9, 0.1), "sad": (0.1, 0.1), "tense": (0.1, 0.9)}
    with store.session() as db:
        for track_id, q in zip(ids, quadrants, strict=True):
            t = emu.track(track_id)
            row = repository.upsert_track(
                db, spotify_id=track_id, name=t.name, duration_ms=t.duration_ms
            )
            tag = db.get(TrackTag, row.id) or TrackTag(track_id=row.id)
            tag.valence, tag.arousal = va[q]
            tag.confidence, tag.quadrant, tag.source = 0.8, q, "eeg"
            tag.n_windows, tag.n_listens = 10, 1
            db.add(tag)


def expected_windows(stamps: np.ndarray, rate_hz: float, window_s: float = 4.0) -> list:
    """Gap-free stretches of stored raw EEG and how many whole windows (stride 1 s) each holds.

    stamps: [n] Unix s. Returns [(start_s, end_s, n_windows)] with the listener's own split rule.
    """
    from classifier.signal import split_at_gaps

    out = []
    for a, b in split_at_gaps(stamps, rate_hz):
        length = (b - a) / rate_hz
        n = int(np.floor(length - window_s + 1e-9)) + 1 if length >= window_s else 0
        out.append((float(stamps[a]), float(stamps[b - 1]) + 1.0 / rate_hz, n))
    return out


def windows_lost(
    stamps: np.ndarray, rate_hz: float, windows: Sequence[tuple[float, float]], tail_s: float = 0.0
) -> int:
    """Windows the raw EEG holds but the store lacks, per stretch (stride 1 s).

    windows: stored (start, end) Unix s. The last stretch's final `tail_s` seconds are not
    counted (a session that ends, or is killed, cannot classify what follows its last window).
    """
    starts = np.array([w[0] for w in windows])
    ends = np.array([w[1] for w in windows])
    lost = 0
    stretches = expected_windows(stamps, rate_hz)
    for i, (a, b, n) in enumerate(stretches):
        b_counted = b - (tail_s if i == len(stretches) - 1 else 0.0)
        # n counts whole windows by samples; the span in seconds can be a little longer (a
        # re-anchored stamp step), and must not promise a window the samples do not hold.
        n_counted = min(n, max(0, int(np.floor(b_counted - a - 4.0 + 1e-9)) + 1)) if n else 0
        inside = int(np.sum((starts >= a - 1e-3) & (ends <= b + 1e-3))) if len(starts) else 0
        lost += max(0, n_counted - inside)
    return lost


def counter_holes(counter: np.ndarray) -> tuple[int, int]:
    """(samples missing, samples repeated or out of order) in a sample counter.

    Restarted outlets start their counters far apart: those jumps are not holes.
    """
    steps = np.diff(counter)
    holes = steps[(steps > 1) & (steps < 50_000)] - 1
    return int(holes.sum()), int(np.sum(steps <= 0))


def playlists_snapshot(emu: Any) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Every playlist in the emulator: id -> (name, snapshot id, item URIs)."""
    with emu.server.lock:
        return {
            p.id: (p.name, p.snapshot_id, tuple(e.uri for e in p.items))
            for p in emu.world.playlists.values()
        }
