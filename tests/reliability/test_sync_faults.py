"""Spotify faults during `emotune sync` (CLI -> store -> spotipy over HTTP -> the emulator).

Extends tests/app/test_sync_cli.py (which covers a 500 storm mid-apply, a deleted playlist,
token expiry with three 429s, a long Retry-After) with what a user's account really meets:
storms of 429 + Retry-After, 5xx and timeouts together, a refresh token revoked mid-sync,
an emotion playlist renamed and another deleted between syncs, the user editing an emotion
playlist while a sync writes it, and `kill -9` mid-apply. After each: the sync converges,
there is one playlist per emotion, no track twice, and the user's other playlists are
exactly as they were.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from sqlalchemy import select

from app.cli.main import app
from app.config import load_settings
from app.db import repository
from app.db.models import PlaylistLink, SyncRun
from app.jobs.sync import desired_by_emotion, playlist_name
from playlists.client import RetryPolicy, headless_open_url
from tests.playlists.helpers import app_emulator
from tests.reliability.helpers import (
    emotune,
    playlists_snapshot,
    start_emotune,
    stop,
    tag_track_ids,
)

EMOTIONS = ("happy", "calm", "sad", "tense")


@pytest.fixture
def emu(monkeypatch):
    # A user's bounds with short back-offs and a 1 s request timeout, so timeouts are quick.
    monkeypatch.setattr(
        "playlists.client.DEFAULT_POLICY", RetryPolicy(backoff_s=0.01, timeout_s=1.0)
    )
    with app_emulator(monkeypatch) as handle:
        yield handle


def tag_many(store, emu, n: int = 130) -> None:
    """n synthetic sample tracks tagged round the quadrants (mostly happy: several batches)."""
    ids = emu.sample_track_ids()[:n]
    quadrants = ["happy" if i % 3 else EMOTIONS[(i // 3) % 4] for i in range(n)]
    tag_track_ids(store, emu, ids, quadrants)


def sync_json(cli, *args: str) -> dict:
    result = cli.invoke(app, ["sync", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def converged(store, emu, before: dict) -> tuple[list[str], int]:
    """What differs from the desired playlists (empty when converged), and duplicates found.

    Converged: each emotion's linked playlist holds exactly its tagged tracks, and the user's
    own (and followed) playlists are exactly as they were.
    """
    with store.session() as db:
        desired = desired_by_emotion(repository.list_tracks(db))
        links = {link.emotion: link.playlist_id for link in db.scalars(select(PlaylistLink))}
    after = playlists_snapshot(emu)
    problems, duplicates = [], 0
    for emotion in EMOTIONS:
        name = playlist_name(emotion)
        named = [pid for pid, (n, _, _) in after.items() if n == name]
        duplicates += max(0, len(named) - 1)
        if links.get(emotion) not in after:
            problems.append(f"{emotion}: no linked playlist")
            continue
        items = after[links[emotion]][2]
        duplicates += len(items) - len(set(items))
        if sorted(items) != sorted(desired[emotion]):
            problems.append(f"{emotion}: items differ from the tags")
    if {pid: v for pid, v in after.items() if pid in before} != before:
        problems.append("a playlist of the user's changed")
    return problems, duplicates


def recovered(log: list, i: int) -> bool:
    """The request answered with a fault at log[i] was sent again and then succeeded."""
    e = log[i]
    same = (e.method, e.path, e.query, e.request_body)
    return any(
        (f.method, f.path, f.query, f.request_body) == same and 200 <= f.status < 300
        for f in log[i + 1 :]
    )


def test_storms_of_429_5xx_timeouts_and_token_expiry_converge(cli, store, emu, faults) -> None:
    tag_many(store, emu, n=260)
    before = playlists_snapshot(emu)
    emu.expire_tokens()
    emu.inject_fault("429", times=6, retry_after_s=0)
    emu.inject_fault("429", times=1, retry_after_s=1)
    emu.inject_fault("503", times=3, skip=2)
    emu.inject_fault("500", times=2, path="/items", method="POST")
    # Answered after the client gave up; the server still applies the write (as Spotify may).
    emu.inject_fault("slow", times=2, delay_s=1.5, path="/items", method="POST")
    started = time.monotonic()
    out = sync_json(cli)
    took = time.monotonic() - started
    faults.inject("spotify: 429 + Retry-After", 7)
    faults.inject("spotify: 5xx", 5)
    faults.inject("spotify: request timed out (write applied anyway)", 2)
    faults.inject("spotify: access token expired")
    log = emu.exchanges()
    statuses = [e.status for e in log]
    # The 1 s Retry-After was honoured: nothing was sent until it had passed.
    i = next(
        k
        for k, e in enumerate(log)
        if e.status == 429 and e.response_headers.get("Retry-After") == "1"
    )
    waited = log[i + 1].at - log[i].at >= 0.95 and took >= 1.0
    # A write the client gave up on may land after the sync ended (its delay is wall time);
    # the next sync, run once it has, tidies whatever such writes left.
    emu.wait_until_answered()
    sync_json(cli)
    problems, duplicates = converged(store, emu, before)
    faults.measured(duplicates=duplicates)
    # Each fault is survived when the request it hit was sent again and succeeded (a 429
    # only after its Retry-After), and the playlists converged without a duplicate.
    whole = not problems and duplicates == 0
    survived_429 = [k for k, e in enumerate(log) if e.status == 429 and recovered(log, k)]
    survived_5xx = [k for k, e in enumerate(log) if e.status >= 500 and recovered(log, k)]
    refreshed = any(e.path == "/api/token" and e.status == 200 for e in log)
    survived_401 = [k for k, e in enumerate(log) if e.status == 401 and recovered(log, k)]
    faults.survived("spotify: 429 + Retry-After", whole and waited and min(len(survived_429), 7))
    faults.survived("spotify: 5xx", whole and min(len(survived_5xx), 5))
    faults.survived("spotify: request timed out (write applied anyway)", 2 * whole)
    faults.survived("spotify: access token expired", whole and refreshed and bool(survived_401))
    assert took >= 1.0 and waited
    assert statuses.count(429) == 7 and statuses.count(503) == 3 and statuses.count(500) == 2
    assert len(survived_429) == 7 and len(survived_5xx) == 5
    assert refreshed and survived_401
    assert all(p["playlist_id"] for p in out["playlists"])
    assert problems == [] and duplicates == 0


def test_refresh_token_revoked_mid_sync_is_a_clear_error_and_relogin_converges(
    cli, store, emu, monkeypatch, faults
) -> None:
    from app.spotify import login as app_login

    tag_many(store, emu)
    before = playlists_snapshot(emu)
    world = emu.world
    original_add = world.add_items

    def add_then_revoke(*args, **kwargs):  # the user revokes emotune's access mid-sync
        answer = original_add(*args, **kwargs)
        world.refresh_tokens.clear()
        world.expire_tokens()
        return answer

    monkeypatch.setattr(world, "add_items", add_then_revoke)
    result = cli.invoke(app, ["sync", "--json"])
    faults.inject("spotify: refresh token revoked mid-sync")
    said = (
        result.exit_code == 1
        and "emotune login" in result.stderr
        and "partly updated" in result.stderr
        and result.stderr.count("\n") == 1
        and "Traceback" not in result.stderr
        and result.stdout == ""  # no half report
    )
    with store.session() as db:
        run = db.scalars(select(SyncRun)).one()
        linked = {link.emotion for link in db.scalars(select(PlaylistLink))}
    monkeypatch.setattr(world, "add_items", original_add)
    app_login(load_settings(), open_url=headless_open_url, show=lambda _: None)
    sync_json(cli)
    problems, duplicates = converged(store, emu, before)
    faults.measured(duplicates=duplicates)
    faults.survived(
        "spotify: refresh token revoked mid-sync",
        said and run.status == "failed" and not problems and duplicates == 0,
    )
    assert said, (result.exit_code, result.stdout, result.stderr)
    assert run.status == "failed" and "emotune login" in run.error
    assert linked  # what was created is remembered: the next sync creates no twin
    assert problems == [] and duplicates == 0


def test_renamed_deleted_and_concurrently_edited_playlists_converge(
    cli, store, emu, monkeypatch, faults
) -> None:
    tag_many(store, emu, n=40)
    before = playlists_snapshot(emu)
    first = {p["emotion"]: p["playlist_id"] for p in sync_json(cli)["playlists"]}
    with emu.server.lock:
        emu.world.playlists[first["calm"]].name = "my calm evenings"  # renamed in the app
    emu.delete_playlist(first["sad"])  # deleted in the app
    # The user adds a track to "emotune · happy" while the sync is writing it.
    tag_many(store, emu, n=290)  # two add batches for happy: the edit lands between them
    world = emu.world
    original_add = world.add_items
    stranger = f"spotify:track:{emu.sample_track_ids()[295]}"
    edits = []

    def add_and_user_edits(user_id, playlist_id, *args, **kwargs):
        answer = original_add(user_id, playlist_id, *args, **kwargs)
        if playlist_id == first["happy"] and not edits:
            edits.append(original_add(user_id, playlist_id, {"uris": [stranger]}, {}))
        return answer

    monkeypatch.setattr(world, "add_items", add_and_user_edits)
    second = {p["emotion"]: p for p in sync_json(cli)["playlists"]}
    monkeypatch.setattr(world, "add_items", original_add)
    faults.inject("spotify: emotion playlist renamed by the user")
    faults.inject("spotify: emotion playlist deleted by the user")
    assert edits, "the user's edit never landed mid-sync"
    faults.inject("spotify: user edited a playlist while sync wrote it")
    edit_seen = stranger in emu.playlist_uris(first["happy"])
    # Renamed: still emotune's (linked by id), kept under the user's name, no twin made.
    kept = second["calm"]["playlist_id"] == first["calm"] and not second["calm"]["created"]
    kept = kept and emu.playlist(first["calm"]).name == "my calm evenings"
    remade = second["sad"]["created"] and second["sad"]["playlist_id"] != first["sad"]
    third = sync_json(cli)  # the next sync notices the user's edit and converges
    problems, duplicates = converged(store, emu, before)
    faults.measured(duplicates=duplicates)
    fourth = sync_json(cli)
    settled = fourth["requests"]["write"] == 0  # converged: nothing left to send
    whole = not problems and duplicates == 0 and settled
    faults.survived("spotify: emotion playlist renamed by the user", kept and whole)
    faults.survived("spotify: emotion playlist deleted by the user", remade and whole)
    faults.survived("spotify: user edited a playlist while sync wrote it", edit_seen and whole)
    assert edit_seen and kept and remade
    assert third["playlists"]
    assert problems == [] and duplicates == 0
    assert settled


def test_sync_killed_mid_apply_then_rerun_converges(store, emu, faults) -> None:
    tag_many(store, emu, n=260)
    before = playlists_snapshot(emu)
    # Each add takes 0.5 s, so the kill lands between writes of the first run.
    emu.inject_fault("slow", times=100, delay_s=0.5, path="/items", method="POST")
    proc = start_emotune("sync", "--json")
    try:
        deadline = time.monotonic() + 60
        while emu.request_counts()["write"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.request_counts()["write"] >= 3, proc.stderr.read() if proc.stderr else ""
        proc.kill()  # SIGKILL mid-apply
    finally:
        stop(proc)
    assert proc.returncode == -9
    faults.inject("process: kill -9 of sync mid-apply")
    emu.clear_faults()
    emu.wait_until_answered()  # the write the killed sync had sent still lands, as it may
    db_path = load_settings().data_dir / "emotune.db"
    rerun = emotune("sync", "--json")
    with sqlite3.connect(db_path) as con:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        statuses = [r[0] for r in con.execute("SELECT status FROM sync_runs ORDER BY id")]
    problems, duplicates = converged(store, emu, before)
    faults.measured(duplicates=duplicates)
    recovered_ok = rerun.returncode == 0 and integrity == "ok" and statuses[-1:] == ["ok"]
    faults.survived(
        "process: kill -9 of sync mid-apply", recovered_ok and not problems and duplicates == 0
    )
    assert rerun.returncode == 0, rerun.stderr
    assert integrity == "ok" and statuses[-1] == "ok"
    assert problems == [] and duplicates == 0
