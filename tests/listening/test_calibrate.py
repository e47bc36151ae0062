"""`emotune model calibrate` on self-rated listens whose raw EEG is stored (SYNTHETIC EEG)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from app.cli.main import app
from app.db import repository
from app.db.models import Listen, ListeningSession, SelfRating
from classifier.raw_store import RawRecording, write_fif
from classifier.synthetic import synthetic_muse_eeg
from tests.real_muse import write_user_recordings

T0 = 1_790_000_000.0
LABELS = ("TP9", "AF7", "AF8", "TP10", "Right AUX")
# (mood of the synthetic EEG, the listener's valence and arousal ratings)
RATED = [
    ("happy", 5, 4), ("sad", 1, 2), ("happy", 4, 5), ("sad", 2, 1),
    ("happy", 5, 5), ("sad", 1, 1), ("happy", 4, 4), ("sad", 2, 2),
]  # fmt: skip


def _store_rated_session(store, home: Path, seconds: float = 40.0, rated=RATED) -> None:
    parts = [synthetic_muse_eeg(seconds, mood, seed=i) for i, (mood, _, _) in enumerate(rated)]
    samples = np.concatenate(parts).astype(np.float64)
    stamps = T0 + np.arange(len(samples)) / 256.0
    fif = write_fif(home / "recordings" / "session-00001_raw.fif",
                    RawRecording(samples, stamps, LABELS, 256.0))  # fmt: skip
    with store.session() as db:
        session = ListeningSession(started_at=T0, ended_at=float(stamps[-1]), raw_path=str(fif))
        db.add(session)
        db.flush()
        for i, (_, valence, arousal) in enumerate(rated):
            track = repository.upsert_track(db, spotify_id=f"0SyntheticRated{i:07d}")
            a, b = T0 + i * seconds, T0 + (i + 1) * seconds
            listen = Listen(session_id=session.id, track_id=track.id, started_at=a, ended_at=b,
                            segments=[[a, b]])  # fmt: skip
            db.add(listen)
            db.flush()
            db.add(SelfRating(listen_id=listen.id, valence=valence, arousal=arousal))


def _models_on_disk(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "models").glob("*.pt*"))


def test_calibration_that_beats_the_base_model_is_kept_and_activated(
    cli, store, seeded_untrained_model, emotune_home
) -> None:
    _store_rated_session(store, emotune_home)
    result = cli.invoke(app, ["model", "calibrate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tracks"] == 8 and report["beats_base_and_majority"] and report["activated"]
    assert report["metrics"]["protocol"].startswith("leave-one-track-out over 8 rated tracks")
    for dim in ("valence", "arousal"):
        m = report["metrics"][dim]
        assert m["tracks"] == 8 and m["majority_rate"] == 0.5
        assert m["track_accuracy"] > max(m["base_track_accuracy"], m["majority_rate"])
        low, high = m["track_accuracy_95ci"]
        assert low < m["track_accuracy"] <= high <= 1.0
        assert 0.0 <= m["ece"] <= 1.0
    assert Path(report["path"]).exists()
    with store.session() as db:
        active = repository.active_model(db, "eeg")
        assert active.id == report["model_id"] and "calibrated" in active.name
    from classifier.model import load_checkpoint

    saved = load_checkpoint(report["path"])
    assert saved["trained_on"]["calibrated"] is True
    assert saved["metrics"]["calibration"]["arousal"] == report["metrics"]["arousal"]


def test_a_calibration_that_does_not_beat_the_base_model_is_not_kept(
    cli, store, demo_model, emotune_home
) -> None:
    # The demo model already knows these SYNTHETIC moods: calibration cannot beat it.
    _store_rated_session(store, emotune_home)
    before = _models_on_disk(emotune_home)
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 0, result.output
    assert "kept demo-synthetic-tsception" in result.stdout
    assert "more tracks" in result.stdout and "--force" in result.stdout
    assert _models_on_disk(emotune_home) == before
    with store.session() as db:
        assert repository.active_model(db, "eeg").name == "demo-synthetic-tsception"
        assert len(repository.list_models(db, kind="eeg")) == 1
    forced = cli.invoke(app, ["model", "calibrate", "--force", "--json"])
    report = json.loads(forced.stdout)
    assert report["activated"] and not report["beats_base_and_majority"]
    assert Path(report["path"]).exists()


def test_too_few_or_one_sided_ratings_say_what_to_rate_and_write_nothing(
    cli, store, seeded_untrained_model, emotune_home
) -> None:
    _store_rated_session(store, emotune_home, rated=[("happy", 5, 4)])
    before = _models_on_disk(emotune_home)
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "at least 2 tracks" in line
    assert "calm and sad and tense" in line and "more tracks" in line
    assert _models_on_disk(emotune_home) == before


def test_one_sided_ratings_on_every_dimension_are_refused(
    cli, store, seeded_untrained_model, emotune_home
) -> None:
    _store_rated_session(store, emotune_home, rated=[("happy", 5, 4), ("happy", 4, 5)])
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 1
    assert "one class to learn" in result.stderr and "calm and sad and tense" in result.stderr


def test_calibrate_without_ratings_says_what_to_do(cli, store, demo_model) -> None:
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 1
    assert "emotune listen --rate" in result.stderr


def test_rated_listens_whose_raw_eeg_is_gone_say_so(
    cli, store, seeded_untrained_model, emotune_home
) -> None:
    _store_rated_session(store, emotune_home)
    (emotune_home / "recordings" / "session-00001_raw.fif").unlink()
    before = _models_on_disk(emotune_home)
    result = cli.invoke(app, ["model", "calibrate"])
    assert result.exit_code == 1
    assert "8 rated listen(s), but none has raw EEG left" in result.stderr
    assert "emotune import-recording" in result.stderr and "\n" not in result.stderr.strip()
    assert _models_on_disk(emotune_home) == before


def test_a_wearer_who_rates_arousal_only_calibrates_on_it(
    cli, store, seeded_untrained_model, emotune_home, tmp_path: Path
) -> None:
    """Real Muse recordings of one person (eyes closed 3 tracks, open 2: arousal 1 / 5, a
    physiological proxy), imported as listens and rated on arousal alone: valence is left
    blank, as calibration advises, instead of a made-up 3 that would become a label."""
    labels = write_user_recordings(tmp_path / "rec", subjects=("A2_05",), short_file=False)
    rows = [line.split(",") for line in labels.read_text().splitlines()[1:]]
    for k, (name, _, _, arousal) in enumerate(rows):
        csv = labels.parent / name
        first = float(csv.read_text().splitlines()[1].split(",")[0])
        start = datetime.fromtimestamp(first, UTC).isoformat()
        track = f"0ArousalOnly{k:010d}"
        imported = cli.invoke(
            app, ["import-recording", str(csv), "--track", track, "--start", start]
        )
        assert imported.exit_code == 0, imported.output
        rated = cli.invoke(app, ["rate", track, "--arousal", arousal])
        assert rated.exit_code == 0, rated.output
        if k == 0:  # one rated track: what to rate next speaks of arousal, not quadrants
            early = cli.invoke(app, ["model", "calibrate"])
            assert early.exit_code == 1 and "at least 2 tracks" in early.stderr
            assert "including arousal high (4-5) ones" in early.stderr
            assert "1 rated on arousal (1 low (1-3)), valence left blank" in early.stderr
    with store.session() as db:
        assert {(r.valence, r.arousal) for r in db.scalars(select(SelfRating))} == {
            (None, 1),
            (None, 5),
        }
    result = cli.invoke(app, ["model", "calibrate", "--force", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tracks"] == 5 and report["activated"]
    assert "valence" not in report["metrics"]  # no label: neither trained nor scored
    arousal = report["metrics"]["arousal"]
    assert arousal["calibrated"] and arousal["tracks"] == 5 and arousal["majority_rate"] == 0.6
    assert not any("valence" in note for note in report["notes"])
