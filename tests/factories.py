"""Rows for tests, written through the real models into a real store."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.aggregation import window_confidence
from app.db.models import Listen, ListeningSession, WindowPrediction

T0 = 1_800_000_000.0


def add_listen_with_windows(
    db,
    track_id: int,
    probs: Sequence[tuple[float, float]],
    rejected: Collection[int] = (),
    *,
    started_at: float = T0,
    model_id: int | None = None,
) -> Listen:
    """One session with one listen of `track_id` holding one window per (p_valence, p_arousal),
    each made by the registered model `model_id` (None: no model recorded)."""
    session = ListeningSession(started_at=started_at)
    db.add(session)
    db.flush()
    listen = Listen(session_id=session.id, track_id=track_id, started_at=started_at)
    db.add(listen)
    db.flush()
    for i, (pv, pa) in enumerate(probs):
        db.add(
            WindowPrediction(
                session_id=session.id,
                listen_id=listen.id,
                start_time=started_at + i,
                end_time=started_at + 4 + i,
                p_valence=pv,
                p_arousal=pa,
                confidence=window_confidence(pv, pa),
                rejected=i in rejected,
                reject_reason="blink on AF7" if i in rejected else None,
                model_id=model_id,
            )
        )
    db.flush()
    return listen


def save_seeded_untrained_checkpoint(
    path: Path, model_name: str, trained_on: dict[str, Any] | None = None
) -> Path:
    """A real TSCeption checkpoint with seeded random weights (Muse montage), saved at `path`.

    `trained_on` replaces the checkpoint's default description (e.g. {"synthetic": True}).

    Untrained: good for testing plumbing (windows, placement, storage, loading), not accuracy.
    """
    import torch

    from classifier.model import build_tsception, make_checkpoint, save_checkpoint
    from classifier.signal import MUSE_MODEL_CHANNELS

    torch.manual_seed(0)
    net = build_tsception(len(MUSE_MODEL_CHANNELS))
    checkpoint: dict[str, Any] = make_checkpoint(
        state_dict=net.state_dict(),
        model_name=model_name,
        channels=MUSE_MODEL_CHANNELS,
        norm_mean=np.zeros(4),
        norm_std=np.full(4, 20.0),
        trained_on=trained_on or {"data": "nothing: seeded random weights for tests"},
    )
    return save_checkpoint(checkpoint, path)
