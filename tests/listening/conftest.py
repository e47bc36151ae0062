"""Fixtures for the listening tests: a registered EEG model in the test's store."""

from __future__ import annotations

from pathlib import Path

import pytest


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
