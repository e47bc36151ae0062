"""Repository functions on a real migrated SQLite file."""

from __future__ import annotations

import pytest

from app.db import repository
from app.db.models import SelfRating, TrackTag
from app.errors import NotFoundError
from tests.factories import add_listen_with_windows


def test_upsert_track_is_idempotent_and_refreshes(store) -> None:
    with store.session() as db:
        a = repository.upsert_track(db, spotify_id="4uLU6hMCjMI75M1A2tKUQC", name="Old")
        b = repository.upsert_track(
            db, spotify_id="4uLU6hMCjMI75M1A2tKUQC", name="New", artists=["A", "B"]
        )
        assert a.id == b.id
    with store.session() as db:
        [row] = repository.list_tracks(db)
        assert (row.name, row.artists, row.uri) == (
            "New",
            "A, B",
            "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
        )


def test_recompute_tag_from_windows_excludes_rejected(store) -> None:
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="track-happy")
        add_listen_with_windows(db, t.id, [(0.9, 0.8)] * 4 + [(0.0, 0.0)] * 2, rejected={4, 5})
        result = repository.recompute_track_tag(db, t.id)
        assert result is not None and result.quadrant == "happy" and result.n_windows == 4
        first = db.get(TrackTag, t.id)
        snapshot = (first.valence, first.arousal, first.quadrant, first.n_windows)
        repository.recompute_track_tag(db, t.id)
        again = db.get(TrackTag, t.id)
        assert (again.valence, again.arousal, again.quadrant, again.n_windows) == snapshot
    with store.session() as db:
        assert [r.spotify_id for r in repository.list_tracks(db, emotion="happy")] == [
            "track-happy"
        ]
        assert repository.list_tracks(db, emotion="sad") == []


def test_self_rating_outranks_eeg(store) -> None:
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="track-rated")
        listen = add_listen_with_windows(db, t.id, [(0.9, 0.9)] * 5)
        db.add(SelfRating(listen_id=listen.id, valence=1, arousal=2))
        db.flush()
        result = repository.recompute_track_tag(db, t.id)
        assert result is not None and result.source == "self" and result.quadrant == "sad"


def test_min_windows_per_listen_drops_short_listens(store) -> None:
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="short")
        add_listen_with_windows(db, t.id, [(0.9, 0.9)] * 3)
        assert repository.recompute_track_tag(db, t.id, min_windows_per_listen=10) is None
        assert db.get(TrackTag, t.id) is None


def test_one_active_model_per_kind(store) -> None:
    with store.session() as db:
        m1 = repository.register_model(db, name="a", kind="eeg", path="/a", activate=True)
        m2 = repository.register_model(db, name="b", kind="eeg", path="/b")
        v = repository.register_model(db, name="v", kind="voice", path="/v", activate=True)
        repository.set_active_model(db, m2.id)
        assert repository.active_model(db, "eeg").id == m2.id
        assert repository.active_model(db, "voice").id == v.id
        assert not db.get(type(m1), m1.id).active
        with pytest.raises(NotFoundError, match="model list"):
            repository.set_active_model(db, 999)


def test_failed_unit_of_work_is_rolled_back(store) -> None:
    with pytest.raises(RuntimeError), store.session() as db:
        repository.upsert_track(db, spotify_id="never-stored")
        raise RuntimeError("boom")
    with store.session() as db:
        assert repository.list_tracks(db) == []
