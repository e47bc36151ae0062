"""The `emotune` entry point: global options, command registration, the error boundary.

Command modules import heavy SDKs (torch, pylsl, spotipy) inside their
functions, so `emotune --help` stays fast.
"""

from __future__ import annotations

import copy
import inspect
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import click
import typer
import typer.core
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo

from app import __version__
from app.errors import to_user_error
from app.privacy import private_files

# emotune's help is click's plain help. With rich installed, typer still imports its rich
# help module for any option that shows a default, only to escape "[default: ...]", which
# plain help then prints with a stray backslash (fastapi/typer#1089); that import costs
# `--help` more than everything else it does. rich still draws the tables and progress bars.
typer.core.HAS_RICH = False

# The commands, registered by their modules. They become click commands only when one is
# looked up (`emotune listen ...` builds `listen` alone): typer reads every parameter's type
# hints to build one, which for all of them costs `emotune --help` more than it may spend.
commands = typer.Typer()


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's `commands` mapping whose entries are built from typer's infos on first read
    (names and order are known from the start, so listing them builds nothing)."""

    def __init__(self, infos: dict[str, CommandInfo | TyperInfo]) -> None:
        self.infos = infos
        self.built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.built:
            self.built[name] = _build(self.infos[name])  # KeyError for an unknown name
        return self.built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.built[name] = command
        self.infos.pop(name, None)

    def __delitem__(self, name: str) -> None:
        found = self.built.pop(name, None) is not None
        if self.infos.pop(name, None) is None and not found:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.infos), **dict.fromkeys(self.built)})

    def __len__(self) -> int:
        return len(self.infos.keys() | self.built.keys())


class LazyCommandsGroup(TyperGroup):
    """A group whose commands are built from typer's infos on first lookup (see `defer`);
    its help lists them from their names and docstrings without building any."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lazy = LazyCommands({})
        for name, command in self.commands.items():
            lazy[name] = command
        self.commands = lazy  # type: ignore[assignment]

    def defer(self, typer_app: typer.Typer) -> None:
        """Add `typer_app`'s commands and groups, to be built when first looked up."""
        assert isinstance(self.commands, LazyCommands)
        for info in typer_app.registered_commands:
            self.commands.infos[_command_name(info)] = info
        for group in typer_app.registered_groups:
            name = typer.main.solve_typer_info_defaults(group).name
            assert isinstance(name, str), "every command group is added with a name"
            self.commands.infos[name] = group

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, from each command's docstring (none is built for it)."""
        assert isinstance(self.commands, LazyCommands)
        rows = []
        for name in self.commands:
            info = self.commands.infos.get(name)
            if info is None:
                built = self.commands[name]
                source = None if built.hidden else (built.short_help, built.help or "")
            else:
                source = _short_help_source(info)
            if source is not None:
                rows.append((name, source))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, _short_help(short, help_, limit)) for name, (short, help_) in rows]
            )


def _command_name(info: CommandInfo) -> str:
    assert info.callback is not None, "a command has a callback"
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _short_help_source(info: CommandInfo | TyperInfo) -> tuple[str | None, str] | None:
    """(short help, help) as typer would give the built command; None when it is hidden."""
    if isinstance(info, TyperInfo):
        solved = typer.main.solve_typer_info_defaults(info)
        if solved.hidden:
            return None
        return solved.short_help, typer.main.solve_typer_info_help(info)
    if info.hidden:
        return None
    doc = info.help if info.help is not None else inspect.getdoc(info.callback)
    return info.short_help, inspect.cleandoc(doc or "")


def _short_help(short_help: str | None, help_: str, limit: int) -> str:
    """What click's `Command.get_short_help_str(limit)` gives for that help."""
    if short_help:
        return inspect.cleandoc(short_help)
    return click.utils.make_default_short_help(help_, limit) if help_ else ""


def _build(info: CommandInfo | TyperInfo) -> click.Command:
    if isinstance(info, TyperInfo):
        # The group itself (its help, its callback) from a copy of its typer without
        # commands, which are then deferred: `emotune model train --help` builds `train`
        # and none of its siblings.
        assert info.typer_instance is not None, "a group is added with its typer"
        hollow_app = copy.copy(info.typer_instance)
        hollow_app.registered_commands = []
        hollow_app.registered_groups = []
        hollow = copy.copy(info)
        hollow.typer_instance = hollow_app
        hollow.cls = LazyCommandsGroup
        group = typer.main.get_group_from_info(
            hollow,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
        assert isinstance(group, LazyCommandsGroup)
        group.defer(info.typer_instance)
        return group
    return typer.main.get_command_from_info(
        info,
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


class ErrorBoundaryGroup(LazyCommandsGroup):
    """The root group: every command of `commands`, built on first lookup. Turns user errors
    from any command into one line on stderr and exit code 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.defer(commands)

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
                import traceback

                traceback.print_exc(file=sys.stderr)
            click.echo(f"emotune: error: {user_error}", err=True)
            ctx.exit(1)


app = typer.Typer(
    cls=ErrorBoundaryGroup,
    help="Tag Spotify tracks with emotions read from a Muse EEG headband.\n\n"
    "Example: emotune init && emotune doctor",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
    import logging  # here: `emotune --help` never needs it

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from app.cli import contact, db, demo, doctor, headset, init_cmd, listen, plot, rate, tracks

    for module in (init_cmd, doctor, contact, tracks):
        module.register(commands)
    listen.register(commands)
    rate.register(commands)
    headset.register(commands)
    plot.register(commands)
    demo.register(commands)
    commands.add_typer(db.app, name="db")
    from app.cli import voice

    voice.register(commands)
    from app.cli import model

    model.register(commands)
    from app.cli import login, queue, sandbox, sort, sync

    for spotify_module in (login, sandbox, sync, sort, queue):
        spotify_module.register(commands)
    from app.cli import music

    music.register(commands)


_register()


def run() -> None:
    """Console-script entry point."""
    app()
