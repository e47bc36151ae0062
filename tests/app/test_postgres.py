"""The store on PostgreSQL: a real throwaway server, the same migrations, the same tests.

`EMOTUNE_DATABASE_URL=postgresql+psycopg://...` is a documented setting, so it is exercised
here rather than assumed: Alembic migrates a fresh database on a real PostgreSQL server
(started by the tests on loopback), and the repository, sync and listening tests that the
SQLite store passes are collected again below, with the `store` fixture swapped for one on
PostgreSQL. Skipped, saying why, only where PostgreSQL's server binaries are not installed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.cli.main import app
from app.db.engine import Store, alembic_config, current_revision, head_revision, open_store
from app.db.models import Base

# The same tests as on SQLite, collected again in this module with its `store` fixture.
from tests.app.test_repository import (  # noqa: F401
    test_failed_unit_of_work_is_rolled_back,
    test_min_windows_per_listen_drops_short_listens,
    test_one_active_model_per_kind,
    test_recompute_tag_from_windows_excludes_rejected,
    test_self_rating_outranks_eeg,
    test_upsert_track_is_idempotent_and_refreshes,
)
from tests.app.test_sync_cli import (  # noqa: F401
    emu,
    test_a_deleted_playlist_is_recreated_and_others_are_untouched,
    test_interrupted_sync_converges_next_run,
    test_sync_builds_one_playlist_per_emotion_then_sends_no_writes,
    test_sync_follows_tag_changes_and_min_confidence,
)
from tests.listening.test_player_faults import (  # noqa: F401
    test_session_survives_a_500_storm_on_the_player,
)
from tests.postgres_server import postgres_server, why_no_postgres


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if why := why_no_postgres():
        pytest.skip(why)
    with postgres_server() as url:
        yield url


def _create_database(server_url: str) -> str:
    import psycopg

    name = f"emotune_{uuid.uuid4().hex[:10]}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture
def store(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """In this module, the store is a fresh PostgreSQL database migrated by Alembic, and the
    CLI reaches it the way a user's would: through EMOTUNE_DATABASE_URL."""
    url = _create_database(postgres_url)
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", url)
    opened = open_store(url)
    assert opened.engine.dialect.name == "postgresql"
    yield opened
    opened.close()


def test_migrations_round_trip_and_match_the_models_on_postgresql(postgres_url: str) -> None:
    url = _create_database(postgres_url)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        command.downgrade(alembic_config(url), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(url), "head")
        assert "window_predictions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_cli_migrates_a_new_postgresql_database_on_first_use(
    postgres_url: str, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _create_database(postgres_url)
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", url)
    result = cli.invoke(app, ["tracks", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[]"
    engine = create_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+psycopg://emotune:s3cret@127.0.0.1:1/emotune", "cannot be reached"),
        ("postgresql+pg8000://emotune:s3cret@127.0.0.1/emotune", "is not installed"),
        ("nonsense://emotune:s3cret@somewhere/emotune", "unknown kind of database"),
        ("::emotune:s3cret::", "not one SQLAlchemy can read"),
    ],
    ids=["server down", "driver missing", "unknown scheme", "not a URL"],
)
def test_a_bad_database_url_is_one_line_without_the_password(
    url: str, says: str, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", url)
    result = cli.invoke(app, ["tracks"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_init_and_doctor_show_the_database_without_its_password(
    postgres_url: str, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server trusts loopback, so it accepts (and ignores) any password.
    url = _create_database(postgres_url).replace("postgres@", "postgres:s3cret@")
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", url)
    init = cli.invoke(app, ["init"])
    doctor = cli.invoke(app, ["doctor", "--json"])
    assert init.exit_code == 0, init.output
    assert "postgres:***@127.0.0.1" in init.stdout
    assert '"database"' in doctor.stdout and "postgres:***@" in doctor.stdout
    for result in (init, doctor):
        assert "s3cret" not in result.stdout + result.stderr
    # The home (recordings, models) is owner-only; the server's files are its own business.
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["private data"]["ok"], checks["private data"]
    assert not (Path(os.environ["EMOTUNE_HOME"]) / "emotune.db").exists()
