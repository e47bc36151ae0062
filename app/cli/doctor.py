"""`emotune doctor`: one line per check, each `ok` or `fail: <what to do next>`."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, print_json, settings
from app.config import Settings
from app.errors import EmotuneError, SpotifyError


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


def check_database(cfg: Settings) -> str:
    from app.db.engine import open_store

    store = open_store(cfg.database_url)
    store.close()
    from app.db.engine import describe_database

    return describe_database(cfg.database_url)


def check_active_model(cfg: Settings) -> str:
    from app.db import repository
    from app.db.engine import open_store

    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            model = repository.require_active_eeg_model(db)
            if not Path(model.path).exists():
                raise EmotuneError(
                    f"model file {model.path} is missing; restore it or `emotune model use` another"
                )
            return f"{model.name} (id {model.id})"
    finally:
        store.close()


def check_eeg_stream(cfg: Settings) -> str:
    from classifier.lsl_discovery import find_streams

    streams = find_streams(cfg.eeg_stream_name, cfg.eeg_stream_type, timeout_s=1.5)
    if not streams:
        raise EmotuneError(
            f"no {cfg.eeg_stream_type} stream named {cfg.eeg_stream_name!r} on LSL; "
            "start `muselsl stream` (or `emotune replay FILE.csv`)"
        )
    s = streams[0]
    return f"{s.name} ({s.source_id}, {s.channel_count} ch @ {s.nominal_rate_hz:g} Hz)"


def check_eeg_contact(cfg: Settings) -> str:
    """The contact check (3 s) when a stream is visible; nothing to check otherwise."""
    from app.jobs.contact import check_contact
    from classifier.lsl_discovery import find_streams

    if not find_streams(cfg.eeg_stream_name, cfg.eeg_stream_type, timeout_s=1.5):
        return "no stream to check (see EEG stream)"
    report = check_contact(cfg, 3.0)
    statuses = ", ".join(f"{ch} {s}" for ch, s in report.statuses.items())
    if not report.ok:
        raise EmotuneError(f"{statuses}; {report.advice}; check again with `emotune contact`")
    return f"{statuses}; {report.advice}"


def check_spotify(cfg: Settings) -> str:
    if not cfg.spotify_client_id and not cfg.spotify_api_url:
        raise EmotuneError(
            "no Spotify client id; set SPOTIPY_CLIENT_ID (see README: registering a Spotify app)"
        )
    token = cfg.token_path
    if not token.exists():
        raise EmotuneError("not logged in to Spotify; run `emotune login`")
    mode = stat.S_IMODE(token.stat().st_mode)
    if mode & 0o077:
        raise EmotuneError(f"token file {token} is readable by others; run `chmod 600 {token}`")
    try:
        data = json.loads(token.read_text())
    except (OSError, ValueError):
        raise EmotuneError(f"token file {token} is unreadable; run `emotune login` again") from None
    if not isinstance(data, dict) or not data.get("refresh_token"):
        raise EmotuneError(f"token file {token} has no refresh token; run `emotune login` again")
    # A file is not a login: Spotify may have revoked it, or the refresh token expired.
    # One cheap authenticated call (GET /me, refreshing once on 401) says for sure, with
    # short bounds so an unreachable Spotify fails the check in seconds.
    from app.spotify import client_from_settings
    from playlists.client import RetryPolicy
    from playlists.errors import PlaylistsError

    quick = RetryPolicy(max_retry_after_s=5.0, max_total_wait_s=5.0, max_retries=1, timeout_s=5.0)
    try:
        profile = client_from_settings(cfg, policy=quick).me()
    except PlaylistsError as exc:
        raise SpotifyError(str(exc)) from None
    who = profile.get("display_name") or profile.get("id") or "?"
    where = cfg.spotify_api_url or "Spotify"
    return f"logged in as {who} ({where})"


def check_private_data(cfg: Settings) -> str:
    from app.privacy import open_paths_problem, private_roots

    problem = open_paths_problem(cfg)
    if problem:
        raise EmotuneError(problem)
    roots = [str(r) for r in private_roots(cfg) if r.exists()]
    return "owner-only: " + " and ".join(roots) if roots else "nothing stored yet"


CHECKS: list[tuple[str, Callable[[Settings], str]]] = [
    ("database", check_database),
    ("private data", check_private_data),
    ("active model", check_active_model),
    ("EEG stream", check_eeg_stream),
    ("EEG contact", check_eeg_contact),
    ("Spotify", check_spotify),
]


def run_checks(cfg: Settings) -> list[CheckResult]:
    results = []
    for name, check in CHECKS:
        try:
            results.append(CheckResult(name, True, check(cfg)))
        except EmotuneError as exc:
            results.append(CheckResult(name, False, str(exc)))
    return results


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the database, private data, the active model, the EEG stream and its electrodes'
    contact (when a stream is visible), and Spotify; exit 1 if any fail.

    Example: emotune doctor
    """
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
