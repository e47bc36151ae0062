"""`emotune sync` end to end: CLI -> store -> spotipy over HTTP -> the local emulator."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.cli.main import app
from app.db import repository
from app.db.models import PlaylistLink, SyncRun, TrackTag
from playlists.client import RetryPolicy
from tests.factories import add_listen_with_windows
from tests.playlists.helpers import app_emulator, tag_tracks

# (valence, arousal, confidence): 3 happy, 2 calm, 1 sad, 0 tense
TAGS = [
    (0.9, 0.8, 0.9),
    (0.7, 0.9, 0.6),
    (0.8, 0.6, 0.3),
    (0.8, 0.2, 0.7),
    (0.6, 0.1, 0.5),
    (0.2, 0.2, 0.8),
]


@pytest.fixture
def emu(monkeypatch):
    # Same bounds as a user gets, with short back-offs so the 5xx tests stay quick.
    fast = RetryPolicy(backoff_s=0.01)
    monkeypatch.setattr("playlists.client.DEFAULT_POLICY", fast)
    with app_emulator(monkeypatch) as handle:
        yield handle


def sync_json(cli, *args: str) -> dict:
    result = cli.invoke(app, ["sync", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sync_builds_one_playlist_per_emotion_then_sends_no_writes(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    out = sync_json(cli)
    by = {p["emotion"]: p for p in out["playlists"]}
    assert set(by) == {"happy", "calm", "sad", "tense"}
    happy = emu.playlist_uris(by["happy"]["playlist_id"])
    assert happy == [uris[0], uris[1], uris[2]]  # best confidence first
    assert emu.playlist_uris(by["calm"]["playlist_id"]) == [uris[3], uris[4]]
    assert emu.playlist(by["tense"]["playlist_id"]).name == "emotune · tense"
    assert by["happy"]["added"] == 3 and out["requests"]["write"] == 4 + 3  # 4 creates, 3 adds
    with store.session() as db:
        links = {x.emotion: x.playlist_id for x in db.scalars(select(PlaylistLink))}
        runs = list(db.scalars(select(SyncRun)))
    assert links == {e: p["playlist_id"] for e, p in by.items()}
    assert runs[-1].status == "ok" and runs[-1].requests_write == out["requests"]["write"]

    again = sync_json(cli)
    assert again["requests"]["write"] == 0
    assert again["requests"]["read"] == 2  # profile + playlist list; items come from the cache
    assert all(p["added"] == p["removed"] == p["moved"] == 0 for p in again["playlists"])


def test_sync_follows_tag_changes_and_min_confidence(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    first = {p["emotion"]: p["playlist_id"] for p in sync_json(cli)["playlists"]}
    with store.session() as db:  # track 0 turns sad
        tag = db.scalars(select(TrackTag).order_by(TrackTag.track_id)).first()
        tag.valence, tag.quadrant = 0.1, "tense"
    out = sync_json(cli, "--min-confidence", "0.5")
    by = {p["emotion"]: p for p in out["playlists"]}
    assert emu.playlist_uris(first["happy"]) == [uris[1]]  # track 2 is below 0.5 now
    assert emu.playlist_uris(first["tense"]) == [uris[0]]
    assert by["happy"]["removed"] == 2 and by["tense"]["added"] == 1


def test_dry_run_changes_nothing(cli, store, emu) -> None:
    tag_tracks(store, emu, TAGS)
    result = cli.invoke(app, ["sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.stdout and "emotune · happy" in result.stdout
    assert emu.request_counts()["write"] == 0
    assert emu.playlists_named("emotune · happy") == []


def test_a_deleted_playlist_is_recreated_and_others_are_untouched(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    friend = {p: emu.playlist(p).snapshot_id for p in emu.friend_playlist_ids()}
    first = {p["emotion"]: p["playlist_id"] for p in sync_json(cli)["playlists"]}
    emu.delete_playlist(first["happy"])
    out = {p["emotion"]: p for p in sync_json(cli)["playlists"]}
    assert out["happy"]["created"] and out["happy"]["playlist_id"] != first["happy"]
    assert emu.playlist_uris(out["happy"]["playlist_id"]) == uris[:3]
    assert {p: emu.playlist(p).snapshot_id for p in emu.friend_playlist_ids()} == friend


def test_interrupted_sync_converges_next_run(cli, store, emu) -> None:
    # 250 happy tracks: three add batches; the second fails with a 500 storm.
    tags = [(0.9, 0.9, 1.0 - i / 1000) for i in range(250)]
    uris = tag_tracks(store, emu, tags)
    emu.inject_fault("500", times=50, skip=1, path="/items", method="POST")
    result = cli.invoke(app, ["sync", "--json"])
    assert result.exit_code == 1
    assert "HTTP 500" in result.stderr and "partly updated" in result.stderr
    assert result.stderr.count("\n") == 1
    with store.session() as db:
        run = db.scalars(select(SyncRun)).one()
        happy_id = db.get(PlaylistLink, "happy").playlist_id
    assert run.status == "failed" and "HTTP 500" in run.error
    assert len(emu.playlist_uris(happy_id)) == 100  # half-written, and the run says so
    emu.clear_faults()
    out = {p["emotion"]: p for p in sync_json(cli)["playlists"]}
    assert out["happy"]["playlist_id"] == happy_id and out["happy"]["added"] == 150
    assert emu.playlist_uris(happy_id) == uris


def test_token_expiry_mid_sync_and_a_429_storm_still_converge(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, [(0.9, 0.9, 0.9 - i / 1000) for i in range(120)])
    emu.expire_tokens()
    emu.inject_fault("429", times=3, retry_after_s=0)
    out = {p["emotion"]: p for p in sync_json(cli)["playlists"]}
    assert emu.playlist_uris(out["happy"]["playlist_id"]) == uris


def test_a_long_retry_after_is_a_clear_error(cli, store, emu) -> None:
    tag_tracks(store, emu, TAGS)
    emu.inject_fault("429", times=1, retry_after_s=3600)
    result = cli.invoke(app, ["sync"])
    assert result.exit_code == 1
    assert "wait 3600 s" in result.stderr and result.stderr.count("\n") == 1


def test_sync_without_login_says_run_login(cli, monkeypatch) -> None:
    monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", "http://127.0.0.1:9")
    result = cli.invoke(app, ["sync"])
    assert result.exit_code == 1 and "emotune login" in result.stderr


def tag_with_demo_model(cli, store, emu, ids: list[str]) -> list[str]:
    """Tag sample tracks `ids` happy from windows of the bundled SYNTHETIC demo model."""
    added = cli.invoke(app, ["model", "add", "--demo", "--no-use", "--json"])
    assert added.exit_code == 0, added.output
    model_id = json.loads(added.stdout)["id"]
    with store.session() as db:
        for i, track_id in enumerate(ids):
            row = repository.upsert_track(db, spotify_id=track_id, name=emu.track(track_id).name)
            add_listen_with_windows(
                db, row.id, [(0.9, 0.85)] * 4, started_at=1e9 + 100 * i, model_id=model_id
            )
            repository.recompute_track_tag(db, row.id)
    return [f"spotify:track:{i}" for i in ids]


def test_sync_leaves_out_synthetic_model_tags_unless_included(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    synthetic = tag_with_demo_model(cli, store, emu, emu.sample_track_ids()[6:8])
    note = "2 tags from a model trained on SYNTHETIC EEG left out; --include-synthetic uses them"

    plan = cli.invoke(app, ["sync", "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert note in plan.stdout and "SYNTHETIC:" not in plan.stdout
    out = cli.invoke(app, ["sync", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)  # stdout stays one JSON document; the note goes to stderr
    assert report["left_out_synthetic"] == 2 and note in out.stderr
    happy = {p["emotion"]: p for p in report["playlists"]}["happy"]
    assert emu.playlist_uris(happy["playlist_id"]) == uris[:3]

    plan = cli.invoke(app, ["sync", "--dry-run", "--include-synthetic"])
    assert plan.exit_code == 0, plan.output
    assert "left out" not in plan.stdout
    assert "how many are tagged by a model trained on SYNTHETIC EEG (2 in all" in plan.stdout
    again = sync_json(cli, "--include-synthetic")
    by = {p["emotion"]: p for p in again["playlists"]}
    assert again["left_out_synthetic"] == 0 and by["happy"]["synthetic"] == 2
    assert set(emu.playlist_uris(happy["playlist_id"])) == {*uris[:3], *synthetic}
    assert by["calm"]["synthetic"] == 0 and by["happy"]["added"] == 2
