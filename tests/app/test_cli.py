"""The CLI through typer's runner, and the error boundary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from app.cli.main import app


def test_init_then_tracks_json_is_empty_list(cli, emotune_home: Path) -> None:
    result = cli.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (emotune_home / "emotune.db").exists()
    result = cli.invoke(app, ["tracks", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_version(cli) -> None:
    result = cli.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("emotune ")


def test_bad_input_is_one_line_on_stderr_exit_1(cli) -> None:
    result = cli.invoke(app, ["tracks", "--emotion", "ecstatic"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("emotune: error: unknown emotion 'ecstatic'")
    assert "Traceback" not in result.stderr


def test_verbose_shows_traceback(cli) -> None:
    result = cli.invoke(app, ["--verbose", "tracks", "--emotion", "ecstatic"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_corrupt_database_one_line_error(cli, emotune_home: Path) -> None:
    db = emotune_home / "emotune.db"
    db.write_bytes(b"garbage" * 50)
    result = cli.invoke(app, ["tracks"])
    assert result.exit_code == 1
    assert str(db) in result.stderr and "emotune init" in result.stderr
    assert db.read_bytes() == b"garbage" * 50


def test_unreadable_config_one_line_error(cli, emotune_home: Path) -> None:
    (emotune_home / "config.toml").write_text("[[[")
    result = cli.invoke(app, ["tracks"])
    assert result.exit_code == 1 and "config.toml" in result.stderr


def test_db_current_reports_head(cli) -> None:
    cli.invoke(app, ["init"])
    result = cli.invoke(app, ["db", "current"])
    assert result.exit_code == 0 and "(newest)" in result.stdout


def test_doctor_fails_with_next_steps_on_a_fresh_home(cli) -> None:
    cli.invoke(app, ["init"])
    result = cli.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["database"]["ok"] is True
    assert checks["active model"]["ok"] is False
    assert "emotune model train" in checks["active model"]["detail"]
    assert "SPOTIPY_CLIENT_ID" in checks["Spotify"]["detail"]


def test_help_does_not_import_heavy_sdks() -> None:
    code = (
        "import sys, app.cli.main as m\n"
        "from typer.testing import CliRunner\n"
        "CliRunner().invoke(m.app, ['--help'])\n"
        "heavy = [n for n in ('torch', 'torcheeg', 'pylsl', 'spotipy', 'sqlalchemy') "
        "if n in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _all_commands(group, prefix=()):
    import typer.main

    command = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, sub in command.commands.items():
        path = (*prefix, name)
        if hasattr(sub, "commands"):
            yield from _all_commands(sub, path)
        else:
            yield path


def test_every_command_has_help_with_an_example(cli) -> None:
    paths = list(_all_commands(app))
    assert ("init",) in paths and ("db", "current") in paths
    for path in paths:
        result = cli.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert re.search(r"Example: .*\bemotune ", result.stdout), f"emotune {' '.join(path)}"
