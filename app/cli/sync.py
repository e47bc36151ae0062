"""`emotune sync`: keep one Spotify playlist per emotion in step with the tags."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import (
    IncludeSyntheticOpt,
    console,
    err_console,
    print_json,
    say_left_out_synthetic,
    settings,
)


def sync(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing on Spotify.")
    ] = False,
    min_confidence: Annotated[
        float, typer.Option(help="Leave out tracks whose tag confidence is below this (0-1).")
    ] = 0.0,
    include_synthetic: IncludeSyntheticOpt = False,
    include_music: Annotated[
        bool,
        typer.Option(
            "--include-music",
            help="Also file tracks placed only by Last.fm tags (`emotune music fetch`).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Build or update the playlists "emotune · happy", "· calm", "· sad" and "· tense".

    Only those playlists are ever changed; a second sync with no new tags sends no writes.
    Tags from a model trained on SYNTHETIC EEG are left out unless --include-synthetic.

    Example: emotune sync --dry-run --min-confidence 0.6
    """
    from rich.progress import Progress

    from app.emotions import EMOTIONS
    from app.errors import ConfigError
    from app.jobs.sync import run_sync
    from app.spotify import client_from_settings

    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"--min-confidence must be within 0-1 (got {min_confidence})")
    cfg = settings()
    client = client_from_settings(cfg)
    quiet = as_json or not err_console.is_terminal
    with Progress(console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task("syncing playlists", total=len(EMOTIONS))
        report = run_sync(
            cfg,
            client,
            dry_run=dry_run,
            min_confidence=min_confidence,
            include_synthetic=include_synthetic,
            include_music=include_music,
            on_playlist=lambda _e: progress.advance(task),
        )
    say_left_out_synthetic(report.left_out_synthetic, as_json=as_json)
    if as_json:
        print_json(report.as_dict())
        return
    title = "sync plan (dry run: nothing sent)" if dry_run else "sync"
    # Only --include-synthetic lets synthetic-basis tags in; then say how many each holds.
    marked = any(p["synthetic"] for p in report.playlists)
    columns = ["playlist", "tracks", *(["SYNTHETIC"] if marked else [])]
    from rich.table import Table

    table = Table(*columns, "added", "removed", "moved", "writes", title=title)
    for p in report.playlists:
        name = p["name"] + (" (new)" if p["created"] else "")
        table.add_row(
            name,
            str(p["desired"]),
            *([str(p["synthetic"])] if marked else []),
            str(p["added"]),
            str(p["removed"]),
            str(p["moved"]),
            str(p["writes"]),
        )
    console.print(table)
    if marked:
        console.print(
            f"SYNTHETIC: of the tracks, how many are tagged by a model trained on SYNTHETIC EEG "
            f"({sum(p['synthetic'] for p in report.playlists)} in all; --include-synthetic)",
            markup=False,
        )
    r = report.requests
    console.print(f"requests: {r['read']} read, {r['write']} write")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
