"""`emotune music fetch|fit` and music-placed tracks in sort, queue and sync, end to end:
the Spotify emulator and the HTTPS Last.fm emulator, a real SQLite store migrated by Alembic."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.cli.main import app
from app.db.models import MusicTag, Track, TrackTag
from playlists.lastfm_emulator import SANDBOX_API_KEY, start_lastfm_emulator
from tests.playlists.helpers import app_emulator, tag_tracks


@pytest.fixture
def emu(monkeypatch) -> Iterator:
    with app_emulator(monkeypatch) as handle:
        yield handle


@pytest.fixture
def fm(monkeypatch, emotune_home) -> Iterator:
    with start_lastfm_emulator() as handle:
        monkeypatch.setenv("LASTFM_API_KEY", SANDBOX_API_KEY)
        monkeypatch.setenv("EMOTUNE_LASTFM_URL", handle.url)
        monkeypatch.setenv("EMOTUNE_LASTFM_CA", handle.ca_file)
        (emotune_home / "config.toml").write_text("[lastfm]\nmin_interval_s = 0\n")
        yield handle


def run_json(cli, *args: str) -> dict:
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def quadrant(v: float, a: float) -> str:
    return ("happy" if a > 0.5 else "calm") if v > 0.5 else ("tense" if a > 0.5 else "sad")


def test_fetch_places_a_playlist_caches_it_and_refetches_only_on_refresh(
    cli, store, emu, fm
) -> None:
    ids = emu.sample_track_ids()[:24]
    pid = emu.make_playlist("unheard", [f"spotify:track:{i}" for i in ids])
    out = run_json(cli, "music", "fetch", pid)
    assert out["tracks"] == 24 and out["fetched"] == 24 and out["cached"] == 0
    assert out["track_tags"] + out["artist_tags"] == 24 and out["no_mood_tags"] == 0
    assert out["artist_tags"] >= 1 and out["placed"] == 24 and out["fitted"] is False
    with store.session() as db:
        rows = {uri: m for m, uri in db.execute(select(MusicTag, Track.uri).join(Track)).all()}
    agree = sum(quadrant(m.valence, m.arousal) == fm.scripted_mood(uri) for uri, m in rows.items())
    assert agree >= 18  # the crowd's tags carry the scripted moods
    assert {m.source for m in rows.values()} <= {"track", "artist"}
    assert all(m.tags and m.fetched_at for m in rows.values())
    before = fm.request_count()
    again = run_json(cli, "music", "fetch", pid)
    assert again["cached"] == 24 and again["fetched"] == 0 and fm.request_count() == before
    fresh = run_json(cli, "music", "fetch", pid, "--refresh")
    assert fresh["fetched"] == 24 and fm.request_count() > before


def test_sort_places_a_mostly_unheard_playlist_completely_without_touching_eeg_tags(
    cli, store, emu, fm
) -> None:
    heard = tag_tracks(store, emu, [(0.9, 0.9, 0.8), (0.1, 0.1, 0.8)])  # happy, sad by EEG
    unheard = [f"spotify:track:{i}" for i in emu.sample_track_ids()[10:28]]
    pid = emu.make_playlist("mix", [*unheard[:9], heard[0], *unheard[9:], heard[1]])
    before = run_json(cli, "sort", pid, "--dry-run")
    assert before["tagged"] == 2 and before["unplaced"] == 18
    run_json(cli, "music", "fetch", pid)
    out = run_json(cli, "sort", pid, "--by", "arc")
    assert out["unplaced"] == 0 and out["tagged"] == 20
    assert out["by_basis"] == {"generic": 2, "music": 18}
    with store.session() as db:  # the EEG tags are as they were; music sits beside them
        tags = {t.track.uri: t for t in db.scalars(select(TrackTag))}
        assert (tags[heard[0]].valence, tags[heard[0]].basis) == (0.9, "generic")
        assert len(tags) == 2
    result = cli.invoke(app, ["tracks", "--json"])
    rows = {r["uri"]: r for r in json.loads(result.stdout)}
    assert rows[heard[0]]["basis"] == "generic" and rows[heard[0]]["valence"] == 0.9
    assert {rows[u]["basis"] for u in unheard} == {"music"}
    assert all(rows[u]["emotion"] for u in unheard)


def test_queue_draws_music_placed_tracks_and_sync_only_with_include_music(
    cli, store, emu, fm
) -> None:
    ids = emu.sample_track_ids()[:30]
    pid = emu.make_playlist("all", [f"spotify:track:{i}" for i in ids])
    run_json(cli, "music", "fetch", pid)
    q = run_json(cli, "queue", "--mood", "calm", "--count", "3", "--dry-run")
    assert q["tracks"] and all(t["basis"] == "music" for t in q["tracks"])
    assert all(t["emotion"] == "calm" for t in q["tracks"])
    plain = run_json(cli, "sync", "--dry-run")
    assert sum(p["desired"] for p in plain["playlists"]) == 0
    music = run_json(cli, "sync", "--dry-run", "--include-music")
    assert sum(p["desired"] for p in music["playlists"]) == 30


def test_a_failing_fetch_is_one_line_and_keeps_what_was_fetched(cli, store, emu, fm) -> None:
    ids = emu.sample_track_ids()[:8]
    pid = emu.make_playlist("mix", [f"spotify:track:{i}" for i in ids])
    run_json(cli, "music", "fetch", pid)
    with store.session() as db:
        cached = {m.track_id: (m.tags, m.valence) for m in db.scalars(select(MusicTag))}
    fm.inject_error(503, times=100)
    result = cli.invoke(app, ["music", "fetch", pid, "--refresh"])
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("emotune: error: Last.fm is failing") and "try again later" in line
    assert SANDBOX_API_KEY not in result.output
    with store.session() as db:
        after = {m.track_id: (m.tags, m.valence) for m in db.scalars(select(MusicTag))}
    assert after == cached


def test_no_key_and_a_wrong_key_name_the_setting(cli, store, emu, fm, monkeypatch) -> None:
    monkeypatch.delenv("LASTFM_API_KEY")
    result = cli.invoke(app, ["music", "fetch", "--library"])
    assert result.exit_code == 1 and "LASTFM_API_KEY" in result.stderr
    monkeypatch.setenv("LASTFM_API_KEY", "not-the-key")
    tag_tracks(store, emu, [(0.9, 0.9, 0.8)])
    with store.session() as db:
        db.scalars(select(Track)).one().artists = "Sample Artist 01"
    result = cli.invoke(app, ["music", "fetch", "--library"])
    assert result.exit_code == 1 and "error 10" in result.stderr
    assert "not-the-key" not in result.output
    result = cli.invoke(app, ["music", "fetch"])
    assert result.exit_code == 1 and "--library" in result.stderr


def test_fit_needs_tagged_tracks_then_reports_leave_one_track_out_figures(
    cli, store, emu, fm
) -> None:
    ids = emu.sample_track_ids()[:40]
    pid = emu.make_playlist("all", [f"spotify:track:{i}" for i in ids])
    run_json(cli, "music", "fetch", pid)
    early = run_json(cli, "music", "fit")
    assert early["fitted"] is False and early["n_tracks"] == 0
    # A listener who is roused by everything: calm songs feel happy, sad ones tense.
    centres = {
        "happy": (0.75, 0.95),
        "calm": (0.75, 0.7),
        "sad": (0.25, 0.7),
        "tense": (0.25, 0.95),
    }
    uris = [f"spotify:track:{i}" for i in ids[:20]]
    with store.session() as db:
        for uri in uris:
            track = db.scalars(select(Track).where(Track.uri == uri)).one()
            v, a = centres[fm.scripted_mood(uri)]
            db.add(TrackTag(track_id=track.id, valence=v, arousal=a, quadrant=quadrant(v, a),
                            confidence=0.7, source="eeg", basis="generic"))  # fmt: skip
    out = run_json(cli, "music", "fit")
    assert out["fitted"] is True and out["n_tracks"] == 20
    for key in ("fitted_agreement", "crowd_agreement", "majority_rate"):
        assert 0 <= out[key] <= 1
    assert out["params"]["arousal"]["offset"] > 0  # it learnt the listener's higher arousal
    assert out["fitted_agreement"] > out["crowd_agreement"] + 0.2
    with store.session() as db:
        assert db.scalars(select(MusicTag).where(MusicTag.fitted.is_(True))).first()
    text = cli.invoke(app, ["music", "fit"])
    assert "fitted on 20" in text.stdout and "majority rate" in text.stdout
