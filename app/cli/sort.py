"""`emotune sort`: reorder one of your playlists by its tracks' emotion tags."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import (
    IncludeSyntheticOpt,
    console,
    print_json,
    say_left_out_synthetic,
    settings,
)

SORT_HELP = (
    "quadrant: happy, calm, sad, tense groups; valence / arousal: high to low; "
    "arc: a smooth sweep calm -> happy -> tense -> sad."
)


def sort(
    playlist: Annotated[str, typer.Argument(help="The playlist's URL, URI or id.")],
    by: Annotated[str, typer.Option("--by", help=SORT_HELP)] = "quadrant",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing on Spotify.")
    ] = False,
    include_synthetic: IncludeSyntheticOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Reorder a playlist you own by emotion; unplaced tracks keep their order at the end.

    A track with no EEG or self tag is placed by its music position (Last.fm tags, from
    `emotune music fetch`), marked "music". Tags from a model trained on SYNTHETIC EEG are
    left out unless --include-synthetic.

    Example: emotune sort https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M --by arc
    """
    from app.errors import ConfigError
    from app.jobs.sort import run_sort
    from app.spotify import client_from_settings
    from playlists.planning import SORT_KEYS

    if by not in SORT_KEYS:
        raise ConfigError(f"unknown --by {by!r}; choose one of {', '.join(SORT_KEYS)}")
    cfg = settings()
    result = run_sort(
        cfg,
        client_from_settings(cfg),
        playlist,
        by=by,
        dry_run=dry_run,
        include_synthetic=include_synthetic,
    )
    say_left_out_synthetic(result["left_out_synthetic"], as_json=as_json)
    if as_json:
        print_json(result)
        return
    how = "replaced in order" if result["replace"] else f"{result['moved']} items moved"
    verb = "would be" if dry_run else "was"
    bases = ", ".join(f"{n} {b}" for b, n in sorted(result["by_basis"].items()))
    console.print(
        f"{result['name']!r} {verb} sorted by {by}: {how} in {result['writes']} write(s); "
        f"{result['tagged']} placed ({bases or 'none'}), {result['unplaced']} unplaced "
        "(kept at the end)",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("sort")(sort)
