"""`kill -9` of `emotune listen` mid-track, then recovery with `emotune reclassify`.

Real parts: a fault outlet (SYNTHETIC EEG with a sample counter) over loopback LSL, the
emulator's player, `python -m app listen --json` killed with SIGKILL, a SQLite store.
(`kill -9` of sync mid-apply is in test_sync_faults.py.)
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import select

from app.config import load_settings
from app.db.models import Listen, ListeningSession, TrackTag, WindowPrediction
from app.spotify import client_from_settings
from classifier.raw_store import read_fif, read_spool
from playlists.emulator import SampleTrack, start_emulator
from tests.listening.e2e_helpers import login_to_emulator, read_events_tolerant, wait_for_event
from tests.reliability.helpers import (
    counter_holes,
    emotune,
    start_emotune,
    start_fault_outlet,
    stop,
    unique_id,
    windows_lost,
)

TRACK = SampleTrack(
    id="0SynthKilledTrack00001",
    name="Synthetic track playing when listen is killed",
    duration_ms=600_000,
    artists=(("0SynthArtist0000000001", "Synthetic Artist"),),
)
TAIL_S = 3.0  # what a kill may cost: the edge guard, one stride and a tick of the loop


def test_listen_killed_mid_track_loses_at_most_the_last_seconds(
    monkeypatch, store, seeded_untrained_model, emotune_home: Path, tmp_path: Path, faults
) -> None:
    # Listen and reclassify alike count a listen from 3 windows (the default is 10).
    (emotune_home / "config.toml").write_text("[listen]\nmin_windows = 3\n")
    source_id = unique_id()
    outlet = start_fault_outlet({"source_id": source_id, "phases": [], "then": "forever"})
    listener = None
    try:
        with start_emulator(speed=1.0, tracks=[TRACK]) as emu:
            login_to_emulator(monkeypatch, emu.url)
            events_path = tmp_path / "events.jsonl"
            listener = start_emotune(
                "listen", "--json", "--source-id", source_id, stdout=events_path.open("w"),
            )  # fmt: skip
            wait_for_event(events_path, "session", timeout_s=90)
            client_from_settings(load_settings()).start_playback([TRACK.uri])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                windows = [e for e in read_events_tolerant(events_path) if e["event"] == "window"]
                if sum(1 for w in windows if w["placement"] == "inside") >= 8:
                    break
                time.sleep(0.2)
            # A reclassify while the session records leaves its spool alone.
            live = emotune("reclassify", "--json")
            assert live.returncode == 0 and live.stdout == "", live.stderr
            time.sleep(1.0)
            listener.kill()  # SIGKILL mid-track
            listener.wait(timeout=10)
    finally:
        stop(outlet)
        stop(listener)
    assert listener.returncode == -9
    faults.inject("process: kill -9 of listen mid-track")

    db_path = load_settings().data_dir / "emotune.db"
    with sqlite3.connect(db_path) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    with store.session() as db:
        session = db.scalar(select(ListeningSession))
        windows = list(db.scalars(select(WindowPrediction)))
        listen = db.scalar(select(Listen))
    assert session.ended_at is None and listen.ended_at is None  # it never got to finish
    spool = load_settings().recordings_dir / f"session-{session.id:05d}.spool"
    assert spool.exists()  # the raw EEG survived the kill
    rec = read_spool(spool)
    holes, repeats = counter_holes(rec.samples[:, rec.channel_labels.index("Right AUX")])
    lost_live = windows_lost(
        rec.timestamps, rec.rate_hz, [(w.start_time, w.end_time) for w in windows], tail_s=TAIL_S
    )
    credited_live = sum(1 for w in windows if w.listen_id == listen.id)
    assert credited_live >= 8

    # Recovery: `emotune reclassify` converts the spool and re-tags the track.
    result = emotune("reclassify", "--json")
    assert result.returncode == 0, result.stderr
    assert f'"session_id": {session.id}' in result.stdout
    with store.session() as db:
        session = db.get(ListeningSession, session.id)
        db.refresh(session)
        windows = list(db.scalars(select(WindowPrediction)))
        tag = db.scalar(select(TrackTag))
    assert session.raw_path and session.raw_path.endswith("_raw.fif") and not spool.exists()
    raw = read_fif(Path(session.raw_path))
    assert len(raw.timestamps) == len(rec.timestamps)  # every spooled sample is in the file
    credited_after = sum(1 for w in windows if w.listen_id == listen.id)
    lost_after = windows_lost(
        raw.timestamps, raw.rate_hz, [(w.start_time, w.end_time) for w in windows]
    )
    faults.measured(windows_lost=lost_live, data_lost=holes, duplicates=repeats)
    faults.survived(
        "process: kill -9 of listen mid-track",
        holes == 0
        and repeats == 0
        and lost_live == 0
        and lost_after == 0
        and credited_after >= credited_live
        and tag is not None
        and tag.n_windows >= 3,
    )
    assert holes == 0 and repeats == 0
    assert lost_live == 0, lost_live  # nothing lost but the last few seconds
    assert lost_after == 0
    # The windows of the killed listen stay credited to its track, which gets its tag.
    assert credited_after >= credited_live
    assert tag is not None and tag.n_windows >= 3
