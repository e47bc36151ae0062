"""Property tests of the pure planners: a plan applied to the playlist yields its target."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from playlists.planning import (
    WRITE_BATCH,
    Add,
    Candidate,
    Move,
    Remove,
    Replace,
    Tag,
    apply_ops,
    plan_moves,
    plan_queue,
    plan_reorder,
    plan_sort,
    plan_sync,
    sort_target,
)

URIS = [f"spotify:track:{i:022d}" for i in range(40)]
LOCAL = "spotify:local:Artist:Album:Name:200"
uri = st.sampled_from(URIS)
entry = st.one_of(uri, uri, uri, st.just(LOCAL), st.none())
playlist = st.lists(entry, max_size=60)
desired = st.lists(uri, max_size=40, unique=True)


def _no_oversized_batches(ops) -> bool:
    sizes = [len(op.uris) for op in ops if isinstance(op, Add | Remove | Replace)]
    return all(s <= WRITE_BATCH for s in sizes)


@settings(max_examples=300, deadline=None)
@given(playlist, desired, st.booleans())
def test_sync_plan_yields_desired_and_loses_nothing_it_should_keep(current, want, keep) -> None:
    plan = plan_sync(current, want, keep_order=keep)
    result = apply_ops(current, plan.ops)
    assert result == list(plan.target)
    addable = [u for u in result if u is not None and u.startswith("spotify:track:")]
    assert sorted(addable) == sorted(want)  # every wanted track exactly once, nothing else
    kept_foreign = [u for u in current if u is None or u == LOCAL]
    assert Counter(u for u in result if u is None or u == LOCAL) == Counter(kept_foreign)
    if not keep:
        assert addable == want
    assert _no_oversized_batches(plan.ops)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(URIS[:30]), max_size=30, unique=True))
def test_sync_keep_order_keeps_survivors_in_place_and_appends_new(current) -> None:
    want = current[::2] + URIS[30:35]
    plan = plan_sync(current, want)
    assert list(plan.target) == current[::2] + [u for u in URIS[30:35] if u not in current]
    assert plan.moved == 0


def test_unchanged_sync_sends_nothing() -> None:
    assert plan_sync(URIS[:10], URIS[:10]).ops == ()


def test_sync_of_a_large_change_uses_minimal_batches() -> None:
    current = [f"spotify:track:{i:022d}" for i in range(1000)]
    want = current[50:] + [f"spotify:track:{i:022d}" for i in range(1000, 1050)]
    plan = plan_sync(current, want)
    assert [type(op) for op in plan.ops] == [Remove, Add]
    assert plan.added == 50 and plan.removed == 50


def test_sync_from_empty_batches_at_100_and_duplicates_are_removed_then_readded() -> None:
    want = [f"spotify:track:{i:022d}" for i in range(250)]
    plan = plan_sync([], want)
    assert [len(op.uris) for op in plan.ops] == [100, 100, 50]
    dup = plan_sync([URIS[0], URIS[1], URIS[0]], [URIS[0], URIS[1]])
    assert apply_ops([URIS[0], URIS[1], URIS[0]], dup.ops) == [URIS[1], URIS[0]]


@settings(max_examples=300, deadline=None)
@given(playlist, st.randoms(use_true_random=False))
def test_reorder_plan_reaches_any_permutation_without_losing_items(current, rnd) -> None:
    target = list(current)
    rnd.shuffle(target)
    plan = plan_reorder(current, target)
    assert apply_ops(current, plan.ops) == target
    assert Counter(apply_ops(current, plan.ops)) == Counter(current)


def test_one_item_out_of_place_is_one_move() -> None:
    current = URIS[1:10] + URIS[:1]
    moves = plan_moves(current, URIS[:10])
    assert moves == [Move(range_start=9, insert_before=0, range_length=1)]
    block = URIS[5:10] + URIS[:5]  # a block of five travels in one request
    assert len(plan_moves(block, URIS[:10])) == 1


def test_reorder_falls_back_to_replace_when_cheaper() -> None:
    current = [f"spotify:track:{i:022d}" for i in range(300)]
    target = current[::-1]
    plan = plan_reorder(current, target)
    assert plan.replaced and plan.writes == math.ceil(300 / WRITE_BATCH)
    assert apply_ops(current, plan.ops) == target
    with_local = [*current[:5], LOCAL]
    assert not plan_reorder(
        with_local, with_local[::-1]
    ).replaced  # a local file cannot be re-added


tags_strategy = st.dictionaries(
    uri,
    st.builds(Tag, st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(playlist, tags_strategy, st.sampled_from(["quadrant", "valence", "arousal", "arc"]))
def test_sort_keeps_every_item_and_untagged_keep_order_at_the_end(current, tags, by) -> None:
    result = plan_sort(current, tags, by)
    final = apply_ops(current, result.plan.ops)
    assert Counter(final) == Counter(current)  # nothing lost, nothing duplicated
    assert final == sort_target(current, tags, by)
    untagged = [u for u in current if u is None or u not in tags]
    assert final[len(final) - len(untagged) :] == untagged
    assert result.untagged == len(untagged)


def test_sort_by_quadrant_and_valence_orders() -> None:
    tags = {
        URIS[0]: Tag(0.2, 0.9),  # tense
        URIS[1]: Tag(0.9, 0.9),  # happy
        URIS[2]: Tag(0.2, 0.1),  # sad
        URIS[3]: Tag(0.8, 0.2),  # calm
    }
    current = [URIS[0], URIS[4], URIS[1], URIS[2], URIS[3]]
    assert sort_target(current, tags, "quadrant") == [URIS[1], URIS[3], URIS[2], URIS[0], URIS[4]]
    assert sort_target(current, tags, "valence")[:2] == [URIS[1], URIS[3]]
    assert sort_target(current, tags, "arc") == [URIS[3], URIS[1], URIS[0], URIS[2], URIS[4]]


def _cands() -> list[Candidate]:
    grid = [(v / 9, a / 9) for v in range(10) for a in range(10)]
    return [Candidate(URIS[i % 40] + str(i), Tag(v, a, 0.5)) for i, (v, a) in enumerate(grid)]


def test_queue_for_a_mood_picks_nearest_same_quadrant_and_avoids_recent() -> None:
    cands = _cands()
    picked = plan_queue(cands, mood=(0.75, 0.25), count=5)
    by_uri = {c.uri: c.tag for c in cands}
    assert all(by_uri[u].quadrant == "calm" for u in picked)
    again = plan_queue(cands, mood=(0.75, 0.25), count=5, recent=set(picked))
    assert not set(again) & set(picked)


def test_queue_toward_walks_from_the_current_mood_to_the_target() -> None:
    cands = _cands()
    by_uri = {c.uri: c.tag for c in cands}
    path = plan_queue(cands, mood=(0.1, 0.9), toward=(0.9, 0.1), count=6)
    assert len(path) == 6 == len(set(path))
    valences = [by_uri[u].valence for u in path]
    assert valences == sorted(valences) and by_uri[path[-1]].quadrant == "calm"
