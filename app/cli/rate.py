"""`emotune rate`: rate (or correct) a track you already listened to, and re-tag it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from app.cli.common import console, print_json, settings


def rate(
    track: Annotated[
        str | None,
        typer.Argument(help="The track: a Spotify link, spotify:track:ID or the bare id."),
    ] = None,
    valence: Annotated[
        int | None, typer.Option("--valence", help="How pleasant it felt, 1 (low) to 5 (high).")
    ] = None,
    arousal: Annotated[
        int | None, typer.Option("--arousal", help="How energetic it felt, 1 (low) to 5 (high).")
    ] = None,
    last: Annotated[
        bool, typer.Option("--last", help="Rate the track of the most recent listen.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rate the most recent recorded listen of a track (1-5 valence and arousal) and re-tag it.

    Nothing is played: the rating goes on the listen already stored, replacing an earlier
    rating of it. Your rating outranks the EEG in the tag, and is a label that
    `emotune model calibrate` fine-tunes on when the session kept its raw EEG.

    Example: emotune rate spotify:track:4uLU6hMCjMI75M1A2tKUQC --valence 4 --arousal 2
    """
    from app.jobs.rate import rate_listen

    result = rate_listen(settings(), track, last=last, valence=valence, arousal=arousal)
    if as_json:
        print_json(result)
        return
    console.print(_describe(result), markup=False)


def _describe(r: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(r["listened_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    verb = "re-rated" if r["replaced"] else "rated"
    t = r["tag"]
    return (
        f"{verb} {r['track']} (listen {r['listen_id']}, {when}): valence {r['valence']}, "
        f"arousal {r['arousal']} -> tag {t['emotion']} (valence {t['valence']:.2f}, "
        f"arousal {t['arousal']:.2f}, confidence {t['confidence']:.2f}, basis {t['basis']})"
    )


def register(app: typer.Typer) -> None:
    app.command("rate")(rate)
