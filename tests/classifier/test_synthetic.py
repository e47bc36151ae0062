"""SYNTHETIC EEG: seeded, continuous across chunks, and its spectrum follows the mood."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from classifier.datasets import check_dreamer_layout
from classifier.errors import ClassifierError
from classifier.synthetic import (
    MOODS,
    SyntheticMuse,
    synthetic_muse_eeg,
    write_muselsl_csv,
    write_synthetic_dreamer_mat,
)


def band_power(x: np.ndarray, lo: float, hi: float, rate: float = 256.0) -> np.ndarray:
    f = np.fft.rfftfreq(len(x), 1 / rate)
    p = np.abs(np.fft.rfft(x - x.mean(axis=0), axis=0)) ** 2
    return p[(f >= lo) & (f <= hi)].sum(axis=0)


def test_moods_are_ratings_in_their_quadrants() -> None:
    assert set(MOODS) == {"happy", "calm", "sad", "tense"}
    assert MOODS["happy"][0] > 3 and MOODS["happy"][1] > 3
    assert MOODS["calm"][0] > 3 and MOODS["calm"][1] <= 3
    assert MOODS["sad"][0] <= 3 and MOODS["sad"][1] <= 3
    assert MOODS["tense"][0] <= 3 and MOODS["tense"][1] > 3


def test_same_seed_same_signal_and_shape() -> None:
    a = synthetic_muse_eeg(2.0, "happy", seed=7)
    b = synthetic_muse_eeg(2.0, "happy", seed=7)
    c = synthetic_muse_eeg(2.0, "happy", seed=8)
    assert a.shape == (512, 5) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert synthetic_muse_eeg(1.0, (2.0, 4.0), seed=1, n_channels=4).shape == (256, 4)


def test_chunks_join_into_the_same_signal_whatever_their_size() -> None:
    whole = SyntheticMuse("calm", 3).next_chunk(3000)
    muse = SyntheticMuse("calm", 3)
    chunks = np.concatenate([muse.next_chunk(12) for _ in range(250)])
    assert np.array_equal(whole, chunks)


def test_arousal_trades_alpha_for_beta_and_valence_sets_frontal_asymmetry() -> None:
    calm = synthetic_muse_eeg(60, "calm", seed=1, n_channels=4)
    tense = synthetic_muse_eeg(60, "tense", seed=1, n_channels=4)
    happy = synthetic_muse_eeg(60, "happy", seed=1, n_channels=4)
    sad = synthetic_muse_eeg(60, "sad", seed=1, n_channels=4)
    ratio = lambda x: band_power(x, 8, 12).sum() / band_power(x, 18, 25).sum()  # noqa: E731
    assert ratio(calm) > 2 * ratio(tense)
    # muselsl order: TP9, AF7, AF8, TP10 -> AF7 alpha / AF8 alpha
    asym = lambda x: band_power(x, 8, 12)[1] / band_power(x, 8, 12)[2]  # noqa: E731
    assert asym(happy) < 0.8 < 1.25 < asym(sad)


def test_set_mood_changes_the_signal_from_then_on() -> None:
    muse = SyntheticMuse("calm", 0, n_channels=4)
    before = muse.next_chunk(256 * 30)
    muse.set_mood("tense")
    muse.next_chunk(256)  # the block already generated under the old mood
    after = muse.next_chunk(256 * 30)
    assert band_power(after, 18, 25).sum() > 2 * band_power(before, 18, 25).sum()


def test_unknown_mood_is_refused() -> None:
    with pytest.raises(ClassifierError, match="unknown synthetic mood"):
        synthetic_muse_eeg(1, "angry", seed=0)


def test_muselsl_csv_has_muselsl_header(tmp_path: Path) -> None:
    path = write_muselsl_csv(tmp_path / "synthetic.csv", synthetic_muse_eeg(1, "sad", seed=0))
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["timestamps", "TP9", "AF7", "AF8", "TP10", "Right AUX"]
    assert len(rows) == 257
    assert float(rows[2][0]) - float(rows[1][0]) == pytest.approx(1 / 256, abs=1e-6)


def test_dreamer_writer_matches_dreamer_layout(tmp_path: Path) -> None:
    path = write_synthetic_dreamer_mat(
        tmp_path / "synthetic-dreamer.mat", n_subjects=2, n_trials=4, trial_s=6
    )  # noqa: E501
    assert check_dreamer_layout(path) == (2, 4, True)
