"""`emotune sort` and `emotune queue` end to end against the local emulator."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from sqlalchemy import select

from app.cli.main import app
from app.db.models import MoodReading, Track, TrackTag
from tests.playlists.helpers import app_emulator, tag_tracks

# (valence, arousal, confidence) for sample tracks 0..7: two of each quadrant
TAGS = [
    (0.2, 0.9, 0.5),  # tense
    (0.9, 0.9, 0.5),  # happy
    (0.2, 0.1, 0.5),  # sad
    (0.9, 0.1, 0.5),  # calm
    (0.3, 0.8, 0.5),  # tense
    (0.8, 0.7, 0.5),  # happy
    (0.1, 0.3, 0.5),  # sad
    (0.7, 0.3, 0.5),  # calm
]


@pytest.fixture
def emu(monkeypatch):
    with app_emulator(monkeypatch) as handle:
        yield handle


def run_json(cli, *args: str) -> dict:
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sort_by_quadrant_keeps_duplicates_and_untagged_at_the_end(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    untagged = [f"spotify:track:{i}" for i in emu.sample_track_ids()[100:103]]
    current = [untagged[0], *uris, untagged[1], uris[1], untagged[2]]  # uris[1] twice
    pid = emu.make_playlist("my mix", current)
    out = run_json(cli, "sort", f"https://open.spotify.com/playlist/{pid}", "--by", "quadrant")
    final = emu.playlist_uris(pid)
    assert Counter(final) == Counter(current)
    assert final[-3:] == untagged and out["untagged"] == 3 and out["tagged"] == 9
    quads = ["happy"] * 3 + ["calm"] * 2 + ["sad"] * 2 + ["tense"] * 2
    emotions = {u: q for u, q in zip(uris, ["tense", "happy", "sad", "calm"] * 2, strict=True)}
    assert [emotions[u] for u in final[:9]] == quads
    assert out["writes"] >= 1 and out["requests"]["write"] == out["writes"]


def test_sort_dry_run_and_an_already_sorted_playlist_send_no_writes(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    pid = emu.make_playlist("my mix", uris)
    before = emu.playlist(pid).snapshot_id
    out = run_json(cli, "sort", f"spotify:playlist:{pid}", "--by", "arc", "--dry-run")
    assert out["requests"]["write"] == 0 and emu.playlist(pid).snapshot_id == before
    run_json(cli, "sort", pid, "--by", "valence")
    again = run_json(cli, "sort", pid, "--by", "valence")
    assert again["writes"] == 0 and again["requests"]["write"] == 0


def test_sort_someone_elses_playlist_is_a_clear_error(cli, store, emu) -> None:
    tag_tracks(store, emu, TAGS)
    friend = next(p for p in emu.friend_playlist_ids() if not emu.playlist(p).collaborative)
    result = cli.invoke(app, ["sort", friend])
    assert result.exit_code == 1 and "do not own" in result.stderr


def test_queue_mood_adds_tracks_of_that_emotion_to_the_player_queue(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    out = run_json(cli, "queue", "--mood", "calm", "--count", "2")
    assert {t["uri"] for t in out["tracks"]} == {uris[3], uris[7]}
    assert emu.player_queue() == [t["uri"] for t in out["tracks"]]
    only_two = run_json(cli, "queue", "--mood", "sad", "--count", "5", "--dry-run")
    assert [t["emotion"] for t in only_two["tracks"]] == ["sad", "sad"]  # no other emotion


def test_sort_keeps_a_local_file_by_moving_instead_of_replacing(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    local = "spotify:local:Sample+Artist:Sample+Album:Home+Recording:200"
    pid = emu.make_playlist("with a local file", [local, *uris[::-1]])
    out = run_json(cli, "sort", pid, "--by", "valence")
    final = emu.playlist_uris(pid)
    assert not out["replace"] and final[-1] == local and out["untagged"] == 1
    valence = {u: v for u, (v, _a, _c) in zip(uris, TAGS, strict=True)}
    assert [valence[u] for u in final[:-1]] == sorted(valence.values(), reverse=True)


def test_queue_play_starts_playback_and_toward_walks_to_the_target(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    with store.session() as db:
        db.add(MoodReading(at=time.time(), source="eeg", p_valence=0.2, p_arousal=0.9))
    out = run_json(cli, "queue", "--toward", "calm", "--count", "3", "--play")
    picked = [t["uri"] for t in out["tracks"]]
    assert out["played"] and emu.now_playing()[0] == picked[0]
    assert out["tracks"][-1]["emotion"] == "calm" and picked[0] in (uris[0], uris[4])


def test_queue_now_needs_a_fresh_eeg_reading(cli, store, emu) -> None:
    tag_tracks(store, emu, TAGS)
    with store.session() as db:  # too old, and a voice reading does not count for --now
        db.add(MoodReading(at=time.time() - 120, source="eeg", p_valence=0.9, p_arousal=0.9))
        db.add(MoodReading(at=time.time(), source="voice", p_valence=0.9, p_arousal=0.9))
    result = cli.invoke(app, ["queue", "--now"])
    assert result.exit_code == 1
    assert "emotune listen" in result.stderr and "headset" in result.stderr
    with store.session() as db:
        db.add(MoodReading(at=time.time(), source="eeg", p_valence=0.9, p_arousal=0.9))
    out = run_json(cli, "queue", "--now", "--count", "2")
    assert [t["emotion"] for t in out["tracks"]] == ["happy", "happy"]


def test_queue_without_premium_or_device_is_a_clear_error(cli, store, emu) -> None:
    tag_tracks(store, emu, TAGS)
    emu.set_device(active=False)
    result = cli.invoke(app, ["queue", "--mood", "happy"])
    assert result.exit_code == 1 and "no active device" in result.stderr
    emu.set_device(active=True)
    emu.set_premium(False)
    result = cli.invoke(app, ["queue", "--mood", "happy", "--play"])
    assert result.exit_code == 1 and "Premium" in result.stderr


def test_queue_needs_exactly_one_source(cli) -> None:
    result = cli.invoke(app, ["queue", "--mood", "calm", "--now"])
    assert result.exit_code == 1 and "exactly one" in result.stderr


def mark_synthetic(store, uris: list[str]) -> None:
    """Make these tracks' tags rest on a model trained on SYNTHETIC EEG."""
    with store.session() as db:
        for uri in uris:
            track = db.scalar(select(Track).where(Track.uri == uri))
            db.get(TrackTag, track.id).basis = "synthetic"


