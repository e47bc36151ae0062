"""Helpers every command uses: settings, the store, JSON output, the console."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

# json and the settings (tomllib, dataclasses) are imported where used: `--help` needs neither.
if TYPE_CHECKING:
    from rich.console import Console

    from app.config import Settings
    from app.db.engine import Store


class LazyConsole:
    """A rich `Console` made on first use: importing rich costs more than `emotune --help`
    may spend, so a command module can name the console at import time for free."""

    def __init__(self, *, stderr: bool) -> None:
        object.__setattr__(self, "_stderr", stderr)
        object.__setattr__(self, "_console", None)

    @property
    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            made = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
            object.__setattr__(self, "_console", made)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real, name, value)

    def __enter__(self) -> Console:
        return self.real.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.real.__exit__(*exc)


# Human output goes to stderr when --json owns stdout; rich writes to this console.
console: Console = LazyConsole(stderr=False)  # type: ignore[assignment]
err_console: Console = LazyConsole(stderr=True)  # type: ignore[assignment]


def settings(*, tighten: bool = True) -> Settings:
    """The user's settings. First, data of theirs that other accounts can read is made
    owner-only, and one line on stderr says so (doctor passes tighten=False to report it)."""
    from app.config import load_settings

    cfg = load_settings()
    if tighten:
        from app.privacy import tighten_home, tightened_line

        changed = tighten_home(cfg)
        if changed:
            err_console.print(f"emotune: {tightened_line(cfg, changed)}", markup=False)
    return cfg


def open_user_store(cfg: Settings | None = None) -> Store:
    """Open (and migrate on first use) the store the settings point at."""
    from app.db.engine import open_store

    cfg = cfg or settings()
    return open_store(cfg.database_url)


def print_json(value: Any) -> None:
    """One JSON document on stdout (what scripts read)."""
    import json

    sys.stdout.write(json.dumps(value, indent=None, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


# sync, sort and queue share it: synthetic-trained tags stay out of real playlists by default.
IncludeSyntheticOpt = Annotated[
    bool,
    typer.Option(
        "--include-synthetic",
        help="Also use tags from a model trained on SYNTHETIC EEG (left out by default: "
        "they show the machinery, not what you felt).",
    ),
]


def say_left_out_synthetic(n: int, *, as_json: bool) -> None:
    """One line on how many synthetic-basis tags were left out (stderr when JSON owns stdout)."""
    if n:
        from app.jobs.synthetic import left_out_line

        (err_console if as_json else console).print(left_out_line(n), markup=False)
