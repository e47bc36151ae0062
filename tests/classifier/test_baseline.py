"""The band-power baseline: features, per-person scaling, and a calibrated wearer's model that
answers with it when it wins on their held-out tracks (real Muse recordings)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from classifier.baseline import (
    BandPowerBaseline,
    WearerBandPower,
    band_power_features,
    person_features,
)
from classifier.calibration import CalibrationSegment, fine_tune
from classifier.datasets import read_muselsl_csv
from classifier.errors import ClassifierError
from classifier.model import Predictor, load_checkpoint
from classifier.signal import MODEL_RATE_HZ, MUSELSL_CHANNELS, recording_windows
from classifier.synthetic import synthetic_muse_eeg
from tests.factories import save_seeded_untrained_checkpoint
from tests.real_muse import DATA


def test_alpha_power_lands_in_the_alpha_feature_of_its_channel() -> None:
    t = np.arange(512) / MODEL_RATE_HZ
    windows = np.zeros((1, 4, 512))
    windows[0, 2] = 20 * np.sin(2 * np.pi * 10 * t)  # 10 Hz on the third channel
    windows[0] += np.random.default_rng(0).normal(0, 1, (4, 512))
    features = band_power_features(windows).reshape(4, 3)  # channel x (theta, alpha, beta)
    assert np.unravel_index(features.argmax(), features.shape) == (2, 1)


def test_features_are_scaled_per_person_and_a_masked_electrode_sits_at_the_mean() -> None:
    rng = np.random.default_rng(1)
    loud = rng.normal(0, 50, (20, 4, 512))
    quiet = rng.normal(0, 5, (20, 4, 512))
    groups = np.array(["loud"] * 20 + ["quiet"] * 20)
    ok = np.ones((40, 4), bool)
    ok[3, 1] = False
    z = person_features(np.concatenate([loud, quiet]), groups, ok)
    # a tenfold amplitude between heads is gone after scaling each by its own windows
    assert abs(z[groups == "loud"].mean()) < 1e-6 and abs(z[groups == "quiet"].mean()) < 1e-6
    assert np.all(z[3, 3:6] == 0.0)


def test_a_one_class_dimension_answers_that_class() -> None:
    x = np.random.default_rng(2).normal(size=(30, 12))
    model = BandPowerBaseline().fit(x, {"arousal": np.ones(30), "valence": np.full(30, np.nan)})
    assert model.dimensions == ["arousal"]
    assert np.all(model.predict(x)[:, 1] == 1.0) and np.all(model.predict(x)[:, 0] == 0.5)


def real_segments(subject: str, folder: Path) -> list[CalibrationSegment]:
    """The subject's eyes-closed (arousal 1) and eyes-open (arousal 5) takes, 3 tracks each,
    as rated listens (valence unrated)."""
    segments = []
    for condition, arousal in (("EC", 1.0), ("EO", 5.0)):
        with gzip.open(DATA / f"{subject}_{condition}.csv.gz", "rt") as fh:
            header, *rows = fh.read().splitlines()
        size = len(rows) // 3
        for k in range(3):
            path = folder / f"{subject}_{condition}_{k + 1}.csv"
            path.write_text("\n".join([header, *rows[k * size : (k + 1) * size]]) + "\n")
            samples, stamps, labels = read_muselsl_csv(path)
            segments.append(
                CalibrationSegment(samples, stamps, labels, 256.0, None, arousal, path.stem)
            )
    return segments


@pytest.mark.slow
def test_calibration_answers_with_the_baseline_when_it_wins_held_out_tracks(
    tmp_path: Path,
) -> None:
    """Real eyes-closed/open tracks of one person, an untrained TSCeption as the base: the
    wearer's band-power baseline wins leave-one-track-out, the checkpoint carries it, and the
    listener's Predictor answers with it."""
    base = save_seeded_untrained_checkpoint(tmp_path / "base.pt", "untrained")
    segments = real_segments("A1_07", tmp_path)
    out = tmp_path / "calibrated.pt"
    result = fine_tune(base, segments, out, force=True)
    arousal = result.metrics["arousal"]
    assert arousal["tracks"] == 6 and arousal["majority_rate"] == 0.5
    assert arousal["baseline_track_accuracy"] >= 5 / 6  # alpha with the eyes closed
    assert result.metrics["answer"] in ("baseline", "combined")
    best = max(arousal["track_accuracy"], arousal["combined_track_accuracy"])
    assert arousal["baseline_track_accuracy"] >= best or result.metrics["answer"] == "combined"
    ckpt = load_checkpoint(out)
    assert ckpt["band_power"]["answer"] == result.metrics["answer"]
    predictor = Predictor(ckpt)
    assert predictor.answers_with == result.metrics["answer"]
    windows = recording_windows(
        segments[0].samples, segments[0].timestamps, segments[0].channel_labels, 256.0
    )
    probs = predictor.predict(windows.data, channel_ok=windows.channel_ok)
    assert probs[:, 1].mean() < 0.5  # eyes closed read as low arousal
    assert np.all(probs[:, 0] == Predictor(ckpt | {"band_power": None}).predict(
        windows.data, channel_ok=windows.channel_ok
    )[:, 0])  # valence was never rated: TSCeption's answer stays  # fmt: skip


def test_a_predictor_combines_or_replaces_tsception_with_the_wearers_baseline(
    tmp_path: Path,
) -> None:
    x = synthetic_muse_eeg(20, "calm", seed=3)
    windows = recording_windows(x, np.arange(len(x)) / 256.0, MUSELSL_CHANNELS, 256.0)
    ckpt = load_checkpoint(save_seeded_untrained_checkpoint(tmp_path / "m.pt", "m"))
    plain = Predictor(ckpt).predict(windows.data)
    features = band_power_features(windows.data)
    band = BandPowerBaseline(
        coef={"arousal": np.full(12, 0.1)}, intercept={"arousal": -0.2}, constant={}
    )
    part = WearerBandPower("baseline", features.mean(axis=0), features.std(axis=0) + 1e-3, band)
    expected = part.probabilities(windows.data, windows.channel_ok)[:, 1]
    as_baseline = Predictor(ckpt | {"band_power": part.to_checkpoint()}).predict(windows.data)
    np.testing.assert_allclose(as_baseline[:, 1], expected)
    np.testing.assert_allclose(as_baseline[:, 0], plain[:, 0])
    part.answer = "combined"
    combined = Predictor(ckpt | {"band_power": part.to_checkpoint()}).predict(windows.data)
    np.testing.assert_allclose(combined[:, 1], (plain[:, 1] + expected) / 2)


def test_a_malformed_baseline_part_is_refused_when_the_checkpoint_loads(tmp_path: Path) -> None:
    import torch

    path = save_seeded_untrained_checkpoint(tmp_path / "m.pt", "m")
    ckpt = torch.load(path, weights_only=True)
    ckpt["band_power"] = {"answer": "baseline", "feature_mean": [0.0] * 12, "feature_std": [0.0]}
    torch.save(ckpt, path)
    with pytest.raises(ClassifierError, match="band-power part .* malformed; calibrate again"):
        load_checkpoint(path)
