"""The demo model is seeded and deterministic: two builds in one environment give identical
weights (`make demo-model`; short builds here, on SYNTHETIC EEG)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _weights(path: Path) -> dict:
    from classifier.model import load_checkpoint

    return load_checkpoint(path)["state_dict"]


def _differing(a: dict, b: dict) -> list[str]:
    import torch

    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.slow
def test_two_demo_model_builds_give_identical_weights(tmp_path: Path) -> None:
    from classifier.demo_model import build

    small = {"n_train": 2, "n_test": 1, "epochs": 2}  # the full build is 6 wearers, 25 epochs
    first = build(tmp_path / "a.pt", seed=0, **small)
    second = build(tmp_path / "b.pt", seed=0, **small)
    build(tmp_path / "c.pt", seed=1, **small)
    assert first["epochs"] == second["epochs"] == 2
    assert _differing(_weights(tmp_path / "a.pt"), _weights(tmp_path / "b.pt")) == []
    assert first["quadrant_accuracy"] == second["quadrant_accuracy"]
    # The comparison can tell builds apart: another seed gives other weights.
    assert _differing(_weights(tmp_path / "a.pt"), _weights(tmp_path / "c.pt"))
