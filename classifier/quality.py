"""Electrode quality: figures per channel and window, a good/bad mask, and a contact status.

A worn Muse rarely has four perfect electrodes at once, so quality is judged per electrode,
not per window: a bad electrode is masked (the model sees zero for it) and the window is
still classified; a window is rejected only when it cannot be read (NaN, or fewer than
`min_good_channels` usable electrodes).

Every constant below was read off real Muse 2 recordings: the 18 people of the shared
eyes-open/eyes-closed set (36 files, ~6,500 windows of 4 s; `benchmarks/bench_quality.py`
prints these figures), where:

- mains pickup is 50 Hz in every file, 10-40 dB above the floor and strongest on TP9/TP10;
  the notch and band-pass remove it, so it is reported (it says the contact is loose), not
  a reason to discard the electrode;
- the median 4-s window peak after band-pass is ~350 µV on AF7 and ~215 µV on AF8 with the
  eyes closed (no blinks): forehead levels differ by head and by state, so amplitude and
  muscle limits are relative to the wearer's own recent windows, not fixed µV;
- the Muse 2 ADC spans ±1000 µV (muselsl scales 12-bit codes by 0.488 µV): samples at the
  rail are clipped. Some people sit at the rail 15-30% of the time on every electrode;
  one electrode railed 20% of the time on another person.

Shapes: W windows, C channels, T samples, F figures. Units: µV, power shares in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

FRONTAL = ("AF7", "AF8")
# The figures kept per channel and window, in this order (the last axis of `figures`).
FIGURES = (
    "std_uv",  # standard deviation after band-pass
    "peak_uv",  # largest |sample| after band-pass
    "line_noise_share",  # share of >= 1 Hz power within ±2 Hz of the mains, before the notch
    "emg_share",  # share of 1-45 Hz power in 30-45 Hz after the filter: muscle
    "railed_share",  # share of the input samples at the ADC's rail (clipped)
    "blink",  # 1.0 when a frontal channel's slow swing looks like a blink
    "flat",  # 1.0 when the channel barely moves (not touching skin)
)
_STD, _PEAK, _LINE, _EMG, _RAIL, _BLINK, _FLAT = range(len(FIGURES))


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of a usable electrode and a readable window (see the module docstring)."""

    flat_std_uv: float = 0.5  # a channel this still is not touching skin
    rail_uv: float = 998.0  # |sample| at or beyond this is the Muse 2 ADC's ±1000 µV rail
    # Clipped beyond this share of the window's samples: the shape of the signal is lost.
    # 5% keeps the brief clipping of a blink on a loose AF7 (most such windows clip < 1%).
    max_railed_share: float = 0.05
    # Relative limits: log(std) and muscle share beyond the median + k * MAD of the wearer's
    # own recent windows (same channel). k = 3 flags ~6-9% of electrode-windows on the
    # shared set, in both conditions alike.
    amplitude_mad_k: float = 3.0
    emg_mad_k: float = 3.0
    min_log_std_mad: float = 0.25  # MAD floor: with k = 3, never below 2.1x the usual level
    min_emg_mad: float = 0.02
    # A muscle flag also needs this much 30-45 Hz power: resting EEG sits at 7-13%.
    min_emg_share: float = 0.2
    history_windows: int = 300  # "recent": the last 5 min at a 1 s stride
    min_history: int = 10  # before this many windows only the absolute limits apply
    # Absolute limits, used alone while the history is short and always as a cap: a
    # band-passed std above 400 µV (99th percentile of the shared set: ~600) means
    # rail-to-rail swings within the ±1000 µV range, and more than half of the power in
    # 30-45 Hz is muscle on any head.
    max_std_uv: float = 400.0
    max_emg_share: float = 0.5
    # Readable window: at least this many usable electrodes (see the README for the data).
    min_good_channels: int = 2
    blink_uv: float = 60.0  # frontal slow (< ~4 Hz) swing beyond this is a blink (flagged)
    mains_report_share: float = 0.3  # mains share above this is reported as contact advice


