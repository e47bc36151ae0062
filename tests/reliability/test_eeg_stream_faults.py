"""EEG stream faults against the real `emotune listen`, while `emotune sync` writes the same store.

One listening session (real subprocesses: fault outlets over loopback LSL, `python -m app
listen --json --source-id ...`, the Spotify emulator's player) meets, in order: NaN and +inf
bursts, a stall followed by a catch-up burst at 10x the sample rate, the outlet dying, a
second stream of the same name appearing, the outlet returning, its clock jumping forward,
the outlet dying and returning twice more. Meanwhile `emotune sync` runs again and again against
the same SQLite store, and the test itself edits tags there. SYNTHETIC EEG throughout.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from app.config import load_settings
from app.db.engine import open_store
from app.db.models import ListeningSession, StreamGap, TrackTag, WindowPrediction
from app.spotify import client_from_settings
from classifier.raw_store import read_fif
from playlists.emulator import SampleTrack, start_emulator
from tests.listening.e2e_helpers import (
    login_to_emulator,
    read_events,
    wait_for_ended_gaps,
    wait_for_event,
    wait_for_events,
)
from tests.reliability.helpers import (
    counter_holes,
    emotune,
    playlists_snapshot,
    start_emotune,
    start_fault_outlet,
    stop,
    tag_track_ids,
    unique_id,
    windows_lost,
)
from tests.waiting import wait_for

LONG_TRACK = SampleTrack(
    id="0SynthReliabilityTrk01",
    name="Synthetic reliability track",
    duration_ms=600_000,
    artists=(("0SynthArtist0000000001", "Synthetic Artist"),),
)
OUTAGES = 3  # the headset's stream dies and comes back this many times in the session
DECOY_COUNTER = 1_000_000.0  # the decoy stream's counter starts here: its samples are obvious
# The outlets' scripted phases and the pauses between them, from the trigger to the last
# outage's end: 16.4 s + 3.5 + 11 + 3.5 + 5 + 3.5. The session lasts at least this long.
SCRIPTED_S = 42.9
# The most one `emotune sync` (a fresh process: interpreter, imports, store, a few requests
# to the emulator) should take beside the listener and the outlets on a 2-core machine:
# 0.6-1.2 s idle (about 70 syncs in a 51 s session), about 1.8 s with both cores busy with
# other work (24 in a session). Syncs held up by a locked store (the busy timeout is 30 s)
# would make the count below fall far short; the budget leaves room for a slow machine.
SYNC_BUDGET_S = 4.0
# Between syncs the loop rests this long: syncs still overlap the listener's writes all
# session, without one interpreter start after another taking a core from the listener
# (and from the rest of the suite beside it).
SYNC_PAUSE_S = 2.0


def _sync_loop(store_url: str, ids: list[str], done: threading.Event, runs: list) -> None:
    """`emotune sync` again and again; before each, flip one tag so every sync has writes.

    runs: (started, ended, completed process) per sync, times in time.monotonic().
    """
    store = open_store(store_url)
    try:
        i = 0
        while not done.is_set():
            with store.session() as db:
                tag = db.scalars(select(TrackTag).order_by(TrackTag.track_id)).all()[i % 4]
                tag.quadrant = "sad" if tag.quadrant == "happy" else "happy"
                tag.valence = 0.1 if tag.quadrant == "sad" else 0.9
                tag.arousal = 0.1 if tag.quadrant == "sad" else 0.9
            started = time.monotonic()
            run = emotune("sync", "--json", timeout=90)
            runs.append((started, time.monotonic(), run))
            i += 1
            done.wait(SYNC_PAUSE_S)
    finally:
        store.close()


def _bad_sample_windows(raw, windows: list, bad) -> list:  # noqa: ANN001
    """The stored windows whose span holds raw samples that `bad` flags (NaN, or inf)."""
    flagged = raw.timestamps[bad(raw.samples[:, :4]).any(axis=1)]
    return [w for w in windows if np.any((flagged >= w.start_time) & (flagged < w.end_time))]


def test_stream_faults_during_a_session_with_sync_writing_the_same_store(
    monkeypatch, store, seeded_untrained_model, tmp_path: Path, faults
) -> None:
    source_id, decoy_id = unique_id(), unique_id("MuseDECOY")
    trigger = tmp_path / "go"
    outlets = []
    runs: list = []
    done = threading.Event()
    with start_emulator(speed=1.0, tracks=[LONG_TRACK]) as emu:
        login_to_emulator(monkeypatch, emu.url)
        extra = emu.add_tracks([200_000] * 8, name_prefix="Synthetic Sync Sample")
        tag_track_ids(store, emu, extra, ["happy", "happy", "sad", "calm"] * 2)
        own_before = playlists_snapshot(emu)
        first = start_fault_outlet(
            {
                "source_id": source_id,
                "phases": [
                    ["until_file", str(trigger)],
                    ["normal", 5.0],
                    ["nan", 0.6],
                    ["normal", 3.0],
                    ["inf", 0.6],
                    ["normal", 3.0],
                    ["stall_burst", 1.2],
                    ["normal", 3.0],
                ],
                "then": "exit",
            }
        )
        outlets.append(first)
        try:
            events_path = tmp_path / "events.jsonl"
            listener = start_emotune(
                "listen",
                "--json",
                "--source-id",
                source_id,
                "--duration",
                "300",
                "--min-windows",
                "3",
                stdout=events_path.open("w"),
            )  # fmt: skip  (ended by Ctrl-C below; 300 s only bounds a hung run)
            wait_for_event(events_path, "session", timeout_s=90)
            client_from_settings(load_settings()).start_playback([LONG_TRACK.uri])
            trigger.touch()
            session_from = time.monotonic()
            syncer = threading.Thread(
                target=_sync_loop,
                args=(load_settings().database_url, extra, done, runs),
                daemon=True,
            )
            syncer.start()
            first.wait(timeout=60)  # the outlet dies ...
            # ... and while it is gone, another stream of the same name appears.
            outlets.append(
                start_fault_outlet(
                    {
                        "source_id": decoy_id,
                        "counter_start": DECOY_COUNTER,
                        "phases": [],
                        "then": "forever",
                    }
                )
            )
            time.sleep(3.5)
            second = start_fault_outlet(
                {
                    "source_id": source_id,
                    "counter_start": 100_000,
                    "phases": [["normal", 5.0], ["jump", 20.0], ["normal", 6.0]],
                    "then": "exit",
                }
            )
            outlets.append(second)
            second.wait(timeout=60)
            time.sleep(3.5)
            third = start_fault_outlet(
                {"source_id": source_id, "counter_start": 200_000, "phases": [["normal", 5.0]],
                 "then": "exit"}
            )  # fmt: skip
            outlets.append(third)
            third.wait(timeout=60)
            time.sleep(3.5)
            outlets.append(
                start_fault_outlet(
                    {"source_id": source_id, "counter_start": 300_000, "phases": [],
                     "then": "forever"}
                )
            )  # fmt: skip
            # End on events, not on a clock: a slow machine must still see every outage end
            # and classify a few windows after the last one before the session is stopped.
            back_at = max(wait_for_ended_gaps(events_path, OUTAGES, timeout_s=120))
            wait_for_events(
                events_path, "window", 3, timeout_s=60, where=lambda e: e["start"] >= back_at
            )
            session_to = time.monotonic()
            listener.send_signal(signal.SIGINT)
            _, listen_err = listener.communicate(timeout=120)
        finally:
            done.set()
            for proc in outlets:
                stop(proc)
            if "listener" in locals() and listener.poll() is None:
                stop(listener)  # the test failed while it ran: show what it said
                print("listener stderr:", listener.stderr.read()[-4000:])
        syncer.join(timeout=120)
        final = emotune("sync", "--json")  # after the storm, one more sync converges
        own_after = playlists_snapshot(emu)

    # The outlets ran their scripts to the end: every fault below was really sent.
    scripted = outlets[:1] + outlets[2:4]
    assert [proc.returncode for proc in scripted] == [0, 0, 0], [
        proc.stderr.read()[-2000:] for proc in scripted
    ]
    during = [run for started, _, run in runs if started < session_to]
    store_fault = f"store: listen + {len(during)} syncs + tag edits at once"
    for name, times in (
        ("eeg: NaN burst", 1),
        ("eeg: +inf burst", 1),
        ("eeg: stall then 10x-rate catch-up burst", 1),
        ("eeg: outlet died and came back", OUTAGES),
        ("eeg: second stream of the same name", 1),
        ("eeg: sender clock jumped forward 20 s", 1),
        (store_fault, 1),
    ):
        faults.inject(name, times)

    events = read_events(events_path)
    with store.session() as db:
        session = db.scalar(select(ListeningSession))
        gaps = list(db.scalars(select(StreamGap).order_by(StreamGap.started_at)))
        windows = list(db.scalars(select(WindowPrediction).order_by(WindowPrediction.start_time)))
        tags = {t.track_id: t.quadrant for t in db.scalars(select(TrackTag))}
    raw = read_fif(Path(session.raw_path))
    counter = raw.samples[:, raw.channel_labels.index("Right AUX")]
    decoy_samples = int(np.sum(counter >= DECOY_COUNTER))
    holes, repeats = counter_holes(counter)
    lost = windows_lost(
        raw.timestamps, raw.rate_hz, [(w.start_time, w.end_time) for w in windows], tail_s=2.0
    )
    starts = [round(w.start_time, 3) for w in windows]
    duplicate_windows = len(starts) - len(set(starts))
    no_loss = holes == 0 and repeats == 0 and lost == 0 and duplicate_windows == 0
    # NaN and +inf windows (found by the stored samples they span) are rejected with a
    # reason, never classified, never dropped.
    nan_windows = _bad_sample_windows(raw, windows, np.isnan)
    inf_windows = _bad_sample_windows(raw, windows, np.isinf)

    def refused(bad: list) -> bool:
        return bool(bad) and all(
            w.rejected and (w.reject_reason or "").startswith("NaN/inf") and w.p_valence is None
            for w in bad
        )

    # Every outage a gap that ended, with no window across it and windows classified after.
    def outage_survived(g: StreamGap) -> bool:
        return (
            g.ended_at is not None
            and g.ended_at > g.started_at
            and all(w.end_time <= g.started_at + 1e-6 or w.start_time >= g.ended_at - 1e-6
                    for w in windows)
            and any(not w.rejected and w.start_time >= g.ended_at - 1e-6 for w in windows)
        )  # fmt: skip

    # After the clock jump no stored sample lands back in the past (beyond jitter), and the
    # windows still land on the track that was playing.
    on_track = [w for w in windows if w.listen_id is not None]
    reanchored = np.diff(raw.timestamps).min() > -1.0 and len(on_track) >= len(windows) - 1
    reanchored = reanchored and any(not w.rejected for w in on_track)
    # Sync: one playlist per emotion, no item twice, the user's other playlists untouched.
    names = [name for name, _, _ in own_after.values() if name.startswith("emotune · ")]
    duplicate_playlists = len(names) - len(set(names))
    duplicate_items = sum(
        len(items) - len(set(items))
        for name, _, items in own_after.values()
        if name.startswith("emotune · ")
    )
    untouched = {pid: v for pid, v in own_after.items() if pid in own_before} == own_before
    # Syncs ran throughout the session, not once: it lasted at least SCRIPTED_S, and a sync
    # that was not held up takes under SYNC_BUDGET_S (then a pause), so at least this many
    # started in it.
    min_syncs = int(SCRIPTED_S / (SYNC_BUDGET_S + SYNC_PAUSE_S))
    sync_errors = [run.stderr for run in [*during, final] if run.returncode != 0]
    locked = "locked" in listen_err + "".join(run.stderr for run in [*during, final])
    store_ok = (
        listener.returncode == 0
        and not locked
        and not sync_errors
        and len(during) >= min_syncs
        and duplicate_playlists == duplicate_items == 0
        and untouched
        and len(tags) >= 8
    )
    faults.measured(
        windows_lost=lost,
        data_lost=holes + decoy_samples,
        duplicates=duplicate_windows + duplicate_playlists + duplicate_items + repeats,
    )
    faults.survived("eeg: NaN burst", refused(nan_windows) and no_loss)
    faults.survived("eeg: +inf burst", refused(inf_windows) and no_loss)
    faults.survived("eeg: stall then 10x-rate catch-up burst", no_loss)
    faults.survived("eeg: outlet died and came back", min(OUTAGES, sum(map(outage_survived, gaps))))
    faults.survived(
        "eeg: second stream of the same name",
        decoy_samples == 0 and session.stream_source_id == source_id,
    )
    faults.survived("eeg: sender clock jumped forward 20 s", reanchored and no_loss)
    faults.survived(store_fault, store_ok)

    assert listener.returncode == 0, listen_err
    assert not locked and sync_errors == [], sync_errors[:1]
    assert len(during) >= min_syncs, (len(during), session_to - session_from)
    # The listener kept its own headset: the session names it, and no decoy sample was stored.
    assert session.stream_source_id == source_id and session.ended_at is not None
    assert decoy_samples == 0
    assert reanchored
    assert len(gaps) == OUTAGES and all(map(outage_survived, gaps)), gaps
    assert [e["event"] for e in events].count("gap") == OUTAGES
    assert refused(nan_windows) and refused(inf_windows), (len(nan_windows), len(inf_windows))
    assert untouched
    assert holes == 0 and repeats == 0
    assert duplicate_windows == 0 and duplicate_playlists == 0 and duplicate_items == 0
    # Every window the stored raw EEG holds was classified and stored (but the session's end).
    assert lost == 0, lost
    assert len(tags) >= 8


def test_without_a_source_id_the_source_never_switches_to_another_headset(faults) -> None:
    """Connected to one headset, the source waits for it: a second one of the same name
    (another person's Muse in the room) is not adopted when the first drops out."""
    from classifier.lsl_source import EEGSource

    name = unique_id("MuseNAME")  # a stream name of this test's own: no other test's streams
    mine, other = unique_id(), unique_id("MuseOTHER")
    first = start_fault_outlet({"name": name, "source_id": mine, "phases": [], "then": "forever"})
    source = EEGSource(name=name, resolve_timeout_s=20, gap_after_s=1.0)
    second = back = None
    try:
        source.connect()
        assert wait_for(lambda: source.buffer.written >= 256, 20)
        stop(first)
        second = start_fault_outlet(
            {"name": name, "source_id": other, "counter_start": DECOY_COUNTER, "phases": [],
             "then": "forever"}
        )  # fmt: skip
        fault = "eeg: another headset's stream while ours was gone (no --source-id)"
        faults.inject(fault)
        time.sleep(5.0)  # ample time to (wrongly) adopt the other stream
        switched = source.snapshot_status().reconnects
        back = start_fault_outlet(
            {"name": name, "source_id": mine, "counter_start": 500_000, "phases": [],
             "then": "forever"}
        )  # fmt: skip
        came_back = wait_for(lambda: source.snapshot_status().reconnects >= 1, 30)
        written = source.buffer.written
        resumed = came_back and wait_for(lambda: source.buffer.written >= written + 256, 20)
        samples, _, _, _ = source.buffer.read_since(0)
    finally:
        source.close()
        for proc in (first, second, back):
            stop(proc)
    counter = samples[:, 4]
    others = int(np.sum(counter >= DECOY_COUNTER))
    kept = switched == 0 and others == 0 and source.description.source_id == mine
    faults.survived(fault, kept and resumed)
    assert switched == 0 and others == 0
    assert source.description.source_id == mine
    assert came_back and resumed  # our own headset, once back, is read again


def _read_a_scripted_sender(phases: list, seconds: float) -> tuple:
    """Connect an EEGSource to a fault outlet playing `phases` (then running on) and read
    `seconds` of its samples: (samples [n, 5], stamps [n] Unix s, time.time() when read,
    the source's status)."""
    from classifier.lsl_source import EEGSource

    source_id = unique_id()
    outlet = start_fault_outlet({"source_id": source_id, "phases": phases, "then": "forever"})
    source = EEGSource(source_id=source_id, resolve_timeout_s=20)
    try:
        source.connect()
        assert wait_for(lambda: source.buffer.written >= 256 * seconds, 30)
        samples, stamps, _, _ = source.buffer.read_since(0)
        return samples, stamps, time.time(), source.snapshot_status()
    finally:
        source.close()
        stop(outlet)


def test_sender_clock_set_back_and_forward_again_keeps_stored_time_running_forward(
    faults,
) -> None:
    """The sender's clock steps back 30 s (NTP, a laptop waking up) and later forward again:
    every stamp the source hands on still runs forward, one sample period apart, near now."""
    phases = [["normal", 3.0], ["jump", -30.0], ["normal", 3.0], ["jump", 30.0], ["normal", 3.0]]
    samples, stamps, now, status = _read_a_scripted_sender(phases, seconds=10)
    fault = "eeg: sender clock set back 30 s, then forward again"
    faults.inject(fault)
    steps = np.diff(stamps)
    holes, repeats = counter_holes(samples[:, 4])
    faults.measured(data_lost=holes, duplicates=repeats)
    # Back: re-anchored sample to sample. Forward: the stamps return to now, so the one
    # step forward is no longer than how far behind the re-anchored stamps had fallen.
    forward_only = steps.min() > 0 and np.sum(steps > 0.5) <= 1 and abs(stamps[-1] - now) < 2.0
    faults.survived(fault, holes == 0 and repeats == 0 and forward_only)
    assert holes == 0 and repeats == 0
    assert status.clock_jumps == 2, status  # both steps were seen
    assert steps.min() > 0, steps.min()  # never back in time
    assert np.sum(steps > 0.5) <= 1, np.sort(steps)[-3:]
    assert abs(stamps[-1] - now) < 2.0


def test_sender_clock_jumping_ahead_mid_connection_leaves_no_step_in_stored_time(faults) -> None:
    """The sender's clock jumps 20 s ahead while connected: the samples after the jump follow
    on from the one before it, one sample period apart, so stored time holds exactly as many
    seconds as samples (a step there once made a stretch look one window longer than it was)."""
    phases = [["normal", 3.0], ["jump", 20.0], ["normal", 3.0]]
    samples, stamps, now, status = _read_a_scripted_sender(phases, seconds=8)
    fault = "eeg: sender clock jumped 20 s ahead mid-connection"
    faults.inject(fault)
    steps = np.diff(stamps)
    holes, repeats = counter_holes(samples[:, 4])
    faults.measured(data_lost=holes, duplicates=repeats)
    contiguous = bool(np.abs(steps - 1.0 / 256).max() < 1e-3)
    faults.survived(fault, holes == 0 and repeats == 0 and contiguous and stamps[-1] < now + 1.0)
    assert holes == 0 and repeats == 0
    assert status.clock_jumps == 1, status  # the jump was seen
    assert contiguous, np.sort(np.abs(steps - 1.0 / 256))[-3:]
    assert now - 5.0 < stamps[-1] < now + 1.0  # back near this computer's clock


def test_a_restarted_sender_whose_clock_is_behind_resumes_at_now_after_the_gap(faults) -> None:
    """The headset's stream comes back from a sender whose clock is a minute behind: its
    samples are placed after the outage (ending now), not a minute in the past."""
    from classifier.lsl_source import EEGSource

    source_id = unique_id()
    first = start_fault_outlet({"source_id": source_id, "phases": [["normal", 3.0]]})
    source = EEGSource(source_id=source_id, resolve_timeout_s=20, gap_after_s=1.0)
    back = None
    try:
        source.connect()
        first.wait(timeout=30)
        time.sleep(2.0)
        back = start_fault_outlet(
            {"source_id": source_id, "counter_start": 100_000, "phases": [["jump", -60.0]],
             "then": "forever"}
        )  # fmt: skip
        fault = "eeg: restarted sender's clock a minute behind"
        faults.inject(fault)
        came_back = wait_for(lambda: source.snapshot_status().reconnects >= 1, 30)
        written = source.buffer.written
        read = came_back and wait_for(lambda: source.buffer.written >= written + 512, 20)
        samples, stamps, _, _ = source.buffer.read_since(0)
        now = time.time()
        status = source.snapshot_status()
    finally:
        source.close()
        stop(first)
        stop(back)
    resumed = int(np.argmax(samples[:, 4] >= 100_000))
    outage = stamps[resumed] - stamps[resumed - 1]
    gap = status.gaps[0] if len(status.gaps) == 1 else None
    placed = (
        read
        and resumed > 0
        and np.diff(stamps).min() > 0
        and 1.5 < outage < 15.0  # the outage, not a minute back
        and gap is not None
        and gap.ended_at is not None
        and gap.ended_at - gap.started_at == outage
        and abs(stamps[-1] - now) < 2.0
    )
    faults.survived(fault, placed)
    assert came_back and read and resumed > 0
    assert np.diff(stamps).min() > 0
    assert 1.5 < outage < 15.0, outage
    assert len(status.gaps) == 1, status.gaps
    assert gap.ended_at is not None and gap.ended_at - gap.started_at == outage
    assert abs(stamps[-1] - now) < 2.0
