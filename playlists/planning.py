"""Pure planners: playlist sync, playlist sort, and the mood-matched queue.

No I/O here. A playlist is a list of item URIs in order (`None` for an entry
Spotify sent without an item). A plan is a list of operations with Spotify's
semantics, each one request: `Remove` drops every occurrence of its URIs,
`Add` inserts at `position` (or appends), `Move` is Spotify's range reorder
(`insert_before` counts positions before the move), `Replace` sets the whole
playlist (the first request of a replace; later batches are appends).
`apply_ops` is the reference model of those semantics; the property tests
check `apply_ops(current, plan.ops) == plan.target` and that nothing is lost.
Valence and arousal are probabilities of "high" in [0, 1].
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

WRITE_BATCH = 100
SORT_KEYS = ("quadrant", "valence", "arousal", "arc")
QUADRANT_ORDER = ("happy", "calm", "sad", "tense")
ADDABLE_PREFIXES = ("spotify:track:", "spotify:episode:")

Uri = str | None


@dataclass(frozen=True)
class Add:
    uris: tuple[str, ...]
    position: int | None = None  # None appends


@dataclass(frozen=True)
class Remove:
    uris: tuple[str, ...]  # every occurrence of each goes


@dataclass(frozen=True)
class Move:
    range_start: int
    insert_before: int
    range_length: int = 1


@dataclass(frozen=True)
class Replace:
    uris: tuple[str, ...]


Op = Add | Remove | Move | Replace


@dataclass(frozen=True)
class Plan:
    """Operations turning a playlist into `target`, with counts of what changes."""

    ops: tuple[Op, ...]
    target: tuple[Uri, ...]
    added: int = 0
    removed: int = 0
    moved: int = 0
    replaced: bool = False

    @property
    def writes(self) -> int:
        return len(self.ops)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "removed": self.removed,
            "moved": self.moved,
            "writes": self.writes,
            "replace": self.replaced,
        }


def apply_ops(current: Sequence[Uri], ops: Sequence[Op]) -> list[Uri]:
    """What Spotify does with `ops` applied in order to a playlist `current`."""
    items = list(current)
    for op in ops:
        if isinstance(op, Remove):
            gone = set(op.uris)
            items = [u for u in items if u not in gone]
        elif isinstance(op, Add):
            pos = len(items) if op.position is None else op.position
            if not 0 <= pos <= len(items):
                raise IndexError(f"add position {pos} outside 0..{len(items)}")
            items[pos:pos] = op.uris
        elif isinstance(op, Replace):
            items = list(op.uris)
        elif isinstance(op, Move):
            start, n, before = op.range_start, op.range_length, op.insert_before
            if n < 1 or start < 0 or start + n > len(items) or not 0 <= before <= len(items):
                raise IndexError(f"move {op} outside a playlist of {len(items)}")
            moving = items[start : start + n]
            rest = items[:start] + items[start + n :]
            at = before if before <= start else before - n
            items = rest[:at] + moving + rest[at:]
    return items


def is_addable(uri: Uri) -> bool:
    """Whether the API can put this item back (local files and empty entries it cannot)."""
    return uri is not None and uri.startswith(ADDABLE_PREFIXES)


def _batches(uris: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(uris[i : i + WRITE_BATCH]) for i in range(0, len(uris), WRITE_BATCH)]


def _replace_ops(target: Sequence[Uri]) -> list[Op]:
    chunks = _batches([u for u in target if u is not None])
    if not chunks:
        return [Replace(())]
    return [Replace(chunks[0]), *(Add(c) for c in chunks[1:])]


def replace_cost(target: Sequence[Uri]) -> int | None:
    """Requests a replace-everything would take; None when it cannot keep every item."""
    if not all(is_addable(u) for u in target):
        return None
    return max(1, math.ceil(len(target) / WRITE_BATCH))


# --- reordering --------------------------------------------------------------------


def _target_ranks(current: Sequence[Uri], target: Sequence[Uri]) -> list[int]:
    """For each entry of `current`, its index in `target` (equal items matched in order)."""
    slots: dict[Uri, list[int]] = {}
    for i, u in enumerate(target):
        slots.setdefault(u, []).append(i)
    seen: Counter[Uri] = Counter()
    ranks = []
    for u in current:
        positions = slots.get(u)
        if positions is None or seen[u] >= len(positions):
            raise ValueError("target is not a reordering of current")
        ranks.append(positions[seen[u]])
        seen[u] += 1
    if len(ranks) != len(target):
        raise ValueError("target is not a reordering of current")
    return ranks


def _longest_increasing(values: Sequence[int]) -> set[int]:
    """The values of one longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k] = v
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k > 0 else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(values[i])
        i = parent[i]
    return keep


