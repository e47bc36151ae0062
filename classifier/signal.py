"""The pure signal path: Muse samples in, filtered 4 s windows and their quality out.

Every function takes arrays and returns arrays; nothing here reads files or streams.
Shapes use n = samples, C = channels, W = windows, T = samples per window.
Units: samples in microvolts (µV), times in seconds, rates in Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from classifier.errors import ClassifierError
from classifier.quality import (
    FIGURES,
    QualityHistory,
    QualityThresholds,
    channel_figures,
    judge_windows,
)

# TSCeption's hemisphere kernel slides one set of weights over the first and the second
# half of the channel list, so the halves must mirror each other: left (TP9, AF7) then
# right (TP10, AF8). muselsl's own order (TP9, AF7, AF8, TP10) would pair TP9 with AF8.
MUSE_MODEL_CHANNELS: tuple[str, ...] = ("TP9", "AF7", "TP10", "AF8")
MUSELSL_CHANNELS: tuple[str, ...] = ("TP9", "AF7", "AF8", "TP10", "Right AUX")
MUSE_RATE_HZ = 256.0
MODEL_RATE_HZ = 128
WINDOW_S = 4.0
DEFAULT_STRIDE_S = 1.0
BAND_HZ = (1.0, 45.0)
# Larger steps between timestamps than this are a gap (Bluetooth drop): windows never span one.
DEFAULT_MAX_GAP_S = 0.1


def pick_channels(
    samples: np.ndarray, channel_labels: Sequence[str], wanted: Sequence[str]
) -> np.ndarray:
    """Select and reorder channels by label.

    samples: [n, C] in any channel order (C = 4 or 5 for Muse; AUX is ignored).
    Returns [n, len(wanted)] float32 in the order of `wanted`.
    """
    labels = [label.strip() for label in channel_labels]
    if samples.ndim != 2 or samples.shape[1] != len(labels):
        raise ClassifierError(
            f"samples have shape {samples.shape} but {len(labels)} channel labels were given "
            f"({', '.join(labels)}); pass [n_samples, n_channels] with one label per column"
        )
    index = {label.upper(): i for i, label in enumerate(labels)}
    missing = [ch for ch in wanted if ch.upper() not in index]
    if missing:
        raise ClassifierError(
            f"channels {', '.join(missing)} are missing (found {', '.join(labels) or 'none'}); "
            f"the model needs {', '.join(wanted)}"
        )
    return np.ascontiguousarray(samples[:, [index[ch.upper()] for ch in wanted]], dtype=np.float32)


def resample_factors(rate_hz: float, target_hz: float = MODEL_RATE_HZ) -> tuple[int, int]:
    """(up, down) integers with rate_hz * up / down == target_hz (within 0.5 %).

    Raises ClassifierError for a rate that cannot reach target_hz by a small rational factor
    or that lies below it (upsampling invents no information the model was trained on).
    """
    if not np.isfinite(rate_hz) or rate_hz < target_hz * 0.995:
        raise ClassifierError(
            f"sampling rate {rate_hz:g} Hz is below the model's {target_hz:g} Hz; "
            "record at the headset's native rate (Muse: 256 Hz)"
        )
    frac = Fraction(target_hz / rate_hz).limit_denominator(16)
    if abs(rate_hz * frac.numerator / frac.denominator - target_hz) > 0.005 * target_hz:
        raise ClassifierError(
            f"sampling rate {rate_hz:g} Hz cannot be resampled to {target_hz:g} Hz by a small "
            "integer ratio; check the stream's nominal rate (Muse: 256 Hz)"
        )
    return frac.numerator, frac.denominator


@lru_cache(maxsize=16)
def _filter_bank(
    rate_hz: float, line_noise_hz: float, band: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(sos [S, 6], initial-state template [S, 2]) of the band-pass + notch, designed once."""
    from scipy.signal import butter, iirnotch, sosfilt_zi, tf2sos

    sos = butter(4, band, btype="bandpass", fs=rate_hz, output="sos")
    if 0 < line_noise_hz < rate_hz / 2:
        b, a = iirnotch(line_noise_hz, Q=30.0, fs=rate_hz)
        sos = np.vstack([sos, tf2sos(b, a)])
    return sos, sosfilt_zi(sos)


