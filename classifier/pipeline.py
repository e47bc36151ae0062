"""Raw Muse samples -> per-window valence/arousal probabilities: the one entry point.

Used in batch (re-classifying stored sessions, importing recordings) and live (the listener
calls `classify_recording` on the last ~8 s of its ring buffer every second). Deterministic:
the same input gives the same output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.model import Predictor, set_torch_threads
from classifier.signal import (
    DEFAULT_MAX_GAP_S,
    MODEL_RATE_HZ,
    MUSE_MODEL_CHANNELS,
    QualityThresholds,
    recording_windows,
)
from classifier.training import CalibrationResult, CalibrationSegment, fine_tune

__all__ = [
    "MODEL_RATE_HZ",
    "MUSE_MODEL_CHANNELS",
    "CalibrationResult",
    "CalibrationSegment",
    "Predictor",
    "QualityThresholds",
    "WindowResult",
    "classify_recording",
    "fine_tune",
    "set_torch_threads",
]


@dataclass(frozen=True)
class WindowResult:
    """One classified (or rejected) window.

    start_time/end_time: seconds on the input timestamps' clock. p_valence/p_arousal:
    probability that the rating is high (> 3 of 5); None only when the window could not be
    classified (NaN/inf samples). confidence in [0, 1]: mean distance of both from 0.5, x2.
    quality: per channel label -> figures (std_uv, peak_uv, line_noise_share, emg_share,
    blink, flat). A rejected window keeps its probabilities when it had finite samples.
    """

    start_time: float
    end_time: float
    p_valence: float | None
    p_arousal: float | None
    confidence: float
    quality: dict[str, dict[str, float]]
    rejected: bool
    reject_reason: str | None


def classify_recording(
    predictor: Predictor,
    samples: np.ndarray,
    timestamps: np.ndarray,
    channel_labels: Sequence[str],
    rate_hz: float,
    *,
    stride_s: float = 1.0,
    line_noise_hz: float = 50.0,
    batch_size: int = 64,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    thresholds: QualityThresholds | None = None,
) -> list[WindowResult]:
    """Classify every whole window of a recording.

    samples: [n, C] µV at rate_hz (C = 4 or 5, muselsl labels, any order, AUX ignored);
    timestamps: [n] seconds. Splits at timestamp gaps (> max_gap_s); every window lies
    wholly inside a gap-free stretch. Windows with NaN/inf are returned rejected with a
    reason and no probabilities, never dropped. Returns the windows in time order.
    """
    predictor.check_stream(channel_labels, rate_hz)
    windows = recording_windows(
        samples,
        timestamps,
        channel_labels,
        rate_hz,
        model_channels=predictor.channels,
        window_s=predictor.window_s,
        stride_s=stride_s,
        line_noise_hz=line_noise_hz,
        max_gap_s=max_gap_s,
        thresholds=thresholds,
    )
    if len(windows) == 0:
        return []
    classifiable = np.array([not (r or "").startswith("NaN/inf") for r in windows.reasons])
    probs = np.full((len(windows), 2), np.nan)
    if classifiable.any():
        probs[classifiable] = predictor.predict(windows.data[classifiable], batch_size)
    results = []
    for i in range(len(windows)):
        reason = windows.reasons[i]
        if classifiable[i]:
            pv, pa = float(probs[i, 0]), float(probs[i, 1])
            confidence = (abs(2 * pv - 1) + abs(2 * pa - 1)) / 2
        else:
            pv = pa = None
            confidence = 0.0
        results.append(
            WindowResult(
                start_time=float(windows.start_times[i]),
                end_time=float(windows.end_times[i]),
                p_valence=pv,
                p_arousal=pa,
                confidence=float(confidence),
                quality=windows.quality[i],
                rejected=reason is not None,
                reject_reason=reason,
            )
        )
    return results
