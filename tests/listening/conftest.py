"""Fixtures for the listening tests: a registered EEG model in the test's store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def seeded_untrained_model(store, emotune_home: Path) -> Path:
    """A real TSCeption checkpoint with seeded random weights, registered as the active model.

    Untrained: good for testing plumbing (windows, placement, storage), not for accuracy.
    """
    import torch

    from app.db import repository
    from classifier.model import build_tsception, make_checkpoint, save_checkpoint
    from classifier.signal import MUSE_MODEL_CHANNELS

    torch.manual_seed(0)
    net = build_tsception(len(MUSE_MODEL_CHANNELS))
    checkpoint = make_checkpoint(
        state_dict=net.state_dict(),
        model_name="untrained-seeded-test-model",
        channels=MUSE_MODEL_CHANNELS,
        norm_mean=np.zeros(4),
        norm_std=np.full(4, 20.0),
        trained_on={"data": "nothing: seeded random weights for tests"},
    )
    path = save_checkpoint(checkpoint, emotune_home / "models" / "untrained.pt")
    with store.session() as db:
        repository.register_model(
            db, name="untrained-seeded-test-model", kind="eeg", path=str(path), activate=True
        )
    return path


@pytest.fixture
def demo_model(store) -> Path:
    """The shipped demo checkpoint (trained on SYNTHETIC EEG), registered as the active model."""
    import classifier
    from app.db import repository

    path = Path(classifier.__file__).parent / "data" / "demo-synthetic-tsception.pt"
    with store.session() as db:
        repository.register_model(
            db, name="demo-synthetic-tsception", kind="eeg", path=str(path), activate=True
        )
    return path
