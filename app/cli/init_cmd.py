"""`emotune init`: create the folders and the database."""

from __future__ import annotations

import typer

from app.cli.common import console, open_user_store, settings


def init() -> None:
    """Create the config folder, the data folders and the database (migrated to the newest schema).

    Safe to run again: nothing existing is changed, except that your data is made owner-only
    where other accounts could read it.

    Example: EMOTUNE_HOME=~/emotune-test emotune init
    """
    from app.db.engine import current_revision, describe_database

    cfg = settings()
    for folder in (cfg.config_file.parent, cfg.data_dir, cfg.models_dir, cfg.recordings_dir):
        folder.mkdir(parents=True, exist_ok=True)
    store = open_user_store(cfg)
    try:
        revision = current_revision(store.engine)
    finally:
        store.close()
    console.print(f"config:   {cfg.config_file}")
    console.print(f"data:     {cfg.data_dir}")
    console.print(f"database: {describe_database(store.database_url)} (schema {revision})")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
