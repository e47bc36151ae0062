"""`emotune voice check-in/enrol --mic` through a fake `sounddevice` module.

The fake stands in at the sounddevice level, not at `record_wav`: it mirrors the
calls emotune makes (`query_devices`, `default.device`, `rec`, `wait`,
`PortAudioError`) with sounddevice's signatures, return shapes and dtypes, and
`rec` is non-blocking as in sounddevice (the buffer it returns is only filled by
`wait()`). Its input device "hears" a synthetic voice (tones and noise from
`classifier.voice.synthetic`, not speech), so the real recording, WAV writing,
check-in and enrolment code all run.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from app.cli.main import app
from classifier.voice.dataset import SAMPLE_RATE
from classifier.voice.synthetic import synthetic_clip

MIC, HDMI, NO_DEVICE = 1, 3, -1  # device ids as PortAudio numbers them; -1 is "none"


class PortAudioError(Exception):
    """As sounddevice.PortAudioError: args are (message, PaErrorCode, host error info)."""

    def __str__(self) -> str:
        message = self.args[0] if self.args else ""
        if len(self.args) > 1:
            message = f"{message} [PaErrorCode {self.args[1]}]"
        return message


def synthetic_angry_voice(seconds: float, rate: int) -> np.ndarray:
    """What the fake microphone hears: a synthetic (not speech) angry voice, unseen actor 5."""
    return synthetic_clip("angry", 5, 2, seconds=seconds, rate=rate)


class FakeSoundDevice:
    """A fake `sounddevice` module with one input device (a stereo microphone) and HDMI out."""

    def __init__(self, sound: Callable[[float, int], np.ndarray] = synthetic_angry_voice) -> None:
        self.sound = sound
        self.devices = {
            MIC: {"name": "Fake USB Microphone", "max_input_channels": 2, "max_output_channels": 0},
            HDMI: {"name": "Fake HDMI", "max_input_channels": 0, "max_output_channels": 2},
        }
        self.rec_calls: list[dict[str, Any]] = []
        self.rec_error: Exception | None = None
        self.recorded: list[np.ndarray] = []
        self._pending: tuple[np.ndarray, int] | None = None
        module = types.ModuleType("sounddevice")
        module.PortAudioError = PortAudioError
        # sounddevice.default.device is an (input, output) pair of device ids
        module.default = types.SimpleNamespace(device=[MIC, HDMI])
        module.query_devices = self.query_devices
        module.rec = self.rec
        module.wait = self.wait
        self.module = module

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if kind not in ("input", "output", None):
            raise ValueError(f"Invalid kind: {kind!r}")
        if device is None and kind is None:
            return [self.query_devices(i) for i in sorted(self.devices)]
        if device is None:
            device = self.module.default.device[0 if kind == "input" else 1]
        if device not in self.devices:
            raise PortAudioError(f"Error querying device {device}")
        info = {"index": device, "default_samplerate": 48_000.0, **self.devices[device]}
        if kind and info[f"max_{kind}_channels"] < 1:
            raise ValueError(f"Not an {kind} device: {info['name']!r}")
        return info

    def rec(
        self,
        frames: int | None = None,
        samplerate: float | None = None,
        channels: int | None = None,
        dtype: str | None = None,
        out: np.ndarray | None = None,
        mapping: Any = None,
        blocking: bool = False,
        **kwargs: Any,
    ) -> np.ndarray:
        self.rec_calls.append(
            {"frames": frames, "samplerate": samplerate, "channels": channels, "dtype": dtype}
            | kwargs
        )
        if self.rec_error is not None:
            raise self.rec_error
        device = self.query_devices(kwargs.get("device"), "input")
        if channels > device["max_input_channels"]:
            raise PortAudioError("Error opening InputStream: Invalid number of channels", -9998)
        buffer = np.zeros((frames, channels), dtype=dtype or "float32")  # filled while recording
        self._pending = (buffer, samplerate)
        if blocking:
            self.wait()
        return buffer

    def wait(self, ignore_errors: bool = True) -> None:
        if self._pending is None:
            return None
        buffer, rate = self._pending
        heard = self.sound(len(buffer) / rate, rate)
        buffer[:] = heard[: len(buffer), None]  # the same signal on every channel
        self.recorded.append(heard)
        self._pending = None
        return None


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> FakeSoundDevice:
    fake = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", fake.module)
    return fake


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the whole of stdout: --json prints one JSON document


def _mic_error(result) -> str:
    """The one stderr line of a failed recording; it says what to do instead."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("emotune: error:"), result.stderr
    assert "record a WAV file with any recorder and pass its path instead" in lines[0]
    return lines[0]


def _recordings() -> list[Path]:
    from app.config import load_settings

    return sorted((load_settings().recordings_dir / "voice").glob("*.wav"))


def _mood_readings(store) -> list:
    from sqlalchemy import select

    from app.db.models import MoodReading

    with store.session() as db:
        return list(db.scalars(select(MoodReading)).all())


