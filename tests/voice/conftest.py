"""Fixtures: a synthetic RAVDESS-named set (tones and noise, not speech) and a model on it."""

from __future__ import annotations

from pathlib import Path

import pytest

SYNTHETIC_EMOTIONS = ("neutral", "happy", "sad", "angry")
SYNTHETIC_ACTORS = tuple(range(1, 7))


@pytest.fixture(scope="session")
def synthetic_ravdess(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 synthetic actors x 4 emotions x 3 takes of 1 s, in `Actor_XX/` folders (WAV)."""
    from classifier.voice.synthetic import write_synthetic_ravdess

    root = tmp_path_factory.mktemp("synthetic-ravdess")
    write_synthetic_ravdess(root, actors=SYNTHETIC_ACTORS, emotions=SYNTHETIC_EMOTIONS, takes=3)
    return root


@pytest.fixture(scope="session")
def synthetic_features(synthetic_ravdess: Path) -> tuple:
    """(features (n, 432), emotions, actors) of the synthetic set, extended feature set."""
    from classifier.voice.dataset import scan_ravdess
    from classifier.voice.features import extract_files

    clips = scan_ravdess(synthetic_ravdess)
    extracted = extract_files([c.path for c in clips], "extended", n_jobs=1)
    kept = [clips[i] for i in extracted.kept]
    return extracted.matrix, [c.emotion for c in kept], [c.actor for c in kept]


@pytest.fixture(scope="session")
def synthetic_model_path(synthetic_features: tuple, tmp_path_factory: pytest.TempPathFactory):
    """An svc trained on synthetic actors 1-4 and saved; actors 5-6 are unseen."""
    import numpy as np

    from classifier.voice.models import fit_voice_model

    features, emotions, actors = synthetic_features
    train = np.isin(actors, [1, 2, 3, 4])
    model = fit_voice_model(
        features[train],
        list(np.asarray(emotions)[train]),
        list(np.asarray(actors)[train]),
        kind="svc",
        n_iter=3,
    )
    return model.save(tmp_path_factory.mktemp("synthetic-model") / "voice-synthetic.skops")


@pytest.fixture
def active_voice_model(store, synthetic_model_path: Path) -> int:
    """Register the synthetic model as the active voice model of this test's store."""
    from app.db import repository

    with store.session() as db:
        return repository.register_model(
            db,
            name="voice-synthetic",
            kind="voice",
            path=str(synthetic_model_path),
            description="synthetic test model",
            activate=True,
        ).id
