"""`emotune doctor`'s checks: each returns what it found, or raises EmotuneError saying
what to do next."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def check_eeg_stream(cfg: Settings, streams: list[Any]) -> str:
    """streams: what the LSL look-up found (see run_checks)."""
    if not streams:
        raise EmotuneError(
            f"no {cfg.eeg_stream_type} stream named {cfg.eeg_stream_name!r} on LSL; "
            "start `muselsl stream` (or `emotune replay FILE.csv`)"
        )
    s = streams[0]
    return f"{s.name} ({s.source_id}, {s.channel_count} ch @ {s.nominal_rate_hz:g} Hz)"


def check_eeg_contact(cfg: Settings, streams: list[Any]) -> str:
    """The contact check (3 s) when a stream is visible; nothing to check otherwise."""
    from app.jobs.contact import check_contact

    if not streams:
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


def run_checks(cfg: Settings) -> list[CheckResult]:
    """Every check in order; one that fails says what to do next and the rest still run.

    LSL is looked up once, for both EEG checks: a look-up that finds nothing waits out its
    whole timeout.
    """
    from classifier.lsl_discovery import find_streams

    found: list[list[Any]] = []

    def streams() -> list[Any]:
        if not found:
            found.append(find_streams(cfg.eeg_stream_name, cfg.eeg_stream_type, timeout_s=1.5))
        return found[0]

    checks: list[tuple[str, Callable[[], str]]] = [
        ("database", lambda: check_database(cfg)),
        ("private data", lambda: check_private_data(cfg)),
        ("active model", lambda: check_active_model(cfg)),
        ("EEG stream", lambda: check_eeg_stream(cfg, streams())),
        ("EEG contact", lambda: check_eeg_contact(cfg, streams())),
        ("Spotify", lambda: check_spotify(cfg)),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except EmotuneError as exc:
            results.append(CheckResult(name, False, str(exc)))
    return results