def test_mic_check_in_records_the_asked_clip_and_stores_a_voice_reading(
    cli, store, active_voice_model: int, fake_sd: FakeSoundDevice
) -> None:
    result = cli.invoke(app, ["voice", "check-in", "--mic", "--seconds", "1.5", "--json"])
    reading = _json(result)
    assert result.stderr.strip() == "recording 1.5 s ..."  # off stdout, which is JSON

    # asked for 1.5 s of mono float32 at the model's rate, from the default device
    assert fake_sd.rec_calls == [
        {"frames": int(1.5 * SAMPLE_RATE), "samplerate": SAMPLE_RATE, "channels": 1}
        | {"dtype": "float32"}
    ]

    # the recording is kept as a mono 16-bit WAV holding what the microphone heard
    (wav,) = _recordings()
    assert wav.name.startswith("check-in-")
    info = soundfile.info(str(wav))
    assert (info.samplerate, info.channels, info.frames) == (SAMPLE_RATE, 1, 33_075)
    assert info.subtype == "PCM_16"
    samples, _ = soundfile.read(str(wav), dtype="float32")
    np.testing.assert_allclose(samples, fake_sd.recorded[0], atol=1.5 / 32_768)

    # read at the model's rate and channel count, so no conversion note
    assert not any("channel(s)" in note for note in reading["notes"])
    assert set(reading["probabilities"]) == {"neutral", "happy", "sad", "angry"}
    assert sum(reading["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert reading["emotion"] == max(reading["probabilities"], key=reading["probabilities"].get)
    assert reading["quadrant"] in ("happy", "calm", "sad", "tense")
    assert reading["p_arousal"] > 0.5  # a loud, noisy, high-pitched (angry) voice is aroused

    (row,) = _mood_readings(store)
    assert row.id == reading["reading_id"]
    assert row.source == "voice" and row.label == reading["quadrant"]
    assert row.p_valence == pytest.approx(reading["p_valence"])
    assert row.p_arousal == pytest.approx(reading["p_arousal"])


def test_mic_enrol_adds_the_recorded_clip(
    cli, store, active_voice_model: int, fake_sd: FakeSoundDevice
) -> None:
    result = _json(cli.invoke(app, ["voice", "enrol", "--mic", "--seconds", "2", "--json"]))
    assert [call["frames"] for call in fake_sd.rec_calls] == [2 * SAMPLE_RATE]
    (wav,) = _recordings()
    assert wav.name.startswith("enrol-")
    assert result["added"] == [str(wav)] and result["n_clips"] == 1

    from app.config import load_settings
    from app.jobs.voice import enrolled_clips

    (enrolled,) = enrolled_clips(load_settings())
    assert enrolled.read_bytes() == wav.read_bytes()


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        pytest.param(
            lambda sd: setattr(sd.module.default, "device", [NO_DEVICE, HDMI]),
            "(Error querying device -1)",
            id="no-input-device",
        ),
        pytest.param(
            lambda sd: setattr(sd.module.default, "device", [HDMI, HDMI]),
            "(Not an input device: 'Fake HDMI')",
            id="default-input-is-an-output",
        ),
        pytest.param(
            lambda sd: setattr(
                sd,
                "rec_error",
                PortAudioError("Error opening InputStream: Device unavailable", -9985),
            ),
            "(Error opening InputStream: Device unavailable [PaErrorCode -9985])",
            id="device-busy",
        ),
        pytest.param(
            lambda sd: setattr(sd, "rec_error", PortAudioError()),
            "(PortAudioError)",
            id="error-without-message",
        ),
        pytest.param(
            lambda sd: setattr(
                sd, "rec_error", PortAudioError("Error starting stream\nALSA lib pcm.c:8545")
            ),
            "(Error starting stream)",
            id="multi-line-error",
        ),
    ],
)
def test_device_errors_are_one_line_errors_saying_what_to_do(
    cli, store, active_voice_model: int, fake_sd: FakeSoundDevice, setup, detail: str
) -> None:
    setup(fake_sd)
    for command in ("check-in", "enrol"):
        line = _mic_error(cli.invoke(app, ["voice", command, "--mic", "--seconds", "1"]))
        assert line.endswith(detail), line
    assert _recordings() == [] and _mood_readings(store) == []


def test_portaudio_library_missing_at_import_is_a_one_line_error(
    cli, store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the real sounddevice raises OSError on import when the PortAudio library is missing
    fake_pkg = tmp_path / "fake-site-packages"
    fake_pkg.mkdir()
    (fake_pkg / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(fake_pkg))
    line = _mic_error(cli.invoke(app, ["voice", "check-in", "--mic"]))
    assert "needs the sounddevice package" in line


def test_out_of_range_seconds_record_nothing(cli, store, fake_sd: FakeSoundDevice) -> None:
    result = cli.invoke(app, ["voice", "check-in", "--mic", "--seconds", "0.2"])
    assert result.exit_code == 1 and "use 0.5 to 60" in result.stderr
    assert fake_sd.rec_calls == [] and _recordings() == []
