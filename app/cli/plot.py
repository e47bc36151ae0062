"""`emotune plot`: the mood map and per-track timelines as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, open_user_store, print_json


def plot(
    out: Annotated[Path, typer.Option(help="Folder for the PNG files.")] = Path("."),
    tracks: Annotated[int, typer.Option(help="How many tracks the timeline shows.")] = 8,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the written paths as JSON.")
    ] = False,
) -> None:
    """Draw mood-map.png (tracks on the valence-arousal plane) and timeline.png (per-track windows).

    Example: emotune plot --out pictures/
    """
    from app.plots import draw_mood_map, draw_timelines, track_points, track_timelines

    store = open_user_store()
    try:
        with store.session() as db:
            points = track_points(db)
            timelines = track_timelines(db, limit=tracks)
    finally:
        store.close()
    mood_map = draw_mood_map(points, out / "mood-map.png")
    timeline = draw_timelines(timelines, out / "timeline.png")
    if as_json:
        print_json({"mood_map": str(mood_map), "timeline": str(timeline), "tracks": len(points)})
    else:
        console.print(f"wrote {mood_map} ({len(points)} tracks) and {timeline}")


def register(app: typer.Typer) -> None:
    app.command("plot")(plot)