def plan_moves(
    current: Sequence[Uri], target: Sequence[Uri], *, max_ops: int | None = None
) -> list[Move] | None:
    """Range moves turning `current` into `target` (a reordering of it).

    Items on one longest increasing run stay put; every other item is moved to
    just after its target predecessor, and neighbours that travel together go in
    one range move. Returns None once more than `max_ops` moves would be needed.
    """
    ranks = _target_ranks(current, target)
    keep = _longest_increasing(ranks)
    state = list(ranks)
    ops: list[Move] = []
    k = 0
    n = len(state)
    while k < n:
        if k in keep:
            k += 1
            continue
        i = state.index(k)
        p = state.index(k - 1) if k > 0 else -1
        length = 1
        while i + length < n and state[i + length] == k + length and k + length not in keep:
            length += 1
        if i != p + 1:
            ops.append(Move(range_start=i, insert_before=p + 1, range_length=length))
            if max_ops is not None and len(ops) > max_ops:
                return None
            moving = state[i : i + length]
            del state[i : i + length]
            at = p + 1 if p + 1 <= i else p + 1 - length
            state[at:at] = moving
        k += length
    return ops


def plan_reorder(current: Sequence[Uri], target: Sequence[Uri]) -> Plan:
    """The cheaper of range moves and a replace (when a replace keeps every item)."""
    cost = replace_cost(target)
    moves = plan_moves(current, target, max_ops=cost)
    if moves is None:  # more moves than a replace needs
        return Plan(tuple(_replace_ops(target)), tuple(target), moved=len(target), replaced=True)
    moved = sum(m.range_length for m in moves)
    return Plan(tuple(moves), tuple(target), moved=moved)


# --- sync ----------------------------------------------------------------------------


def plan_sync(current: Sequence[Uri], desired: Sequence[str], *, keep_order: bool = True) -> Plan:
    """Operations turning playlist `current` into one holding exactly `desired`.

    `desired` is in preferred order (best first) without duplicates. With
    `keep_order` (what `sync` uses) tracks already in the playlist keep their
    places and new ones are appended in `desired` order, so a sync costs
    ceil(removed / 100) + ceil(added / 100) requests; without it the result is
    exactly `desired`. Entries the API cannot remove or re-add (local files,
    empty entries) stay, at the end when the order is exact. Duplicates of a
    wanted track are removed and the track added once again.
    """
    want = list(dict.fromkeys(desired))
    want_set = set(want)
    counts = Counter(current)
    drop = [
        u for u in dict.fromkeys(current) if is_addable(u) and (u not in want_set or counts[u] > 1)
    ]
    drop_set = set(drop)
    survivors = [u for u in current if u not in drop_set]
    present = set(survivors)
    new = [u for u in want if u not in present]
    if keep_order:
        target: list[Uri] = survivors + new
    else:
        target = [*want, *(u for u in survivors if u not in want_set)]
    ops: list[Op] = [Remove(b) for b in _batches(drop)]
    removed = sum(counts[u] for u in drop)
    moved = 0
    cost = replace_cost(target)
    if not keep_order:
        order = [u for u in target if u in present]
        moves = plan_moves(survivors, order, max_ops=cost)
        if moves is None:  # more moves than a replace costs: replace
            return Plan(
                tuple(_replace_ops(target)), tuple(target), len(new), removed, len(target), True
            )
        ops.extend(moves)
        moved = sum(m.range_length for m in moves)
    ops.extend(_insert_ops(target, present))
    if cost is not None and cost < len(ops):
        return Plan(
            tuple(_replace_ops(target)),
            tuple(target),
            added=len(new),
            removed=removed,
            moved=moved,
            replaced=True,
        )
    return Plan(tuple(ops), tuple(target), added=len(new), removed=removed, moved=moved)


