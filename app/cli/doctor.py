"""`emotune doctor`: one line per check, each `ok` or `fail: <what to do next>`."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, print_json, settings


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the database, private data, the active model, the EEG stream and its electrodes'
    contact (when a stream is visible), and Spotify; exit 1 if any fail.

    Example: emotune doctor
    """
    from app.jobs.doctor import run_checks

    results = run_checks(settings(tighten=False))  # report open data, do not fix it here
    if as_json:
        print_json([r.__dict__ for r in results])
    else:
        for r in results:
            status = "ok" if r.ok else "fail"
            console.print(f"{r.name:<13} {status}: {r.detail}", markup=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
