"""Opening the store: engine, SQLite pragmas, and upgrading to the newest schema.

The app runs Alembic's `upgrade head` itself on first use, so a user never
types an alembic command. SQLite is opened in WAL mode with a busy timeout so
that a listener and a sync can write at once.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

BUSY_TIMEOUT_S = 30.0
# The newest migration in migrations/versions (a test checks it). A store already there is
# opened without importing alembic, which costs every command about 0.2 s of CPU.
HEAD_REVISION = "0005"
URL_EXAMPLES = "sqlite:////path/to/emotune.db or postgresql+psycopg://user@host/emotune"


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic config pointing at the packaged `migrations/` folder."""
    from alembic.config import Config

    import migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if database_url:
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return heads[0]


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _set_sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; SQLite gets WAL mode, a busy timeout and foreign keys."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        # Not echoed: an unreadable URL cannot have its password hidden.
        raise StoreError(
            f"the database URL (EMOTUNE_DATABASE_URL) is not one SQLAlchemy can read; "
            f"use {URL_EXAMPLES}"
        ) from None
    path = sqlite_path(database_url)
    if path is None:
        try:
            return create_engine(database_url)
        except NoSuchModuleError:
            raise StoreError(
                f"unknown kind of database {url.drivername!r} in the database URL; "
                f"use {URL_EXAMPLES}"
            ) from None
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the database driver for {url.drivername} ({exc.name}) is not installed; "
                "for PostgreSQL run `pip install 'emotune[postgres]'` and use postgresql+psycopg://"
            ) from None
    _check_sqlite_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new database file is created owner-only before SQLite opens it (SQLite gives the WAL
    # and SHM files the database file's mode), so the user's emotions stay private whatever
    # the umask. O_EXCL: an existing file is never opened here (see _check_sqlite_file).
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(
            f"database {path} cannot be created ({exc.strerror}); check the folder's permissions"
        ) from None
    engine = create_engine(database_url, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLAlchemy opens it, and leave it untouched.

    The file is read through SQLite itself (read-only), never with a plain `open()`: on
    POSIX, closing *any* descriptor of the database file drops every lock this process
    holds on it, so a connection already open here would silently lose its locks, and
    another process could then delete the write-ahead log under it (a corrupt database).
    SQLite's own file layer shares one descriptor per file within a process and avoids that.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    if not os.access(path, os.R_OK):
        raise StoreError(f"database {path} cannot be read; check its permissions")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return  # a writer holds it: the engine's busy timeout deals with that
        raise StoreError(
            f"database {path} is not an SQLite database or is corrupt ({text}); "
            "restore it from a backup or move it aside and run `emotune init`"
        ) from None


def describe_database(database_url: str) -> str:
    """The database as shown to a user: a file path, or the URL with its password hidden."""
    path = sqlite_path(database_url)
    return str(path) if path else make_url(database_url).render_as_string(hide_password=True)


def translate_db_error(exc: Exception, database_url: str) -> StoreError:
    """Turn a driver error into a one-line StoreError naming the database and the next step."""
    where = describe_database(database_url)
    lines = str(getattr(exc, "orig", exc)).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__  # one line, whatever the driver
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database {where} is locked by another process for more than {BUSY_TIMEOUT_S:.0f} s; "
            "stop the other emotune command or try again"
        )
    if "connection" in text.lower() and ("failed" in text or "refused" in text):
        return StoreError(
            f"database {where} cannot be reached ({text}); check that its server is running "
            "and that EMOTUNE_DATABASE_URL names it"
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"database {where} is corrupt ({text}); restore it from a backup "
            "or move it aside and run `emotune init`"
        )
    return StoreError(f"database {where}: {text}")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def stamped_revision(engine: Engine) -> str | None:
    """The revision alembic stamped in the store (None: none yet), read with plain SQL."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def refuse_unknown_revision(revision: str | None, database_url: str) -> None:
    """StoreError if `revision` is one this emotune's migrations do not know (a newer one)."""
    if revision is None:
        return
    from alembic.script import ScriptDirectory

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except Exception:
        raise StoreError(
            f"database {describe_database(database_url)} was made by a newer emotune "
            f"(schema revision {revision}); upgrade emotune to use it"
        ) from None


def upgrade_to_head(engine: Engine, database_url: str) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer emotune."""
    try:
        if stamped_revision(engine) == HEAD_REVISION:
            return  # the usual case, known without alembic
        from alembic import command
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        current = current_revision(engine)
        refuse_unknown_revision(current, database_url)
        if current == script.get_current_head():
            return
        with engine.begin() as conn:
            cfg = alembic_config(database_url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except (OperationalError, DatabaseError) as exc:
        raise translate_db_error(exc, database_url) from None


@dataclass
class Store:
    """An open, migrated database."""

    engine: Engine
    database_url: str

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        db = self._sessions()
        try:
            yield db
            db.commit()
        except (OperationalError, DatabaseError) as exc:
            db.rollback()
            raise translate_db_error(exc, self.database_url) from None
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def close(self) -> None:
        self.engine.dispose()


def open_store(database_url: str, *, upgrade: bool = True) -> Store:
    """Open (and by default migrate) the store at `database_url`."""
    engine = make_engine(database_url)
    if upgrade:
        try:
            upgrade_to_head(engine, database_url)
        except BaseException:
            engine.dispose()
            raise
    return Store(engine=engine, database_url=database_url)
