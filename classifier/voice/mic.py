"""Optional microphone recording; needs the `sounddevice` package (and PortAudio).

emotune does not depend on it: without it, or without an input device, the
user gets a one-line error and records a WAV file with any other tool.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from classifier.voice.dataset import SAMPLE_RATE
from classifier.voice.errors import VoiceError

_NO_MIC = (
    "recording from a microphone needs the sounddevice package and an input device; "
    "record a WAV file with any recorder and pass its path instead"
)


def record_wav(
    path: Path,
    seconds: float,
    *,
    rate: int = SAMPLE_RATE,
    on_start: Callable[[], object] | None = None,
) -> Path:
    """Record `seconds` of mono audio from the default input device into a 16-bit WAV.

    `on_start` is called once the input stream is open (time to speak); a device
    that is missing or fails to open raises before it is called.
    """
    try:
        import sounddevice  # optional: deliberately not a dependency
    except (ImportError, OSError):
        raise VoiceError(_NO_MIC) from None
    import soundfile

    try:
        sounddevice.query_devices(kind="input")
        frames = sounddevice.rec(int(seconds * rate), samplerate=rate, channels=1, dtype="float32")
    except Exception as exc:  # PortAudio reports missing devices in several ways
        raise _device_error(exc) from None
    if on_start is not None:
        on_start()
    try:
        sounddevice.wait()
    except Exception as exc:
        raise _device_error(exc) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.asarray(frames)[:, 0], rate, subtype="PCM_16")
    return path


def _device_error(exc: Exception) -> VoiceError:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # may be empty
    return VoiceError(f"{_NO_MIC} ({detail})")
