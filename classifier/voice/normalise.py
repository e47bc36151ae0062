"""Per-speaker normalisation: z-score each feature with the speaker's own statistics.

Voices differ more between people than one voice differs between moods, so a
model judged on new speakers gains most from removing each speaker's own
baseline. The statistics come from unlabelled clips of that speaker (an actor's
clips in training, the user's enrolment clips at check-in): no labels are used.

A few clips give noisy statistics, the spread especially: z-scoring with the
plain statistics of 5 clips fell to 26% on held-out RAVDESS actors. So a new
speaker's statistics are shrunk toward the average training speaker, as if
`SHRINK_MEAN_CLIPS` / `SHRINK_SPREAD_CLIPS` clips of the average speaker were
added (measured, 5 folds of 4 unseen actors: 5 clips then give 54%, 20 clips
58%). Speakers who have not enrolled are answered by a fallback model fitted on
un-normalised features (`models.VoiceModel.unenrolled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.voice.errors import VoiceError

# About this many varied clips keep most of the gain of per-speaker normalisation.
RECOMMENDED_CLIPS = 20
# Pseudo-clips of the average speaker blended into a new speaker's mean and spread.
SHRINK_MEAN_CLIPS = 5
SHRINK_SPREAD_CLIPS = 40
# Floor for a feature's spread, relative to its spread across all speakers.
_STD_FLOOR = 1e-3


@dataclass(frozen=True)
class SpeakerStats:
    """Per-feature mean and standard deviation, each `(n_features,)`, from `n_clips` clips."""

    mean: np.ndarray
    std: np.ndarray
    n_clips: int

    def apply(self, features: np.ndarray) -> np.ndarray:
        """Normalise `(n_clips, n_features)` (or one `(n_features,)` vector)."""
        if features.shape[-1] != self.mean.shape[0]:
            raise VoiceError(
                f"features have {features.shape[-1]} values but the speaker statistics "
                f"{self.mean.shape[0]}; enrol again with `emotune voice enrol`"
            )
        return ((features - self.mean) / self.std).astype(np.float32)

    def as_dict(self) -> dict[str, object]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "n_clips": self.n_clips}


def speaker_stats(features: np.ndarray, *, floor: np.ndarray | float = _STD_FLOOR) -> SpeakerStats:
    """Statistics of one speaker's clips, `features` `(n_clips, n_features)`, n_clips >= 1."""
    if features.ndim != 2 or len(features) == 0:
        raise VoiceError("no clips to compute speaker statistics from; enrol a few clips first")
    mean = features.mean(axis=0)
    std = features.std(axis=0) if len(features) > 1 else np.zeros_like(mean)
    return SpeakerStats(
        mean=mean.astype(np.float32),
        std=np.maximum(std, floor).astype(np.float32),
        n_clips=len(features),
    )


def std_floor(features: np.ndarray) -> np.ndarray:
    """A per-feature floor for speaker spreads: 5% of the spread across all clips `(n, d)`."""
    return np.maximum(0.05 * features.std(axis=0), _STD_FLOOR).astype(np.float32)


def normalise_by_speaker(
    features: np.ndarray,
    speakers: Sequence[int],
    *,
    floor: np.ndarray | float = _STD_FLOOR,
    stats_clips: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, dict[int, SpeakerStats]]:
    """Normalise `(n_clips, n_features)` speaker by speaker.

    `stats_clips` takes each speaker's statistics from that many randomly chosen
    clips of theirs (to mimic an enrolment of that size); None uses all of them.
    Returns the normalised matrix and the statistics per speaker.
    """
    speakers = np.asarray(speakers)
    out = np.empty_like(features, dtype=np.float32)
    stats: dict[int, SpeakerStats] = {}
    rng = np.random.default_rng(seed)
    for speaker in np.unique(speakers):
        rows = np.flatnonzero(speakers == speaker)
        chosen = rows
        if stats_clips is not None and len(rows) > stats_clips:
            chosen = rng.choice(rows, size=stats_clips, replace=False)
        s = speaker_stats(features[chosen], floor=floor)
        stats[int(speaker)] = s
        out[rows] = s.apply(features[rows])
    return out, stats


def shrink_toward(
    own: SpeakerStats,
    average: SpeakerStats,
    *,
    mean_clips: int = SHRINK_MEAN_CLIPS,
    spread_clips: int = SHRINK_SPREAD_CLIPS,
) -> SpeakerStats:
    """Blend a speaker's statistics from `own.n_clips` clips with the average speaker's."""
    n = own.n_clips
    mean = (n * own.mean + mean_clips * average.mean) / (n + mean_clips)
    var = (n * own.std.astype(np.float64) ** 2 + spread_clips * average.std**2) / (n + spread_clips)
    std = np.sqrt(var).astype(np.float32)
    return SpeakerStats(mean=mean.astype(np.float32), std=std, n_clips=n)


def generic_stats(per_speaker: dict[int, SpeakerStats]) -> SpeakerStats:
    """An average speaker (mean of means, root-mean-square of spreads) for un-enrolled users."""
    means = np.stack([s.mean for s in per_speaker.values()])
    stds = np.stack([s.std for s in per_speaker.values()])
    return SpeakerStats(
        mean=means.mean(axis=0).astype(np.float32),
        std=np.sqrt((stds**2).mean(axis=0)).astype(np.float32),
        n_clips=0,
    )
