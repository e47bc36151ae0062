"""`emotune contact`: is each electrode touching the skin well enough to read?"""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, err_console, print_json, settings

# What a script reads from the exit code: 0 every electrode readable, 2 one is bad.
EXIT_BAD_CONTACT = 2
_SYMBOL = {"good": "●", "so-so": "◐", "bad": "○"}


def contact(
    seconds: Annotated[
        float, typer.Option(min=1.0, max=120.0, help="How long to watch, after the first 2 s.")
    ] = 5.0,
    source_id: Annotated[
        str | None, typer.Option(help="The headset's LSL source id, when several stream.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the headband's contact: good / so-so / bad per electrode, refreshed every second,
    then one line naming the electrode to fix and how. Exit code 2 when an electrode is bad.

    Example: emotune contact --seconds 10
    """
    from app.jobs.contact import check_contact

    def show(statuses: dict[str, str]) -> None:
        line = "  ".join(f"{ch} {_SYMBOL[s]} {s}" for ch, s in statuses.items())
        (err_console if as_json else console).print(line, markup=False)

    report = check_contact(settings(), seconds, source_id=source_id, on_reading=show)
    if as_json:
        print_json(report.to_json())
    else:
        console.print(report.advice, markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_BAD_CONTACT)


def register(app: typer.Typer) -> None:
    app.command("contact")(contact)
