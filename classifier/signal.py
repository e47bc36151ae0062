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
    blink_uv: float = 60.0  # frontal slow (< ~4 Hz) swing beyond this is a blink
    reject_blinks: bool = False  # blinks are frequent; flagged per channel, not rejected


@lru_cache(maxsize=16)
def _band_weights(n_t: int, rate_hz: float, line_noise_hz: float) -> np.ndarray:
    """[F, 3] 0/1 weights picking total (>= 1 Hz), mains (±2 Hz) and muscle (30-60 Hz) bins."""
    freqs = np.fft.rfftfreq(n_t, 1.0 / rate_hz)
    near_mains = np.abs(freqs - line_noise_hz) <= 2.0
    weights = np.stack(
        [freqs >= 1.0, near_mains, (freqs >= 30.0) & (freqs <= 60.0) & ~near_mains], axis=1
    )
    return weights.astype(np.float32)


_FIGURES = ("std_uv", "peak_uv", "line_noise_share", "emg_share", "blink", "flat")


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
    import scipy.fft

    th = thresholds or QualityThresholds()
    n_win, n_ch, n_t = raw_windows.shape
    labels = list(channel_labels)
    if n_win == 0:
        return [], []
    bad_rows = np.zeros(n_win, dtype=bool)
    nonfinite_share = None
    raw = raw_windows
    filt = filtered_windows
    if not np.isfinite(raw).all():
        finite = np.isfinite(raw)
        nonfinite_share = 1.0 - finite.mean(axis=2)  # [W, C]
        bad_rows = nonfinite_share.max(axis=1) > 0
        raw = np.where(finite, raw, 0.0).astype(np.float32)
        filt = np.where(np.isfinite(filt), filt, 0.0).astype(np.float32)

    spectrum = scipy.fft.rfft(raw - raw.mean(axis=2, keepdims=True), axis=2)
    power = spectrum.real**2 + spectrum.imag**2  # [W, C, F]
    bands = power @ _band_weights(n_t, float(rate_hz), float(line_noise_hz))  # [W, C, 3]
    total = bands[..., 0] + 1e-12
    line_share = bands[..., 1] / total
    emg_share = bands[..., 2] / total
    std = filt.std(axis=2)
    peak = np.abs(filt).max(axis=2)
    # Blinks: the slow (< ~4 Hz) swing of a frontal channel; a 0.25 s moving average keeps
    # blinks and drops alpha and faster rhythms.
    frontal = np.array([label in FRONTAL for label in labels])
    blink_swing = np.zeros((n_win, n_ch), dtype=np.float32)
    if frontal.any():
        box = max(1, int(round(0.25 * rate_hz)))
        csum = np.cumsum(filt[:, frontal, :], axis=2, dtype=np.float64)
        smooth = (csum[..., box:] - csum[..., :-box]) / box
        blink_swing[:, frontal] = smooth.max(axis=2) - smooth.min(axis=2)
    is_flat = std < th.flat_std_uv
    is_blink = blink_swing > th.blink_uv
    figures = np.stack(
        [
            np.round(std, 3),
            np.round(peak, 3),
            np.round(line_share, 4),
            np.round(emg_share, 4),
            is_blink.astype(np.float32),
            is_flat.astype(np.float32),
        ],
        axis=2,
    ).tolist()  # [W][C][6] plain floats
    checks = [
        (is_flat, lambda w, c: f"flat signal on {labels[c]}"),
        (line_share > th.max_line_noise_share, lambda w, c: f"line noise on {labels[c]}"),
        (emg_share > th.max_emg_share, lambda w, c: f"jaw clench / muscle on {labels[c]}"),
        (peak > th.max_abs_uv, lambda w, c: f"amplitude {peak[w, c]:.0f} µV on {labels[c]}"),
    ]
    if th.reject_blinks:
        checks.append((is_blink, lambda w, c: f"blink on {labels[c]}"))
    failing = np.zeros((n_win, n_ch), dtype=bool)
    for mask, _ in checks:
        failing |= mask
    quality: list[dict[str, dict[str, float]]] = []
    reasons: list[str | None] = []
    for w in range(n_win):
        if bad_rows[w]:
            assert nonfinite_share is not None
            shares = nonfinite_share[w]
            quality.append({labels[c]: {"nonfinite_share": float(shares[c])} for c in range(n_ch)})
            reasons.append(f"NaN/inf samples on {labels[int(np.argmax(shares))]}")
            continue
        quality.append(
            {labels[c]: dict(zip(_FIGURES, figures[w][c], strict=True)) for c in range(n_ch)}
        )
        reason = None
        if failing[w].any():
            # Channel by channel, the first failed check names the reason.
            for c in range(n_ch):
                hit = next((text for mask, text in checks if mask[w, c]), None)
                if hit is not None:
                    reason = hit(w, c)
                    break
        reasons.append(reason)
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

    def take(self, index: Sequence[int] | np.ndarray) -> Windows:
        """The windows at `index` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return Windows(
            data=self.data[index],
            start_times=self.start_times[index],
            end_times=self.end_times[index],
            quality=[self.quality[i] for i in index],
            reasons=[self.reasons[i] for i in index],
        )


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
    # Work channel-first ([C, n], contiguous in time): scipy filters run faster that way.
    picked_cf = np.ascontiguousarray(picked.T)
    for a, b in split_at_gaps(timestamps, rate_hz, max_gap_s=max_gap_s):
        seg = picked_cf[:, a:b]
        seg_t0 = timestamps[a]
        finite = np.isfinite(seg)
        all_finite = bool(finite.all())
        raw = resample(seg if all_finite else np.where(finite, seg, 0.0), rate_hz, axis=1)
        if raw.shape[1] < win:
            continue
        filt = bandpass_notch(raw, MODEL_RATE_HZ, line_noise_hz=line_noise_hz, axis=1)
        starts = window_starts(raw.shape[1], win, stride)
        if not all_finite:
            # Mark NaN/inf where they were, on the model clock, so quality can name them.
            # A model-clock sample is bad when any input sample it stands for was.
            counts = np.concatenate([np.zeros((seg.shape[0], 1)), np.cumsum(~finite, axis=1)], 1)
            m = raw.shape[1]
            edges = np.minimum(np.ceil(np.arange(m + 1) * (b - a) / m).astype(np.int64), b - a)
            bad = (counts[:, edges[1:]] - counts[:, edges[:-1]]) > 0
            raw = np.where(bad, np.nan, raw).astype(np.float32)
        # [C, n] -> [W, C, T] views (raw) and a contiguous copy (filtered, handed to the model).
        raw_w = np.lib.stride_tricks.sliding_window_view(raw, win, axis=1)[:, starts]
        raw_w = raw_w.transpose(1, 0, 2)
        filt_w = np.lib.stride_tricks.sliding_window_view(filt, win, axis=1)[:, starts]
        filt_w = np.ascontiguousarray(filt_w.transpose(1, 0, 2))
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
