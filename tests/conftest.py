"""Shared fixtures: an isolated EMOTUNE_HOME per test and a migrated store in it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

# In CI, hypothesis draws the same examples every run (a red build is then reproducible,
# never a coin toss); developers keep random exploration locally.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ISOLATED_ENV = (
    "EMOTUNE_HOME",
    "EMOTUNE_CONFIG",
    "EMOTUNE_DATABASE_URL",
    "EMOTUNE_SPOTIFY_URL",
    "SPOTIPY_CLIENT_ID",
    "SPOTIPY_CLIENT_SECRET",
    "SPOTIPY_REDIRECT_URI",
)


@pytest.fixture(autouse=True)
def emotune_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own EMOTUNE_HOME, so no test touches a real user's store.

    What a test puts in the home stands for what emotune wrote there, so it is written
    owner-only as emotune writes it (otherwise the test's first command would tighten it
    and say so); tests/app/test_privacy.py runs emotune itself under permissive umasks.
    """
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    previous_umask = os.umask(0o077)
    home = tmp_path / "emotune-home"
    home.mkdir()
    monkeypatch.setenv("EMOTUNE_HOME", str(home))
    try:
        yield home
    finally:
        os.umask(previous_umask)


@pytest.fixture
def store(emotune_home: Path) -> Iterator:
    """A real SQLite file in tmp_path, migrated by Alembic to head."""
    from app.config import load_settings
    from app.db.engine import open_store

    s = open_store(load_settings().database_url)
    yield s
    s.close()


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def seeded_untrained_model(store, emotune_home: Path) -> Path:
    """A real TSCeption checkpoint with seeded random weights, registered as the active model.

    Untrained: good for testing plumbing (windows, placement, storage), not for accuracy.
    """
    from app.db import repository
    from tests.factories import save_seeded_untrained_checkpoint

    path = save_seeded_untrained_checkpoint(
        emotune_home / "models" / "untrained.pt", "untrained-seeded-test-model"
    )
    with store.session() as db:
        repository.register_model(
            db, name="untrained-seeded-test-model", kind="eeg", path=str(path), activate=True
        )
    return path
