"""Per-wearer alignment: every channel z-scored with the wearer's own statistics.

Two heads differ far more in amplitude scale and electrode contact than one head differs
between moods (on real Muse recordings the per-channel standard deviation of the
band-passed signal ranges from ~5 µV to ~50 µV between people). A model trained on
un-aligned windows learns "this person's scale" and fails on the next head. So each
wearer's windows are divided by that wearer's own per-channel level before the model sees
them, the same way everywhere:

- training and evaluation: a subject's statistics over all of that subject's clean windows
  (the wearer's unlabelled EEG; no rating is used, so a held-out subject can be aligned);
- calibration: the wearer's statistics over all their rated listens;
- listening, `reclassify` and `import-recording`: an expanding estimate over the session's
  clean windows in time order: window k is scaled with the statistics of the clean windows
  0..k. A batch run over the same raw EEG walks the windows in the same order and so
  reproduces the live result; the final statistics are stored with the session.

Pure functions and a small accumulator; shapes: W windows, C channels, T samples; µV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

WEARER_ZSCORE = "wearer-zscore"
NO_ALIGNMENT = "none"
ALIGNMENTS = (WEARER_ZSCORE, NO_ALIGNMENT)
_MIN_STD_UV = 1e-3  # a flat channel must not divide by zero


@dataclass
class WearerAlignment:
    """Running per-channel statistics of one wearer's clean windows.

    sum_mean/sum_sq: [C] float64 sums over the observed windows of each window's per-channel
    mean (µV) and mean square (µV²); channel_count: [C] windows observed per channel (a
    masked electrode adds nothing); count: windows observed. Windows are added one at a time
    in time order, so a live session and a batch run over its raw EEG sum identically.
    """

    n_channels: int
    count: int = 0
    sum_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sum_sq: np.ndarray = field(default_factory=lambda: np.zeros(0))
    channel_count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # The model's output side: the sum and count of the raw logits ([2]) of the wearer's
    # clean windows, for models that centre each wearer's logits (see centre_in_order).
    logit_sum: np.ndarray = field(default_factory=lambda: np.zeros(2))
    logit_count: int = 0

    def __post_init__(self) -> None:
        if len(self.sum_mean) == 0:
            self.sum_mean = np.zeros(self.n_channels)
            self.sum_sq = np.zeros(self.n_channels)
        if len(self.channel_count) == 0:
            self.channel_count = np.full(self.n_channels, float(self.count))

    def observe(self, window: np.ndarray, channel_ok: np.ndarray | None = None) -> None:
        """Add one clean window [C, T] µV; channel_ok [C] bool leaves masked electrodes out."""
        x = np.asarray(window, dtype=np.float64)
        ok = np.ones(len(x), bool) if channel_ok is None else np.asarray(channel_ok, bool)
        self.sum_mean += np.where(ok, x.mean(axis=1), 0.0)
        self.sum_sq += np.where(ok, (x * x).mean(axis=1), 0.0)
        self.channel_count += ok
        self.count += 1

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean [C], std [C]) in µV of the windows observed so far (count must be > 0).
        A channel never observed usable gets the mean 0 and the std of the others."""
        n = np.maximum(self.channel_count, 1.0)
        mean = self.sum_mean / n
        var = np.maximum(self.sum_sq / n - mean * mean, 0.0)
        std = np.sqrt(var)
        seen = self.channel_count > 0
        if seen.any() and not seen.all():
            std = np.where(seen, std, np.median(std[seen]))
        return mean, np.maximum(std, _MIN_STD_UV)

    def to_json(self) -> dict[str, Any]:
        """What is stored with a session: the kind, the windows seen and their statistics."""
        out: dict[str, Any] = {"kind": WEARER_ZSCORE, "windows": self.count}
        if self.count:
            mean, std = self.stats()
            out["mean_uv"] = [round(float(v), 6) for v in mean]
            out["std_uv"] = [round(float(v), 6) for v in std]
        if self.logit_count:
            out["logit_centre"] = [round(float(v), 6) for v in self.logit_sum / self.logit_count]
        return out


def _scale(window: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((window - mean[:, None]) / std[:, None]).astype(np.float32)


def align_in_order(
    state: WearerAlignment,
    windows: np.ndarray,
    clean: np.ndarray,
    channel_ok: np.ndarray | None = None,
) -> np.ndarray:
    """Live and batch alignment: [W, C, T] µV -> [W, C, T] z-scores (float32).

    Walks the windows in order: a clean window is added to `state` first (its usable
    electrodes, channel_ok [W, C]), then every window is scaled with the statistics so far.
    Before any clean window has been seen a window is scaled with its own statistics.
    `state` is updated in place (the live session keeps it).
    """
    out = np.empty(windows.shape, dtype=np.float32)
    for i, window in enumerate(windows):
        if clean[i]:
            state.observe(window, None if channel_ok is None else channel_ok[i])
        if state.count:
            mean, std = state.stats()
        else:
            alone = WearerAlignment(windows.shape[1])
            alone.observe(window)
            mean, std = alone.stats()
        out[i] = _scale(window, mean, std)
    return out


def align_by_group(
    windows: np.ndarray,
    clean: np.ndarray,
    groups: np.ndarray,
    channel_ok: np.ndarray | None = None,
) -> np.ndarray:
    """Batch alignment for training: each group (subject, wearer) scaled with the statistics
    of all its clean windows' usable electrodes ([W, C, T] µV -> [W, C, T] float32); a group
    without a clean window uses all of its windows."""
    out = np.empty(windows.shape, dtype=np.float32)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        basis = members[clean[members]] if clean[members].any() else members
        state = WearerAlignment(windows.shape[1])
        for i in basis:
            state.observe(windows[i], None if channel_ok is None else channel_ok[i])
        mean, std = state.stats()
        out[members] = (windows[members] - mean[None, :, None]) / std[None, :, None]
    return out


def centre_in_order(state: WearerAlignment, logits: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Live and batch logit centring: [W, K] raw logits -> [W, K] minus the wearer's mean.

    Heads differ in how strongly each shows the rhythms the model reads (alpha, for one),
    so a model trained on other people leans one way on a new head. Like the band-power
    baseline's per-person z-scoring, the wearer's own average output is taken as their
    neutral point: window k is centred with the mean logit of the clean windows 0..k (a
    clean window is added first; before any, a window is centred on itself). It assumes a
    wearer's windows span both sides of each dimension, as a varied playlist does.
    `state` is updated in place.
    """
    out = np.empty_like(logits, dtype=np.float64)
    for i, row in enumerate(np.asarray(logits, dtype=np.float64)):
        if clean[i]:
            state.logit_sum = state.logit_sum + row
            state.logit_count += 1
        centre = state.logit_sum / state.logit_count if state.logit_count else row
        out[i] = row - centre
    return out


def centre_by_group(logits: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Batch logit centring for evaluation: each group's (wearer's) [W, K] logits minus the
    group's mean logit over all its windows (no rating is used)."""
    out = np.asarray(logits, dtype=np.float64).copy()
    for group in np.unique(groups):
        rows = groups == group
        out[rows] -= out[rows].mean(axis=0)
    return out
