"""`emotune music fetch|fit`: Last.fm tags for tracks never heard with the headband."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import IncludeSyntheticOpt, console, err_console, print_json, settings

app = typer.Typer(
    help="Music-side mood from Last.fm tags (the crowd's description of a song), fitted to you.",
    no_args_is_help=True,
)


@app.command("fetch")
def fetch(
    playlist: Annotated[
        str | None, typer.Argument(help="A playlist's URL, URI or id (its tracks are fetched).")
    ] = None,
    library: Annotated[
        bool, typer.Option("--library", help="Fetch every track in the store instead.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ask Last.fm again even for fresh cached tags.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Fetch Last.fm top tags (the track's, else its artist's) and place each track by mood.

    Cached tags younger than [lastfm] max_age_days (30) are reused; Last.fm is asked at
    most 5 times a second. Needs LASTFM_API_KEY (the sandbox prints one).

    Example: emotune music fetch https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M
    """
    from rich.progress import Progress

    from app.errors import ConfigError
    from app.jobs.music import run_music_fetch
    from app.lastfm import client_from_settings, max_age_days

    if (playlist is None) == (not library) or (playlist is not None and library):
        raise ConfigError("give a playlist (URL, URI or id) or --library, not both")
    cfg = settings()
    client = client_from_settings(cfg)
    spotify = None
    if playlist is not None:
        from app.spotify import client_from_settings as spotify_client

        spotify = spotify_client(cfg)
    quiet = as_json or not err_console.is_terminal
    with Progress(console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task("fetching Last.fm tags", total=None)
        result = run_music_fetch(
            cfg,
            client,
            spotify=spotify,
            playlist=playlist,
            refresh=refresh,
            max_age_days=max_age_days(cfg),
            on_total=lambda n: progress.update(task, total=n),
            on_track=lambda _uri: progress.advance(task),
        )
    if as_json:
        print_json(result)
        return
    console.print(
        f"{result['tracks']} tracks: {result['fetched']} fetched, {result['cached']} from the "
        f"cache; {result['track_tags']} placed by their own tags, {result['artist_tags']} by "
        f"their artist's, {result['no_mood_tags']} without mood tags (unplaced); "
        f"{result['requests']} Last.fm requests in {result['wall_s']:.1f} s",
        markup=False,
    )
    if not result["fitted"]:
        console.print(
            "positions are the crowd's; `emotune music fit` fits them to your own tags",
            markup=False,
        )


@app.command("fit")
def fit(
    include_synthetic: IncludeSyntheticOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fit music positions to your own tags (EEG or ratings) and measure it.

    Leave-one-track-out over your tagged tracks: the fitted quadrant's agreement with your
    own tag beside the crowd's unfitted position and the majority rate.

    Example: emotune music fit --json
    """
    from app.jobs.music import run_music_fit

    result = run_music_fit(settings(), include_synthetic=include_synthetic)
    if as_json:
        print_json(result)
        return
    n = result["n_tracks"]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f}%"

    if not result["fitted"]:
        console.print(
            f"{n} of your tagged tracks have music tags; a fit needs {result['min_tracks']}: "
            "music positions stay the crowd's (tag more with `emotune listen --rate`)",
            markup=False,
        )
    else:
        console.print(f"fitted on {n} of your tagged tracks", markup=False)
    console.print(
        f"quadrant agreement, each track held out: fitted {pct(result['fitted_agreement'])}, "
        f"crowd {pct(result['crowd_agreement'])}, majority rate {pct(result['majority_rate'])}; "
        f"{result['placed']} tracks placed by music",
        markup=False,
    )


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="music")
