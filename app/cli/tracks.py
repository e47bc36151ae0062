"""`emotune tracks`: list tracks and their emotion tags."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import console, open_user_store, print_json
from app.emotions import EMOTIONS
from app.errors import ConfigError


def tracks(
    emotion: Annotated[
        str | None,
        typer.Option(help=f"Only tracks tagged with this emotion ({', '.join(EMOTIONS)})."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List tracks with their emotion, valence, arousal and confidence, best confidence first.

    Example: emotune tracks --emotion calm --json
    """
    if emotion is not None and emotion not in EMOTIONS:
        raise ConfigError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    from app.db import repository

    store = open_user_store()
    try:
        with store.session() as db:
            rows = repository.list_tracks(db, emotion=emotion)
    finally:
        store.close()
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        console.print("no tracks yet: `emotune listen` tags tracks as you play them")
        return
    table = Table("track", "artists", "emotion", "valence", "arousal", "confidence", "listens")
    for r in rows:
        table.add_row(
            r.name or r.spotify_id,
            r.artists,
            r.emotion or "-",
            f"{r.valence:.2f}" if r.valence is not None else "-",
            f"{r.arousal:.2f}" if r.arousal is not None else "-",
            f"{r.confidence:.2f}" if r.confidence is not None else "-",
            str(r.n_listens),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("tracks")(tracks)
