"""Fitting music positions to one listener (pure).

The crowd's position of a song is not what it does to you. Once you have tracks
tagged by your own EEG or ratings, a small correction per dimension maps the music
position onto your own tags: y = x + offset + slope * (x - 0.5), with offset and
slope shrunk toward 0 (ridge) so that a few tracks move it only a little; with fewer
than `MIN_TRACKS` tracks the crowd position is used unchanged. It is measured
honestly: leave-one-track-out over your tagged tracks, the fitted quadrant's
agreement with your own tag's quadrant beside the crowd's, and the majority rate
(always guessing the quadrant most of the other tracks have).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.emotions import quadrant

MIN_TRACKS = 3
SHRINK = 4.0  # ridge penalty: worth about four tracks that show no correction
DIMENSIONS = ("valence", "arousal")


@dataclass(frozen=True)
class Pair:
    """One track the listener tagged: its music position and the listener's own tag."""

    music: tuple[float, float]
    own: tuple[float, float]


Params = Mapping[str, Mapping[str, float]]
IDENTITY: dict[str, dict[str, float]] = {d: {"offset": 0.0, "slope": 0.0} for d in DIMENSIONS}


def _solve(xs: Sequence[float], ys: Sequence[float], shrink: float) -> dict[str, float]:
    """Ridge fit of y - x = offset + slope * (x - 0.5)."""
    us = [x - 0.5 for x in xs]
    rs = [y - x for x, y in zip(xs, ys, strict=True)]
    a11, a12, a22 = len(us) + shrink, sum(us), sum(u * u for u in us) + shrink
    b1, b2 = sum(rs), sum(r * u for r, u in zip(rs, us, strict=True))
    det = a11 * a22 - a12 * a12
    return {"offset": (b1 * a22 - a12 * b2) / det, "slope": (a11 * b2 - a12 * b1) / det}


def fit(pairs: Sequence[Pair], *, shrink: float = SHRINK) -> dict[str, dict[str, float]]:
    """Per-dimension offset and slope; the identity (the crowd) below `MIN_TRACKS`."""
    if len(pairs) < MIN_TRACKS:
        return {d: dict(v) for d, v in IDENTITY.items()}
    return {
        d: _solve([p.music[i] for p in pairs], [p.own[i] for p in pairs], shrink)
        for i, d in enumerate(DIMENSIONS)
    }


def apply(params: Params, music: tuple[float, float]) -> tuple[float, float]:
    """A music position through a fit, kept within 0-1."""
    out = []
    for i, d in enumerate(DIMENSIONS):
        p = params.get(d, IDENTITY[d])
        x = music[i]
        out.append(min(1.0, max(0.0, x + p["offset"] + p["slope"] * (x - 0.5))))
    return out[0], out[1]


def leave_one_track_out(pairs: Sequence[Pair], *, shrink: float = SHRINK) -> dict[str, object]:
    """Quadrant agreement with the listener's own tags, each track held out in turn."""
    n = len(pairs)
    if n < 2:
        return {"n_tracks": n, "fitted_agreement": None, "crowd_agreement": None,
                "majority_rate": None}  # fmt: skip
    fitted = crowd = majority = 0
    for i, held in enumerate(pairs):
        rest = [p for j, p in enumerate(pairs) if j != i]
        truth = quadrant(*held.own)
        fitted += quadrant(*apply(fit(rest, shrink=shrink), held.music)) == truth
        crowd += quadrant(*held.music) == truth
        common = Counter(quadrant(*p.own) for p in rest).most_common(1)[0][0]
        majority += common == truth
    return {
        "n_tracks": n,
        "fitted_agreement": fitted / n,
        "crowd_agreement": crowd / n,
        "majority_rate": majority / n,
    }
