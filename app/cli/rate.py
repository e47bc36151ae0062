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
    """Rate the most recent recorded listen of a track (1-5 valence and/or arousal) and
    re-tag it.

    Nothing is played: the rating goes on the listen already stored, replacing an earlier
    rating of it. Your rating outranks the EEG in the tag, and is a label that
    `emotune model calibrate` fine-tunes on when the session kept its raw EEG. Give one
    dimension alone when you only know that one: the other stays unrated (no label), and
    the tag keeps the EEG's value for it.

    Example: emotune rate spotify:track:4uLU6hMCjMI75M1A2tKUQC --valence 4 --arousal 2

    Example: emotune rate --last --arousal 5
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
    given = []
    for dim in ("valence", "arousal"):
        was = (r["previous"] or {}).get(dim)
        if r[dim] is not None:
            given.append(f"{dim} {r[dim]}")
        else:
            given.append(f"{dim} unrated" + (f" (was {was})" if was is not None else ""))
    t = r["tag"]
    if t is None:
        unrated = "valence" if r["valence"] is None else "arousal"
        return (
            f"{verb} {r['track']} (listen {r['listen_id']}, {when}): {', '.join(given)}; no "
            f"tag yet: its {unrated} is unrated and no listen of it has enough EEG windows"
        )
    eeg = "" if t["source"] != "self+eeg" else "; the unrated dimension from the EEG"
    return (
        f"{verb} {r['track']} (listen {r['listen_id']}, {when}): {', '.join(given)} -> tag "
        f"{t['emotion']} (valence {t['valence']:.2f}, arousal {t['arousal']:.2f}, confidence "
        f"{t['confidence']:.2f}, basis {t['basis']}{eeg})"
    )


def register(app: typer.Typer) -> None:
    app.command("rate")(rate)
