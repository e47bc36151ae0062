"""Raw Muse samples -> per-window valence/arousal probabilities: the one entry point.

Used in batch (re-classifying stored sessions, importing recordings) and live (the listener
calls `classify_recording` on the last ~8 s of its ring buffer every second). Deterministic:
the same input gives the same output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.alignment import WearerAlignment
from classifier.calibration import CalibrationResult, CalibrationSegment, fine_tune
from classifier.model import Predictor, set_torch_threads
from classifier.quality import QualityHistory
from classifier.signal import (
    DEFAULT_MAX_GAP_S,
    MODEL_RATE_HZ,
    MUSE_MODEL_CHANNELS,
    QualityThresholds,
    Windows,
    recording_windows,
)

__all__ = [
    "MODEL_RATE_HZ",
    "MUSE_MODEL_CHANNELS",
    "CalibrationResult",
    "CalibrationSegment",
    "LiveClassifier",
    "Predictor",
    "QualityThresholds",
    "WindowResult",
    "classify_recording",
    "classify_windows",
    "fine_tune",
    "set_torch_threads",
]


@dataclass(frozen=True)
class WindowResult:
    """One classified (or rejected) window.

    start_time/end_time: seconds on the input timestamps' clock. p_valence/p_arousal:
    probability that the rating is high (> 3 of 5); None only when the window could not be
    classified (NaN/inf samples). confidence in [0, 1]: mean distance of both from 0.5, x2.
    quality: per channel label -> figures (classifier.quality.FIGURES) and "good" (1.0 when
    the model used that electrode, 0.0 when it was masked, with its "issue"). A rejected
    window keeps its probabilities when it had finite samples.
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
    alignment: WearerAlignment | None = None,
    history: QualityHistory | None = None,
) -> list[WindowResult]:
    """Classify every whole window of a recording.

    samples: [n, C] µV at rate_hz (C = 4 or 5, muselsl labels, any order, AUX ignored);
    timestamps: [n] seconds. Splits at timestamp gaps (> max_gap_s); every window lies
    wholly inside a gap-free stretch. Windows with NaN/inf are returned rejected with a
    reason and no probabilities, never dropped. Returns the windows in time order.
    alignment: for a model with per-wearer alignment, the session's running statistics
    (updated in place; pass a fresh `predictor.new_alignment()` to read them afterwards).
    history: the wearer's recent windows for the quality limits (updated in place).
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
        history=history,
    )
    return classify_windows(predictor, windows, batch_size=batch_size, alignment=alignment)


def classify_windows(
    predictor: Predictor,
    windows: Windows,
    *,
    batch_size: int = 64,
    alignment: WearerAlignment | None = None,
) -> list[WindowResult]:
    """Windows (in time order) -> one WindowResult each.

    Windows with NaN/inf samples get no probabilities; only windows that passed the quality
    check update the wearer's alignment statistics (see classifier.alignment), and only with
    their usable electrodes; masked electrodes are zero for the model.
    """
    if len(windows) == 0:
        return []
    classifiable = np.array([not (r or "").startswith("NaN/inf") for r in windows.reasons])
    clean = np.array([r is None for r in windows.reasons])
    probs = np.full((len(windows), 2), np.nan)
    if classifiable.any():
        if alignment is None:
            alignment = predictor.new_alignment()
        probs[classifiable] = predictor.predict(
            windows.data[classifiable],
            batch_size,
            clean=clean[classifiable],
            alignment=alignment,
            channel_ok=windows.channel_ok[classifiable],
        )
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


class LiveClassifier:
    """The listener's classification, tick by tick, over a ring buffer of the newest samples.

    `push` appends samples as they arrive; `tick` classifies the windows completed since the
    last tick (each window once, in time order) and trims the buffer. The window grid stays
    the one a batch run over the same raw EEG uses, so the live windows are the batch ones,
    and an aligned model's statistics (`alignment`) grow window by window as in a batch run.
    """

    def __init__(
        self,
        predictor: Predictor,
        channel_labels: Sequence[str],
        rate_hz: float,
        *,
        stride_s: float = 1.0,
        line_noise_hz: float = 50.0,
        edge_guard_s: float = 0.5,
    ) -> None:
        self.predictor = predictor
        self.channel_labels = tuple(channel_labels)
        self.rate_hz = float(rate_hz)
        self.stride_s = stride_s
        self.line_noise_hz = line_noise_hz
        self.edge_guard_s = edge_guard_s  # classify a window only when this much signal follows
        self.keep_s = predictor.window_s + stride_s + edge_guard_s + 2.0
        self.stride_n = max(1, int(round(stride_s * rate_hz)))
        self.samples = np.empty((0, len(self.channel_labels)))
        self.stamps = np.empty(0)
        self.last_window_end = -np.inf
        self.alignment = predictor.new_alignment()
        # The session's quality history: each new window is judged once, in order, as a
        # batch run over the same EEG judges it.
        self.history = QualityHistory(len(predictor.channels))

    def push(self, samples: np.ndarray, stamps: np.ndarray) -> None:
        """Append [n, C] µV samples and their [n] timestamps (s)."""
        if len(samples):
            self.samples = np.vstack([self.samples, samples])
            self.stamps = np.concatenate([self.stamps, stamps])

    def tick(self, *, connected: bool = True) -> list[WindowResult]:
        """The windows completed since the last tick, classified.

        When the stream has stopped (connected=False) its last sample is final: no guard,
        so no window is left out.
        """
        if not len(self.stamps):
            return []
        # While connected, a window waits until edge_guard_s of signal follows it (the filter's
        # edge). The newest sample covers time up to its stamp + 1/rate. Once the stream has
        # stopped, every whole window the buffer holds is final, whatever the stamps' jitter.
        newest = self.stamps[-1] + 1.0 / self.rate_hz - self.edge_guard_s if connected else np.inf
        if newest - self.last_window_end < self.stride_s:
            return []
        windows = recording_windows(
            self.samples,
            self.stamps,
            self.channel_labels,
            self.rate_hz,
            model_channels=self.predictor.channels,
            window_s=self.predictor.window_s,
            stride_s=self.stride_s,
            line_noise_hz=self.line_noise_hz,
            judge=False,
        )
        new = []
        for i, end in enumerate(windows.end_times):
            if self.last_window_end + 0.5 * self.stride_s < end <= newest:
                new.append(i)
                self.last_window_end = float(end)
        judged = windows.take(new).judged(self.history)
        results = classify_windows(self.predictor, judged, alignment=self.alignment)
        # Drop whole strides from the front only: the window grid then stays put from tick
        # to tick (as in a batch run), so no window is skipped over.
        stale = int(np.sum(self.stamps < self.stamps[-1] - self.keep_s))
        stale -= stale % self.stride_n
        self.samples, self.stamps = self.samples[stale:], self.stamps[stale:]
        return results
