"""End to end: simulated headset over real LSL + the emulator's player + the real `emotune listen`.

Everything is a separate real part: the simulated Muse is `emotune simulate muse` in its own
process (SYNTHETIC EEG), the Spotify emulator is an HTTP server spotipy talks to, and the
listener is `emotune listen --json` in its own process writing to a real SQLite store.
"""

from __future__ import annotations

import signal
import time
import uuid

import numpy as np
from sqlalchemy import select

from app.config import load_settings
from app.db.models import (
    Listen,
    ListeningSession,
    SelfRating,
    StreamGap,
    Track,
    TrackTag,
    WindowPrediction,
)
from app.spotify import client_from_settings
from classifier.raw_store import read_fif
from playlists.emulator import start_emulator
from tests.listening.e2e_helpers import (
    login_to_emulator,
    read_events,
    start_listener,
    start_simulator,
    synthetic_tracks,
    wait_for_ended_gaps,
    wait_for_event,
    wait_for_events,
    wait_for_stream,
)

# The emulator plays 8 track-seconds per wall second; `listen --playback-rate 8` then reads
# a window every 0.25 s, so an 8-s track (64 s of track time) still gets its windows.
SPEED = 8.0
TRACK_WALL_S = 8.0


def test_three_tracks_three_moods_three_tags(monkeypatch, store, demo_model, tmp_path):
    moods = ["happy", "sad", "tense"]
    tracks = synthetic_tracks(moods, duration_ms=int(TRACK_WALL_S * SPEED * 1000))
    source_id = f"MuseE2E-{uuid.uuid4().hex[:6]}"
    # The simulated listener feels each track's scripted mood while it plays.
    feelings = tmp_path / "track-moods.txt"
    feelings.write_text("".join(f"{t.uri} {m}\n" for t, m in zip(tracks, moods, strict=True)))
    with start_emulator(speed=SPEED, tracks=tracks) as emulator:
        login_to_emulator(monkeypatch, emulator.url)
        simulator = start_simulator(
            ["--follow-player", str(feelings), "--mood", "calm", "--counter"], source_id
        )
        try:
            wait_for_stream(source_id)
            events_path = tmp_path / "events.jsonl"
            listener = start_listener(
                ["--duration", "300", "--playback-rate", str(SPEED), "--min-windows", "5"],
                events_path,
                source_id,
            )  # ended by Ctrl-C once the third track's listen has ended; 300 s bounds a hang
            wait_for_event(events_path, "session")
            client_from_settings(load_settings()).start_playback([t.uri for t in tracks])
            wait_for_events(events_path, "listen_end", 3, timeout_s=3 * TRACK_WALL_S + 60)
            listener.send_signal(signal.SIGINT)
            _, stderr = listener.communicate(timeout=60)
            assert listener.returncode == 0, stderr
        finally:
            simulator.kill()
            simulator.wait()

    events = read_events(events_path)
    assert [e["track"] for e in events if e["event"] == "listen_start"] == [t.name for t in tracks]
    with store.session() as db:
        listens = list(db.scalars(select(Listen).order_by(Listen.started_at)))
        assert [db.get(Track, li.track_id).spotify_id for li in listens] == [t.id for t in tracks]
        for listen in listens:
            windows = list(
                db.scalars(select(WindowPrediction).where(WindowPrediction.listen_id == listen.id))
            )
            assert len(windows) >= 8, listen.id
            # Every window credited to a listen lies wholly inside one of its playing segments.
            for w in windows:
                assert any(a <= w.start_time and w.end_time <= b for a, b in listen.segments)
        assert listens[0].completed and listens[1].completed
        tags = {db.get(Track, t.track_id).spotify_id: t for t in db.scalars(select(TrackTag))}
        assert len(tags) == 3 and all(t.source == "eeg" for t in tags.values())
        # With the demo model on SYNTHETIC moods, the quadrants come out as scripted.
        assert [tags[t.id].quadrant for t in tracks] == moods
        session = db.scalar(select(ListeningSession))
        assert session.ended_at is not None and session.stream_clock == "unix"
        raw = read_fif(__import__("pathlib").Path(session.raw_path))
    # The sample counter in AUX: the stored raw EEG has every sample, in order.
    counter = raw.samples[:, raw.channel_labels.index("Right AUX")]
    np.testing.assert_allclose(np.diff(counter), 1.0, atol=1e-6)
    assert {e["event"] for e in events} >= {"session", "window", "listen_end", "tag", "session_end"}


