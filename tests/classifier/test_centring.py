"""Per-wearer logit centring: a generic model's leaning on a new head taken out, the same way
live and in batch (SYNTHETIC EEG and seeded untrained weights: the plumbing, not accuracy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.alignment import WearerAlignment, centre_by_group, centre_in_order
from classifier.errors import ClassifierError
from classifier.model import Predictor, load_checkpoint
from classifier.pipeline import LiveClassifier, classify_recording
from classifier.signal import MUSELSL_CHANNELS, recording_windows
from classifier.synthetic import synthetic_muse_eeg
from tests.factories import save_seeded_untrained_checkpoint


def test_each_window_is_centred_on_the_clean_windows_so_far() -> None:
    logits = np.array([[1.0, 2.0], [3.0, 4.0], [100.0, 100.0], [5.0, 0.0]])
    clean = np.array([True, True, False, True])
    state = WearerAlignment(4)
    out = centre_in_order(state, logits, clean)
    np.testing.assert_allclose(out[0], [0.0, 0.0])  # centred on itself
    np.testing.assert_allclose(out[1], [1.0, 1.0])  # mean of windows 0-1 is (2, 3)
    np.testing.assert_allclose(out[2], [98.0, 97.0])  # not clean: centred, not counted
    np.testing.assert_allclose(out[3], [2.0, -2.0])  # mean of 0, 1, 3 is (3, 2)
    assert state.logit_count == 3 and state.to_json()["logit_centre"] == [3.0, 2.0]
    # Batch over whole groups: each group's own mean, whatever the other groups do.
    groups = np.array(["a", "a", "b", "b"])
    np.testing.assert_allclose(centre_by_group(logits, groups)[:2], [[-1.0, -1.0], [1.0, 1.0]])


def centred_checkpoint(tmp_path: Path) -> dict:
    path = save_seeded_untrained_checkpoint(tmp_path / "c.pt", "centred")
    ckpt = torch.load(path, weights_only=True)
    ckpt.update(alignment="wearer-zscore", logit_centring="wearer-mean")
    torch.save(ckpt, path)
    return load_checkpoint(path)


def test_a_centring_model_answers_live_as_in_batch(tmp_path: Path) -> None:
    predictor = Predictor(centred_checkpoint(tmp_path))
    assert predictor.centred
    x = synthetic_muse_eeg(40, "tense", seed=5)
    stamps = 1_700_000_000.0 + np.arange(len(x)) / 256.0
    batch = classify_recording(predictor, x, stamps, MUSELSL_CHANNELS, 256.0)
    live = LiveClassifier(predictor, MUSELSL_CHANNELS, 256.0)
    got = []
    for i in range(0, len(x), 12):  # muselsl's chunks of 12
        live.push(x[i : i + 12], stamps[i : i + 12])
        got.extend(live.tick())
    got.extend(live.tick(connected=False))
    assert [w.start_time for w in got] == pytest.approx([w.start_time for w in batch])
    np.testing.assert_allclose([w.p_arousal for w in got], [w.p_arousal for w in batch], atol=0.005)
    # Centred on the session: the windows' mean logit is ~0, so p(high) averages ~0.5.
    p = np.array([w.p_arousal for w in batch])
    assert abs(np.mean(np.log(p / (1 - p)))) < 0.5


def test_centring_takes_out_a_heads_constant_leaning(tmp_path: Path) -> None:
    """Two sessions whose logits differ by a constant (a head that leans one way) read the
    same once centred: what the model says is relative to the wearer."""
    predictor = Predictor(centred_checkpoint(tmp_path))
    x = synthetic_muse_eeg(30, "calm", seed=6)
    w = recording_windows(x, np.arange(len(x)) / 256.0, MUSELSL_CHANNELS, 256.0)
    normal = predictor.normalise(w.data, alignment=predictor.new_alignment())
    z = predictor.logits_normalised(normal)
    ok = np.ones(len(z), bool)
    a = centre_in_order(WearerAlignment(4), z, ok)
    b = centre_in_order(WearerAlignment(4), z + np.array([3.0, -2.0]), ok)
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_an_unknown_centring_is_refused(tmp_path: Path) -> None:
    path = save_seeded_untrained_checkpoint(tmp_path / "u.pt", "u")
    ckpt = torch.load(path, weights_only=True)
    ckpt["logit_centring"] = "per-moon-phase"
    torch.save(ckpt, path)
    with pytest.raises(ClassifierError, match="logit centring 'per-moon-phase'.*upgrade emotune"):
        load_checkpoint(path)
