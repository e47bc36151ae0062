"""The four emotions emotune names, as quadrants of the valence-arousal plane.

Valence and arousal are each the probability of "high" (a DREAMER rating > 3);
a probability above 0.5 counts as high.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("happy", "calm", "sad", "tense")

# (valence high, arousal high) -> emotion
_QUADRANTS = {
    (True, True): "happy",
    (True, False): "calm",
    (False, False): "sad",
    (False, True): "tense",
}

# A point at the centre of each quadrant, as (p valence high, p arousal high).
EMOTION_CENTRES: dict[str, tuple[float, float]] = {
    "happy": (0.75, 0.75),
    "calm": (0.75, 0.25),
    "sad": (0.25, 0.25),
    "tense": (0.25, 0.75),
}


def quadrant(p_valence: float, p_arousal: float) -> str:
    """Name the quadrant of a (p valence high, p arousal high) point."""
    return _QUADRANTS[(p_valence > 0.5, p_arousal > 0.5)]


def rating_to_probability(rating: float) -> float:
    """Map a 1-5 self-rating onto 0-1 so that the DREAMER threshold 3 lands on 0.5."""
    return (rating - 1.0) / 4.0
