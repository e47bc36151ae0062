"""The schema comes from Alembic, and the models agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from app.db.engine import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    head_revision,
    open_store,
    stamped_revision,
)
from app.db.models import Base
from app.errors import StoreError


def _upgrade(url: str, target: str = "head") -> None:
    command.upgrade(alembic_config(url), target)


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1


def test_the_head_known_without_alembic_is_the_migrations_head(tmp_path: Path) -> None:
    # open_store skips alembic when the store is stamped HEAD_REVISION: it must be the head.
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0004")  # a store one migration behind is still upgraded on open
    store = open_store(url)
    assert stamped_revision(store.engine) == current_revision(store.engine) == HEAD_REVISION
    store.close()
    assert stamped_revision(create_engine(f"sqlite:///{tmp_path / 'new.db'}")) is None


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _upgrade(url)
    engine = create_engine(url)
    assert "tracks" in inspect(engine).get_table_names()
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    _upgrade(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_match_migrated_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_open_store_upgrades_on_first_use_and_enables_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    store = open_store(url)
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    store.close()


def test_database_from_newer_emotune_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    store.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer emotune"):
        open_store(url)
    assert path.read_bytes() == before


def test_db_current_refuses_a_newer_database_and_creates_no_file(
    emotune_home: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli.main import app

    path = emotune_home / "emotune.db"
    absent = cli.invoke(app, ["db", "current"])
    assert absent.exit_code == 1 and "run `emotune init`" in absent.stderr
    assert not path.exists()
    store = open_store(f"sqlite:///{path}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    store.close()
    newer = cli.invoke(app, ["db", "current"])
    assert newer.exit_code == 1, newer.output
    assert "newer emotune" in newer.stderr and len(newer.stderr.strip().splitlines()) == 1


def test_corrupt_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an SQLite database"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_locked_database_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import app.db.engine as engine_module

    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    open_store(url).close()
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = open_store(url, upgrade=False)
        with pytest.raises(StoreError, match="locked"), store.session() as db:
            from app.db import repository

            repository.upsert_track(db, spotify_id="4uLU6hMCjMI75M1A2tKUQC")
        store.close()
    finally:
        holder.rollback()
        holder.close()


def test_0005_lets_one_dimension_go_unrated_and_its_downgrade_invents_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    _upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO tracks (id, spotify_id, uri, name, artists, album) "
                             "VALUES (1, 't', 'spotify:track:t', '', '', '')")  # fmt: skip
        conn.exec_driver_sql("INSERT INTO listening_sessions (id, started_at, stream_name, "
                             "stream_source_id, stream_channels, stream_clock) "
                             "VALUES (1, 0, '', '', '[]', '')")  # fmt: skip
        for listen in (1, 2):
            conn.exec_driver_sql(
                "INSERT INTO listens (id, session_id, track_id, started_at, progress_start_ms, "
                "completed, skipped, paused_s, windows_dropped, segments) "
                "VALUES (?, 1, 1, 0, 0, 0, 0, 0, 0, '[]')",
                (listen,),
            )
        conn.exec_driver_sql(
            "INSERT INTO self_ratings (listen_id, valence, arousal, rated_at) "
            "VALUES (1, 4, 2, '2026-12-06')"
        )
        # before 0005: both are required
        with pytest.raises(Exception, match="NOT NULL"), conn.begin_nested():
            conn.exec_driver_sql(
                "INSERT INTO self_ratings (listen_id, valence, arousal, rated_at) "
                "VALUES (2, NULL, 5, '2026-12-06')"
            )
    _upgrade(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO self_ratings (listen_id, valence, arousal, rated_at) "
            "VALUES (2, NULL, 5, '2026-12-06')"
        )
    command.downgrade(alembic_config(url), "0004")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT listen_id, valence, arousal FROM self_ratings").all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 4, 2)]  # the half rating dropped, not made up
