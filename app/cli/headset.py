"""`emotune replay` and `emotune simulate muse`: stand-ins for a headset, over real LSL."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, err_console
from app.errors import ConfigError

simulate_app = typer.Typer(
    help="Stand-ins for a headset: synthetic EEG over LSL.\n\nExample: emotune simulate muse",
    no_args_is_help=True,
)


def replay(
    recording: Annotated[Path, typer.Argument(help="A `muselsl record` CSV file.")],
    speed: Annotated[float, typer.Option(help="Playback speed (1 = real time).")] = 1.0,
    loop: Annotated[bool, typer.Option("--loop", help="Start again at the end.")] = False,
    lsltime: Annotated[
        bool, typer.Option("--lsltime", help="Stamp on the LSL clock, as `muselsl --lsltime`.")
    ] = False,
    source_id: Annotated[
        str | None, typer.Option(help="LSL source id (default: a Muse's, as muselsl names it).")
    ] = None,
) -> None:
    """Publish a muselsl CSV recording as a live LSL stream, exactly as `muselsl stream` would.

    Example: emotune replay recording.csv --speed 2
    """
    import numpy as np

    from classifier.datasets import read_muselsl_csv
    from classifier.muse_outlet import OutletConfig, chunked, publish

    if speed <= 0:
        raise ConfigError(f"--speed must be positive, not {speed}")
    samples, _, labels = read_muselsl_csv(recording)
    aux = _read_aux_column(recording)
    if aux is not None:
        samples, labels = np.column_stack([samples, aux]), [*labels, "Right AUX"]
    cfg = OutletConfig(channel_labels=tuple(labels), lsl_time=lsltime)
    if source_id:
        from dataclasses import replace

        cfg = replace(cfg, source_id=source_id)
    console.print(
        f"publishing {recording.name} ({len(samples) / 256:.0f} s, "
        f"{len(labels)} channels) as LSL stream 'Muse' at {speed:g}x; Ctrl-C stops"
    )
    try:
        while True:
            publish(chunked(samples), cfg, speed=speed)
            if not loop:
                break
    except KeyboardInterrupt:
        pass


def _read_aux_column(path: Path) -> Any:
    import pandas as pd

    header = [c.strip() for c in pd.read_csv(path, nrows=0).columns]
    if "Right AUX" not in header:
        return None
    column = pd.read_csv(path, usecols=lambda c: c.strip() == "Right AUX")
    return column.iloc[:, 0].to_numpy(dtype=float)


def parse_mood_script(text: str, source: str = "script") -> list[tuple[float, str]]:
    """Parse lines `SECONDS MOOD` (e.g. `0 happy`, `30 sad`) into sorted (seconds, mood)."""
    from classifier.synthetic import MOODS

    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigError(f"{source} line {number}: expected `SECONDS MOOD`, got {line!r}")
        try:
            at = float(parts[0])
        except ValueError:
            raise ConfigError(f"{source} line {number}: {parts[0]!r} is not seconds") from None
        if parts[1] not in MOODS:
            raise ConfigError(
                f"{source} line {number}: unknown mood {parts[1]!r}; use {', '.join(MOODS)}"
            )
        steps.append((at, parts[1]))
    if not steps:
        raise ConfigError(f"{source} has no `SECONDS MOOD` lines")
    return sorted(steps)


@simulate_app.command("muse")
def simulate_muse(
    mood: Annotated[str, typer.Option(help="happy, calm, sad or tense.")] = "calm",
    script: Annotated[
        Path | None, typer.Option(help="A file of `SECONDS MOOD` lines: the mood over time.")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    channels: Annotated[int, typer.Option(help="5 like a Muse 2, 4 like a Muse S Athena.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic signal.")] = 0,
    lsltime: Annotated[bool, typer.Option("--lsltime", help="Stamp on the LSL clock.")] = False,
    source_id: Annotated[str, typer.Option(help="LSL source id.")] = "Muse00:55:DA:B0:00:00",
    counter: Annotated[
        bool, typer.Option("--counter", help="Put a sample counter in the AUX channel (tests).")
    ] = False,
    nan_every: Annotated[
        float, typer.Option(help="Every this many seconds, a 0.5 s burst of NaN (tests).")
    ] = 0.0,
    follow_player: Annotated[
        Path | None,
        typer.Option(
            help="A file of `TRACK_URI MOOD` lines: feel each track's mood while Spotify "
            "(or the emulator) plays it, like a listener reacting to the music."
        ),
    ] = None,
    loose: Annotated[
        str | None,
        typer.Option(help="An electrode off the skin (TP9, AF7, AF8 or TP10): try `contact`."),
    ] = None,
) -> None:
    """Publish SYNTHETIC Muse EEG over LSL, exactly as `muselsl stream` would, in a given mood.

    Example: emotune simulate muse --mood happy --duration 60
    """
    import numpy as np

    from classifier.muse_outlet import MUSE_CHUNK, OutletConfig, publish
    from classifier.synthetic import SyntheticMuse, loose_electrode, mood_ratings

    steps = parse_mood_script(script.read_text(), str(script)) if script else [(0.0, mood)]
    mood_ratings(steps[0][1])
    if channels not in (4, 5):
        raise ConfigError(f"--channels must be 4 or 5, not {channels}")
    if counter and channels != 5:
        raise ConfigError("--counter needs the AUX channel: use --channels 5")
    generator = SyntheticMuse(steps[0][1], seed=seed, n_channels=channels)
    labels = ("TP9", "AF7", "AF8", "TP10", "Right AUX")[:channels]
    if loose is not None and loose.upper() not in labels[:4]:
        raise ConfigError(f"--loose must be one of TP9, AF7, AF8, TP10, not {loose!r}")
    loose_at = None if loose is None else labels.index(loose.upper())
    total = None if duration is None else int(duration * 256)
    stop = threading.Event()
    felt = {"mood": steps[0][1]}  # written by the player-following thread, read per chunk
    if follow_player is not None:
        moods_by_uri = parse_track_moods(follow_player.read_text(), str(follow_player))
        threading.Thread(
            target=_follow_player, args=(moods_by_uri, felt, stop), daemon=True
        ).start()

    def chunks() -> Any:
        sent, step, current = 0, 0, steps[0][1]
        while total is None or sent < total:
            t = sent / 256.0
            while step + 1 < len(steps) and t >= steps[step + 1][0]:
                step += 1
                felt["mood"] = steps[step][1]
            if felt["mood"] != current:
                current = felt["mood"]
                generator.set_mood(current)
            chunk = generator.next_chunk(MUSE_CHUNK).astype(np.float64)
            if counter:
                chunk[:, 4] = np.arange(sent, sent + len(chunk))
            if loose_at is not None:
                chunk[:, loose_at] = loose_electrode(len(chunk), sent)
            if nan_every > 0 and (t % nan_every) < 0.5 and t >= nan_every:
                chunk[:, :4] = np.nan
            sent += len(chunk)
            yield chunk

    err_console.print(
        f"SYNTHETIC EEG: publishing LSL stream 'Muse' ({channels} ch, 256 Hz), mood "
        + ", ".join(f"{m} from {t:g} s" for t, m in steps)
    )
    with contextlib.suppress(KeyboardInterrupt):
        publish(
            chunks(), OutletConfig(channel_labels=labels, lsl_time=lsltime, source_id=source_id)
        )
    stop.set()


def parse_track_moods(text: str, source: str = "file") -> dict[str, str]:
    """Parse lines `TRACK_URI MOOD` into {uri: mood}."""
    from classifier.synthetic import MOODS

    out = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in MOODS:
            raise ConfigError(
                f"{source} line {number}: expected `TRACK_URI MOOD` with a mood of "
                f"{', '.join(MOODS)}, got {line!r}"
            )
        out[parts[0]] = parts[1]
    return out


def _follow_player(moods_by_uri: dict[str, str], felt: dict[str, str], stop: Any) -> None:
    """Poll the player twice a second; the felt mood becomes that of the playing track."""
    import logging

    from app.cli.common import settings
    from app.spotify import client_from_settings

    client = client_from_settings(settings())
    while not stop.wait(0.5):
        try:
            state = client.playback_state()
        except Exception as exc:  # keep the headset streaming whatever the player does
            logging.getLogger(__name__).warning("player poll failed: %s", exc)
            continue
        if state is not None and state.is_playing and state.uri in moods_by_uri:
            felt["mood"] = moods_by_uri[state.uri]


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
    app.add_typer(simulate_app, name="simulate")
