"""`emotune --help` starts fast: no heavy SDK is imported, and the root builds no command.

How fast is measured in benchmarks/bench_startup.py, not here; these tests check what the
speed rests on.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import typer.main

from app.cli.main import app

HEAVY = (
    "torch",
    "torcheeg",
    "numpy",
    "scipy",
    "mne",
    "librosa",
    "sqlalchemy",
    "pylast",
    "pylsl",
    "spotipy",
    "matplotlib",
    "rich",  # tables and progress bars only: help is plain click help
)

EVERY_HELP = """
import json, sys
import app.cli.main as m
from typer.testing import CliRunner

def paths(command, prefix=()):
    for name, sub in command.commands.items():
        yield (*prefix, name)
        if hasattr(sub, "commands"):
            yield from paths(sub, (*prefix, name))

at_import = sorted(n for n in HEAVY if n in sys.modules)
runner = CliRunner()
root = runner.invoke(m.app, ["--help"])
after_root = sorted(n for n in HEAVY if n in sys.modules)
import typer.main
every = [[], *map(list, paths(typer.main.get_command(m.app)))]
codes = {" ".join(p): runner.invoke(m.app, [*p, "--help"]).exit_code for p in every}
print(json.dumps({
    "at_import": at_import,
    "after_root": after_root,
    "after_all": sorted(n for n in HEAVY if n in sys.modules),
    "codes": codes,
    "root_help": root.output,
}))
"""


def test_no_heavy_import_for_any_help() -> None:
    code = f"HEAVY = {HEAVY!r}\n{EVERY_HELP}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["at_import"] == []
    assert report["after_root"] == []
    assert report["after_all"] == []
    assert len(report["codes"]) > 30 and {"listen", "model train", "db current"} <= set(
        report["codes"]
    )
    assert set(report["codes"].values()) == {0}
    assert "Commands:" in report["root_help"] and "listen" in report["root_help"]


def test_root_help_builds_no_command_and_lists_what_building_them_would() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root, info_name="emotune")
    lazy_help = root.get_help(ctx)
    assert root.commands.built == {}  # the listing came from names and docstrings alone
    built = dict(root.commands.items())
    assert {"init", "listen", "model", "db", "music"} <= set(built)
    assert all(isinstance(c, click.Command) for c in built.values())
    # click's own listing, over the built commands, reads the same
    formatter = ctx.make_formatter()
    click.Group.format_commands(root, ctx, formatter)
    assert formatter.getvalue().strip() in lazy_help
    assert formatter.getvalue().count("\n") >= 20


def test_a_command_is_built_only_when_looked_up() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root, info_name="emotune")
    listen = root.get_command(ctx, "listen")
    assert listen is not None and "--duration" in {o for p in listen.params for o in p.opts}
    assert set(root.commands.built) == {"listen"}
    assert root.get_command(ctx, "no-such-command") is None


def test_a_group_builds_only_the_subcommand_looked_up_and_lists_the_rest_as_click_would() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root, info_name="emotune")
    model = root.get_command(ctx, "model")
    assert isinstance(model, click.Group)
    assert model.commands.built == {}
    model_ctx = click.Context(model, info_name="model", parent=ctx)
    lazy_help = model.get_help(model_ctx)
    assert model.commands.built == {}  # `emotune model --help` builds no subcommand
    train = model.get_command(model_ctx, "train")
    assert train is not None and "--recordings" in {o for p in train.params for o in p.opts}
    assert set(model.commands.built) == {"train"}
    # the listing reads as click's own over every built subcommand
    assert {"train", "evaluate", "add", "list", "use", "calibrate"} <= set(model.commands)
    formatter = model_ctx.make_formatter()
    dict(model.commands.items())  # build them all
    click.Group.format_commands(model, model_ctx, formatter)
    assert formatter.getvalue().strip() in lazy_help