@lru_cache(maxsize=16)
def _band_weights(n_t: int, rate_hz: float, line_noise_hz: float) -> np.ndarray:
    """[F, 4] 0/1 weights: total (>= 1 Hz) and mains (±2 Hz) of the raw spectrum, then
    1-45 Hz and muscle (30-45 Hz) of the filtered one."""
    freqs = np.fft.rfftfreq(n_t, 1.0 / rate_hz)
    weights = np.stack(
        [
            freqs >= 1.0,
            np.abs(freqs - line_noise_hz) <= 2.0,
            (freqs >= 1.0) & (freqs <= 45.0),
            (freqs >= 30.0) & (freqs <= 45.0),
        ],
        axis=1,
    )
    return weights.astype(np.float32)


def channel_figures(
    raw_windows: np.ndarray,
    filtered_windows: np.ndarray,
    railed_share: np.ndarray,
    channel_labels: Sequence[str],
    rate_hz: float,
    *,
    line_noise_hz: float = 50.0,
    blink_uv: float = 60.0,
    flat_std_uv: float = 0.5,
) -> np.ndarray:
    """[W, C, F] figures (FIGURES order) of every channel of every window.

    raw_windows: [W, C, T] µV resampled but unfiltered (mains still visible); filtered:
    [W, C, T] µV after band-pass and notch; railed_share: [W, C] share of input samples at
    the rail. Non-finite samples must have been replaced (they are judged apart).
    """
    import scipy.fft

    n_win, n_ch, n_t = raw_windows.shape
    out = np.zeros((n_win, n_ch, len(FIGURES)), dtype=np.float64)
    if n_win == 0:
        return out
    weights = _band_weights(n_t, float(rate_hz), float(line_noise_hz))
    raw_spec = scipy.fft.rfft(raw_windows - raw_windows.mean(axis=2, keepdims=True), axis=2)
    raw_bands = (raw_spec.real**2 + raw_spec.imag**2) @ weights[:, :2]
    filt_spec = scipy.fft.rfft(filtered_windows, axis=2)
    filt_bands = (filt_spec.real**2 + filt_spec.imag**2) @ weights[:, 2:]
    out[..., _STD] = filtered_windows.std(axis=2)
    out[..., _PEAK] = np.abs(filtered_windows).max(axis=2)
    out[..., _LINE] = raw_bands[..., 1] / (raw_bands[..., 0] + 1e-12)
    out[..., _EMG] = filt_bands[..., 1] / (filt_bands[..., 0] + 1e-12)
    out[..., _RAIL] = railed_share
    # Blinks: the slow (< ~4 Hz) swing of a frontal channel; a 0.25 s moving average keeps
    # blinks and drops alpha and faster rhythms.
    frontal = np.array([label in FRONTAL for label in channel_labels])
    if frontal.any():
        box = max(1, int(round(0.25 * rate_hz)))
        csum = np.cumsum(filtered_windows[:, frontal, :], axis=2, dtype=np.float64)
        smooth = (csum[..., box:] - csum[..., :-box]) / box
        out[:, frontal, _BLINK] = (smooth.max(axis=2) - smooth.min(axis=2)) > blink_uv
    out[..., _FLAT] = out[..., _STD] < flat_std_uv
    return out


