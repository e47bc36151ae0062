"""Features (and their cache), per-speaker normalisation, models, save/load, mood mapping."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from classifier.voice.dataset import EMOTIONS, SAMPLE_RATE, scan_ravdess
from classifier.voice.errors import VoiceError
from classifier.voice.evaluate import actor_folds, save_confusion_png, train_and_score
from classifier.voice.features import extract_files, features_of
from classifier.voice.models import VoiceModel, fit_voice_model
from classifier.voice.mood import EMOTION_QUADRANT, quadrant_of, valence_arousal
from classifier.voice.normalise import normalise_by_speaker, speaker_stats
from classifier.voice.synthetic import synthetic_clip


def test_feature_vectors_have_documented_sizes_and_are_finite() -> None:
    clip = synthetic_clip("happy", 1, 0, seconds=0.5)
    reference = features_of(clip, "reference")
    extended = features_of(clip, "extended")
    assert reference.shape == (160,) and extended.shape == (432,)
    assert np.isfinite(reference).all() and np.isfinite(extended).all()
    with pytest.raises(VoiceError, match="unknown feature set"):
        features_of(clip, "fancy")


def test_pitch_features_follow_the_synthetic_pitch() -> None:
    # The last 7 extended values are pitch (log2 f0 mean first) and the sounding share.
    high = features_of(synthetic_clip("fearful", 2, 0), "extended")
    low = features_of(synthetic_clip("sad", 2, 0), "extended")
    # fearful is 260 Hz, sad 100 Hz: log2 ratio about 1.4 octaves.
    assert high[-7] - low[-7] == pytest.approx(np.log2(260 / 100), abs=0.3)


def test_cache_is_reused_and_invalidated_by_mtime(synthetic_ravdess: Path, tmp_path: Path) -> None:
    paths = [c.path for c in scan_ravdess(synthetic_ravdess)][:6]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really")
    cache = tmp_path / "cache"
    first = extract_files([*paths, bad], "reference", cache_dir=cache, n_jobs=1)
    assert first.from_cache == 0 and first.kept == list(range(6))
    assert first.skipped[0][0] == bad and "not a readable" in first.skipped[0][1]
    second = extract_files(paths, "reference", cache_dir=cache, n_jobs=1)
    assert second.from_cache == 6
    np.testing.assert_array_equal(first.matrix, second.matrix)
    st = paths[0].stat()
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = extract_files(paths, "reference", cache_dir=cache, n_jobs=1)
    assert third.from_cache == 5


def test_parallel_extraction_matches_serial(synthetic_ravdess: Path) -> None:
    paths = [c.path for c in scan_ravdess(synthetic_ravdess)][:12]
    serial = extract_files(paths, "reference", n_jobs=1)
    parallel = extract_files(paths, "reference", n_jobs=2)
    np.testing.assert_allclose(serial.matrix, parallel.matrix, rtol=1e-4, atol=1e-4)


def test_per_speaker_normalisation_centres_each_speaker() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(5.0, 2.0, size=(30, 4))
    b = rng.normal(-3.0, 0.5, size=(30, 4))
    normalised, stats = normalise_by_speaker(np.vstack([a, b]), [1] * 30 + [2] * 30)
    np.testing.assert_allclose(normalised[:30].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(normalised[30:].std(axis=0), 1, atol=1e-4)
    assert stats[2].n_clips == 30
    _, sampled = normalise_by_speaker(np.vstack([a, b]), [1] * 30 + [2] * 30, stats_clips=5)
    assert sampled[1].n_clips == 5
    with pytest.raises(VoiceError, match="features have 3 values"):
        speaker_stats(a).apply(np.zeros(3))


def test_model_beats_majority_rate_on_held_out_synthetic_actors(synthetic_features) -> None:
    features, emotions, actors = synthetic_features
    model, score = train_and_score(
        features, emotions, actors, [5, 6], kind="svc", n_iter=3, enrol_clips=8
    )
    assert score.test_actors == [5, 6]
    assert score.majority_rate == pytest.approx(0.25)
    assert score.accuracy > 0.6 > score.majority_rate
    assert set(score.per_class) == {"neutral", "happy", "sad", "angry"}
    assert score.confusion.sum() == score.n_test == 24
    # Quadrants: neutral -> calm, happy -> happy, sad -> sad, angry -> tense (6 clips each).
    assert score.quadrant_accuracy > score.quadrant_majority_rate == pytest.approx(0.25)
    assert model.trained_on["actors"] == [1, 2, 3, 4]
    assert "cv_accuracy" in model.figures and "cv_majority_rate" in model.figures


def test_xgboost_trains_and_predicts(synthetic_features) -> None:
    features, emotions, actors = synthetic_features
    model = fit_voice_model(features, emotions, actors, kind="xgboost", n_iter=2, folds=2)
    probs = model.predict_proba(features[:5])
    assert probs.shape == (5, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert model.kind == "xgboost"


def test_auto_searches_every_kind_and_keeps_the_best(synthetic_features) -> None:
    features, emotions, actors = synthetic_features
    model = fit_voice_model(features, emotions, actors, kind="auto", n_iter=2, folds=2)
    searched = model.figures["search"]
    assert set(searched) == {"svc", "rf", "xgboost"}
    assert searched[model.kind] == max(searched.values()) == model.figures["cv_accuracy"]
    assert model.predict_proba(features[:3]).shape == (3, 4)


def test_save_load_round_trip_and_damaged_file(synthetic_model_path: Path, tmp_path: Path) -> None:
    model = VoiceModel.load(synthetic_model_path)
    assert model.classes == ("neutral", "happy", "sad", "angry")
    assert model.feature_set == "extended" and model.sample_rate == SAMPLE_RATE
    vector = features_of(synthetic_clip("angry", 6, 1), "extended")[None, :]
    again = VoiceModel.load(model.save(tmp_path / "copy.skops"))
    np.testing.assert_allclose(model.predict_proba(vector), again.predict_proba(vector))
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(b"garbage")
    with pytest.raises(VoiceError, match="cannot be read"):
        VoiceModel.load(damaged)
    with pytest.raises(VoiceError, match="is missing"):
        VoiceModel.load(tmp_path / "absent.skops")


def test_training_refuses_one_class_and_unknown_model(synthetic_features) -> None:
    features, _, actors = synthetic_features
    with pytest.raises(VoiceError, match="only one emotion"):
        fit_voice_model(features, ["sad"] * len(actors), actors)
    with pytest.raises(VoiceError, match="unknown model"):
        fit_voice_model(features, ["sad", "calm"] * (len(actors) // 2), actors, kind="knn")


def test_actor_folds_cover_every_actor_once() -> None:
    folds = actor_folds(list(range(1, 21)) * 3, 5)
    assert folds[0] == [1, 2, 3, 4] and sorted(sum(folds, [])) == list(range(1, 21))
    with pytest.raises(VoiceError, match="cannot make 7 actor folds"):
        actor_folds([1, 2, 3], 7)


def test_confusion_png_is_written(synthetic_features, tmp_path: Path) -> None:
    features, emotions, actors = synthetic_features
    _, score = train_and_score(features, emotions, actors, [6], n_iter=2)
    png = save_confusion_png(score, tmp_path / "cm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_emotion_maps_to_a_product_quadrant() -> None:
    from app.emotions import EMOTIONS as QUADRANTS

    assert set(EMOTION_QUADRANT) == set(EMOTIONS)
    assert set(EMOTION_QUADRANT.values()) == set(QUADRANTS)
    classes = ("neutral", "happy", "sad", "angry")
    pv, pa = valence_arousal(classes, np.array([0.1, 0.2, 0.6, 0.1]))
    assert (pv, pa) == pytest.approx((0.3, 0.3))
    assert quadrant_of(pv, pa) == "sad"
    assert quadrant_of(0.9, 0.9) == "happy" and quadrant_of(0.2, 0.8) == "tense"


def test_few_enrolment_clips_are_shrunk_toward_the_average_speaker() -> None:
    from classifier.voice.normalise import SpeakerStats, shrink_toward

    average = SpeakerStats(mean=np.zeros(2, np.float32), std=np.ones(2, np.float32), n_clips=0)
    own = SpeakerStats(
        mean=np.array([6.0, 6.0], np.float32), std=np.array([3.0, 3.0], np.float32), n_clips=5
    )
    few = shrink_toward(own, average, mean_clips=5, spread_clips=40)
    np.testing.assert_allclose(few.mean, [3.0, 3.0])  # half own, half average
    np.testing.assert_allclose(few.std, np.sqrt((5 * 9 + 40) / 45))
    many = shrink_toward(
        SpeakerStats(mean=own.mean, std=own.std, n_clips=10_000), average, mean_clips=5
    )
    np.testing.assert_allclose(many.mean, own.mean, rtol=1e-3)


def test_unenrolled_speakers_get_the_fallback_model(synthetic_model_path: Path) -> None:
    model = VoiceModel.load(synthetic_model_path)
    assert model.speaker_from(np.zeros((0, 432), np.float32)) is None
    vector = features_of(synthetic_clip("sad", 5, 0), "extended")[None, :]
    assert model.unenrolled is not None
    np.testing.assert_allclose(
        model.predict_proba(vector, None), model.unenrolled.predict_proba(vector)
    )
    stats = model.speaker_from(np.repeat(vector, 3, axis=0))
    assert stats is not None and stats.n_clips == 3
    enrolled = model.predict_proba(vector, stats)
    assert enrolled.shape == (1, 4) and not np.allclose(enrolled, model.predict_proba(vector))
    # Without a fallback, an un-enrolled speaker is normalised as the average speaker.
    model.unenrolled = None
    np.testing.assert_allclose(
        model.predict_proba(vector, None), model.predict_proba(vector, model.average_speaker)
    )
