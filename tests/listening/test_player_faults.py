"""A listening session outlives a failing player: polls that fail are skipped, EEG goes on."""

from __future__ import annotations

import dataclasses
import threading

from sqlalchemy import func, select

from app.config import load_settings
from app.db.models import Listen, WindowPrediction
from app.jobs.listen import ListenOptions
from app.spotify import client_from_settings
from classifier.lsl_source import EEGSource
from playlists.emulator import start_emulator
from tests.listening.e2e_helpers import in_process_session, login_to_emulator, synthetic_tracks
from tests.listening.lsl_helpers import counter_outlet


def test_session_survives_a_500_storm_on_the_player(
    monkeypatch, store, seeded_untrained_model, emotune_home
) -> None:
    [track] = synthetic_tracks(["happy"], duration_ms=120_000)
    events: list[dict] = []
    heard = threading.Event()  # the first window credited to the track ends the session

    def emit(event: dict) -> None:
        events.append(event)
        if event["event"] == "window" and event["placement"] == "inside":
            heard.set()

    with start_emulator(tracks=[track]) as emulator:
        login_to_emulator(monkeypatch, emulator.url)
        client = client_from_settings(load_settings())
        # Fail fast: the session, not the client's retries, is under test.
        client.policy = dataclasses.replace(client.policy, max_retries=0)
        client.start_playback([track.uri])
        # Every currently-playing request fails for a while (the client gives up on each).
        emulator.inject_fault("500", times=6, path="/v1/me/player/currently-playing")
        with counter_outlet() as source_id:
            source = EEGSource(source_id=source_id, resolve_timeout_s=10)
            source.connect()
            session = in_process_session(
                store, source, seeded_untrained_model, client, emotune_home,
                # The player is polled 4 times a second: the storm passes in 1.5 s, not 6.
                ListenOptions(duration_s=30.0, min_windows_per_listen=1, poll_interval_s=0.25),
                events, stop=heard, emit=emit,
            )  # fmt: skip
            summary = session.run()
            source.close()
    assert heard.is_set(), "no window was credited to the track within 30 s"
    assert summary.player_errors >= 3
    assert [e["event"] for e in events].count("player_error") == summary.player_errors
    with store.session() as db:
        # Once polls succeeded again the track was heard: a listen with windows on it.
        [listen] = list(db.scalars(select(Listen)))
        on_track = db.scalar(
            select(func.count())
            .select_from(WindowPrediction)
            .where(WindowPrediction.listen_id == listen.id)
        )
        assert on_track >= 1
