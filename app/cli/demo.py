"""`emotune demo`: the whole product offline, on SYNTHETIC EEG and the local Spotify emulator."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, err_console, print_json


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo home and pictures.")] = Path(
        "demo-output"
    ),
    tracks: Annotated[int, typer.Option(min=1, max=40, help="How many tracks to play.")] = 8,
    speed: Annotated[float, typer.Option(min=1.0, help="Emulator playback speed.")] = 25.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the whole product offline: simulated headset, local Spotify, listen, sync, sort, queue.

    The EEG is SYNTHETIC and the model was trained on synthetic data: this shows the
    machinery, not what a real brain does. Writes mood-map.png and timeline.png into --out.

    Example: emotune demo --out demo-output
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from app.jobs.demo import DemoOptions, run_demo

    screen = err_console if as_json else console  # with --json, stdout is the JSON alone
    screen.print(
        "[bold]emotune demo[/]: SYNTHETIC EEG from a simulated Muse, a demo model trained on "
        "synthetic data, and a local Spotify emulator. Nothing here measures a real brain."
    )
    counts = {"kept": 0, "rejected": 0, "dropped": 0}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=screen,
        transient=False,
    ) as progress:
        task = progress.add_task("listening", total=tracks, detail="")

        def on_event(event: dict[str, Any]) -> None:
            kind = event["event"]
            if kind == "window":
                key = (
                    "rejected"
                    if event["rejected"]
                    else {"inside": "kept"}.get(event["placement"], "dropped")
                )
                counts[key] += 1
            elif kind == "listen_start":
                progress.update(task, description=f"♪ {event['track'][:32]:<32}")
            elif kind == "tag":
                progress.advance(task)
                progress.console.print(
                    f"  tagged {event['track']}: {event['emotion']} "
                    f"(confidence {event['confidence']:.2f}, {event['windows']} windows)"
                )
            progress.update(
                task,
                detail=f"{counts['kept']} windows kept, {counts['rejected']} rejected, "
                f"{counts['dropped']} dropped",
            )

        result = run_demo(
            DemoOptions(out=out, tracks=tracks, speed=speed),
            say=lambda text: progress.console.print(f"• {text}"),
            on_event=on_event,
        )
    if as_json:
        print_json(result.__dict__)
    else:
        _print_summary(result)
    # Everything is written and closed. The interpreter's last garbage collections would walk
    # every object torch, mne and matplotlib made (about 1.5 s of waiting at exit); freezing
    # them leaves their memory to the operating system, as it does anyway when the process ends.
    gc.freeze()


def _print_summary(result: Any) -> None:
    from rich.table import Table

    table = Table(
        "track", "scripted mood (synthetic)", "tag", "confidence", "windows", title="Tracks"
    )
    for t in result.tracks:
        conf = f"{t['confidence']:.2f}" if t["confidence"] is not None else "-"
        table.add_row(
            t["name"], t["scripted_mood"], t["emotion"] or "untagged", conf, str(t["windows"])
        )
    console.print(table)
    console.print(
        f"{result.agreement} of {len(result.tracks)} tags match the scripted mood "
        "(synthetic EEG and a model trained on synthetic EEG: expect agreement, it proves plumbing)"
    )
    for name, items in result.playlists.items():
        console.print(f"[bold]{name}[/] ({len(items)}): " + (", ".join(items) or "-"))
    s = result.sort
    console.print(
        f"sorted {s['name']!r} by {s['by']}: {s['tagged']} tagged, "
        f"{s['untagged']} untagged, {s['requests']['write']} write requests"
    )
    m = result.music
    if m:
        console.print(
            f"sorted {m['playlist']!r} by arc: {m['placed']} of {m['tracks']} placed, only "
            f"{m['heard']} heard ({m['by_basis']}); {m['unplaced']} unplaced. Music tags are "
            "the crowd's description of a song (emulated Last.fm, scripted moods), not your "
            "brain's response:"
        )
        console.print(
            ", ".join(
                f"{o['name']} [{'HEARD' if o['placed_by'] == 'heard' else 'music'}: "
                f"{o['emotion'] or '-'}]"
                for o in m["order"]
            ),
            markup=False,
        )
    q = result.queue
    console.print(
        f"queue --now (mood valence {q['mood']['valence']:.2f}, arousal "
        f"{q['mood']['arousal']:.2f}): " + ", ".join(t["name"] for t in q["tracks"])
    )
    console.print(f"pictures: {', '.join(result.pictures)}")
    console.print(f"done in {result.wall_s:.0f} s")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
