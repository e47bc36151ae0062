"""A model that learned nothing is never activated silently (classifier.verdict).

On real Muse recordings (tests/data/muse-eyes-open-closed, eyes closed = arousal 1, open =
arousal 5: a physiological proxy, not emotion) a short training run gives a model whose own
validation cannot show it learned; `model train --use` then registers it without making it
active, says why in one line and exits 2. A SYNTHETIC set it can learn is activated.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.db import repository
from classifier.datasets import load_recordings
from classifier.training import TrainConfig, fit, fit_temperature, temperature_refusal
from classifier.verdict import (
    ABOVE_CHANCE,
    NOT_JUDGED,
    ONE_CLASS,
    TOO_FEW_TRIALS,
    chance_bound,
    chance_p,
    judge_validation,
)
from tests.classifier.conftest import write_synthetic_recordings
from tests.real_muse import write_user_recordings


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_chance_bound_is_one_random_answer_per_trial() -> None:
    # Brute force: every way a random answer per trial can fall on 3 low and 4 high trials.
    outcomes = [
        (sum(low) / 3 + sum(high) / 4) / 2
        for low in itertools.product((0, 1), repeat=3)
        for high in itertools.product((0, 1), repeat=4)
    ]
    for ba in (0.5, 0.75, 0.8333, 0.875, 1.0):
        share = sum(o >= ba - 1e-9 for o in outcomes) / len(outcomes)
        assert chance_p(ba, 3, 4) == pytest.approx(share)
    bound = chance_bound(3, 4)
    assert sum(o > bound + 1e-9 for o in outcomes) / len(outcomes) <= 0.05
    assert sum(o >= bound - 1e-9 for o in outcomes) / len(outcomes) > 0.05
    # 1 + 1 or 2 + 2 held-out trials: even a perfect score is chance more than 5% of the time.
    assert chance_bound(1, 1) == chance_bound(2, 2) == 1.0
    assert chance_bound(3, 3) == pytest.approx(5 / 6)
    # More trials, a lower bar; it is the trials that count, not the windows.
    assert chance_bound(3, 3) > chance_bound(10, 10) > chance_bound(40, 40) > 0.5


def test_figures_without_trial_counts_or_with_one_class_are_judged_plainly() -> None:
    old = {"arousal": {"balanced_accuracy": 0.61, "majority_rate": 0.55, "n": 900}}
    verdict = judge_validation(old, ["arousal"])
    assert verdict["learned"] is None and verdict["dimensions"]["arousal"]["status"] == NOT_JUDGED
    old["arousal"]["majority_rate"] = 1.0
    assert judge_validation(old, ["arousal"])["learned"] is False
    assert judge_validation({}, ["valence"])["learned"] is False  # no validation at all


def test_temperature_refuses_to_sharpen_a_constant_answer_on_a_one_sided_split() -> None:
    """The issue's symptom: 175 validation windows, 89% one class, a model answering the same
    for all of them; the old fit sharpened it twenty-fold (T = 0.05) to match the split."""
    rng = np.random.default_rng(0)
    y = (np.arange(175) < 156).astype(float)  # 89.1% high
    constant = 0.1 + rng.normal(0, 0.01, 175)
    assert temperature_refusal(constant, y) == "the model gives one answer on every held-out window"
    assert fit_temperature(constant, y) == 1.0
    assert temperature_refusal(constant, np.ones(175)) == "the held-out windows hold one class"
    # A model that does separate the classes is still fitted.
    spread = np.where(y == 1, 3.0, -3.0) + rng.normal(0, 1.0, 175)
    assert temperature_refusal(spread, y) is None and fit_temperature(spread, y) != 1.0


def test_real_recordings_with_one_class_in_validation_say_which_class_is_short(
    tmp_path: Path,
) -> None:
    # Eyes closed: 3 tracks of each of 4 people; eyes open: one track of one person. Whole
    # trials are held out and the last trial of a class never is, so validation holds eyes
    # closed only: nothing in it shows whether the model tells open from closed.
    labels = write_user_recordings(tmp_path / "rec", tracks={"EC": 3}, short_file=False)
    extra = write_user_recordings(
        tmp_path / "open", subjects=("A2_05",), tracks={"EO": 1}, short_file=False
    )
    (tmp_path / "rec" / "A2_05_EO_track1.csv").write_bytes(
        (extra.parent / "A2_05_EO_track1.csv").read_bytes()
    )
    with labels.open("a") as fh:
        fh.write("A2_05_EO_track1.csv,A2_05,,5\n")
    ws = load_recordings(labels.parent, labels)
    trained = fit(ws, TrainConfig(max_epochs=1, progress=False))
    figures = trained.validation["arousal"]
    assert figures["validation_windows"]["high"] == 0 < figures["validation_windows"]["low"]
    assert figures["kept_trials"] == {"low": 12, "high": 1}
    # The temperature is not fitted on one class.
    assert trained.temperature[1] == 1.0
    assert figures["temperature_not_fitted"] == "the held-out windows hold one class"
    verdict = judge_validation(trained.validation, trained.dimensions)
    assert verdict["learned"] is False
    assert verdict["dimensions"]["arousal"]["status"] == ONE_CLASS
    reason = verdict["reason"]
    assert "validation holds low windows only" in reason
    assert "record more trials with arousal rated 4-5" in reason
    high = figures["kept_windows"]["high"]
    assert f"/ {high} high (1 trials)" in reason and "\n" not in reason


def test_model_train_on_real_recordings_registers_a_model_that_shows_nothing_inactive(
    cli: CliRunner, store, tmp_path: Path
) -> None:
    """4 people, 12 eyes-closed and 8 eyes-open tracks: 2 + 2 whole tracks are held out,
    too few for any score to show more than chance; --use is not enough, --force is."""
    labels = write_user_recordings(tmp_path / "rec")
    code, out, err = run(
        cli, "model", "train", "--recordings", str(labels.parent), "--labels", str(labels),
        "--epochs", "1", "--use", "--json",
    )  # fmt: skip
    assert code == 2, err
    trained = json.loads(out)
    assert not trained["active"]
    verdict = trained["verdict"]
    assert verdict["learned"] is False and verdict["activation_refused"]
    arousal = verdict["dimensions"]["arousal"]
    assert arousal["status"] == TOO_FEW_TRIALS and arousal["chance_bound_95"] == 1.0
    assert arousal["validation_trials"] == {"low": 2, "high": 2}
    assert "cannot show anything" in verdict["reason"]
    assert "record more trials of both arousal classes" in verdict["reason"]
    assert trained["validation"]["arousal"]["kept_trials"] == {"low": 12, "high": 8}
    with store.session() as db:
        assert repository.active_model(db, "eeg") is None
        [row] = repository.list_models(db, kind="eeg")
        assert row.metrics["verdict"]["learned"] is False  # the registry keeps the verdict

    # The same on the terminal: one line says why, the next step, and the exit status is 2.
    code, out, _ = run(
        cli, "model", "train", "--recordings", str(labels.parent), "--labels", str(labels),
        "--epochs", "1", "--use",
    )  # fmt: skip
    assert code == 2
    [line] = [x for x in out.splitlines() if "registered but NOT made active" in x]
    assert "arousal: balanced accuracy" in line and "--force activates it anyway" in line

    # `model add` of the checkpoint judges its figures the same way...
    code, out, _ = run(cli, "model", "add", trained["path"], "--use", "--json")
    added = json.loads(out)
    assert code == 2 and not added["active"] and added["verdict"]["learned"] is False
    # ...and --force makes it active anyway, saying so.
    code, out, _ = run(cli, "model", "add", trained["path"], "--use", "--force")
    assert code == 0 and "made active only because of --force" in out
    with store.session() as db:
        assert repository.active_model(db, "eeg").path == str(Path(trained["path"]).resolve())
    # A checkpoint without validation figures (the demo model) is not judged.
    code, out, _ = run(cli, "model", "add", "--demo", "--use", "--json")
    assert code == 0 and json.loads(out)["active"] and json.loads(out)["verdict"] is None


def test_real_recordings_cut_finer_judge_the_score_against_3_held_out_trials_each(
    tmp_path: Path,
) -> None:
    # 16 tracks per condition: 3 + 3 whole tracks held out, so the bar is 5/6.
    labels = write_user_recordings(tmp_path / "rec", tracks={"EC": 4, "EO": 4}, short_file=False)
    ws = load_recordings(labels.parent, labels)
    trained = fit(ws, TrainConfig(max_epochs=1, progress=False))
    figures = trained.validation["arousal"]
    verdict = judge_validation(trained.validation, trained.dimensions)["dimensions"]["arousal"]
    assert figures["validation_trials"] == {"low": 3, "high": 3}
    assert verdict["chance_bound_95"] == pytest.approx(5 / 6, abs=1e-4)
    assert (verdict["status"] == ABOVE_CHANCE) == (figures["balanced_accuracy"] > 5 / 6)


def test_a_model_that_learned_synthetic_moods_is_activated(
    cli: CliRunner, store, tmp_path: Path
) -> None:
    # SYNTHETIC: 2 wearers x 4 moods, under 10 trials, so the end of every trial is held out:
    # 4 + 4 trials per dimension, and the generator's moods are easy to learn.
    labels = write_synthetic_recordings(tmp_path / "synthetic", subjects=2)
    code, out, err = run(
        cli, "model", "train", "--recordings", str(labels.parent), "--labels", str(labels),
        "--epochs", "10", "--batch-size", "16", "--json",
    )  # fmt: skip
    assert code == 0, err
    trained = json.loads(out)
    verdict = trained["verdict"]
    for dim in ("valence", "arousal"):
        judged = verdict["dimensions"][dim]
        assert judged["validation_trials"] == {"low": 4, "high": 4}
        assert judged["balanced_accuracy"] > judged["chance_bound_95"] == 0.75
    assert verdict["learned"] is True and trained["active"]
