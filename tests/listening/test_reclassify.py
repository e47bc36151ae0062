"""import-recording and reclassify on real files: CSV in, FIF kept, windows placed, tags made."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from app.cli.main import app
from app.db.models import Listen, ListeningSession, TrackTag, WindowPrediction
from app.errors import ConfigError
from app.jobs.reclassify import parse_start, track_id_from
from classifier.synthetic import synthetic_muse_eeg, write_muselsl_csv

TRACK = "spotify:track:4uLU6hMCjMI75M1A2tKUQC"
T0 = 1_790_000_000.0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.fixture
def synthetic_recording(tmp_path: Path) -> Path:
    samples = synthetic_muse_eeg(40.0, "happy", seed=1)
    return write_muselsl_csv(tmp_path / "synthetic-happy.csv", samples, start_time=T0)


def test_import_then_reclassify(cli, store, seeded_untrained_model, synthetic_recording) -> None:
    # The track started 5 s into the recording and played 30 s.
    result = cli.invoke(
        app,
        ["import-recording", str(synthetic_recording), "--track", TRACK,
         "--start", _iso(T0 + 5), "--duration", "30", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["windows"] == 37  # 40 s, 4 s windows every 1 s
    assert imported["kept"] == 27  # windows wholly inside [5 s, 35 s]
    with store.session() as db:
        session = db.scalar(select(ListeningSession))
        assert Path(session.raw_path).exists() and session.raw_path.endswith("_raw.fif")
        listen = db.scalar(select(Listen))
        assert listen.completed and listen.segments == [[T0 + 5, T0 + 35]]
        stored = db.scalar(select(func.count()).select_from(WindowPrediction))
        on_track = db.scalar(
            select(func.count())
            .select_from(WindowPrediction)
            .where(WindowPrediction.listen_id == listen.id)
        )
        assert (stored, on_track) == (37, 27)
        tag_before = db.get(TrackTag, listen.track_id)
        assert tag_before is not None and tag_before.n_windows <= 27
        before = (tag_before.valence, tag_before.arousal, tag_before.n_windows)

    # Re-classifying with the same model replaces the windows and gives the same tag.
    result = cli.invoke(app, ["reclassify", "--json"])
    assert result.exit_code == 0, result.output
    [again] = [json.loads(line) for line in result.stdout.splitlines()]
    assert again["windows"] == 37 and again["kept"] == 27 and again["tracks_retagged"] == 1
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(WindowPrediction)) == 37
        tag = db.scalar(select(TrackTag))
        assert (tag.valence, tag.arousal, tag.n_windows) == pytest.approx(before)


def test_import_refuses_bad_track_and_time(cli, store, seeded_untrained_model, synthetic_recording):
    bad_track = cli.invoke(
        app, ["import-recording", str(synthetic_recording), "--track", "hello", "--start", _iso(T0)]
    )
    assert bad_track.exit_code == 1 and "not a Spotify track" in bad_track.stderr
    too_late = cli.invoke(
        app,
        ["import-recording", str(synthetic_recording), "--track", TRACK, "--start", _iso(T0 + 500)],
    )
    assert too_late.exit_code == 1 and "ends before --start" in too_late.stderr
    with store.session() as db:  # nothing half-written
        assert db.scalar(select(func.count()).select_from(Listen)) == 0


def test_a_recording_no_window_of_which_can_be_read_leaves_nothing_behind(
    cli, store, seeded_untrained_model, tmp_path: Path, emotune_home: Path
) -> None:
    x = synthetic_muse_eeg(20, "calm", seed=4)
    x[:, :4] = 1000.0 * np.sign(np.sin(np.arange(len(x)) / 50.0))[:, None]  # railed, all four
    csv = write_muselsl_csv(tmp_path / "off-head.csv", x, start_time=T0)
    result = cli.invoke(app, ["import-recording", str(csv), "--track", TRACK, "--start", _iso(T0)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "off-head.csv: no window could be read" in result.stderr
    assert "emotune contact" in result.stderr and "nothing was imported" in result.stderr
    with store.session() as db:
        assert db.scalar(select(func.count()).select_from(ListeningSession)) == 0
        assert db.scalar(select(func.count()).select_from(Listen)) == 0
    assert not list((emotune_home / "recordings").glob("*.fif"))


def test_reclassify_without_a_model_says_what_to_do(cli, store) -> None:
    result = cli.invoke(app, ["reclassify"])
    assert result.exit_code == 1 and "emotune model train" in result.stderr


def test_track_and_time_parsing() -> None:
    assert track_id_from("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x") == (
        "4uLU6hMCjMI75M1A2tKUQC"
    )
    assert track_id_from(" 4uLU6hMCjMI75M1A2tKUQC ") == "4uLU6hMCjMI75M1A2tKUQC"
    with pytest.raises(ConfigError):
        track_id_from("spotify:playlist:4uLU6hMCjMI75M1A2tKUQC")
    assert parse_start("2026-11-24T20:15:00Z") == parse_start("2026-11-24T21:15:00+01:00")
    assert np.isclose(parse_start("2026-11-24T20:15:00"), parse_start("2026-11-24T20:15:00Z"))
    with pytest.raises(ConfigError, match="ISO"):
        parse_start("yesterday")


def test_an_aligned_model_stores_the_wearer_statistics_and_reclassify_reproduces_them(
    cli, store, emotune_home, tmp_path
) -> None:
    # Real Muse 2 EEG (eyes closed, good contact) imported with a model that aligns wearers.
    from app.db import repository
    from tests.classifier.test_model import aligned_checkpoint
    from tests.real_muse import take_lines

    path = aligned_checkpoint(emotune_home / "models" / "aligned.pt")
    with store.session() as db:
        repository.register_model(db, name="aligned", kind="eeg", path=str(path), activate=True)
    header, lines = take_lines("A2_05", "EC")
    csv = tmp_path / "eyes-closed.csv"
    csv.write_text("\n".join([header, *lines[: 30 * 256]]) + "\n")
    start = float(lines[0].split(",")[0])
    result = cli.invoke(app, ["import-recording", str(csv), "--track", TRACK,
                              "--start", _iso(start), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output

    def stored() -> tuple[dict, list[tuple[float, float]]]:
        with store.session() as db:
            alignment = db.scalar(select(ListeningSession)).alignment
            probs = db.execute(
                select(WindowPrediction.p_valence, WindowPrediction.p_arousal).order_by(
                    WindowPrediction.start_time
                )
            ).all()
        return alignment, [tuple(p) for p in probs]

    alignment, probs = stored()
    assert alignment["kind"] == "wearer-zscore" and alignment["windows"] == 27
    assert all(5.0 < s < 60.0 for s in alignment["std_uv"])  # µV of this head, per channel
    listed = cli.invoke(app, ["sessions", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["alignment"] == alignment
    assert cli.invoke(app, ["reclassify", "--session", "1"]).exit_code == 0
    assert stored() == (alignment, probs)
