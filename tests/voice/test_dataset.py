"""RAVDESS names, the dataset reader and audio loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from classifier.voice.dataset import (
    SAMPLE_RATE,
    check_trainable,
    load_audio,
    parse_actor_list,
    parse_ravdess_name,
    scan_ravdess,
)
from classifier.voice.errors import VoiceError
from classifier.voice.synthetic import write_synthetic_ravdess


def test_parser_decodes_every_field() -> None:
    name = parse_ravdess_name("Actor_12/03-01-05-02-01-02-12.flac")
    assert (name.modality, name.vocal_channel, name.emotion) == (3, 1, "angry")
    assert (name.intensity, name.statement, name.repetition, name.actor) == (2, 1, 2, 12)
    assert name.is_speech and not name.is_male
    assert parse_ravdess_name("03-01-08-01-01-01-07.wav").is_male
    assert parse_ravdess_name("03-01-08-01-01-01-07").emotion == "surprised"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("hello.wav", "expected MM-VC-EE-II-SS-RR-AA"),
        ("03-01-09-01-01-01-01.wav", "emotion 09"),
        ("03-01-01-02-01-01-01.wav", "neutral (01) has no strong"),
        ("03-03-01-01-01-01-01.wav", "vocal channel 03"),
        ("03-01-02-01-01-01-00.wav", "actor 00"),
        ("03-01-02-01-01-01.wav", "expected MM-VC-EE-II-SS-RR-AA"),
    ],
)
def test_parser_rejects_names_that_do_not_fit(name: str, fragment: str) -> None:
    with pytest.raises(VoiceError, match="is not a RAVDESS file name") as info:
        parse_ravdess_name(name)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_reader_takes_actor_folders_and_flat_folders_speech_only(tmp_path: Path) -> None:
    nested = tmp_path / "nested"
    write_synthetic_ravdess(nested, actors=[1, 2], emotions=["calm", "sad"], takes=2)
    flat = tmp_path / "flat"
    write_synthetic_ravdess(
        flat, actors=[3], emotions=["calm"], takes=2, layout="flat", suffix=".flac"
    )
    # A song clip sits among the speech: skipped unless asked for.
    song = flat / "03-02-02-01-01-01-03.flac"
    soundfile.write(str(song), np.zeros(SAMPLE_RATE, dtype=np.float32) + 0.1, SAMPLE_RATE)

    clips = scan_ravdess(nested)
    assert len(clips) == 8
    assert {c.actor for c in clips} == {1, 2}
    assert {c.emotion for c in clips} == {"calm", "sad"}
    assert all(c.path.parent.name.startswith("Actor_") for c in clips)
    assert len(scan_ravdess(flat)) == 2
    assert len(scan_ravdess(flat, include_song=True)) == 3
    assert [c.actor for c in scan_ravdess(nested, actors=[2])] == [2] * 4


def test_reader_rejects_foreign_names_and_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(VoiceError, match="no .wav or .flac files"):
        scan_ravdess(tmp_path / "empty")
    with pytest.raises(VoiceError, match="is not a folder"):
        scan_ravdess(tmp_path / "missing")
    odd = tmp_path / "odd"
    odd.mkdir()
    soundfile.write(str(odd / "my-voice.wav"), np.ones(SAMPLE_RATE) * 0.1, SAMPLE_RATE)
    with pytest.raises(VoiceError, match="'my-voice.wav' is not a RAVDESS file name"):
        scan_ravdess(odd)


def test_single_class_and_single_actor_sets_are_refused(tmp_path: Path) -> None:
    write_synthetic_ravdess(tmp_path / "one", actors=[1, 2], emotions=["sad"], takes=2)
    with pytest.raises(VoiceError, match="only one emotion"):
        check_trainable(scan_ravdess(tmp_path / "one"), "one")
    write_synthetic_ravdess(tmp_path / "solo", actors=[4], emotions=["sad", "calm"], takes=2)
    with pytest.raises(VoiceError, match="only one actor"):
        check_trainable(scan_ravdess(tmp_path / "solo"), "solo")
    with pytest.raises(VoiceError, match="no speech clips"):
        check_trainable([], "nothing")


def test_actor_lists() -> None:
    assert parse_actor_list("21-24") == [21, 22, 23, 24]
    assert parse_actor_list("1,3, 5-6") == [1, 3, 5, 6]
    for bad in ("x", "4-2", "1-2-3", "0", ""):
        with pytest.raises(VoiceError):
            parse_actor_list(bad)


def test_stereo_at_another_rate_is_downmixed_and_resampled(tmp_path: Path) -> None:
    rate = 44_100
    t = np.arange(int(1.2 * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 220 * t)
    stereo = np.stack([left, -left * 0.0 + 0.2 * np.sin(2 * np.pi * 220 * t)], axis=1)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), stereo, rate)
    audio = load_audio(path)
    assert audio.rate == SAMPLE_RATE and audio.original_rate == rate
    assert audio.original_channels == 2
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert abs(audio.seconds - 1.2) < 0.01
    # The mono mix is the mean of both channels: peak (0.5 + 0.2) / 2.
    assert abs(float(np.abs(audio.samples).max()) - 0.35) < 0.02


def test_bad_audio_gives_one_line_errors(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    short = tmp_path / "short.wav"
    soundfile.write(str(short), np.full(int(0.3 * SAMPLE_RATE), 0.2), SAMPLE_RATE)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    for path, fragment in [
        (silent, "is silent"),
        (short, "0.30 s long"),
        (text, "not a readable WAV/FLAC"),
        (tmp_path / "absent.wav", "does not exist"),
    ]:
        with pytest.raises(VoiceError, match=fragment) as info:
            load_audio(path)
        assert "\n" not in str(info.value)


def test_clipping_is_measured(tmp_path: Path) -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    loud = np.clip(3 * np.sin(2 * np.pi * 200 * t), -1, 1)
    path = tmp_path / "loud.wav"
    soundfile.write(str(path), loud, SAMPLE_RATE)
    audio = load_audio(path)
    assert audio.is_clipped and audio.clipped_share > 0.3
    quiet = tmp_path / "quiet.wav"
    soundfile.write(str(quiet), 0.3 * np.sin(2 * np.pi * 200 * t), SAMPLE_RATE)
    assert not load_audio(quiet).is_clipped
