"""`emotune db ...`: the schema version of the store."""

from __future__ import annotations

import typer

from app.cli.common import console, settings
from app.errors import StoreError

app = typer.Typer(
    help="Database schema commands.\n\nExample: emotune db current", no_args_is_help=True
)


@app.command("upgrade")
def upgrade() -> None:
    """Upgrade the database to the newest schema (commands also do this on first use).

    Example: emotune db upgrade
    """
    from app.db.engine import current_revision, open_store

    store = open_store(settings().database_url)
    try:
        console.print(f"database at schema {current_revision(store.engine)} (newest)")
    finally:
        store.close()


@app.command("current")
def current() -> None:
    """Print the database's schema revision and the newest this emotune knows.

    Example: emotune db current
    """
    from app.db.engine import (
        current_revision,
        describe_database,
        head_revision,
        open_store,
        refuse_unknown_revision,
        sqlite_path,
    )

    cfg = settings()
    path = sqlite_path(cfg.database_url)
    if path is not None and not path.exists():  # asking must not create an empty file
        raise StoreError(f"no database at {path} yet; run `emotune init`")
    store = open_store(cfg.database_url, upgrade=False)
    try:
        from sqlalchemy.exc import DatabaseError

        try:
            revision = current_revision(store.engine)
        except DatabaseError as exc:
            from app.db.engine import translate_db_error

            raise translate_db_error(exc, cfg.database_url) from None
    finally:
        store.close()
    head = head_revision()
    refuse_unknown_revision(revision, cfg.database_url)
    if revision is None:
        raise StoreError(
            f"database {describe_database(cfg.database_url)} has no schema yet; run `emotune init`"
        )
    status = "newest" if revision == head else f"newest is {head}; run `emotune db upgrade`"
    console.print(f"{revision} ({status})")
