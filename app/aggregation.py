"""Pure aggregation of window predictions and self-ratings into a per-track tag.

The per-track tag is the weighted mean of the window probabilities over all of
the track's listens, rejected windows excluded; a window's weight is its
confidence times the share of its electrodes the model could use (a window read
with one electrode masked counts three quarters). Self-ratings, where
present, outrank EEG, dimension by dimension: a rating of arousal alone sets the
tag's arousal and leaves its valence to the EEG. The result depends only on the
multiset of inputs (sums use `math.fsum`, which is exact), so recomputing is
deterministic and idempotent whatever order the rows come back in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.emotions import quadrant, rating_to_probability


@dataclass(frozen=True)
class WindowProbs:
    """One window's output: p(valence high), p(arousal high), its confidence in [0, 1]."""

    listen_id: int
    p_valence: float
    p_arousal: float
    confidence: float
    rejected: bool = False
    model_id: int | None = None  # the model that produced it (what the tag's basis rests on)
    electrodes: float = 1.0  # share of the window's electrodes the model used (see below)


@dataclass(frozen=True)
class Rating:
    """A self-rating of one listen, valence and arousal on the 1-5 scale (None: unrated)."""

    listen_id: int
    valence: int | None
    arousal: int | None


@dataclass(frozen=True)
class TagResult:
    valence: float
    arousal: float
    quadrant: str
    confidence: float
    n_windows: int
    n_listens: int
    # "eeg", "self" (both dimensions from ratings) or "self+eeg" (one from ratings, the
    # other from the EEG)
    source: str
    # What the tag rests on ("self", "calibrated", "generic", "synthetic"); the store fills
    # it in (repository.recompute_track_tag), since it depends on the registered models.
    basis: str | None = None


def window_confidence(p_valence: float, p_arousal: float) -> float:
    """How far a prediction is from the 0.5 boundary, in [0, 1] (mean over both dimensions)."""
    return (abs(2 * p_valence - 1) + abs(2 * p_arousal - 1)) / 2


def electrode_share(quality: dict[str, Any] | None) -> float:
    """The share of a window's electrodes the model used, from its stored per-channel
    quality ("good" 1.0/0.0 per channel); 1.0 for windows stored before electrodes were
    judged one by one, which carry no "good" figure."""
    flags = [
        float(figs["good"])
        for figs in (quality or {}).values()
        if isinstance(figs, dict) and "good" in figs
    ]
    return math.fsum(flags) / len(flags) if flags else 1.0


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    total = math.fsum(weights)
    if total <= 0:  # all windows sat on the boundary: plain mean
        return math.fsum(values) / len(values)
    return math.fsum(v * w for v, w in zip(values, weights, strict=True)) / total


def counted_windows(
    windows: Iterable[WindowProbs], min_windows_per_listen: int = 1
) -> list[WindowProbs]:
    """The windows an EEG tag is made of: valid (not rejected, finite) ones of listens that
    have at least `min_windows_per_listen` of them."""
    valid = [w for w in windows if not w.rejected and _finite(w)]
    per_listen: dict[int, int] = {}
    for w in valid:
        per_listen[w.listen_id] = per_listen.get(w.listen_id, 0) + 1
    return [w for w in valid if per_listen[w.listen_id] >= min_windows_per_listen]


def aggregate_track(
    windows: Iterable[WindowProbs],
    ratings: Iterable[Rating] = (),
    *,
    min_windows_per_listen: int = 1,
) -> TagResult | None:
    """The tag of one track, or None when nothing usable is known about it.

    A listen counts for EEG only with at least `min_windows_per_listen` valid
    (not rejected) windows. Each dimension rated in any self-rating comes from the
    ratings of it alone; the other from the EEG (source "self" when both come from
    ratings, "self+eeg" when one does). The EEG window count is kept for context. A
    dimension known from neither (rated arousal, no counted EEG) leaves no tag.
    """
    valid = counted_windows(windows, min_windows_per_listen)
    counted = {w.listen_id for w in valid}
    ratings = [r for r in ratings if r.valence is not None or r.arousal is not None]
    rated_v = [rating_to_probability(r.valence) for r in ratings if r.valence is not None]
    rated_a = [rating_to_probability(r.arousal) for r in ratings if r.arousal is not None]
    eeg_v = eeg_a = None
    if valid:
        weights = [w.confidence * w.electrodes for w in valid]
        eeg_v = _weighted_mean([w.p_valence for w in valid], weights)
        eeg_a = _weighted_mean([w.p_arousal for w in valid], weights)
    v = math.fsum(rated_v) / len(rated_v) if rated_v else eeg_v
    a = math.fsum(rated_a) / len(rated_a) if rated_a else eeg_a
    if v is None or a is None:
        return None
    source = "self" if rated_v and rated_a else "self+eeg" if rated_v or rated_a else "eeg"
    listens = len({r.listen_id for r in ratings} | counted)
    return _tag(v, a, n_windows=len(valid), n_listens=listens, source=source)


def _tag(v: float, a: float, *, n_windows: int, n_listens: int, source: str) -> TagResult:
    return TagResult(
        valence=v,
        arousal=a,
        quadrant=quadrant(v, a),
        confidence=window_confidence(v, a),
        n_windows=n_windows,
        n_listens=n_listens,
        source=source,
    )


def _finite(w: WindowProbs) -> bool:
    return all(math.isfinite(x) for x in (w.p_valence, w.p_arousal, w.confidence))
