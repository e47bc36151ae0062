"""The pure signal path: Muse samples in, filtered 4 s windows and their quality out.

Every function takes arrays and returns arrays; nothing here reads files or streams.
Shapes use n = samples, C = channels, W = windows, T = samples per window.
Units: samples in microvolts (µV), times in seconds, rates in Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from classifier.errors import ClassifierError

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
FRONTAL = ("AF7", "AF8")


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


def resample(samples: np.ndarray, rate_hz: float, target_hz: float = MODEL_RATE_HZ) -> np.ndarray:
    """Polyphase resampling along axis 0 ([n, C] at rate_hz -> [m, C] at target_hz, float32)."""
    from scipy.signal import resample_poly

    up, down = resample_factors(rate_hz, target_hz)
    if up == down:
        return samples.astype(np.float32, copy=False)
    return resample_poly(samples, up, down, axis=0).astype(np.float32)


@lru_cache(maxsize=16)
def _filter_sos(rate_hz: float, line_noise_hz: float, band: tuple[float, float]) -> np.ndarray:
    from scipy.signal import butter, iirnotch, tf2sos

    sos = butter(4, band, btype="bandpass", fs=rate_hz, output="sos")
    if 0 < line_noise_hz < rate_hz / 2:
        b, a = iirnotch(line_noise_hz, Q=30.0, fs=rate_hz)
        sos = np.vstack([sos, tf2sos(b, a)])
    return sos


def bandpass_notch(
    samples: np.ndarray,
    rate_hz: float = MODEL_RATE_HZ,
    *,
    line_noise_hz: float = 50.0,
    band: tuple[float, float] = BAND_HZ,
) -> np.ndarray:
    """Zero-phase band-pass (4th-order Butterworth) plus a notch at the line frequency.

    samples: [n, C] µV at rate_hz; returns [n, C] float32 µV. A notch above Nyquist is skipped.
    Too short a segment for zero-phase filtering is filtered with the padding it allows.
    """
    from scipy.signal import sosfiltfilt

    sos = _filter_sos(float(rate_hz), float(line_noise_hz), band)
    padlen = min(3 * (2 * len(sos) + 1), max(samples.shape[0] - 1, 0))
    return sosfiltfilt(sos, samples, axis=0, padlen=padlen).astype(np.float32)


def split_at_gaps(
    timestamps: np.ndarray, rate_hz: float, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> list[tuple[int, int]]:
    """Split a recording at timestamp gaps and at backward jumps of the clock.

    timestamps: [n] seconds. Returns half-open index ranges [(start, stop), ...] of
    gap-free stretches, in order, covering every sample exactly once.
    """
    n = len(timestamps)
    if n == 0:
        return []
    step = np.diff(timestamps)
    limit = max(max_gap_s, 2.5 / rate_hz)
    breaks = np.flatnonzero((step > limit) | (step <= 0) | ~np.isfinite(step)) + 1
    edges = [0, *breaks.tolist(), n]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


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
class QualityThresholds:
    """Limits of an acceptable window, per channel (µV and power shares)."""

    flat_std_uv: float = 0.5  # a channel this still is not touching skin
    max_abs_uv: float = 200.0  # after band-pass: beyond this is movement or a loose electrode
    max_line_noise_share: float = 0.5  # share of 1-64 Hz power within ±2 Hz of the mains
    max_emg_share: float = 0.3  # share of power in 30-60 Hz: jaw clench / forehead muscle
    blink_uv: float = 80.0  # frontal 0.5-4 Hz swing beyond this is a blink
    reject_blinks: bool = False  # blinks are frequent; flagged per channel, not rejected


def window_quality(
    raw_windows: np.ndarray,
    filtered_windows: np.ndarray,
    channel_labels: Sequence[str],
    rate_hz: float = MODEL_RATE_HZ,
    *,
    line_noise_hz: float = 50.0,
    thresholds: QualityThresholds | None = None,
) -> tuple[list[dict[str, dict[str, float]]], list[str | None]]:
    """Per-channel quality figures and a reject reason for every window.

    raw_windows: [W, C, T] µV resampled but unfiltered (mains and muscle still visible);
    filtered_windows: [W, C, T] µV after band-pass/notch. Returns (quality, reasons), each of
    length W: quality[w][channel] = {std_uv, peak_uv, line_noise_share, emg_share, blink, flat}
    and reasons[w] None for a good window, else one short reason naming the channel.
    Windows containing NaN/inf get {nonfinite_share} only and a reason.
    """
    th = thresholds or QualityThresholds()
    n_win, n_ch, n_t = raw_windows.shape
    quality: list[dict[str, dict[str, float]]] = [{} for _ in range(n_win)]
    reasons: list[str | None] = [None] * n_win
    if n_win == 0:
        return quality, reasons
    finite = np.isfinite(raw_windows)
    nonfinite_share = 1.0 - finite.mean(axis=2)  # [W, C]
    bad_rows = nonfinite_share.max(axis=1) > 0
    safe_raw = np.where(finite, raw_windows, 0.0)
    safe_filt = np.where(np.isfinite(filtered_windows), filtered_windows, 0.0)

    freqs = np.fft.rfftfreq(n_t, 1.0 / rate_hz)
    centred = safe_raw - safe_raw.mean(axis=2, keepdims=True)
    power = np.abs(np.fft.rfft(centred, axis=2)) ** 2  # [W, C, F]
    total = power[..., (freqs >= 1.0)].sum(axis=2) + 1e-12
    line = power[..., np.abs(freqs - line_noise_hz) <= 2.0].sum(axis=2)
    emg = power[..., (freqs >= 30.0) & (freqs <= 60.0) & (np.abs(freqs - line_noise_hz) > 2.0)]
    line_share = line / total
    emg_share = emg.sum(axis=2) / total
    low = power.copy()
    low[..., (freqs < 0.5) | (freqs > 4.0)] = 0.0
    slow = np.fft.irfft(low, n=n_t, axis=2)  # 0.5-4 Hz component: blinks live here
    blink_swing = slow.max(axis=2) - slow.min(axis=2)
    std = safe_filt.std(axis=2)
    peak = np.abs(safe_filt).max(axis=2)

    labels = list(channel_labels)
    frontal = np.array([label in FRONTAL for label in labels])
    for w in range(n_win):
        if bad_rows[w]:
            quality[w] = {
                labels[c]: {"nonfinite_share": float(nonfinite_share[w, c])} for c in range(n_ch)
            }
            worst = labels[int(np.argmax(nonfinite_share[w]))]
            reasons[w] = f"NaN/inf samples on {worst}"
            continue
        figures = {}
        reason = None
        for c in range(n_ch):
            is_flat = bool(std[w, c] < th.flat_std_uv)
            is_blink = bool(frontal[c] and blink_swing[w, c] > th.blink_uv)
            figures[labels[c]] = {
                "std_uv": round(float(std[w, c]), 3),
                "peak_uv": round(float(peak[w, c]), 3),
                "line_noise_share": round(float(line_share[w, c]), 4),
                "emg_share": round(float(emg_share[w, c]), 4),
                "blink": float(is_blink),
                "flat": float(is_flat),
            }
            if reason is not None:
                continue
            if is_flat:
                reason = f"flat signal on {labels[c]}"
            elif line_share[w, c] > th.max_line_noise_share:
                reason = f"line noise on {labels[c]}"
            elif emg_share[w, c] > th.max_emg_share:
                reason = f"jaw clench / muscle on {labels[c]}"
            elif peak[w, c] > th.max_abs_uv:
                reason = f"amplitude {peak[w, c]:.0f} µV on {labels[c]}"
            elif is_blink and th.reject_blinks:
                reason = f"blink on {labels[c]}"
        quality[w] = figures
        reasons[w] = reason
    return quality, reasons


@dataclass(frozen=True)
class Windows:
    """Windows cut from one recording, ready for normalisation and the model.

    data: [W, 4, T] float32 µV, band-passed, in MUSE_MODEL_CHANNELS order at MODEL_RATE_HZ
    (non-finite samples replaced by 0 so a batch can still run; such windows are rejected);
    start_times/end_times: [W] seconds on the input clock; quality/reasons: per window.
    """

    data: np.ndarray
    start_times: np.ndarray
    end_times: np.ndarray
    quality: list[dict[str, dict[str, float]]]
    reasons: list[str | None]

    def __len__(self) -> int:
        return len(self.start_times)


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
    with_quality: bool = True,
) -> Windows:
    """The whole signal path for one recording.

    samples: [n, C] µV at rate_hz with one label per column (any order; AUX ignored);
    timestamps: [n] seconds. Picks and orders the model channels, splits at gaps, and per
    gap-free stretch resamples to MODEL_RATE_HZ, filters and cuts windows of window_s every
    stride_s. Every window lies wholly inside one stretch; stretches shorter than a window
    give none. Returns Windows (data [W, len(model_channels), window_s * 128]).
    """
    samples = np.asarray(samples)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if len(timestamps) != samples.shape[0]:
        raise ClassifierError(
            f"{samples.shape[0]} samples but {len(timestamps)} timestamps; they must match"
        )
    picked = pick_channels(samples, channel_labels, model_channels)
    resample_factors(rate_hz)  # refuse a bad rate before any work
    win = int(round(window_s * MODEL_RATE_HZ))
    stride = max(1, int(round(stride_s * MODEL_RATE_HZ)))
    datas, starts_t, ends_t, quality, reasons = [], [], [], [], []
    for a, b in split_at_gaps(timestamps, rate_hz, max_gap_s=max_gap_s):
        seg = picked[a:b]
        seg_t0 = timestamps[a]
        finite = np.isfinite(seg)
        clean = np.where(finite, seg, 0.0) if not finite.all() else seg
        raw = resample(clean, rate_hz)
        if raw.shape[0] < win:
            continue
        filt = bandpass_notch(raw, MODEL_RATE_HZ, line_noise_hz=line_noise_hz)
        starts = window_starts(raw.shape[0], win, stride)
        if not finite.all():
            # Mark NaN/inf where they were, on the model clock, so quality can name them.
            # A model-clock sample is bad when any input sample it stands for was.
            counts = np.concatenate([np.zeros((1, seg.shape[1])), np.cumsum(~finite, axis=0)])
            edges = np.minimum(
                np.ceil(np.arange(raw.shape[0] + 1) * (b - a) / raw.shape[0]).astype(np.int64),
                b - a,
            )
            bad = (counts[edges[1:]] - counts[edges[:-1]]) > 0
            raw = np.where(bad, np.nan, raw).astype(np.float32)
        raw_w = cut_windows(raw, starts, win)
        filt_w = cut_windows(filt, starts, win)
        if with_quality:
            q, r = window_quality(
                raw_w, filt_w, model_channels, line_noise_hz=line_noise_hz, thresholds=thresholds
            )
        else:
            nonfinite = ~np.isfinite(raw_w).all(axis=(1, 2))
            q = [{} for _ in starts]
            r = ["NaN/inf samples" if bad else None for bad in nonfinite]
        datas.append(filt_w)
        start_times = seg_t0 + starts / MODEL_RATE_HZ
        starts_t.append(start_times)
        ends_t.append(start_times + window_s)
        quality.extend(q)
        reasons.extend(r)
    n_ch = len(model_channels)
    return Windows(
        data=np.concatenate(datas) if datas else np.zeros((0, n_ch, win), np.float32),
        start_times=np.concatenate(starts_t) if starts_t else np.zeros(0),
        end_times=np.concatenate(ends_t) if ends_t else np.zeros(0),
        quality=quality,
        reasons=reasons,
    )
