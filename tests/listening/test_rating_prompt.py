"""`listen --rate`: the question after a track never holds up the session.

The listener may take a minute to answer; meanwhile the next track plays and its EEG must be
classified and credited to it. Real parts: a counter outlet over loopback LSL (SYNTHETIC EEG),
the Spotify emulator's player, a migrated SQLite store; only the person answering is a thread.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from app.config import load_settings
from app.db.models import Listen, SelfRating, Track, TrackTag
from app.jobs.listen import ListenOptions, step_for_playback_rate
from app.spotify import client_from_settings
from classifier.lsl_source import EEGSource
from playlists.emulator import start_emulator
from tests.listening.e2e_helpers import in_process_session, login_to_emulator, synthetic_tracks
from tests.listening.lsl_helpers import counter_outlet
from tests.waiting import wait_for

SPEED = 4.0


class SlowListener:
    """Answers the first question only when `answer` is set; rates only the arousal of the
    second (valence left blank); skips the ones after it."""

    def __init__(self) -> None:
        self.answer = threading.Event()
        self.asked: list[tuple[float, str]] = []

    def __call__(self, info: dict[str, Any]) -> tuple[int | None, int | None] | None:
        self.asked.append((time.time(), info["track"]))
        if len(self.asked) == 2:
            return None, 5  # excited; how pleasant, the listener does not say
        if len(self.asked) > 2:
            return None
        assert self.answer.wait(timeout=90), "the test never answered"
        return 4, 2  # pleasant, calm


def test_the_next_track_is_tagged_while_the_rating_question_waits(
    monkeypatch, store, seeded_untrained_model, emotune_home
) -> None:
    first, second = synthetic_tracks(["happy", "sad"], duration_ms=int(6 * SPEED * 1000))
    second = dataclasses.replace(second, duration_ms=int(120 * SPEED * 1000))  # outlasts the test
    events: list[dict] = []
    person = SlowListener()
    stop = threading.Event()
    with start_emulator(speed=SPEED, tracks=[first, second]) as emulator:
        login_to_emulator(monkeypatch, emulator.url)
        client = client_from_settings(load_settings())
        with counter_outlet() as source_id:
            source = EEGSource(source_id=source_id, resolve_timeout_s=10)
            source.connect()
            session = in_process_session(
                store, source, seeded_untrained_model, client, emotune_home,
                ListenOptions(
                    duration_s=300.0, playback_rate=SPEED, min_windows_per_listen=1,
                    poll_interval_s=step_for_playback_rate(SPEED),
                    stride_s=step_for_playback_rate(SPEED),
                ),
                events, ask_rating=person, stop=stop,
            )  # fmt: skip
            runner = threading.Thread(target=session.run, daemon=True)
            runner.start()
            try:
                assert wait_for(lambda: any(e["event"] == "session" for e in events), 30)
                client.start_playback([first.uri, second.uri])

                def on_second() -> list[dict]:
                    return [
                        e
                        for e in list(events)
                        if e["event"] == "window"
                        and e["track"] == second.name
                        and e["placement"] == "inside"
                    ]

                # The first track has ended and its question is open: the session goes on.
                assert wait_for(lambda: len(person.asked) == 1, 60), "never asked"
                assert wait_for(lambda: len(on_second()) >= 4, 60), "no windows while asking"
                windows_while_open = len(on_second())
                person.answer.set()
                assert wait_for(lambda: any(e["event"] == "rating" for e in events), 30)
            finally:
                person.answer.set()
                stop.set()
                runner.join(timeout=60)
                source.close()
    assert not runner.is_alive()
    kinds = [e["event"] for e in events]
    # The answer came after the second track's windows were classified, not before.
    assert kinds.index("rating") > kinds.index("listen_start", kinds.index("listen_end"))
    assert windows_while_open >= 4
    rating_tag = next(
        e for e in events[kinds.index("rating") :] if e["event"] == "tag"
    )  # the answered track is re-tagged at once: self-ratings outrank EEG
    assert (rating_tag["track"], rating_tag["source"], rating_tag["emotion"]) == (
        first.name,
        "self",
        "calm",
    )
    assert rating_tag["basis"] == "self"
    with store.session() as db:
        rated = {
            db.get(Track, db.get(Listen, r.listen_id).track_id).spotify_id: r
            for r in db.scalars(select(SelfRating))
        }
        assert set(rated) == {first.id, second.id}
        assert (rated[first.id].valence, rated[first.id].arousal) == (4, 2)
        tag = db.get(TrackTag, db.get(Listen, rated[first.id].listen_id).track_id)
        assert tag.source == "self" and tag.quadrant == "calm"
        # The second track's question (at the session's end) was answered on arousal alone:
        # valence is stored unrated and its tag keeps the EEG's valence.
        assert (rated[second.id].valence, rated[second.id].arousal) == (None, 5)
        tag = db.get(TrackTag, db.get(Listen, rated[second.id].listen_id).track_id)
        assert tag.source == "self+eeg" and tag.arousal == 1.0 and tag.basis != "self"
    assert [name for _, name in person.asked] == [first.name, second.name]
    last_rating = [e for e in events if e["event"] == "rating"][-1]
    assert (last_rating["track"], last_rating["valence"], last_rating["arousal"]) == (
        second.name,
        None,
        5,
    )


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("4\n2\n", (4, 2)),
        ("\n5\n", (None, 5)),  # Enter leaves valence blank
        ("3\n\n", (3, None)),  # ...or arousal
        ("\n\n", None),  # both blank: the track is skipped
        ("9\nhigh\n1\n5\n", (1, 5)),  # not 1-5: asked again
        ("", None),  # Ctrl-D
    ],
)
def test_the_rating_question_lets_one_dimension_go_blank(typed: str, answer) -> None:
    from click.testing import CliRunner

    from app.cli.listen import _ask_rating

    with CliRunner().isolation(input=typed) as (_, err, _):
        assert _ask_rating({"track": "Sunny"}) == answer
    asked = err.getvalue().decode()
    assert "Enter leaves one blank" in asked
    if typed.startswith("9"):
        assert "'9': give 1-5, or press Enter to leave it blank" in asked
