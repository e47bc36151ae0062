"""Shared fixtures: an isolated EMOTUNE_HOME per test and a migrated store in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
def emotune_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EMOTUNE_HOME, so no test touches a real user's store."""
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "emotune-home"
    home.mkdir()
    monkeypatch.setenv("EMOTUNE_HOME", str(home))
    return home


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
