"""The bar every EEG model must clear: band power and logistic regression.

The standard reference for resting-state and affect EEG: the log power of theta (4-8 Hz),
alpha (8-13 Hz) and beta (13-30 Hz) per electrode (Welch), z-scored per person with that
person's own windows (no rating used, like classifier.alignment), then a logistic
regression per dimension. A masked electrode's features are the person's mean (zero after
z-scoring). `model evaluate` scores it on the same folds and windows as TSCeption, and
`model calibrate` may use it for a wearer where it wins on their held-out tracks.

Shapes: W windows, C channels, T samples (128 Hz), F = 3 * C features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.model import OUTPUTS
from classifier.signal import MODEL_RATE_HZ

BANDS_HZ = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0)}
BASELINE_NAME = "band-power logistic regression"


def band_power_features(windows: np.ndarray, rate_hz: float = MODEL_RATE_HZ) -> np.ndarray:
    """[W, C, T] band-passed windows -> [W, C * 3] log band power (theta, alpha, beta per
    channel, channel-major). Welch: 2 s Hann segments, half overlap."""
    from scipy.signal import welch

    if len(windows) == 0:
        return np.zeros((0, windows.shape[1] * len(BANDS_HZ)))
    nperseg = min(windows.shape[2], int(2 * rate_hz))
    freqs, power = welch(windows, fs=rate_hz, nperseg=nperseg, axis=2)  # [W, C, F]
    bands = [power[..., (freqs >= lo) & (freqs < hi)].mean(axis=2) for lo, hi in BANDS_HZ.values()]
    return np.log(np.stack(bands, axis=2) + 1e-12).reshape(len(windows), -1)


def zscore_per_person(features: np.ndarray, groups: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """[W, F] features z-scored within each group (person) over its usable entries
    (usable: [W, F] bool); unusable entries become 0, the person's mean."""
    out = np.zeros_like(features, dtype=np.float64)
    for group in np.unique(groups):
        rows = groups == group
        x, ok = features[rows], usable[rows]
        n = np.maximum(ok.sum(axis=0), 1)
        mean = np.where(ok, x, 0.0).sum(axis=0) / n
        var = np.where(ok, (x - mean) ** 2, 0.0).sum(axis=0) / n
        z = (x - mean) / np.sqrt(np.maximum(var, 1e-12))
        out[rows] = np.where(ok, z, 0.0)
    return out


def person_features(windows: np.ndarray, groups: np.ndarray, channel_ok: np.ndarray) -> np.ndarray:
    """The baseline's input: [W, C, T] windows of one or more people (groups [W]) with their
    usable electrodes ([W, C]) -> [W, 3C] per-person z-scored log band power."""
    features = band_power_features(windows)
    usable = np.repeat(np.asarray(channel_ok, bool), len(BANDS_HZ), axis=1)
    return zscore_per_person(features, np.asarray(groups), usable)


@dataclass
class BandPowerBaseline:
    """One logistic regression per dimension on person_features (a dimension with one
    class in training answers that class's rate)."""

    models: dict[str, Any] = field(default_factory=dict)
    constant: dict[str, float] = field(default_factory=dict)

    def fit(self, features: np.ndarray, labels: dict[str, np.ndarray]) -> BandPowerBaseline:
        """features [W, F]; labels: dimension -> [W] 1.0 high / 0.0 low / NaN unrated."""
        from sklearn.linear_model import LogisticRegression

        for dim, y in labels.items():
            rated = ~np.isnan(y)
            if not rated.any():
                continue
            classes = np.unique(y[rated])
            if len(classes) < 2:
                self.constant[dim] = float(classes[0])
                continue
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
            self.models[dim] = model.fit(features[rated], y[rated].astype(int))
        return self

    @property
    def dimensions(self) -> list[str]:
        return [d for d in OUTPUTS if d in self.models or d in self.constant]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """[W, F] -> [W, 2] p(high) for valence and arousal (0.5 where never trained)."""
        out = np.full((len(features), len(OUTPUTS)), 0.5)
        for j, dim in enumerate(OUTPUTS):
            if dim in self.models:
                out[:, j] = self.models[dim].predict_proba(features)[:, 1]
            elif dim in self.constant:
                out[:, j] = self.constant[dim]
        return out
