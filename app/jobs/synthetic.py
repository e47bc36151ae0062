"""Tags that rest on a model trained only on SYNTHETIC EEG: left out of sync, sort and queue.

A synthetic-trained model shows the machinery (the demo), not what a listener felt, so
its tags stay out of real playlists and queues unless the user asks for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

SYNTHETIC = "synthetic"
Row = TypeVar("Row")


def is_synthetic(row: Any) -> bool:
    """Whether a tagged row (`repository.TaggedTrack`) rests on a synthetic-trained model."""
    return row.emotion is not None and row.basis == SYNTHETIC


def leave_out_synthetic(rows: Sequence[Row], include_synthetic: bool) -> tuple[list[Row], int]:
    """The rows to use, and how many synthetic-basis tags were left out."""
    if include_synthetic:
        return list(rows), 0
    kept = [r for r in rows if not is_synthetic(r)]
    return kept, len(rows) - len(kept)


def left_out_line(n: int) -> str:
    """One line saying how many tags were left out and how to use them."""
    tags = "tag" if n == 1 else "tags"
    return (
        f"{n} {tags} from a model trained on SYNTHETIC EEG left out; --include-synthetic uses them"
    )