def _insert_ops(target: Sequence[Uri], present: set[Uri]) -> list[Op]:
    """Adds for the runs of `target` not in `present`, front to back, so positions hold."""
    ops: list[Op] = []
    k = 0
    while k < len(target):
        if target[k] in present:
            k += 1
            continue
        run_end = k
        while run_end < len(target) and target[run_end] not in present:
            run_end += 1
        run = [u for u in target[k:run_end] if u is not None]
        at_end = run_end == len(target)
        for j, chunk in enumerate(_batches(run)):
            ops.append(Add(chunk, None if at_end else k + j * WRITE_BATCH))
        k = run_end
    return ops


# --- sort ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    """A track's emotion: p(valence high), p(arousal high), and the tag's confidence."""

    valence: float
    arousal: float
    confidence: float = 0.0

    @property
    def quadrant(self) -> str:
        return quadrant(self.valence, self.arousal)


def quadrant(p_valence: float, p_arousal: float) -> str:
    """happy (V+A+), calm (V+A-), sad (V-A-), tense (V-A+); high means > 0.5."""
    if p_valence > 0.5:
        return "happy" if p_arousal > 0.5 else "calm"
    return "tense" if p_arousal > 0.5 else "sad"


def _arc_angle(tag: Tag) -> float:
    """Angle around the plane's centre, starting at calm and turning through happy,
    tense and sad, so neighbours in the order are neighbours in the plane."""
    theta = math.atan2(tag.arousal - 0.5, tag.valence - 0.5)  # calm is at -pi/4
    return (theta + math.pi / 4) % (2 * math.pi)


def sort_key(by: str, tag: Tag) -> tuple[float, ...]:
    if by == "quadrant":
        return (float(QUADRANT_ORDER.index(tag.quadrant)),)
    if by == "valence":
        return (-tag.valence,)
    if by == "arousal":
        return (-tag.arousal,)
    if by == "arc":
        return (_arc_angle(tag),)
    raise ValueError(f"unknown sort {by!r}; choose one of {', '.join(SORT_KEYS)}")


@dataclass(frozen=True)
class SortPlan:
    plan: Plan
    tagged: int
    untagged: int


def sort_target(current: Sequence[Uri], tags: Mapping[str, Tag], by: str) -> list[Uri]:
    """`current` reordered by `by`; ties and untagged entries keep their relative order,
    untagged ones at the end. Duplicates stay."""
    tagged = [(i, u) for i, u in enumerate(current) if u is not None and u in tags]
    untagged = [u for u in current if u is None or u not in tags]
    tagged.sort(key=lambda iu: (*sort_key(by, tags[iu[1]]), iu[0]))  # type: ignore[index]
    return [u for _, u in tagged] + untagged


def plan_sort(current: Sequence[Uri], tags: Mapping[str, Tag], by: str) -> SortPlan:
    target = sort_target(current, tags, by)
    untagged = sum(1 for u in current if u is None or u not in tags)
    return SortPlan(plan_reorder(current, target), len(current) - untagged, untagged)


# --- queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    uri: str
    tag: Tag


def _distance(tag: Tag, point: tuple[float, float]) -> float:
    return math.hypot(tag.valence - point[0], tag.arousal - point[1])


def _nearest(pool: list[Candidate], point: tuple[float, float]) -> Candidate:
    want = quadrant(*point)
    return min(
        pool,
        key=lambda c: (c.tag.quadrant != want, _distance(c.tag, point), -c.tag.confidence, c.uri),
    )


def plan_queue(
    candidates: Sequence[Candidate],
    *,
    mood: tuple[float, float],
    count: int,
    toward: tuple[float, float] | None = None,
    recent: Collection[str] = (),
) -> list[str]:
    """Up to `count` URIs for a mood given as (p valence high, p arousal high).

    Without `toward`: the tracks nearest `mood`, same quadrant first. With
    `toward`: a path of `count` steps from `mood` to `toward`, one track nearest
    each step. Recently played tracks are used only when nothing else is left.
    """
    fresh = [c for c in dict((c.uri, c) for c in candidates).values() if c.uri not in recent]
    stale = [c for c in dict((c.uri, c) for c in candidates).values() if c.uri in recent]
    picked: list[str] = []
    for step in range(count):
        if toward is None:
            point = mood
        else:
            f = (step + 1) / count
            point = (mood[0] + (toward[0] - mood[0]) * f, mood[1] + (toward[1] - mood[1]) * f)
        pool = fresh or stale
        if not pool:
            break
        best = _nearest(pool, point)
        pool.remove(best)
        picked.append(best.uri)
    return picked
