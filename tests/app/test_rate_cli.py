"""`emotune rate`: a self-rating on a listen already stored, the track re-tagged at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli.main import app
from app.db import repository
from app.db.models import SelfRating, TrackTag
from tests.factories import T0, add_listen_with_windows

TRACK_ID = "4uLU6hMCjMI75M1A2tKUQC"
OTHER_ID = "0SyntheticRateTrack001"


def rate_json(cli, *args: str) -> dict:
    result = cli.invoke(app, ["rate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def listened(store) -> dict[str, int]:
    """Two listens of TRACK_ID (happy EEG), then one of OTHER_ID: listen ids by name."""
    with store.session() as db:
        track = repository.upsert_track(db, spotify_id=TRACK_ID, name="Sunny")
        other = repository.upsert_track(db, spotify_id=OTHER_ID, name="Later")
        first = add_listen_with_windows(db, track.id, [(0.9, 0.8)] * 12, started_at=T0)
        second = add_listen_with_windows(db, track.id, [(0.9, 0.8)] * 12, started_at=T0 + 500)
        last = add_listen_with_windows(db, other.id, [(0.2, 0.9)] * 12, started_at=T0 + 900)
        for t in (track, other):
            repository.recompute_track_tag(db, t.id)
        return {"first": first.id, "second": second.id, "last": last.id, "track": track.id}


def test_rate_tags_the_most_recent_listen_of_the_track_and_replaces_a_rating(
    cli, store, listened
) -> None:
    out = rate_json(cli, f"spotify:track:{TRACK_ID}", "--valence", "1", "--arousal", "2")
    assert out["listen_id"] == listened["second"] and not out["replaced"]
    assert out["tag"]["emotion"] == "sad"  # the rating outranks the happy EEG
    assert out["tag"]["source"] == out["tag"]["basis"] == "self"
    with store.session() as db:
        tag = db.get(TrackTag, listened["track"])
        assert (tag.quadrant, tag.source, tag.basis) == ("sad", "self", "self")

    url = f"https://open.spotify.com/track/{TRACK_ID}?si=abc"
    again = cli.invoke(app, ["rate", url, "--valence", "5", "--arousal", "4"])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("re-rated Sunny (listen ") and "-> tag happy" in again.stdout
    with store.session() as db:
        [rating] = db.scalars(select(SelfRating)).all()  # one rating per listen, updated
        assert (rating.listen_id, rating.valence, rating.arousal) == (listened["second"], 5, 4)
        assert db.get(TrackTag, listened["track"]).quadrant == "happy"


def test_rate_last_rates_the_most_recent_listen(cli, store, listened) -> None:
    out = rate_json(cli, "--last", "--valence", "4", "--arousal", "1")
    assert out["listen_id"] == listened["last"] and out["track"] == "Later"
    assert out["tag"]["emotion"] == "calm"
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(SelfRating)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["7GhIk7Il098yCjg4BQjzvb", "--valence", "3", "--arousal", "3"],
            "no listen of 7GhIk7Il098yCjg4BQjzvb recorded yet; play it during `emotune listen` "
            "or bring it in with `emotune import-recording`",
        ),
        ([TRACK_ID, "--valence", "6", "--arousal", "3"], "--valence must be a whole number 1-5"),
        ([TRACK_ID, "--valence", "3", "--arousal", "0"], "--arousal must be a whole number 1-5"),
        ([TRACK_ID], "give --valence 1-5, --arousal 1-5 or both"),
        (["--valence", "3", "--arousal", "3"], "give a TRACK (Spotify link, URI or id) or --last"),
        ([TRACK_ID, "--last", "--valence", "3", "--arousal", "3"], "give a TRACK"),
        (["hello", "--valence", "3", "--arousal", "3"], "'hello' is not a Spotify track"),
    ],
)
def test_rate_refuses_bad_input_in_one_line(cli, store, listened, args, message) -> None:
    result = cli.invoke(app, ["rate", *args])
    assert result.exit_code == 1
    assert result.stderr.startswith("emotune: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(SelfRating)) == 0


def test_one_dimension_alone_is_rated_and_the_tag_keeps_the_eeg_for_the_other(
    cli, store, listened
) -> None:
    # The EEG of Sunny says valence 0.9, arousal 0.8 (happy); the listener knows only that
    # it felt calm (arousal 1) and leaves valence blank: no valence is invented.
    out = rate_json(cli, TRACK_ID, "--arousal", "1")
    assert (out["valence"], out["arousal"]) == (None, 1)
    tag = out["tag"]
    assert (tag["valence"], tag["arousal"], tag["emotion"]) == (0.9, 0.0, "calm")
    assert tag["source"] == "self+eeg" and tag["basis"] == "generic"  # valence: the EEG's
    with store.session() as db:
        [rating] = db.scalars(select(SelfRating)).all()
        assert (rating.valence, rating.arousal) == (None, 1)  # NULL in the store

    # Re-rating replaces the rating as a whole, and says what the dimension left out was.
    again = cli.invoke(app, ["rate", TRACK_ID, "--valence", "2"])
    assert again.exit_code == 0, again.output
    assert "valence 2, arousal unrated (was 1) -> tag tense" in again.stdout
    assert "the unrated dimension from the EEG" in again.stdout
    with store.session() as db:
        [rating] = db.scalars(select(SelfRating)).all()
        assert (rating.valence, rating.arousal) == (2, None)
        tag_row = db.get(TrackTag, listened["track"])
        assert (tag_row.valence, tag_row.arousal) == (0.25, pytest.approx(0.8))


def test_one_dimension_rated_with_no_eeg_for_the_other_gives_no_tag(cli, store) -> None:
    with store.session() as db:
        track = repository.upsert_track(db, spotify_id=OTHER_ID, name="Unheard")
        add_listen_with_windows(db, track.id, [(0.9, 0.9)] * 3, rejected={0, 1, 2})
    result = cli.invoke(app, ["rate", OTHER_ID, "--valence", "5"])
    assert result.exit_code == 0, result.output
    assert "valence 5, arousal unrated; no tag yet" in result.stdout
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(TrackTag)) == 0
        assert db.scalar(select(SelfRating.valence)) == 5


def test_rate_last_with_no_listens_says_how_to_get_one(cli, store) -> None:
    result = cli.invoke(app, ["rate", "--last", "--valence", "3", "--arousal", "3"])
    assert result.exit_code == 1
    assert "no listens recorded yet" in result.stderr and "emotune listen" in result.stderr


def test_a_listen_rated_with_rate_feeds_calibration(
    cli, store, seeded_untrained_model, tmp_path: Path
) -> None:
    from app.jobs.calibrate import rated_segments
    from classifier.synthetic import synthetic_muse_eeg, write_muselsl_csv

    csv = write_muselsl_csv(
        tmp_path / "synthetic.csv", synthetic_muse_eeg(40.0, "calm", seed=3), start_time=T0
    )
    start = datetime.fromtimestamp(T0 + 5, UTC).isoformat()
    imported = cli.invoke(
        app,
        ["import-recording", str(csv), "--track", f"spotify:track:{TRACK_ID}",
         "--start", start, "--duration", "30"],
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    assert rated_segments(store) == []  # nothing rated yet: nothing to calibrate on

    rate_json(cli, TRACK_ID, "--valence", "4", "--arousal", "1")
    [segment] = rated_segments(store)  # the one playing stretch of the rated listen
    assert (segment.valence, segment.arousal, segment.group) == (4.0, 1.0, TRACK_ID)
    assert segment.timestamps[0] >= T0 + 5 and segment.timestamps[-1] <= T0 + 35
    # Rated on arousal alone: valence is no label (None), not a number made up for it.
    rate_json(cli, TRACK_ID, "--arousal", "1")
    [segment] = rated_segments(store)
    assert (segment.valence, segment.arousal) == (None, 1.0)
