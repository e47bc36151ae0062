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


def person_stats(features: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [F], std [F]) of one person's features over the usable entries ([W, F] each)."""
    n = np.maximum(usable.sum(axis=0), 1)
    mean = np.where(usable, features, 0.0).sum(axis=0) / n
    var = np.where(usable, (features - mean) ** 2, 0.0).sum(axis=0) / n
    return mean, np.sqrt(np.maximum(var, 1e-12))


def apply_person_stats(
    features: np.ndarray, usable: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """[W, F] z-scores with a person's (mean, std); unusable entries 0, the person's mean."""
    return np.where(usable, (features - mean) / std, 0.0)


def zscore_per_person(features: np.ndarray, groups: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """[W, F] features z-scored within each group (person) over its usable entries
    (usable: [W, F] bool); unusable entries become 0, the person's mean."""
    out = np.zeros_like(features, dtype=np.float64)
    for group in np.unique(groups):
        rows = groups == group
        mean, std = person_stats(features[rows], usable[rows])
        out[rows] = apply_person_stats(features[rows], usable[rows], mean, std)
    return out


def usable_features(channel_ok: np.ndarray) -> np.ndarray:
    """[W, C] usable electrodes -> [W, 3C] usable features (channel-major, as computed)."""
    return np.repeat(np.asarray(channel_ok, bool), len(BANDS_HZ), axis=1)


def person_features(windows: np.ndarray, groups: np.ndarray, channel_ok: np.ndarray) -> np.ndarray:
    """The baseline's input: [W, C, T] windows of one or more people (groups [W]) with their
    usable electrodes ([W, C]) -> [W, 3C] per-person z-scored log band power."""
    features = band_power_features(windows)
    return zscore_per_person(features, np.asarray(groups), usable_features(channel_ok))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


@dataclass
class BandPowerBaseline:
    """One logistic regression per dimension on person_features (a dimension with one
    class in training answers that class). Fitted with scikit-learn; predicts with numpy
    from its coefficients, which is what a checkpoint stores."""

    coef: dict[str, np.ndarray] = field(default_factory=dict)
    intercept: dict[str, float] = field(default_factory=dict)
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
            model.fit(features[rated], y[rated].astype(int))
            self.coef[dim] = model.coef_[0].astype(np.float64)
            self.intercept[dim] = float(model.intercept_[0])
        return self

    @property
    def dimensions(self) -> list[str]:
        return [d for d in OUTPUTS if d in self.coef or d in self.constant]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """[W, F] -> [W, 2] p(high) for valence and arousal (0.5 where never trained)."""
        out = np.full((len(features), len(OUTPUTS)), 0.5)
        for j, dim in enumerate(OUTPUTS):
            if dim in self.coef:
                out[:, j] = _sigmoid(features @ self.coef[dim] + self.intercept[dim])
            elif dim in self.constant:
                out[:, j] = self.constant[dim]
        return out

    def to_checkpoint(self) -> dict[str, Any]:
        """Plain values (lists and floats) for a checkpoint."""
        return {
            "coef": {d: [float(v) for v in c] for d, c in self.coef.items()},
            "intercept": {d: float(v) for d, v in self.intercept.items()},
            "constant": {d: float(v) for d, v in self.constant.items()},
        }

    @classmethod
    def from_checkpoint(cls, part: dict[str, Any]) -> BandPowerBaseline:
        return cls(
            coef={d: np.asarray(c, dtype=np.float64) for d, c in part["coef"].items()},
            intercept={d: float(v) for d, v in part["intercept"].items()},
            constant={d: float(v) for d, v in part["constant"].items()},
        )


# What answers for a calibrated wearer: TSCeption alone, the baseline, or both averaged.
ANSWERS = ("tsception", "baseline", "combined")


@dataclass
class WearerBandPower:
    """A wearer's own baseline as a checkpoint part: their feature statistics (from their
    rated listens), the fitted regression, and which answer the model gives."""

    answer: str
    feature_mean: np.ndarray
    feature_std: np.ndarray
    baseline: BandPowerBaseline

    def probabilities(self, windows: np.ndarray, channel_ok: np.ndarray) -> np.ndarray:
        """[W, C, T] band-passed µV windows with their usable electrodes -> [W, 2] p(high)."""
        features = band_power_features(windows)
        usable = usable_features(channel_ok)
        z = apply_person_stats(features, usable, self.feature_mean, self.feature_std)
        return self.baseline.predict(z)

    def to_checkpoint(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "feature_mean": [float(v) for v in self.feature_mean],
            "feature_std": [float(v) for v in self.feature_std],
            **self.baseline.to_checkpoint(),
        }

    @classmethod
    def from_checkpoint(cls, part: dict[str, Any]) -> WearerBandPower:
        """The part as stored; ClassifierError when it is malformed."""
        from classifier.errors import ClassifierError

        try:
            out = cls(
                answer=str(part["answer"]),
                feature_mean=np.asarray(part["feature_mean"], dtype=np.float64),
                feature_std=np.asarray(part["feature_std"], dtype=np.float64),
                baseline=BandPowerBaseline.from_checkpoint(part),
            )
        except (KeyError, TypeError, ValueError):
            raise ClassifierError("the band-power part of this checkpoint is malformed") from None
        n = len(out.feature_mean)
        if (
            out.answer not in ANSWERS
            or len(out.feature_std) != n
            or not np.all(out.feature_std > 0)
            or any(len(c) != n for c in out.baseline.coef.values())
            or not all(np.isfinite(c).all() for c in out.baseline.coef.values())
        ):
            raise ClassifierError("the band-power part of this checkpoint is malformed")
        return out
