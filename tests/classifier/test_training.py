"""Training, evaluation protocols, calibration and the `emotune model` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli.main import app
from classifier.datasets import WindowSet
from classifier.errors import ClassifierError
from classifier.evaluation import binary_metrics, protocol_folds
from classifier.model import DEMO_CHECKPOINT
from classifier.pipeline import CalibrationSegment, Predictor, fine_tune
from classifier.signal import MUSELSL_CHANNELS
from classifier.synthetic import MOODS, synthetic_muse_eeg
from classifier.training import TrainConfig, fit


def toy_set(n_subjects: int = 2, n_trials: int = 3, per_trial: int = 5) -> WindowSet:
    n = n_subjects * n_trials * per_trial
    subject = np.repeat([f"s{i}" for i in range(n_subjects)], n_trials * per_trial).astype(object)
    trial = np.array(
        [f"{s}/t{(i // per_trial) % n_trials}" for i, s in enumerate(subject)], dtype=object
    )  # noqa: E501
    return WindowSet(
        data=np.random.default_rng(0).normal(0, 10, (n, 4, 512)).astype(np.float32),
        valence=np.tile([4.0, 2.0, 5.0], n // 3),
        arousal=np.tile([1.0, 5.0, 3.0], n // 3),
        subject=subject,
        trial=trial,
        position=np.tile(np.arange(per_trial), n // per_trial),
        rejected=np.zeros(n, dtype=bool),
    )


def test_protocols_hold_out_subjects_trials_or_trial_ends() -> None:
    ws = toy_set()
    loso = protocol_folds(ws, "loso")
    assert [held for _, _, held in loso] == [["s0"], ["s1"]]
    for train, test, _ in loso:
        assert not set(ws.subject[train]) & set(ws.subject[test])
    for train, test, _ in protocol_folds(ws, "trials", k=3):
        assert not set(ws.trial[train]) & set(ws.trial[test])
    folds = protocol_folds(ws, "groupby-trial", k=5)
    assert len(folds) == 5
    last_train, last_test, _ = folds[-1]
    assert set(ws.position[last_test]) == {4}  # the end of every trial
    assert set(ws.trial[last_test]) == set(ws.trial)  # every trial on both sides
    tested = np.sort(np.concatenate([test for _, test, _ in folds]))
    assert np.array_equal(tested, np.arange(len(ws)))


def test_groupby_trial_folds_are_torcheegs_own(tmp_path) -> None:
    """torcheeg's KFoldGroupbyTrial, run on the same windows (shuffled in storage order, with
    trials of unequal length), tests exactly the windows our groupby-trial folds test."""
    import pandas as pd

    from classifier.model import import_torcheeg

    ws = toy_set(n_subjects=2, n_trials=3, per_trial=7)
    keep = np.flatnonzero(~((ws.trial == "s1/t2") & (ws.position >= 5)))  # one shorter trial
    ws = ws.subset(np.random.default_rng(1).permutation(keep))
    chronological = np.lexsort((ws.position, ws.trial))
    info = pd.DataFrame(
        {
            "clip_id": [str(i) for i in chronological],
            "subject_id": ws.subject[chronological],
            "trial_id": ws.trial[chronological],
        }
    )  # torcheeg's info table lists each trial's clips in time order, as its IO writes them
    splitter = import_torcheeg("torcheeg.model_selection").KFoldGroupbyTrial(
        n_splits=5, shuffle=False, split_path=str(tmp_path / "split")
    )
    (tmp_path / "split").mkdir()  # split() makes it; the constructor alone does not
    splitter.split_info_constructor(info)
    theirs = [
        set(pd.read_csv(tmp_path / "split" / f"test_fold_{i}.csv", dtype={"clip_id": str})
            ["clip_id"].astype(int))
        for i in range(5)
    ]  # fmt: skip
    ours = [set(test.tolist()) for _, test, _ in protocol_folds(ws, "groupby-trial", k=5)]
    assert ours == theirs


def test_one_subject_cannot_be_left_out() -> None:
    ws = toy_set(n_subjects=1)
    with pytest.raises(ClassifierError, match="needs 2\\+ subjects"):
        protocol_folds(ws, "loso")


def test_metrics_report_the_majority_rate_of_the_split() -> None:
    m = binary_metrics(np.array([1, 1, 1, 0]), np.array([1, 1, 1, 1]))
    assert m["accuracy"] == 0.75 and m["majority_rate"] == 0.75
    assert m["balanced_accuracy"] == 0.5 and m["macro_f1"] == pytest.approx(0.4286, abs=1e-4)


def test_a_single_class_training_set_is_a_one_line_error() -> None:
    ws = toy_set()
    ws.valence[:] = 4.0
    with pytest.raises(ClassifierError, match="every valence rating is high") as exc:
        fit(ws, TrainConfig(max_epochs=1, progress=False), where="labels.csv")
    assert "labels.csv" in str(exc.value) and "\n" not in str(exc.value)


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_model_train_list_use_on_synthetic_recordings(
    cli: CliRunner, synthetic_recordings: Path
) -> None:
    code, out, err = run(
        cli, "model", "train", "--recordings", str(synthetic_recordings),
        "--labels", str(synthetic_recordings / "labels.csv"), "--epochs", "3", "--force",
        "--json",
    )  # fmt: skip
    # 2 + 2 held-out trials per dimension cannot show a model learned (test_verdict.py):
    # --force makes it active all the same, as no model is yet.
    assert code == 0, err
    trained = json.loads(out)
    assert trained["verdict"]["forced"]
    assert trained["active"] and trained["synthetic"] and "synthetic" in trained["name"]
    assert trained["dimensions"] == ["valence", "arousal"]
    predictor = Predictor.load(trained["path"])
    assert predictor.checkpoint["trained_on"]["synthetic"] is True
    assert predictor.checkpoint["trained_on"]["subjects"] == ["s0", "s1", "s2"]
    # The checkpoint carries its validation figures, each beside that split's majority rate.
    validation = predictor.checkpoint["metrics"]["validation"]
    assert validation == trained["validation"] and "held out" in validation["protocol"]
    for dim in ("valence", "arousal"):
        figures = validation[dim]
        assert figures["n"] > 0 and 0.5 <= figures["majority_rate"] <= 1.0
        assert 0.0 <= figures["accuracy"] <= 1.0

    code, out, _ = run(cli, "model", "add", "--demo", "--json")
    demo = json.loads(out)
    assert code == 0 and not demo["active"]  # a model is already active
    code, out, _ = run(cli, "model", "list", "--json")
    listed = json.loads(out)
    assert [(m["id"], m["active"]) for m in listed] == [(trained["id"], True), (demo["id"], False)]
    code, _, _ = run(cli, "model", "use", str(demo["id"]))
    assert code == 0
    _, out, _ = run(cli, "model", "list", "--json")
    assert [m["active"] for m in json.loads(out)] == [False, True]
    code, _, err = run(cli, "model", "use", "999")
    assert code == 1 and "no EEG model with id 999" in err and err.count("\n") == 1


def test_model_evaluate_loso_beats_the_majority_rate(
    cli: CliRunner, synthetic_recordings: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "confusion.png"
    code, out, err = run(
        cli, "model", "evaluate", "--recordings", str(synthetic_recordings),
        "--labels", str(synthetic_recordings / "labels.csv"), "--protocol", "loso",
        "--epochs", "8", "--batch-size", "16", "--plot", str(plot), "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["protocol"] == "loso" and report["synthetic"] is True
    for dim in ("valence", "arousal"):
        r = report[dim]
        assert set(r) >= {"accuracy", "balanced_accuracy", "macro_f1", "majority_rate", "folds"}
        assert [f["held_out"] for f in r["folds"]] == [["s0"], ["s1"], ["s2"]]
        assert r["accuracy"] > r["majority_rate"] + 0.1, (dim, r)
        assert all(0 <= f["majority_rate"] <= 1 for f in r["folds"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_groupby_trial_says_it_mixes_trials(cli: CliRunner, synthetic_recordings: Path) -> None:
    code, out, err = run(
        cli, "model", "evaluate", "--recordings", str(synthetic_recordings),
        "--labels", str(synthetic_recordings / "labels.csv"), "--protocol", "groupby-trial",
        "--folds", "2", "--epochs", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert "mixed into both sides" in report["note"]
    assert len(report["valence"]["folds"]) == 2


def test_bad_training_input_is_one_line_on_the_cli(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("file,subject,valence,arousal\nmissing.csv,a,3,3\n")
    code, _, err = run(
        cli,
        "model",
        "train",
        "--recordings",
        str(tmp_path),
        "--labels",
        str(tmp_path / "labels.csv"),  # noqa: E501
    )
    assert code == 1
    assert "file 'missing.csv' is not in" in err and err.count("\n") == 1
    code, _, err = run(cli, "model", "train", "--recordings", str(tmp_path))
    assert code == 1 and "--labels" in err
    code, _, err = run(cli, "model", "evaluate", "--protocol", "kfold", "--dreamer", "x.mat")
    assert code == 1 and "unknown protocol" in err
    code, _, err = run(cli, "model", "evaluate", "--alignment", "ea", "--dreamer", "x.mat")
    assert code == 1 and "unknown --alignment 'ea'" in err and err.count("\n") == 1


def test_fine_tune_scores_every_track_held_out_and_keeps_only_a_better_model(
    tmp_path: Path,
) -> None:
    segments = []
    for i, mood in enumerate(["happy", "sad", "calm", "tense", "happy", "sad", "calm", "tense"]):
        x = synthetic_muse_eeg(8, mood, seed=100 + i, subject=42)
        valence, arousal = MOODS[mood]
        segments.append(
            CalibrationSegment(
                samples=x,
                timestamps=np.arange(len(x)) / 256,
                channel_labels=MUSELSL_CHANNELS,
                rate_hz=256.0,
                valence=valence,
                arousal=arousal,
                group=f"track-{i}",
            )  # fmt: skip
        )
    config = TrainConfig(max_epochs=2, lr=3e-4, val_fraction=0.0, progress=False)
    out = tmp_path / "calibrated.pt"
    result = fine_tune(DEMO_CHECKPOINT, segments, out, config=config)
    assert result.metrics["protocol"].startswith("leave-one-track-out over 8 rated tracks")
    for dim in ("valence", "arousal"):
        figures = result.metrics[dim]
        assert figures["tracks"] == 8 and figures["majority_rate"] == 0.5
        assert {"track_accuracy", "base_track_accuracy", "track_accuracy_95ci", "ece"} <= set(
            figures
        )
    # Kept only when it beats the base model and the majority on every dimension.
    beats = all(
        result.metrics[d]["track_accuracy"]
        > max(result.metrics[d]["base_track_accuracy"], result.metrics[d]["majority_rate"])
        for d in ("valence", "arousal")
    )
    assert result.beats_base_and_majority == beats
    assert (result.path is not None) == beats and out.exists() == beats
    forced = fine_tune(DEMO_CHECKPOINT, segments, out, config=config, force=True)
    assert forced.path == out and out.exists()
    calibrated = Predictor.load(out)
    assert calibrated.checkpoint["trained_on"]["calibrated"] is True
    assert calibrated.model_name == "demo-synthetic-tsception-calibrated"
    assert len(calibrated.checkpoint["temperature"]) == 2


def test_an_unusable_accelerator_is_a_one_line_error_and_determinism_is_restored() -> None:
    import torch

    ws = toy_set()
    before = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ClassifierError, match="--accelerator gpu") as exc:
        fit(ws, TrainConfig(max_epochs=1, progress=False, accelerator="gpu"))
    assert "\n" not in str(exc.value)
    fit(ws, TrainConfig(max_epochs=1, progress=False))
    assert torch.are_deterministic_algorithms_enabled() == before


def _cuda_or_why_not() -> str | None:
    """None where a CUDA device can train; else why this test cannot run here."""
    import torch

    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU build (`make venv TORCH=cuda` on a GPU machine)"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} has CUDA {torch.version.cuda} but sees no GPU here"
    return None


@pytest.mark.skipif(_cuda_or_why_not() is not None, reason=str(_cuda_or_why_not()))
def test_accelerator_gpu_trains_on_the_gpu_and_saves_a_cpu_checkpoint(tmp_path) -> None:
    """`model train --accelerator gpu --devices 1` passes through to Lightning: the model and
    every batch sit on the GPU while training, and the checkpoint loads on a CPU machine."""
    import lightning as L
    import torch

    seen: list[tuple[str, str]] = []
    before = torch.are_deterministic_algorithms_enabled()

    class WhereTraining(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
            seen.append((pl_module.device.type, batch[0].device.type))

    ws = toy_set()
    config = TrainConfig(
        max_epochs=2, progress=False, accelerator="gpu", devices=1, callbacks=[WhereTraining()]
    )
    trained = fit(ws, config)
    assert seen and set(seen) == {("cuda", "cuda")}, seen[:3]
    assert all(t.device.type == "cpu" for t in trained.state_dict.values())
    on_cpu = trained.predict(ws.data[:4])
    assert on_cpu.shape == (4, 2) and np.isfinite(on_cpu).all()
    assert torch.are_deterministic_algorithms_enabled() == before


CRASH_AFTER_TRAINING = """
import ctypes, faulthandler, sys
sys.path.insert(0, sys.argv[1])
faulthandler.enable()
from test_training import toy_set
from classifier.training import TrainConfig, fit
fit(toy_set(), TrainConfig(max_epochs=1, progress=False))
def crash_here_after_training():
    ctypes.string_at(0)  # a deliberate segmentation fault