def _median_rows(x: np.ndarray) -> np.ndarray:
    """np.median(x, axis=0) for a small [n, K] array, without np.median's overhead."""
    n = len(x)
    part = np.partition(x, [(n - 1) // 2, n // 2], axis=0)
    return (part[(n - 1) // 2] + part[n // 2]) / 2.0


class QualityHistory:
    """The wearer's recent windows (log std and muscle share per channel), for the relative
    limits. Windows are added in time order, so a live session and a batch run over the same
    EEG judge every window alike (as classifier.alignment does for scaling)."""

    # The limits are recomputed every this many windows (medians cost more than the rest of a
    # window's judgement); the refresh points depend only on the count, so live and batch
    # runs over the same EEG still use the same limits for every window.
    REFRESH_EVERY = 5

    def __init__(self, n_channels: int, size: int = 300) -> None:
        self.values = np.zeros((size, 2 * n_channels))  # [log std per channel, muscle share...]
        self.n_channels = n_channels
        self.count = 0  # windows added in all
        self.size = size
        self._limits: tuple[np.ndarray, np.ndarray] | None = None
        self._limits_at = -1

    def __len__(self) -> int:
        return min(self.count, self.size)

    def add(self, figures: np.ndarray) -> None:
        """Add one window's [C, F] figures (robust limits shrug off its bad channels)."""
        slot = self.count % self.size
        c = self.n_channels
        self.values[slot, :c] = np.log(np.maximum(figures[:, _STD], 1e-3))
        self.values[slot, c:] = figures[:, _EMG]
        self.count += 1

    def limits(self, th: QualityThresholds) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel upper limits ([C] log std, [C] muscle share) from the recent windows:
        median + k * MAD (1.4826 x the median absolute deviation, the robust std)."""
        if self._limits is not None and self.count - self._limits_at < self.REFRESH_EVERY:
            return self._limits
        recent = self.values[: len(self)]
        med = _median_rows(recent)
        mad = 1.4826 * _median_rows(np.abs(recent - med))
        c = self.n_channels
        std_limit = med[:c] + th.amplitude_mad_k * np.maximum(mad[:c], th.min_log_std_mad)
        emg_limit = med[c:] + th.emg_mad_k * np.maximum(mad[c:], th.min_emg_mad)
        self._limits = (std_limit, np.maximum(emg_limit, th.min_emg_share))
        self._limits_at = self.count
        return self._limits


_ISSUES = ("flat signal", "saturated", "amplitude", "muscle")


def issue_codes(
    figures: np.ndarray, th: QualityThresholds, limits: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """[W, C] index into _ISSUES of each channel's first problem (-1 = usable), for windows
    ([W, C, F] figures) judged with the same relative `limits` (None: absolute ones only).
    The order is the order of blame: flat, then clipped, then amplitude, then muscle."""
    std, emg = figures[..., _STD], figures[..., _EMG]
    too_big = std > th.max_std_uv
    too_much_emg = emg > th.max_emg_share
    if limits is not None:
        too_big |= np.log(np.maximum(std, 1e-3)) > limits[0]
        too_much_emg |= emg > limits[1]
    checks = [figures[..., _FLAT] > 0, figures[..., _RAIL] > th.max_railed_share, too_big]
    return np.select([*checks, too_much_emg], [0, 1, 2, 3], default=-1)


def judge_windows(
    figures: np.ndarray,
    nonfinite_share: np.ndarray,
    channel_labels: Sequence[str],
    history: QualityHistory,
    thresholds: QualityThresholds | None = None,
) -> tuple[list[dict[str, dict[str, Any]]], list[str | None], np.ndarray]:
    """Judge windows in time order: (quality, reasons, channel_ok).

    figures: [W, C, F]; nonfinite_share: [W, C] share of NaN/inf samples. `history` is
    updated in place (each window is judged against the windows before it, then added).
    quality[w][channel] = the figures plus "good" (1.0/0.0) and, for a masked channel,
    "issue"; reasons[w] is None for a readable window, else one line naming the electrodes;
    channel_ok: [W, C] bool, the electrodes the model may use.
    """
    th = thresholds or QualityThresholds()
    labels = list(channel_labels)
    n_win, n_ch = figures.shape[:2]
    finite = nonfinite_share.max(axis=1) <= 0 if n_win else np.zeros(0, bool)
    codes = np.full((n_win, n_ch), -1, dtype=np.int64)
    # Windows are judged in blocks that share the same limits (they change only as the
    # history grows past a refresh point), each block at once; the result is the same as
    # judging them one by one.
    w = 0
    while w < n_win:
        ready = len(history) >= th.min_history
        limits = history.limits(th) if ready else None
        due = (
            history.REFRESH_EVERY - (history.count - history._limits_at)
            if ready
            else th.min_history - len(history)
        )
        block = []
        while w < n_win and due > 0:
            block.append(w)
            due -= int(finite[w])
            w += 1
        rows = np.array([b for b in block if finite[b]], dtype=np.int64)
        if len(rows):
            codes[rows] = issue_codes(figures[rows], th, limits)
            for r in rows:
                history.add(figures[r])
    channel_ok = (codes < 0) & finite[:, None]
    rounded = np.round(figures, 4).tolist()
    quality: list[dict[str, dict[str, Any]]] = []
    reasons: list[str | None] = []
    for w in range(n_win):
        if not finite[w]:
            shares = nonfinite_share[w]
            quality.append({labels[c]: {"nonfinite_share": float(shares[c])} for c in range(n_ch)})
            reasons.append(f"NaN/inf samples on {labels[int(np.argmax(shares))]}")
            continue
        issues = [_ISSUES[k] if k >= 0 else None for k in codes[w].tolist()]
        entry: dict[str, dict[str, Any]] = {}
        for c in range(n_ch):
            figs: dict[str, Any] = dict(zip(FIGURES, rounded[w][c], strict=True))
            figs["good"] = 0.0 if issues[c] else 1.0
            if issues[c]:
                figs["issue"] = issues[c]
            entry[labels[c]] = figs
        quality.append(entry)
        n_ok = n_ch - sum(issue is not None for issue in issues)
        if n_ok >= th.min_good_channels:
            reasons.append(None)
        else:
            bad = ", ".join(f"{labels[c]} {issues[c]}" for c in range(n_ch) if issues[c])
            reasons.append(f"{n_ok} of {n_ch} electrodes usable ({bad})")
    return quality, reasons, channel_ok


# --- contact ------------------------------------------------------------------------------

GOOD, SO_SO, BAD = "good", "so-so", "bad"
_ADVICE = {
    "flat signal": "it is not touching the skin: push the band down so the sensor sits flat",
    "saturated": "it is loose or dry: dampen the sensor and the skin under it, press it on",
    "amplitude": "it moves on the skin: tighten the band and keep still",
    "muscle": "relax the jaw and forehead (no clenching, no frowning)",
    "mains": "the contact is weak (it picks up mains hum): move hair aside under the sensor",
}
_WHERE = {
    "TP9": "behind the left ear",
    "TP10": "behind the right ear",
    "AF7": "left forehead",
    "AF8": "right forehead",
}


def contact_status(figures: dict[str, Any], th: QualityThresholds | None = None) -> str:
    """good / so-so / bad for one electrode from one window's quality entry (the Muse app's
    horseshoe): bad when masked or unreadable, so-so with mains pickup, a blink or muscle
    near its limit."""
    th = th or QualityThresholds()
    if "nonfinite_share" in figures or figures.get("good", 1.0) == 0.0 or figures.get("flat"):
        return BAD
    if (
        figures.get("line_noise_share", 0.0) > th.mains_report_share
        or figures.get("railed_share", 0.0) > 0
        or figures.get("emg_share", 0.0) > th.min_emg_share
    ):
        return SO_SO
    return GOOD


def contact_problem(figures: dict[str, Any], th: QualityThresholds | None = None) -> str | None:
    """What is wrong with one electrode's contact, as a key of the advice (None if good)."""
    th = th or QualityThresholds()
    if "nonfinite_share" in figures:
        return "saturated"
    if figures.get("issue"):
        return str(figures["issue"])
    if figures.get("line_noise_share", 0.0) > th.mains_report_share:
        return "mains"
    if figures.get("railed_share", 0.0) > 0:
        return "saturated"
    if figures.get("emg_share", 0.0) > th.min_emg_share:
        return "muscle"
    return None


def contact_advice(channel: str, problem: str) -> str:
    """One line naming the electrode, where it sits, and what to do."""
    where = _WHERE.get(channel, "")
    return f"fix {channel}{f' ({where})' if where else ''}: {_ADVICE[problem]}"


class ContactWatch:
    """Says once when an electrode has been bad for `after_s` seconds of windows in a row
    (the listener's warning). Feed it every classified window in time order."""

    def __init__(self, after_s: float = 30.0) -> None:
        self.after_s = after_s
        self.bad_since: dict[str, float] = {}
        self.warned: set[str] = set()

    def observe(self, end_time: float, quality: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
        """(electrode, problem) for each electrode that has just been bad for after_s."""
        out = []
        for channel, figures in quality.items():
            if contact_status(figures) != BAD:
                self.bad_since.pop(channel, None)
                continue
            since = self.bad_since.setdefault(channel, end_time)
            if end_time - since >= self.after_s and channel not in self.warned:
                self.warned.add(channel)
                out.append((channel, contact_problem(figures) or "saturated"))
        return out
