"""`emotune sandbox`: run the local Spotify emulator (synthetic sample library)."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from app.cli.common import console


def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    speed: Annotated[
        float, typer.Option(help="How much faster than real time the virtual player runs.")
    ] = 1.0,
) -> None:
    """Run a local Spotify emulator on 127.0.0.1 until Ctrl-C; its library is synthetic.

    Point every command at it with EMOTUNE_SPOTIFY_URL, then `emotune login --headless`.
    A Last.fm emulator for the same library starts beside it (`emotune music fetch`).

    Example: emotune sandbox --port 8765 --speed 10
    """
    from app.errors import ConfigError
    from playlists.emulator import start_emulator

    if speed <= 0:
        raise ConfigError(f"--speed must be above 0 (got {speed}); try --speed 1")
    try:
        emu = start_emulator(port=port, speed=speed)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port"
        ) from None
    n = len(emu.sample_track_ids())
    from playlists.errors import PlaylistsError
    from playlists.lastfm_emulator import SANDBOX_API_KEY, start_lastfm_emulator

    try:  # Last.fm beside it (HTTPS on a free port): tags for the same sample library
        fm = start_lastfm_emulator()
    except (OSError, PlaylistsError) as exc:
        fm = None
        console.print(f"no Last.fm sandbox: {exc}", markup=False)
    console.print(
        f"Spotify sandbox at {emu.url} (synthetic sample library of {n} tracks, "
        f'player speed x{speed:g}; your playlist "Sample Mix" is '
        f"spotify:playlist:{emu.sample_mix_id()}). In another shell:\n"
        f"  export EMOTUNE_SPOTIFY_URL={emu.url}\n"
        "  emotune login --headless\n"
        "Ctrl-C stops it.",
        markup=False,
    )
    if fm is not None:
        console.print(
            f"Last.fm sandbox at {fm.url} (tags carry each sample track's scripted mood):\n"
            f"  export LASTFM_API_KEY={SANDBOX_API_KEY} EMOTUNE_LASTFM_URL={fm.url} "
            f"EMOTUNE_LASTFM_CA={fm.ca_file}",
            markup=False,
        )
    sys.stdout.flush()  # a script waiting for the URL reads it now
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        if fm is not None:
            fm.stop()


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
