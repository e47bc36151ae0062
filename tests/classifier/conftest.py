"""Shared fixtures for the classifier tests: SYNTHETIC recordings written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.synthetic import MOODS, synthetic_muse_eeg, write_muselsl_csv


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> None:
    """The machine is shared: keep torch to one thread in tests."""
    import torch

    torch.set_num_threads(1)


def write_synthetic_recordings(
    folder: Path, *, subjects: int = 3, duration_s: float = 24.0, seed: int = 0
) -> Path:
    """SYNTHETIC muselsl CSVs (one per subject and mood) plus labels.csv; returns labels path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,subject,valence,arousal"]
    for s in range(subjects):
        for m, (mood, (valence, arousal)) in enumerate(MOODS.items()):
            name = f"synthetic-s{s}-{mood}.csv"
            x = synthetic_muse_eeg(duration_s, mood, seed=seed + 10 * s + m, subject=s)
            write_muselsl_csv(folder / name, x)
            rows.append(f"{name},s{s},{valence:g},{arousal:g}")
    labels = folder / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    return labels


@pytest.fixture(scope="session")
def synthetic_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of SYNTHETIC recordings of 3 subjects x 4 moods, 24 s each, with labels.csv."""
    folder = tmp_path_factory.mktemp("synthetic-recordings")
    write_synthetic_recordings(folder)
    return folder
