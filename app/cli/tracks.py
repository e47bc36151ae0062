"""`emotune tracks`: list tracks and their emotion tags."""

from __future__ import annotations

from typing import Annotated

import typer

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

    The basis column says what each tag rests on: self (your rating), calibrated (a model
    fine-tuned on you), generic (a model trained on other people), SYNTHETIC (a model
    trained on synthetic EEG only: not a reading of you), voice, or music (Last.fm tags:
    the crowd's description of the song, for a track with no other tag).

    Example: emotune tracks --emotion calm --json
    """
    if emotion is not None and emotion not in EMOTIONS:
        raise ConfigError(f"unknown emotion {emotion!r}; choose one of {', '.join(EMOTIONS)}")
    from app.db import repository

    store = open_user_store()
    try:
        with store.session() as db:
            rows = repository.list_tracks(db, emotion=emotion, include_music=True)
    finally:
        store.close()
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        console.print("no tracks yet: `emotune listen` tags tracks as you play them")
        return
    from rich.table import Table

    table = Table("track", "artists", "emotion", "valence", "arousal", "confidence", "listens")
    # Never squeezed: a narrow terminal shortens names, not what a tag rests on.
    table.add_column("basis", no_wrap=True, min_width=len("SYNTHETIC"))
    for r in rows:
        table.add_row(
            r.name or r.spotify_id,
            r.artists,
            r.emotion or "-",
            f"{r.valence:.2f}" if r.valence is not None else "-",
            f"{r.arousal:.2f}" if r.arousal is not None else "-",
            f"{r.confidence:.2f}" if r.confidence is not None else "-",
            str(r.n_listens),
            _basis_text(r.basis),
        )
    console.print(table)


def _basis_text(basis: str | None) -> str:
    if basis is None:
        return "-"
    # Upper case, as everywhere else: a synthetic-trained model did not read this listener.
    return "SYNTHETIC" if basis == "synthetic" else basis


def register(app: typer.Typer) -> None:
    app.command("tracks")(tracks)
