"""What a tag rests on (`track_tags.basis`): the models behind its windows, or a self-rating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import app
from app.db import repository
from app.db.models import Model, SelfRating, TrackTag
from tests.factories import add_listen_with_windows, save_seeded_untrained_checkpoint

TRAINED_ON = {
    "generic": {"description": "other people's real EEG"},
    "synthetic": {"description": "SYNTHETIC EEG", "synthetic": True},
    # Fine-tuned on this wearer from a synthetic base: calibration wins.
    "calibrated": {"description": "demo; calibrated", "synthetic": True, "calibrated": True},
}


@pytest.fixture
def models(store, tmp_path: Path) -> dict[str, int]:
    """One registered model per basis, each a real checkpoint file (ids by basis)."""
    ids = {}
    with store.session() as db:
        for basis, trained_on in TRAINED_ON.items():
            path = save_seeded_untrained_checkpoint(tmp_path / f"{basis}.pt", basis, trained_on)
            ids[basis] = repository.register_model(db, name=basis, kind="eeg", path=str(path)).id
    return ids


def _tag_from(store, spotify_id: str, model_keys: list[str | None], models) -> str:
    """Tag a track from one listen per model (None: windows with no model recorded)."""
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id=spotify_id)
        for i, key in enumerate(model_keys):
            model_id = models[key] if key else None
            add_listen_with_windows(
                db, t.id, [(0.8, 0.7)] * 3, started_at=1e9 + i * 100, model_id=model_id
            )
        result = repository.recompute_track_tag(db, t.id)
        assert result is not None and result.basis == db.get(TrackTag, t.id).basis
        return result.basis


def test_basis_follows_the_models_and_the_weakest_wins(store, models) -> None:
    assert _tag_from(store, "only-generic", ["generic"], models) == "generic"
    assert _tag_from(store, "only-synthetic", ["synthetic"], models) == "synthetic"
    assert _tag_from(store, "only-calibrated", ["calibrated"], models) == "calibrated"
    assert _tag_from(store, "cal-and-generic", ["calibrated", "generic"], models) == "generic"
    assert _tag_from(store, "cal-and-synth", ["calibrated", "synthetic"], models) == "synthetic"
    assert _tag_from(store, "no-model", [None], models) == "generic"


def test_rejected_or_uncounted_windows_do_not_weaken_the_basis(store, models) -> None:
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="mixed")
        add_listen_with_windows(db, t.id, [(0.8, 0.7)] * 4, model_id=models["calibrated"])
        # A synthetic model's windows that do not count: rejected, or too few in a listen.
        add_listen_with_windows(
            db,
            t.id,
            [(0.1, 0.1)] * 2,
            rejected={0, 1},
            started_at=2e9,
            model_id=models["synthetic"],
        )
        add_listen_with_windows(
            db, t.id, [(0.1, 0.1)], started_at=3e9, model_id=models["synthetic"]
        )
        result = repository.recompute_track_tag(db, t.id, min_windows_per_listen=2)
        assert result is not None and result.basis == "calibrated" and result.n_listens == 1


def test_a_self_rating_makes_the_basis_self(store, models) -> None:
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="rated")
        listen = add_listen_with_windows(db, t.id, [(0.9, 0.9)] * 3, model_id=models["synthetic"])
        repository.recompute_track_tag(db, t.id)
        assert db.get(TrackTag, t.id).basis == "synthetic"
        db.add(SelfRating(listen_id=listen.id, valence=2, arousal=4))
        db.flush()
        repository.recompute_track_tag(db, t.id)
        assert db.get(TrackTag, t.id).basis == "self"


def test_a_rating_of_one_dimension_rests_on_the_model_for_the_other(store, models) -> None:
    # Arousal rated, valence left blank: the tag's valence is the SYNTHETIC model's, so the
    # tag keeps that basis (sync, sort and queue leave it out without --include-synthetic).
    with store.session() as db:
        t = repository.upsert_track(db, spotify_id="half-rated")
        listen = add_listen_with_windows(db, t.id, [(0.9, 0.9)] * 3, model_id=models["synthetic"])
        db.add(SelfRating(listen_id=listen.id, valence=None, arousal=1))
        db.flush()
        result = repository.recompute_track_tag(db, t.id)
        assert result is not None and (result.source, result.basis) == ("self+eeg", "synthetic")
        tag = db.get(TrackTag, t.id)
        assert (tag.valence, tag.arousal, tag.quadrant) == (pytest.approx(0.9), 0.0, "calm")


def test_register_model_caches_the_basis_in_its_metrics(store, models) -> None:
    with store.session() as db:
        cached = {k: db.get(Model, i).metrics.get("basis") for k, i in models.items()}
        given = repository.register_model(
            db, name="said", kind="eeg", path="/nowhere.pt", basis="synthetic", metrics={"x": 1}
        )
        missing = repository.register_model(db, name="gone", kind="eeg", path="/nowhere.pt")
        voice = repository.register_model(db, name="v", kind="voice", path="/v.joblib")
        assert given.metrics == {"x": 1, "basis": "synthetic"}
        assert "basis" not in missing.metrics and "basis" not in voice.metrics
    assert cached == {"generic": "generic", "synthetic": "synthetic", "calibrated": "calibrated"}


def test_a_model_registered_without_a_basis_reads_its_checkpoint_once(store, tmp_path) -> None:
    path = save_seeded_untrained_checkpoint(tmp_path / "old.pt", "old", TRAINED_ON["synthetic"])
    with store.session() as db:
        # Registered before bases existed: no cached basis.
        old = Model(name="old", kind="eeg", path=str(path), metrics={"epochs": 3})
        gone = Model(name="gone", kind="eeg", path=str(tmp_path / "gone.pt"), metrics={})
        db.add_all([old, gone])
        db.flush()
        a = repository.upsert_track(db, spotify_id="by-old")
        b = repository.upsert_track(db, spotify_id="by-gone")
        add_listen_with_windows(db, a.id, [(0.7, 0.7)] * 3, model_id=old.id)
        add_listen_with_windows(db, b.id, [(0.7, 0.7)] * 3, started_at=2e9, model_id=gone.id)
        assert repository.recompute_track_tag(db, a.id).basis == "synthetic"
        assert repository.recompute_track_tag(db, b.id).basis == "generic"  # file missing
        old_id, gone_id = old.id, gone.id
    with store.session() as db:
        assert db.get(Model, old_id).metrics == {"epochs": 3, "basis": "synthetic"}
        assert "basis" not in db.get(Model, gone_id).metrics  # it may come back
    path.unlink()  # from now on only the cache can say it
    with store.session() as db:
        assert repository.recompute_track_tag(db, a.id).basis == "synthetic"


def test_model_add_demo_registers_a_synthetic_basis(cli, store) -> None:
    result = cli.invoke(app, ["model", "add", "--demo", "--json"])
    assert result.exit_code == 0, result.output
    model_id = json.loads(result.stdout)["id"]
    with store.session() as db:
        assert db.get(Model, model_id).metrics["basis"] == "synthetic"


def test_tracks_shows_the_basis(cli, store, models) -> None:
    _tag_from(store, "0SyntheticTrack0000001", ["synthetic"], models)
    _tag_from(store, "0CalibratedTrack000001", ["calibrated"], models)
    with store.session() as db:
        repository.upsert_track(db, spotify_id="0UntaggedTrack00000001")
    result = cli.invoke(app, ["tracks", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["spotify_id"]: r["basis"] for r in json.loads(result.stdout)}
    assert rows == {
        "0SyntheticTrack0000001": "synthetic",
        "0CalibratedTrack000001": "calibrated",
        "0UntaggedTrack00000001": None,
    }
    table = cli.invoke(app, ["tracks"])
    assert table.exit_code == 0, table.output
    assert "basis" in table.stdout and "SYNTHETIC" in table.stdout
    assert "calibrated" in table.stdout