crash_here_after_training()
"""


def test_a_crash_after_training_still_prints_where_it_happened() -> None:
    """Lightning resets SIGSEGV to SIG_DFL after fitting; a later crash must not die silently."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_TRAINING, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "Fatal Python error: Segmentation fault" in done.stderr, done.stderr[-2000:]
    assert "crash_here_after_training" in done.stderr, done.stderr[-2000:]


def test_temperature_scaling_makes_overconfident_probabilities_honest() -> None:
    from classifier.evaluation import expected_calibration_error
    from classifier.training import fit_temperature

    rng = np.random.default_rng(0)
    honest = rng.normal(0, 2, 2000)  # logits of a calibrated scorer: y ~ Bernoulli(sigmoid)
    y = (rng.random(2000) < 1 / (1 + np.exp(-honest))).astype(int)
    overconfident = 6.0 * honest
    t = fit_temperature(overconfident, y)
    assert 4.0 < t < 8.0  # close to the factor that inflated the logits

    def ece(z: np.ndarray) -> float:
        return expected_calibration_error(y, 1 / (1 + np.exp(-z)))

    assert ece(overconfident / t) < 0.03 < 0.15 < ece(overconfident)
    assert fit_temperature(overconfident[:5], y[:5]) == 1.0  # too few to fit: left alone
    assert fit_temperature(overconfident, np.ones(2000)) == 1.0  # one class: left alone


