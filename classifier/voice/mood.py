"""From RAVDESS's 8 emotions to valence/arousal probabilities and the four quadrants.

Each emotion sits in one quadrant of the valence-arousal plane (Russell's
circumplex): happy and surprised are pleasant and aroused (happy); calm and
neutral are pleasant-to-neutral and low in arousal (calm); sad is unpleasant
and low (sad); angry, fearful and disgust are unpleasant and aroused (tense).
p(valence high) is the summed probability of the pleasant emotions, p(arousal
high) that of the aroused ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# emotion -> (valence high, arousal high)
EMOTION_AXES: dict[str, tuple[bool, bool]] = {
    "neutral": (True, False),
    "calm": (True, False),
    "happy": (True, True),
    "surprised": (True, True),
    "sad": (False, False),
    "angry": (False, True),
    "fearful": (False, True),
    "disgust": (False, True),
}

_QUADRANTS = {
    (True, True): "happy",
    (True, False): "calm",
    (False, False): "sad",
    (False, True): "tense",
}

EMOTION_QUADRANT: dict[str, str] = {e: _QUADRANTS[axes] for e, axes in EMOTION_AXES.items()}


def valence_arousal(classes: Sequence[str], probabilities: np.ndarray) -> tuple[float, float]:
    """(p valence high, p arousal high) from class probabilities `(len(classes),)`."""
    p = np.asarray(probabilities, dtype=float)
    valence = sum(p[i] for i, c in enumerate(classes) if EMOTION_AXES[c][0])
    arousal = sum(p[i] for i, c in enumerate(classes) if EMOTION_AXES[c][1])
    return float(valence), float(arousal)


def quadrant_of(p_valence: float, p_arousal: float) -> str:
    """The quadrant of a (p valence high, p arousal high) point; 0.5 counts as low."""
    return _QUADRANTS[(p_valence > 0.5, p_arousal > 0.5)]