def test_outlet_killed_mid_track_and_nan_bursts(
    monkeypatch, store, seeded_untrained_model, tmp_path
):
    """The headset's stream dies mid-track and comes back with NaN bursts: the session goes on."""
    # Long enough that the listen ends at Ctrl-C below, not at the track's end.
    [track] = synthetic_tracks(["happy"], duration_ms=int(120 * SPEED * 1000))
    source_id = f"MuseE2E-{uuid.uuid4().hex[:6]}"
    with start_emulator(speed=SPEED, tracks=[track]) as emulator:
        login_to_emulator(monkeypatch, emulator.url)
        first = start_simulator(["--mood", "happy"], source_id)
        try:
            wait_for_stream(source_id)
            events_path = tmp_path / "events.jsonl"
            listener = start_listener(
                [
                    "--duration",
                    "300",
                    "--playback-rate",
                    str(SPEED),
                    "--min-windows",
                    "3",
                    "--rate",
                ],
                events_path,
                source_id,
            )
            wait_for_event(events_path, "session")
            client_from_settings(load_settings()).start_playback([track.uri])
            wait_for_events(
                events_path, "window", 3, timeout_s=60,
                where=lambda w: not w["rejected"] and w["placement"] == "inside",
            )  # fmt: skip
            first.kill()  # the headset drops out mid-track, its windows stored ...
            first.wait()
            time.sleep(4.5)  # (the gap, this plus the restart, must last over 4 s)
            # ... and comes back (same source id, as a restarted `muselsl stream`), with NaN bursts
            second = start_simulator(["--mood", "happy", "--nan-every", "8"], source_id)
            wait_for_stream(source_id)
            back_visible_at = time.time()  # (after its start-up, slower on a busy machine)
            # End on events, not on a clock: the outage has ended, and after it the listener
            # has rejected a NaN window and classified a clean one.
            [back_at] = wait_for_ended_gaps(events_path, 1, timeout_s=60)
            wait_for_events(
                events_path, "window", 1, timeout_s=60,
                where=lambda w: w["start"] >= back_at - 1e-6
                and (w["reason"] or "").startswith("NaN/inf"),
            )  # fmt: skip
            wait_for_events(
                events_path, "window", 1, timeout_s=60,
                where=lambda w: w["start"] >= back_at - 1e-6 and not w["rejected"] and w["track"],
            )  # fmt: skip
            listener.send_signal(signal.SIGINT)
            # --rate: the listener asks for valence and arousal when the track's listen ends.
            _, stderr = listener.communicate(input="4\n2\n", timeout=90)
            assert listener.returncode == 0, stderr
            assert "valence" in stderr and "arousal" in stderr
        finally:
            first.kill()
            if "second" in locals():
                second.kill()
                second.wait()

    events = read_events(events_path)
    with store.session() as db:
        [gap] = list(db.scalars(select(StreamGap)))
        # The gap lasts the outage, and ends soon after the stream is back: the listener
        # picks it up within seconds of its return, however long the sender took to start.
        assert gap.ended_at is not None and gap.ended_at - gap.started_at > 4.0
        assert gap.ended_at < back_visible_at + 5.0, gap.ended_at - back_visible_at
        [listen] = list(db.scalars(select(Listen)))
        windows = list(db.scalars(select(WindowPrediction).order_by(WindowPrediction.start_time)))
        # No window spans the gap: each lies in the stream before it or after it.
        assert all(
            w.end_time <= gap.started_at + 1e-6 or w.start_time >= gap.ended_at - 1e-6
            for w in windows
        )
        before = [w for w in windows if w.end_time <= gap.started_at + 1e-6]
        after = [w for w in windows if w.start_time >= gap.ended_at - 1e-6]
        assert before and after
        rejected = [w for w in after if w.rejected]
        assert rejected and all(w.reject_reason.startswith("NaN/inf") for w in rejected)
        assert all(w.p_valence is None for w in rejected)
        assert any(not w.rejected and w.listen_id == listen.id for w in after)
        rating = db.scalar(select(SelfRating))
        assert (rating.listen_id, rating.valence, rating.arousal) == (listen.id, 4, 2)
        tag = db.get(TrackTag, listen.track_id)  # still tagged, and self-ratings outrank EEG
        assert tag.source == "self" and tag.quadrant == "calm"
    assert [e["event"] for e in events].count("gap") == 1
