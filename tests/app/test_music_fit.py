"""The per-listener music fit (pure): shrinkage, the crowd fallback, leave-one-track-out."""

from __future__ import annotations

import random

import pytest

from app.music_fit import MIN_TRACKS, Pair, apply, fit, leave_one_track_out


def test_below_the_minimum_the_crowd_position_is_used_unchanged() -> None:
    pairs = [Pair((0.8, 0.3), (0.2, 0.9))] * (MIN_TRACKS - 1)
    params = fit(pairs)
    assert apply(params, (0.8, 0.3)) == pytest.approx((0.8, 0.3))


def test_a_consistent_offset_is_learnt_and_shrinkage_grows_with_evidence() -> None:
    rng = random.Random(3)

    def pairs(n: int) -> list[Pair]:
        out = []
        for _ in range(n):
            v, a = rng.random(), rng.random()
            out.append(Pair((v, a), (v, min(1.0, a + 0.3))))
        return out

    few, many = fit(pairs(4))["arousal"]["offset"], fit(pairs(60))["arousal"]["offset"]
    assert 0 < few < many < 0.35
    assert abs(fit(pairs(60))["valence"]["offset"]) < 0.01


def test_apply_stays_within_0_and_1() -> None:
    params = {"valence": {"offset": 0.9, "slope": 2.0}, "arousal": {"offset": -0.9, "slope": 0.0}}
    v, a = apply(params, (0.9, 0.1))
    assert (v, a) == (1.0, 0.0)


def test_leave_one_track_out_reports_fitted_crowd_and_majority() -> None:
    rng = random.Random(7)
    pairs = []
    for _ in range(30):
        v, a = rng.random(), rng.random()
        pairs.append(Pair((v, a), (v, min(1.0, a + 0.35))))  # everything feels more aroused
    m = leave_one_track_out(pairs)
    assert m["n_tracks"] == 30
    assert m["fitted_agreement"] > m["crowd_agreement"]
    assert 0 < m["majority_rate"] < 1
    assert leave_one_track_out(pairs[:1])["fitted_agreement"] is None
