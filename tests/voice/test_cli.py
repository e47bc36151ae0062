"""`emotune voice ...` end to end on the synthetic set, with the real store in tmp_path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.cli.main import app
from classifier.voice.dataset import SAMPLE_RATE
from classifier.voice.synthetic import synthetic_clip, write_synthetic_ravdess


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("emotune: error:"), result.stderr
    assert fragment in lines[0], lines[0]


def test_train_saves_registers_and_activates(cli, store, synthetic_ravdess: Path) -> None:
    result = cli.invoke(
        app,
        ["voice", "train", "--ravdess", str(synthetic_ravdess), "--test-actors", "5-6"]
        + ["--n-iter", "3", "--json"],
    )
    summary = _json(result)
    assert summary["train_actors"] == [1, 2, 3, 4]
    assert summary["held_out"]["test_actors"] == [5, 6]
    assert summary["held_out"]["accuracy"] > summary["held_out"]["majority_rate"]
    assert Path(summary["held_out"]["confusion_png"]).exists()
    assert Path(summary["path"]).exists()

    from app.db import repository

    with store.session() as db:
        active = repository.active_model(db, "voice")
        assert active is not None and active.id == summary["model_id"]
        assert active.path == summary["path"]
        assert active.metrics["held_out"]["accuracy"] == summary["held_out"]["accuracy"]
        assert "CC BY-NC-SA" in active.description


def test_evaluate_json_shape_and_folds(cli, synthetic_ravdess: Path, tmp_path: Path) -> None:
    png = tmp_path / "confusion.png"
    result = cli.invoke(
        app,
        ["voice", "evaluate", "--ravdess", str(synthetic_ravdess), "--test-actors", "6"]
        + ["--n-iter", "2", "--confusion", str(png), "--json"],
    )
    report = _json(result)
    for key in ("model", "accuracy", "macro_f1", "majority_rate", "per_class", "test_actors"):
        assert key in report
    assert report["test_actors"] == [6]
    assert report["accuracy"] > report["majority_rate"]
    assert png.exists()

    folds = _json(
        cli.invoke(
            app,
            ["voice", "evaluate", "--ravdess", str(synthetic_ravdess), "--folds", "3"]
            + ["--n-iter", "2", "--json"],
        )
    )
    assert [f["test_actors"] for f in folds["folds"]] == [[1, 2], [3, 4], [5, 6]]
    assert folds["accuracy_mean"] > folds["majority_rate_mean"]


def test_evaluate_needs_present_test_actors(cli, synthetic_ravdess: Path) -> None:
    result = cli.invoke(
        app, ["voice", "evaluate", "--ravdess", str(synthetic_ravdess), "--test-actors", "21-24"]
    )
    _one_line_error(result, "no clips of test actors 21,22,23,24")


def test_single_class_dataset_is_refused(cli, tmp_path: Path) -> None:
    write_synthetic_ravdess(tmp_path / "sad-only", actors=[1, 2], emotions=["sad"], takes=2)
    result = cli.invoke(app, ["voice", "train", "--ravdess", str(tmp_path / "sad-only")])
    _one_line_error(result, "only one emotion")


def test_check_in_without_a_model_says_what_to_do(cli, store, tmp_path: Path) -> None:
    clip = tmp_path / "me.wav"
    soundfile.write(str(clip), synthetic_clip("happy", 9, 0), SAMPLE_RATE)
    _one_line_error(cli.invoke(app, ["voice", "check-in", str(clip)]), "emotune voice train")


def test_check_in_reports_and_stores_a_mood_reading(
    cli, store, active_voice_model: int, tmp_path: Path
) -> None:
    clip = tmp_path / "me.wav"
    soundfile.write(str(clip), synthetic_clip("angry", 5, 2), SAMPLE_RATE)
    reading = _json(cli.invoke(app, ["voice", "check-in", str(clip), "--json"]))
    assert set(reading["probabilities"]) == {"neutral", "happy", "sad", "angry"}
    assert sum(reading["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert reading["quadrant"] in ("happy", "calm", "sad", "tense")
    assert reading["normalised_with"] == "none"  # the un-enrolled fallback model answered
    assert any("not enrolled" in note for note in reading["notes"])

    from sqlalchemy import select

    from app.db.models import MoodReading

    with store.session() as db:
        rows = db.scalars(select(MoodReading)).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.source == "voice" and row.label == reading["quadrant"]
        assert row.p_valence == pytest.approx(reading["p_valence"])
        assert row.p_arousal == pytest.approx(reading["p_arousal"])

    human = cli.invoke(app, ["voice", "check-in", str(clip)])
    assert human.exit_code == 0 and "voice sounds" in human.stdout


def test_enrolment_is_used_by_check_ins(
    cli, store, active_voice_model: int, synthetic_ravdess: Path, tmp_path: Path
) -> None:
    own = sorted((synthetic_ravdess / "Actor_06").glob("*.wav"))  # an unseen synthetic actor
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    result = _json(cli.invoke(app, ["voice", "enrol", *map(str, own), str(junk), "--json"]))
    assert result["n_clips"] == len(own) == 12
    assert len(result["added"]) == 12
    assert any("junk.wav" in line for line in result["skipped"])
    assert "8 more clips" in result["advice"]

    again = _json(cli.invoke(app, ["voice", "enrol", str(own[0]), "--json"]))
    assert again["n_clips"] == 12 and "already enrolled" in again["skipped"][0]

    clip = tmp_path / "angry.wav"
    soundfile.write(str(clip), synthetic_clip("angry", 6, 7), SAMPLE_RATE)
    reading = _json(cli.invoke(app, ["voice", "check-in", str(clip), "--json"]))
    assert reading["normalised_with"] == "enrolment"
    assert reading["enrolled_clips"] == 12
    assert reading["emotion"] == "angry" and reading["quadrant"] == "tense"

    reset = _json(cli.invoke(app, ["voice", "enrol", str(own[0]), "--reset", "--json"]))
    assert reset["n_clips"] == 1


def test_bad_check_in_inputs_are_one_line_errors(
    cli, store, active_voice_model: int, tmp_path: Path
) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    short = tmp_path / "short.wav"
    soundfile.write(str(short), synthetic_clip("sad", 1, 0, seconds=0.3), SAMPLE_RATE)
    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    _one_line_error(cli.invoke(app, ["voice", "check-in", str(text)]), "not a readable WAV/FLAC")
    _one_line_error(cli.invoke(app, ["voice", "check-in", str(short)]), "record at least 0.5 s")
    _one_line_error(cli.invoke(app, ["voice", "check-in", str(silent)]), "is silent")
    _one_line_error(cli.invoke(app, ["voice", "check-in"]), "no clip given")


def test_clipped_stereo_check_in_is_handled_with_a_note(
    cli, store, active_voice_model: int, tmp_path: Path
) -> None:
    mono = synthetic_clip("happy", 5, 3, seconds=1.0, rate=48_000)
    loud = np.clip(mono * 8.0, -1.0, 1.0)
    path = tmp_path / "loud-stereo.wav"
    soundfile.write(str(path), np.stack([loud, loud], axis=1), 48_000)
    reading = _json(cli.invoke(app, ["voice", "check-in", str(path), "--json"]))
    assert any("clipped" in note for note in reading["notes"])
    assert any("2 channel(s) at 48000 Hz" in note for note in reading["notes"])


def test_mic_without_sounddevice_is_a_one_line_error(
    cli, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if it were not installed
    _one_line_error(cli.invoke(app, ["voice", "check-in", "--mic"]), "sounddevice")
    _one_line_error(cli.invoke(app, ["voice", "enrol", "--mic"]), "sounddevice")


def test_mood_from_voice_returns_valence_arousal_label(
    store, active_voice_model: int, tmp_path: Path
) -> None:
    from app.config import load_settings
    from app.jobs.voice import mood_from_voice

    clip = tmp_path / "sad.wav"
    soundfile.write(str(clip), synthetic_clip("sad", 5, 1), SAMPLE_RATE)
    p_valence, p_arousal, label = mood_from_voice(load_settings(), clip)
    assert 0.0 <= p_valence <= 1.0 and 0.0 <= p_arousal <= 1.0
    assert label in ("happy", "calm", "sad", "tense")
    assert p_arousal < 0.5  # sad is low arousal even without enrolment


def test_train_skips_unusable_files_and_absent_test_actors(
    cli, store, synthetic_ravdess: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(synthetic_ravdess, copy)
    (copy / "Actor_01" / "03-01-02-01-01-01-01.wav").write_text("not audio")  # named right
    silent = copy / "Actor_02" / "03-01-02-01-01-01-02.wav"
    soundfile.write(str(silent), np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    result = cli.invoke(
        app,
        ["voice", "train", "--ravdess", str(copy), "--test-actors", "21-24", "--n-iter", "2"]
        + ["--json"],
    )
    summary = _json(result)
    assert summary["held_out"] is None
    assert summary["train_actors"] == [1, 2, 3, 4, 5, 6]
    assert len(summary["skipped_files"]) == 2
    assert any("is silent" in line for line in summary["skipped_files"])
    assert summary["n_train_clips"] == 72
    assert "no clips of test actors 21,22,23,24" in result.stderr


def test_queue_from_voice_uses_the_check_in_mood(
    cli, store, active_voice_model: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from app.db.models import MoodReading
    from tests.playlists.helpers import app_emulator, tag_tracks

    clip = tmp_path / "angry.wav"
    soundfile.write(str(clip), synthetic_clip("angry", 5, 1), SAMPLE_RATE)
    tags = [(0.2, 0.9, 0.5), (0.9, 0.9, 0.5), (0.2, 0.1, 0.5), (0.9, 0.1, 0.5)] * 2
    with app_emulator(monkeypatch) as emu:
        tag_tracks(store, emu, tags)
        out = _json(
            cli.invoke(
                app, ["queue", "--from-voice", str(clip), "--count", "2", "--dry-run", "--json"]
            )
        )
    with store.session() as db:
        reading = db.scalars(select(MoodReading).where(MoodReading.source == "voice")).one()
        mood = (reading.p_valence, reading.p_arousal, reading.label)
    assert out["mood"]["valence"] == pytest.approx(mood[0])
    assert out["mood"]["arousal"] == pytest.approx(mood[1])
    assert [t["emotion"] for t in out["tracks"]] == [mood[2], mood[2]]
    clash = cli.invoke(app, ["queue", "--from-voice", str(clip), "--mood", "calm"])
    _one_line_error(clash, "exactly one of")