@lru_cache(maxsize=16)
def _antialias_fir(up: int, down: int) -> np.ndarray:
    """The FIR `resample_poly` would design (Kaiser, beta 5), designed once, not per call."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def resample(
    samples: np.ndarray, rate_hz: float, target_hz: float = MODEL_RATE_HZ, *, axis: int = 0
) -> np.ndarray:
    """Polyphase resampling along `axis` ([n, C] at rate_hz -> [m, C] at target_hz, float32)."""
    from scipy.signal import resample_poly

    up, down = resample_factors(rate_hz, target_hz)
    if up == down:
        return samples.astype(np.float32, copy=False)
    fir = _antialias_fir(up, down)
    return resample_poly(samples, up, down, axis=axis, window=fir).astype(np.float32)


def bandpass_notch(
    samples: np.ndarray,
    rate_hz: float = MODEL_RATE_HZ,
    *,
    line_noise_hz: float = 50.0,
    band: tuple[float, float] = BAND_HZ,
    axis: int = 0,
) -> np.ndarray:
    """Zero-phase band-pass (4th-order Butterworth) plus a notch at the line frequency.

    samples: [n, C] µV at rate_hz (time along `axis`); returns the same shape, float32 µV.
    A notch above Nyquist is skipped. Same result as scipy's `sosfiltfilt` (odd extension,
    steady-state initial conditions) with the filter and its initial state designed once,
    which makes short live calls several times cheaper.
    """
    from scipy.signal import sosfilt

    sos, zi = _filter_bank(float(rate_hz), float(line_noise_hz), band)
    x = np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1)  # [..., n]
    n = x.shape[-1]
    pad = min(3 * (2 * len(sos) + 1), max(n - 1, 0))
    if pad > 0:
        head = 2 * x[..., :1] - x[..., pad:0:-1]
        tail = 2 * x[..., -1:] - x[..., -2 : -pad - 2 : -1]
        x = np.concatenate([head, x, tail], axis=-1)
    state = zi.reshape((zi.shape[0],) + (1,) * (x.ndim - 1) + (2,))
    y, _ = sosfilt(sos, x, axis=-1, zi=state * x[..., :1])
    y, _ = sosfilt(sos, y[..., ::-1], axis=-1, zi=state * y[..., -1:])
    y = y[..., ::-1]
    if pad > 0:
        y = y[..., pad:-pad]
    return np.ascontiguousarray(np.moveaxis(y, -1, axis), dtype=np.float32)


def split_at_gaps(
    timestamps: np.ndarray, rate_hz: float, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> list[tuple[int, int]]:
    """Split a recording where samples are really missing, not at jitter.

    timestamps: [n] seconds. A step between neighbours that differs from one sample period
    by more than max_gap_s (forwards: a Bluetooth drop; backwards: the clock was reset) or
    is not finite starts a new stretch. muselsl stamps each chunk of 12 samples on arrival,
    so duplicate and slightly backward stamps (a few ms) inside a stream are jitter and stay
    in one stretch. Returns half-open index ranges [(start, stop), ...] covering every
    sample exactly once, in order.
    """
    n = len(timestamps)
    if n == 0:
        return []
    off_by = np.abs(np.diff(timestamps) - 1.0 / rate_hz)
    limit = max(max_gap_s, 2.5 / rate_hz)
    breaks = np.flatnonzero(~(off_by <= limit)) + 1  # NaN steps break too
    edges = [0, *breaks.tolist(), n]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def dejitter(timestamps: np.ndarray, rate_hz: float) -> tuple[float, float]:
    """(time of the first sample, seconds per sample) of one gap-free stretch: a least-squares
    line of time against sample index, as LSL's own dejittering fits it.

    timestamps: [n] seconds. With fewer than 3 samples, or a fitted rate more than 5% off
    rate_hz (a stretch too short or too jittered to say), the nominal period is kept.
    """
    n = len(timestamps)
    period = 1.0 / rate_hz
    if n < 3:
        return float(timestamps[0]) if n else 0.0, period
    # Closed form over the index 0..n-1 (mean (n-1)/2, sum of squares n(n²-1)/12); times
    # relative to the first stamp keep full precision. Element-wise sums, not BLAS: a
    # single np.dot call here cost milliseconds on some OpenBLAS builds.
    mean_i = (n - 1) / 2.0
    rel = np.asarray(timestamps, dtype=np.float64) - float(timestamps[0])
    mean_t = float(rel.mean())
    centred_i = np.arange(n, dtype=np.float64) - mean_i
    slope = float((centred_i * rel).sum() / (n * (n * n - 1) / 12.0))
    if not (abs(slope - period) <= 0.05 * period):
        slope = period
    return float(timestamps[0]) + mean_t - slope * mean_i, slope


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start indices of every whole window of `window` samples moving by `stride` ([W] int)."""
    if n_samples < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - window + 1, stride, dtype=np.int64)


