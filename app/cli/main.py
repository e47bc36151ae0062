"""The `emotune` entry point: global options, command registration, the error boundary.

Command modules import heavy SDKs (torch, pylsl, spotipy) inside their
functions, so `emotune --help` stays fast.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from app import __version__
from app.errors import to_user_error
from app.privacy import private_files


class ErrorBoundaryGroup(TyperGroup):
    """Turns user errors from any command into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with private_files():  # what a command writes into the home is owner-only
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            user_error = to_user_error(exc)
            if user_error is None:
                raise  # a bug: let the traceback show
            if (ctx.obj or {}).get("verbose"):
                traceback.print_exc(file=sys.stderr)
            click.echo(f"emotune: error: {user_error}", err=True)
            ctx.exit(1)


app = typer.Typer(
    cls=ErrorBoundaryGroup,
    help="Tag Spotify tracks with emotions read from a Muse EEG headband.\n\n"
    "Example: emotune init && emotune doctor",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emotune {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Tag Spotify tracks with emotions read from a Muse EEG headband.

    Example: emotune init && emotune doctor
    """
    ctx.obj = {"verbose": verbose}
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from app.cli import contact, db, demo, doctor, headset, init_cmd, listen, plot, rate, tracks

    for module in (init_cmd, doctor, contact, tracks):
        module.register(app)
    listen.register(app)
    rate.register(app)
    headset.register(app)
    plot.register(app)
    demo.register(app)
    app.add_typer(db.app, name="db")
    from app.cli import voice

    voice.register(app)
    from app.cli import model

    model.register(app)
    from app.cli import login, queue, sandbox, sort, sync

    for spotify_module in (login, sandbox, sync, sort, queue):
        spotify_module.register(app)
    from app.cli import music

    music.register(app)


_register()


def run() -> None:
    """Console-script entry point."""
    app()
