"""Properties of the pure tag aggregation."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.aggregation import Rating, WindowProbs, aggregate_track, window_confidence
from app.emotions import quadrant

prob = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
windows_st = st.lists(
    st.builds(
        lambda lid, pv, pa, rej: WindowProbs(lid, pv, pa, window_confidence(pv, pa), rej),
        st.integers(1, 4),
        prob,
        prob,
        st.booleans(),
    ),
    max_size=60,
)
ratings_st = st.lists(
    st.builds(Rating, st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)), max_size=4
)


@given(windows_st, ratings_st, st.randoms())
def test_order_does_not_matter_and_recompute_is_idempotent(windows, ratings, rnd) -> None:
    first = aggregate_track(windows, ratings)
    shuffled = list(windows)
    rnd.shuffle(shuffled)
    assert aggregate_track(shuffled, list(reversed(ratings))) == first
    assert aggregate_track(windows, ratings) == first


@given(windows_st)
def test_rejected_windows_never_count(windows) -> None:
    valid = [w for w in windows if not w.rejected]
    extra_rejected = [WindowProbs(9, 1.0, 0.0, 1.0, True)] * 5
    assert aggregate_track(windows + extra_rejected) == aggregate_track(valid)


@given(windows_st)
def test_tag_lies_within_window_range_and_quadrant_matches(windows) -> None:
    tag = aggregate_track(windows)
    valid = [w for w in windows if not w.rejected]
    if not valid:
        assert tag is None
        return
    assert tag is not None and tag.source == "eeg"
    assert min(w.p_valence for w in valid) - 1e-9 <= tag.valence
    assert tag.valence <= max(w.p_valence for w in valid) + 1e-9
    assert tag.quadrant == quadrant(tag.valence, tag.arousal)
    assert tag.n_windows == len(valid)
    assert 0.0 <= tag.confidence <= 1.0


@given(
    windows_st,
    st.lists(
        st.builds(Rating, st.just(1), st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=3
    ),
)
def test_self_ratings_outrank_eeg(windows, ratings) -> None:
    tag = aggregate_track(windows, ratings)
    assert tag is not None and tag.source == "self"
    mean_v = sum(r.valence for r in ratings) / len(ratings)
    assert math.isclose(tag.valence, (mean_v - 1) / 4)


def test_confident_windows_outweigh_unsure_ones() -> None:
    confident = [WindowProbs(1, 0.95, 0.9, window_confidence(0.95, 0.9))] * 3
    unsure = [WindowProbs(1, 0.45, 0.45, window_confidence(0.45, 0.45))] * 3
    tag = aggregate_track(confident + unsure)
    assert tag is not None
    assert tag.quadrant == "happy"  # a plain mean of 0.7/0.675 would also say happy, but:
    assert tag.valence > (0.95 + 0.45) / 2


def test_listens_with_too_few_windows_do_not_count() -> None:
    windows = [WindowProbs(1, 0.9, 0.9, 0.8)] * 2 + [WindowProbs(2, 0.1, 0.1, 0.8)] * 5
    tag = aggregate_track(windows, min_windows_per_listen=3)
    assert tag is not None
    assert tag.quadrant == "sad" and tag.n_listens == 1 and tag.n_windows == 5


def test_quadrant_names() -> None:
    assert [quadrant(v, a) for v, a in [(0.9, 0.9), (0.9, 0.1), (0.1, 0.1), (0.1, 0.9)]] == [
        "happy",
        "calm",
        "sad",
        "tense",
    ]
    # DREAMER thresholds at rating 3: a 3 is "low", so 0.5 exactly is low.
    assert quadrant(0.5, 0.5) == "sad"


one_dimension_ratings_st = st.lists(
    st.one_of(
        st.builds(Rating, st.integers(1, 4), st.none(), st.integers(1, 5)),
        st.builds(Rating, st.integers(1, 4), st.integers(1, 5), st.none()),
        st.builds(Rating, st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)),
    ),
    min_size=1,
    max_size=4,
)


@given(windows_st, one_dimension_ratings_st)
def test_a_dimension_left_unrated_keeps_the_eegs_value(windows, ratings) -> None:
    tag = aggregate_track(windows, ratings)
    eeg = aggregate_track(windows)
    expected = {}
    for dim in ("valence", "arousal"):
        given_ = [getattr(r, dim) for r in ratings if getattr(r, dim) is not None]
        if given_:
            expected[dim] = (sum(given_) / len(given_) - 1) / 4  # the ratings alone
        elif eeg is not None:
            expected[dim] = getattr(eeg, dim)  # unrated: exactly what the EEG says
    if len(expected) < 2:
        assert tag is None  # known from neither: no tag, rather than an invented value
        return
    assert tag is not None
    assert math.isclose(tag.valence, expected["valence"], abs_tol=1e-12)
    assert math.isclose(tag.arousal, expected["arousal"], abs_tol=1e-12)
    both = any(r.valence is not None for r in ratings) and any(
        r.arousal is not None for r in ratings
    )
    assert tag.source == ("self" if both else "self+eeg")
    assert tag.quadrant == quadrant(tag.valence, tag.arousal)


def test_a_window_read_with_masked_electrodes_weighs_less_in_the_tag() -> None:
    from app.aggregation import electrode_share

    good = {ch: {"good": 1.0} for ch in ("TP9", "AF7", "TP10", "AF8")}
    two_masked = {**good, "TP9": {"good": 0.0, "issue": "saturated"}, "AF8": {"good": 0.0}}
    assert electrode_share(good) == 1.0 and electrode_share(two_masked) == 0.5
    assert electrode_share({"TP9": {"std_uv": 3.0}}) == 1.0  # stored before electrodes counted
    # Same confidence, opposite answers: the window with all four electrodes wins 2:1.
    full = WindowProbs(1, 0.9, 0.9, 0.8, electrodes=electrode_share(good))
    half = WindowProbs(1, 0.1, 0.1, 0.8, electrodes=electrode_share(two_masked))
    tag = aggregate_track([full, half])
    assert tag is not None
    assert math.isclose(tag.valence, (0.9 * 1.0 + 0.1 * 0.5) / 1.5)