def test_a_trained_model_stores_its_fitted_temperature_and_ece(tmp_path: Path) -> None:
    from classifier.model import save_checkpoint
    from classifier.training import checkpoint_from

    ws = toy_set(n_subjects=2, n_trials=6, per_trial=5)  # 12 trials: whole trials held out
    trained = fit(ws, TrainConfig(max_epochs=1, progress=False))
    assert trained.alignment == "wearer-zscore" and trained.temperature.shape == (2,)
    for dim in ("valence", "arousal"):
        figures = trained.validation[dim]
        assert 0.0 <= figures["ece"] <= 1.0
        assert figures["temperature"] == trained.temperature[OUTPUT_INDEX[dim]]
    ckpt = checkpoint_from(trained, model_name="t", trained_on={})
    p = Predictor.load(save_checkpoint(ckpt, tmp_path / "t.pt"))
    assert p.alignment == "wearer-zscore"
    assert list(p.temperature) == pytest.approx(list(trained.temperature))


def test_a_checkpoint_with_an_unknown_alignment_or_a_bad_temperature_is_refused(
    tmp_path: Path,
) -> None:
    import torch

    from classifier.model import load_checkpoint

    good = torch.load(DEMO_CHECKPOINT, weights_only=True)
    for key, value, message in (
        ("alignment", "riemann", "alignment 'riemann'"),
        ("temperature", [1.0, 0.0], "no valid temperature"),
        ("temperature", [1.0], "no valid temperature"),
    ):
        torch.save({**good, key: value}, tmp_path / "bad.pt")
        with pytest.raises(ClassifierError, match=message):
            load_checkpoint(tmp_path / "bad.pt")


OUTPUT_INDEX = {"valence": 0, "arousal": 1}


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # no Trainer: one bare step
def test_training_drops_one_random_electrode_from_a_share_of_the_windows() -> None:
    """Channel dropout: the model sees what a masked electrode looks like live (zero)."""
    import torch

    from classifier.model import build_tsception
    from classifier.training import _lightning_module

    seen: list[torch.Tensor] = []
    for share in (1.0, 0.0):
        model = build_tsception(4)
        model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
        module = _lightning_module(model, 1e-3, channel_dropout=share)
        x = torch.randn(64, 1, 4, 512) + 5.0  # no electrode is zero by chance
        module.training_step((x, torch.ones(64, 2)), 0)
    dropped, kept = seen
    zero_channels = (dropped.abs().sum(dim=3) == 0).squeeze(1).sum(dim=1)  # per window
    assert zero_channels.tolist() == [1] * 64  # exactly one electrode each
    assert len(set((dropped.abs().sum(dim=3) == 0).squeeze(1).float().argmax(1).tolist())) > 1
    assert (kept.abs().sum(dim=3) > 0).all()