def cut_windows(samples: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """[n, C] -> [W, C, T] windows (a copy, float32) starting at `starts`."""
    if len(starts) == 0:
        return np.zeros((0, samples.shape[1], window), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(samples, window, axis=0)  # [n-T+1, C, T]
    return np.ascontiguousarray(view[starts], dtype=np.float32)


@dataclass(frozen=True)
class Windows:
    """Windows cut from one recording, ready for normalisation and the model.

    data: [W, C, T] float32 µV, band-passed, in the model's channel order at MODEL_RATE_HZ
    (non-finite samples replaced by 0 so a batch can still run; such windows are rejected);
    start_times/end_times: [W] seconds on the input clock (dejittered);
    figures: [W, C, F] quality figures (classifier.quality.FIGURES); nonfinite: [W, C] share
    of NaN/inf samples; quality/reasons/channel_ok: the judgement (classifier.quality.
    judge_windows): per-channel figures with "good", None or a reject reason, [W, C] bool
    mask of usable electrodes. Unjudged windows (judge=False) have empty quality, a reason
    only for NaN, and every finite window's channels usable.
    """

    data: np.ndarray
    start_times: np.ndarray
    end_times: np.ndarray
    quality: list[dict[str, dict[str, Any]]]
    reasons: list[str | None]
    channel_ok: np.ndarray
    figures: np.ndarray
    nonfinite: np.ndarray
    channels: tuple[str, ...] = MUSE_MODEL_CHANNELS

    def __len__(self) -> int:
        return len(self.start_times)

    def take(self, index: Sequence[int] | np.ndarray) -> Windows:
        """The windows at `index` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            data=self.data[index],
            start_times=self.start_times[index],
            end_times=self.end_times[index],
            quality=[self.quality[i] for i in index],
            reasons=[self.reasons[i] for i in index],
            channel_ok=self.channel_ok[index],
            figures=self.figures[index],
            nonfinite=self.nonfinite[index],
        )

    def judged(
        self, history: QualityHistory, thresholds: QualityThresholds | None = None
    ) -> Windows:
        """These windows judged in order against (and added to) the wearer's `history`."""
        quality, reasons, channel_ok = judge_windows(
            self.figures, self.nonfinite, self.channels, history, thresholds
        )
        return replace(self, quality=quality, reasons=reasons, channel_ok=channel_ok)


def _share_per_window(
    flags: np.ndarray, starts: np.ndarray, win: int, n_in: int, n_model: int
) -> np.ndarray:
    """[C, n_in] bool flags on the input clock -> [W, C] share flagged within each window
    (the input samples a window of `win` model samples starting at `starts` stands for)."""
    counts = np.concatenate([np.zeros((flags.shape[0], 1)), np.cumsum(flags, axis=1)], axis=1)
    first = np.minimum(np.floor(starts * n_in / n_model).astype(np.int64), n_in)
    last = np.minimum(np.ceil((starts + win) * n_in / n_model).astype(np.int64), n_in)
    share = (counts[:, last] - counts[:, first]) / np.maximum(last - first, 1)
    return share.T


def recording_windows(
    samples: np.ndarray,
    timestamps: np.ndarray,
    channel_labels: Sequence[str],
    rate_hz: float,
    *,
    model_channels: Sequence[str] = MUSE_MODEL_CHANNELS,
    window_s: float = WINDOW_S,
    stride_s: float = DEFAULT_STRIDE_S,
    line_noise_hz: float = 50.0,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    thresholds: QualityThresholds | None = None,
    history: QualityHistory | None = None,
    judge: bool = True,
) -> Windows:
    """The whole signal path for one recording.

    samples: [n, C] µV at rate_hz with one label per column (any order; AUX ignored);
    timestamps: [n] seconds. Picks and orders the model channels, splits where samples are
    missing (not at jitter), and per gap-free stretch dejitters the time, resamples to
    MODEL_RATE_HZ, filters and cuts windows of window_s every stride_s. Every window lies
    wholly inside one stretch; stretches shorter than a window give none. With `judge`, the
    windows are judged in order against `history` (a fresh one when None; updated in place).
    Returns Windows (data [W, len(model_channels), window_s * 128]).
    """
    samples = np.asarray(samples)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if len(timestamps) != samples.shape[0]:
        raise ClassifierError(
            f"{samples.shape[0]} samples but {len(timestamps)} timestamps; they must match"
        )
    th = thresholds or QualityThresholds()
    picked = pick_channels(samples, channel_labels, model_channels)
    up, down = resample_factors(rate_hz)  # refuse a bad rate before any work
    win = int(round(window_s * MODEL_RATE_HZ))
    stride = max(1, int(round(stride_s * MODEL_RATE_HZ)))
    datas, starts_t, figures, nonfinite = [], [], [], []
    # Work channel-first ([C, n], contiguous in time): scipy filters run faster that way.
    picked_cf = np.ascontiguousarray(picked.T)
    for a, b in split_at_gaps(timestamps, rate_hz, max_gap_s=max_gap_s):
        seg = picked_cf[:, a:b]
        finite = np.isfinite(seg)
        all_finite = bool(finite.all())
        raw = resample(seg if all_finite else np.where(finite, seg, 0.0), rate_hz, axis=1)
        if raw.shape[1] < win:
            continue
        filt = bandpass_notch(raw, MODEL_RATE_HZ, line_noise_hz=line_noise_hz, axis=1)
        starts = window_starts(raw.shape[1], win, stride)
        n_in, n_model = b - a, raw.shape[1]
        # A model-clock sample stands for the input samples it was made of: a window's NaN
        # and clipped shares are counted on the input clock.
        bad_share = (
            np.zeros((len(starts), seg.shape[0]))
            if all_finite
            else _share_per_window(~finite, starts, win, n_in, n_model)
        )
        railed = np.abs(np.where(finite, seg, 0.0)) >= th.rail_uv
        railed_share = _share_per_window(railed, starts, win, n_in, n_model)
        # [C, n] -> [W, C, T] views (raw) and a contiguous copy (filtered, handed to the model).
        raw_w = np.lib.stride_tricks.sliding_window_view(raw, win, axis=1)[:, starts]
        raw_w = raw_w.transpose(1, 0, 2)
        filt_w = np.lib.stride_tricks.sliding_window_view(filt, win, axis=1)[:, starts]
        filt_w = np.ascontiguousarray(filt_w.transpose(1, 0, 2))
        figures.append(
            channel_figures(
                raw_w,
                filt_w,
                railed_share,
                model_channels,
                MODEL_RATE_HZ,
                line_noise_hz=line_noise_hz,
                blink_uv=th.blink_uv,
                flat_std_uv=th.flat_std_uv,
            )
        )
        nonfinite.append(bad_share)
        datas.append(filt_w)
        t0, period = dejitter(timestamps[a:b], rate_hz)
        starts_t.append(t0 + starts * (down / up) * period)
    n_ch = len(model_channels)
    start_times = np.concatenate(starts_t) if starts_t else np.zeros(0)
    nonfinite_all = np.concatenate(nonfinite) if nonfinite else np.zeros((0, n_ch))
    windows = Windows(
        data=np.concatenate(datas) if datas else np.zeros((0, n_ch, win), np.float32),
        start_times=start_times,
        end_times=start_times + window_s,
        quality=[{} for _ in start_times],
        reasons=["NaN/inf samples" if share.max() > 0 else None for share in nonfinite_all],
        channel_ok=nonfinite_all == 0,
        figures=np.concatenate(figures) if figures else np.zeros((0, n_ch, len(FIGURES))),
        nonfinite=nonfinite_all,
        channels=tuple(model_channels),
    )
    if not judge:
        return windows
    return windows.judged(history or QualityHistory(n_ch, th.history_windows), th)