def test_sort_leaves_out_synthetic_model_tags_unless_included(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    mark_synthetic(store, [uris[1], uris[5]])
    pid = emu.make_playlist("my mix", uris)
    plan = cli.invoke(app, ["sort", pid, "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert (
        "2 tags from a model trained on SYNTHETIC EEG left out; --include-synthetic uses them"
        in plan.stdout
    )
    result = cli.invoke(app, ["sort", pid, "--by", "quadrant", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert "SYNTHETIC" in result.stderr and out["left_out_synthetic"] == 2
    assert (out["tagged"], out["untagged"]) == (6, 2)
    assert emu.playlist_uris(pid)[-2:] == [uris[1], uris[5]]  # untagged now: kept at the end
    both = run_json(cli, "sort", pid, "--by", "quadrant", "--include-synthetic")
    assert (both["tagged"], both["untagged"], both["left_out_synthetic"]) == (8, 0, 0)
    assert set(emu.playlist_uris(pid)[:2]) == {uris[1], uris[5]}  # the happy ones lead


def test_queue_leaves_out_synthetic_model_tags_unless_included(cli, store, emu) -> None:
    uris = tag_tracks(store, emu, TAGS)
    mark_synthetic(store, [uris[1], uris[5]])  # both happy tracks
    result = cli.invoke(app, ["queue", "--mood", "happy", "--dry-run"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "emotune: error: no tagged tracks to queue: 2 tags from a model trained on SYNTHETIC "
        "EEG left out; --include-synthetic uses them"
    )
    out = run_json(cli, "queue", "--mood", "happy", "--dry-run", "--include-synthetic")
    assert {t["uri"] for t in out["tracks"]} == {uris[1], uris[5]}
    assert out["left_out_synthetic"] == 0
    calm = run_json(cli, "queue", "--mood", "calm", "--dry-run")
    assert calm["left_out_synthetic"] == 0 and len(calm["tracks"]) == 2
