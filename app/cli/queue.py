"""`emotune queue`: queue (or play) tracks that match a mood."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import (
    IncludeSyntheticOpt,
    console,
    print_json,
    say_left_out_synthetic,
    settings,
)
from app.emotions import EMOTIONS

EMOTION_LIST = ", ".join(EMOTIONS)


def queue(
    mood: Annotated[
        str | None, typer.Option("--mood", help=f"Tracks of this emotion ({EMOTION_LIST}).")
    ] = None,
    now: Annotated[
        bool, typer.Option("--now", help="Match your current mood from `emotune listen`.")
    ] = False,
    toward: Annotated[
        str | None,
        typer.Option("--toward", help="Walk from your current mood to this emotion."),
    ] = None,
    from_voice: Annotated[
        Path | None,
        typer.Option(
            "--from-voice",
            help="Read your current mood from this WAV/FLAC clip (`emotune voice check-in`).",
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="How many tracks.")] = 10,
    play: Annotated[
        bool, typer.Option("--play", help="Start playing them now instead of queueing.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pick the tracks; change nothing on Spotify.")
    ] = False,
    include_synthetic: IncludeSyntheticOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Queue tagged tracks for a mood: a named one, your current one, or a path between.

    Tags from a model trained on SYNTHETIC EEG are left out unless --include-synthetic.

    Example: emotune queue --mood calm --count 5 --play
    """
    from app.errors import ConfigError
    from app.jobs.queue import queue_for_mood, require_eeg_mood
    from app.spotify import client_from_settings

    options = (("--mood", mood), ("--now", now), ("--toward", toward), ("--from-voice", from_voice))
    chosen = [name for name, on in options if on]
    # --from-voice names the starting mood, so it may go with --toward.
    if len(chosen) != 1 and set(chosen) != {"--toward", "--from-voice"}:
        raise ConfigError(
            "give exactly one of --mood EMOTION, --now, --from-voice FILE or --toward EMOTION "
            "(--toward may follow --from-voice)"
        )
    for value in (mood, toward):
        if value is not None and value not in EMOTIONS:
            raise ConfigError(f"unknown emotion {value!r}; choose one of {EMOTION_LIST}")
    if count < 1:
        raise ConfigError(f"--count must be at least 1 (got {count})")
    cfg = settings()
    if mood is not None:
        from app.emotions import EMOTION_CENTRES

        p_valence, p_arousal = EMOTION_CENTRES[mood]
    elif from_voice is not None:
        from app.jobs.voice import mood_from_voice

        p_valence, p_arousal, _ = mood_from_voice(cfg, from_voice)
    else:
        p_valence, p_arousal = require_eeg_mood(cfg)
    client = None if dry_run else client_from_settings(cfg)
    result = queue_for_mood(
        cfg,
        client,
        p_valence,
        p_arousal,
        count=count,
        toward=toward,
        only_emotion=mood,
        play=play,
        dry_run=dry_run,
        include_synthetic=include_synthetic,
    )
    say_left_out_synthetic(result["left_out_synthetic"], as_json=as_json)
    if as_json:
        print_json(result)
        return
    if not result["tracks"]:
        console.print("no tagged tracks matched; `emotune listen` tags tracks as you play them")
        return
    action = "would queue" if dry_run else "playing" if play else "queued"
    from rich.table import Table

    table = Table("#", "track", "artists", "emotion", "valence", "arousal", title=action)
    for i, t in enumerate(result["tracks"], 1):
        table.add_row(
            str(i),
            t["name"] or t["uri"],
            t["artists"],
            t["emotion"] or "-",
            f"{t['valence']:.2f}",
            f"{t['arousal']:.2f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("queue")(queue)
