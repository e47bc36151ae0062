"""Training data: muselsl CSVs + labels, DREAMER through torcheeg, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.datasets import (
    check_dreamer_layout,
    load_dreamer,
    load_recordings,
    read_labels,
    read_muselsl_csv,
)
from classifier.errors import ClassifierError
from classifier.synthetic import synthetic_muse_eeg, write_muselsl_csv, write_synthetic_dreamer_mat


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_recordings_load_with_labels_groups_and_blank_ratings(tmp_path: Path) -> None:
    x = synthetic_muse_eeg(10, "happy", seed=0)
    write_muselsl_csv(tmp_path / "a.csv", x)
    write_muselsl_csv(tmp_path / "b.csv", x[:, :4], labels=["TP9", "AF7", "AF8", "TP10"])  # no AUX
    write_muselsl_csv(tmp_path / "short.csv", x[:500])
    (tmp_path / "labels.csv").write_text(
        "file,subject,valence,arousal\na.csv,ann,5,\nb.csv,bob,2,4\nshort.csv,bob,1,1\n"
    )
    ws = load_recordings(tmp_path, tmp_path / "labels.csv")
    assert ws.data.shape == (14, 4, 512)
    assert set(ws.subject) == {"ann", "bob"}
    assert np.isnan(ws.arousal[ws.subject == "ann"]).all()
    assert ws.labels("valence").tolist() == [1.0] * 7 + [0.0] * 7
    assert any("short.csv" in note for note in ws.notes)


def test_a_gap_splits_a_recording(tmp_path: Path) -> None:
    x = synthetic_muse_eeg(12, "calm", seed=1)
    ts = 1e9 + np.arange(len(x)) / 256
    ts[6 * 256 :] += 30.0
    write_muselsl_csv(tmp_path / "gap.csv", x, timestamps=ts)
    (tmp_path / "labels.csv").write_text("file,subject,valence,arousal\ngap.csv,ann,4,2\n")
    assert len(load_recordings(tmp_path, tmp_path / "labels.csv")) == 3 + 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,subject,valence\na.csv,ann,3\n", r"labels.csv: missing column\(s\) arousal"),
        ("file,subject,valence,arousal\nnope.csv,ann,3,3\n", r"line 2: file 'nope.csv' is not in"),
        ("file,subject,valence,arousal\na.csv,ann,7,3\n", r"line 2: valence 7 is outside 1-5"),
        ("file,subject,valence,arousal\na.csv,ann,3,high\n", r"arousal 'high' is not a number"),
        ("file,subject,valence,arousal\n", "lists no recordings"),
    ],
)
def test_bad_labels_are_one_line_errors_naming_the_place(
    tmp_path: Path, content: str, message: str
) -> None:
    write_muselsl_csv(tmp_path / "a.csv", synthetic_muse_eeg(5, "sad", seed=0))
    (tmp_path / "labels.csv").write_text(content)
    with pytest.raises(ClassifierError, match=message) as exc:
        read_labels(tmp_path / "labels.csv", tmp_path)
    one_line(exc)


def test_bad_csvs_are_one_line_errors_naming_the_place(tmp_path: Path) -> None:
    x = synthetic_muse_eeg(2, "sad", seed=0)
    write_muselsl_csv(tmp_path / "cols.csv", x[:, :3], labels=["TP9", "AF7", "AF8"])
    with pytest.raises(ClassifierError, match=r"cols.csv: missing column\(s\) TP10") as exc:
        read_muselsl_csv(tmp_path / "cols.csv")
    one_line(exc)
    x[100, 2] = np.nan
    write_muselsl_csv(tmp_path / "nan.csv", x)
    with pytest.raises(
        ClassifierError, match=r"nan.csv: 1 NaN/inf value\(s\), first in column AF8 at data row 101"
    ) as exc:  # noqa: E501
        read_muselsl_csv(tmp_path / "nan.csv")
    one_line(exc)
    write_muselsl_csv(tmp_path / "slow.csv", synthetic_muse_eeg(2, "sad", seed=0), rate_hz=128.0)
    with pytest.raises(
        ClassifierError, match=r"slow.csv: timestamps say 128.0 Hz but 256 Hz"
    ) as exc:  # noqa: E501
        read_muselsl_csv(tmp_path / "slow.csv")
    one_line(exc)


def test_a_mat_of_another_layout_is_refused(tmp_path: Path) -> None:
    import scipy.io as sio

    sio.savemat(tmp_path / "deap.mat", {"data": np.zeros((2, 3)), "labels": np.ones((2, 2))})
    with pytest.raises(ClassifierError, match="not DREAMER's layout") as exc:
        check_dreamer_layout(tmp_path / "deap.mat")
    one_line(exc)
    (tmp_path / "text.mat").write_text("hello")
    with pytest.raises(ClassifierError, match="not a readable MATLAB file"):
        check_dreamer_layout(tmp_path / "text.mat")


def test_dreamer_through_torcheeg_maps_emotiv_to_muse(tmp_path: Path) -> None:
    path = write_synthetic_dreamer_mat(
        tmp_path / "synthetic-dreamer.mat", n_subjects=2, n_trials=4, trial_s=10
    )  # noqa: E501
    ws = load_dreamer(path, stride_s=2.0)
    assert ws.synthetic and "SYNTHETIC" in ws.description
    assert ws.data.shape == (2 * 4 * 4, 4, 512)  # 10 s trials, 4 s windows every 2 s
    assert sorted(set(ws.subject)) == ["S01", "S02"]
    assert len(set(ws.trial)) == 8
    # the synthetic writer puts the Muse signal on T7/AF3/T8/AF4: DC offset gone after filtering
    assert abs(float(ws.data.mean())) < 5.0
    assert set(np.unique(ws.valence)) <= {1.0, 2.0, 4.0, 5.0}


def test_one_training_epoch_through_dreamer_dataset(tmp_path: Path) -> None:
    from classifier.training import TrainConfig, fit

    path = write_synthetic_dreamer_mat(
        tmp_path / "synthetic-dreamer.mat", n_subjects=2, n_trials=4, trial_s=12
    )  # noqa: E501
    ws = load_dreamer(path, stride_s=1.0)
    trained = fit(ws, TrainConfig(max_epochs=1, progress=False))
    assert trained.epochs_run == 1 and trained.n_train > 0
    assert trained.predict(ws.data[:3]).shape == (3, 2)


def test_dreamer_channels_land_on_their_muse_neighbours(tmp_path: Path) -> None:
    from classifier.signal import bandpass_notch
    from classifier.synthetic import MOODS

    path = write_synthetic_dreamer_mat(
        tmp_path / "synthetic-dreamer.mat", n_subjects=1, n_trials=2, trial_s=8
    )  # noqa: E501
    ws = load_dreamer(path)
    # Subject 1, trial 1 of the writer: mood "happy", seed 0; Muse signal on T7/AF3/AF4/T8.
    muse = synthetic_muse_eeg(8, MOODS["happy"], rate_hz=128.0, n_channels=4, seed=0, subject=0)
    expected = bandpass_notch(muse[:, [0, 1, 3, 2]] + 4200.0)[:512].T  # TP9, AF7, TP10, AF8
    assert np.allclose(ws.data[0], expected, atol=0.05)


def test_stamps_going_back_over_earlier_samples_and_a_wrong_rate_are_one_line(
    tmp_path: Path,
) -> None:
    x = synthetic_muse_eeg(300, "calm", seed=1)
    stamps = 1_700_000_000.0 + np.arange(len(x)) / 256.0
    stamps[len(x) // 2 :] -= 120.0  # the clock went back two minutes halfway
    write_muselsl_csv(tmp_path / "back.csv", x, timestamps=stamps)
    with pytest.raises(ClassifierError, match=r"back.csv: the time stamps go back 120 s") as exc:
        read_muselsl_csv(tmp_path / "back.csv")
    assert "split the file at that row" in one_line(exc)
    # A file whose samples arrive at 256 Hz, read as the 250 Hz it declares.
    write_muselsl_csv(tmp_path / "declared.csv", x[: 20 * 256])
    with pytest.raises(ClassifierError, match=r"timestamps say 256.0 Hz but 250 Hz") as exc:
        read_muselsl_csv(tmp_path / "declared.csv", rate_hz=250.0)
    one_line(exc)


def test_jittered_muselsl_stamps_load_as_one_stretch(tmp_path: Path) -> None:
    """Duplicate and slightly backward stamps (muselsl stamps chunks on arrival) are jitter:
    the file loads whole, with every window a continuous recording gives."""
    x = synthetic_muse_eeg(30, "calm", seed=2)
    rng = np.random.default_rng(0)
    stamps = 1_700_000_000.0 + np.arange(len(x)) / 256.0
    stamps += np.repeat(rng.uniform(-0.004, 0.004, len(x) // 12 + 1), 12)[: len(x)]
    write_muselsl_csv(tmp_path / "jitter.csv", x, timestamps=stamps)
    (tmp_path / "labels.csv").write_text("file,subject,valence,arousal\njitter.csv,a,,1\n")
    ws = load_recordings(tmp_path, tmp_path / "labels.csv")
    assert len(ws) == 27  # 30 s, 4 s windows every 1 s: none lost to jitter


def test_recordings_no_window_of_which_can_be_read_are_refused_naming_why(
    tmp_path: Path,
) -> None:
    x = synthetic_muse_eeg(20, "calm", seed=3)
    square = 1000.0 * np.sign(np.sin(np.arange(len(x)) / 50.0))
    x[:, :4] = square[:, None]  # every electrode railed: a headband not on the head
    write_muselsl_csv(tmp_path / "off.csv", x)
    (tmp_path / "labels.csv").write_text("file,subject,valence,arousal\noff.csv,a,,1\n")
    with pytest.raises(ClassifierError, match=r"off.csv: no window could be read") as exc:
        load_recordings(tmp_path, tmp_path / "labels.csv")
    text = one_line(exc)
    assert "TP9 saturated" in text and "emotune contact" in text
