"""`emotune model calibrate` on self-rated listens whose raw EEG is stored (SYNTHETIC EEG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.cli.main import app
from app.db import repository
from app.db.models import Listen, ListeningSession, SelfRating
from classifier.raw_store import RawRecording, write_fif
from classifier.synthetic import synthetic_muse_eeg

T0 = 1_790_000_000.0
LABELS = ("TP9", "AF7", "AF8", "TP10", "Right AUX")
# (mood of the synthetic EEG, the listener's valence and arousal ratings)
RATED = [("happy", 5, 4), ("sad", 1, 2), ("happy", 4, 5), ("sad", 2, 1), ("calm", 4, 1)]


def _store_rated_session(store, home: Path, seconds: float = 20.0) -> None:
    parts = [synthetic_muse_eeg(seconds, mood, seed=i) for i, (mood, _, _) in enumerate(RATED)]
    samples = np.concatenate(parts).astype(np.float64)
    stamps = T0 + np.arange(len(samples)) / 256.0
    fif = write_fif(home / "recordings" / "session-00001_raw.fif",
                    RawRecording(samples, stamps, LABELS, 256.0))  # fmt: skip
    with store.session() as db:
        session = ListeningSession(started_at=T0, ended_at=float(stamps[-1]), raw_path=str(fif))
        db.add(session)
        db.flush()
        for i, (_, valence, arousal) in enumerate(RATED):
            track = repository.upsert_track(db, spotify_id=f"0SyntheticRated{i:07d}")
            a, b = T0 + i * seconds, T0 + (i + 1) * seconds
            listen = Listen(session_id=session.id, track_id=track.id, started_at=a, ended_at=b,
                            segments=[[a, b]])  # fmt: skip
            db.add(listen)
            db.flush()
            db.add(SelfRating(listen_id=listen.id, valence=valence, arousal=arousal))


def test_calibrate_fine_tunes_and_reports_held_out_tracks(cli, store, demo_model, emotune_home):
    _store_rated_session(store, emotune_home)
    result = cli.invoke(app, ["model", "calibrate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tracks"] == 5 and report["activated"]
    assert 1 <= len(report["held_out_tracks"]) < 5
    assert Path(report["path"]).exists()
    for dim in ("valence", "arousal"):
        figures = report["metrics"].get(dim)
        if figures:  # scored on held-out tracks, beside the base model and the majority rate
            assert {"accuracy", "base_accuracy", "majority_rate"} <= set(figures)
    with store.session() as db:
        active = repository.active_model(db, "eeg")
        assert active.id == report["model_id"] and "calibrated" in active.name
    listed = cli.invoke(app, ["model", "list", "--json"])
    assert report["model_name"] in listed.stdout


def test_calibrate_without_ratings_says_what_to_do(cli, store, demo_model) -> None:
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 1
    assert "emotune listen --rate" in result.stderr
