"""TSCeption, the checkpoint format, the Predictor and classify_recording."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from classifier.errors import ClassifierError
from classifier.model import (
    DEMO_CHECKPOINT,
    build_tsception,
    load_checkpoint,
    make_checkpoint,
    save_checkpoint,
    tsception_class,
)
from classifier.pipeline import (
    MODEL_RATE_HZ,
    MUSE_MODEL_CHANNELS,
    Predictor,
    WindowResult,
    classify_recording,
)
from classifier.signal import MUSELSL_CHANNELS
from classifier.synthetic import MOODS, synthetic_muse_eeg


def tiny_checkpoint(
    path: Path, channels: tuple[str, ...] = MUSE_MODEL_CHANNELS, **kw: object
) -> Path:  # noqa: E501
    model = build_tsception(len(channels))
    ckpt = make_checkpoint(
        state_dict=model.state_dict(),
        model_name="test-untrained",
        channels=channels,
        norm_mean=np.zeros(len(channels)),
        norm_std=np.full(len(channels), 10.0),
        trained_on={"description": "untrained, for tests", "synthetic": True},
        **kw,  # type: ignore[arg-type]
    )
    return save_checkpoint(ckpt, path)


def test_the_real_torcheeg_tsception_runs_forward_and_backward() -> None:
    import torch

    cls = tsception_class()
    assert cls.__name__ == "TSCeption" and "torcheeg" in cls.__module__ + str(
        cls.__init__.__code__.co_filename
    )  # noqa: E501
    model = build_tsception(4)
    x = torch.randn(8, 1, 4, 4 * MODEL_RATE_HZ)
    out = model(x)
    assert out.shape == (8, 2)
    out.sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_an_odd_number_of_electrodes_is_refused() -> None:
    with pytest.raises(ClassifierError, match="even number"):
        build_tsception(5)


def test_importing_torcheeg_leaves_logging_as_it_was() -> None:
    from classifier.model import import_torcheeg

    root = logging.getLogger()
    mne = logging.getLogger("mne")
    before = (root.level, list(root.handlers), mne.level, list(mne.handlers))
    import_torcheeg("torcheeg.datasets")
    assert (root.level, list(root.handlers), mne.level, list(mne.handlers)) == before


def test_checkpoint_round_trip_keeps_everything(tmp_path: Path) -> None:
    path = tiny_checkpoint(tmp_path / "m.pt", metrics={"valence": {"accuracy": 0.6}})
    ckpt = load_checkpoint(path)
    assert ckpt["format_version"] == 1
    assert ckpt["channels"] == list(MUSE_MODEL_CHANNELS)
    assert ckpt["rate_hz"] == 128 and ckpt["window_s"] == 4.0
    assert ckpt["thresholds"]["rating"] == 3.0 and ckpt["metrics"]["valence"]["accuracy"] == 0.6
    p = Predictor.load(path)
    assert p.model_name == "test-untrained" and p.channels == MUSE_MODEL_CHANNELS


def test_a_checkpoint_carrying_pickled_code_is_refused(tmp_path: Path) -> None:
    import torch

    class Sneaky:
        def __reduce__(self) -> tuple:
            return (print, ("this ran",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "emotune-eeg-checkpoint", "payload": Sneaky()}, path)
    with pytest.raises(ClassifierError, match="more than plain weights"):
        Predictor.load(path)


def test_a_corrupted_or_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    import torch

    good = tiny_checkpoint(tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(ClassifierError, match="corrupted"):
        Predictor.load(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ClassifierError, match="not an emotune EEG checkpoint"):
        Predictor.load(tmp_path / "other.pt")
    with pytest.raises(ClassifierError, match="does not exist"):
        Predictor.load(tmp_path / "missing.pt")


def test_a_mismatched_montage_or_rate_is_refused(tmp_path: Path) -> None:
    dreamer_like = ("AF3", "F7", "T7", "T8", "F8", "AF4")
    p = Predictor.load(tiny_checkpoint(tmp_path / "dreamer.pt", channels=dreamer_like))
    with pytest.raises(ClassifierError, match="needs electrodes AF3.*missing AF3"):
        p.check_stream(MUSELSL_CHANNELS, 256.0)
    muse = Predictor.load(tiny_checkpoint(tmp_path / "muse.pt"))
    muse.check_stream(MUSELSL_CHANNELS, 256.0)  # fine
    muse.check_stream(MUSELSL_CHANNELS[:4], 256.0)  # Athena: no AUX, fine
    with pytest.raises(ClassifierError, match="100 Hz is below"):
        muse.check_stream(MUSELSL_CHANNELS, 100.0)
    x = synthetic_muse_eeg(5, "calm", seed=0)
    with pytest.raises(ClassifierError, match="missing"):
        classify_recording(muse, x[:, :3], np.arange(len(x)) / 256, ["TP9", "AF7", "AF8"], 256.0)
    mirrored_wrong = ("TP9", "AF7", "AF8", "TP10")  # muselsl order: pairs TP9 with AF8
    bad = Predictor.load(tiny_checkpoint(tmp_path / "wrong-order.pt", channels=mirrored_wrong))
    with pytest.raises(ClassifierError, match="hemisphere order"):
        bad.check_stream(MUSELSL_CHANNELS, 256.0)


def test_classify_recording_keeps_every_window_and_is_deterministic(tmp_path: Path) -> None:
    p = Predictor.load(tiny_checkpoint(tmp_path / "m.pt"))
    x = synthetic_muse_eeg(12, "happy", seed=1)
    ts = 1_700_000_000.0 + np.arange(len(x)) / 256
    x[int(2.2 * 256), 0] = np.nan
    results = classify_recording(p, x, ts, MUSELSL_CHANNELS, 256.0)
    assert len(results) == 9 and all(isinstance(r, WindowResult) for r in results)
    nan_windows = [r for r in results if r.p_valence is None]
    assert [r.start_time - ts[0] for r in nan_windows] == pytest.approx([0.0, 1.0, 2.0])
    assert all(r.rejected and r.reject_reason and r.confidence == 0.0 for r in nan_windows)
    good = [r for r in results if r.p_valence is not None]
    assert all(
        0 <= r.p_valence <= 1 and 0 <= r.p_arousal <= 1 and 0 <= r.confidence <= 1 for r in good
    )  # noqa: E501
    assert all(set(r.quality) == set(MUSE_MODEL_CHANNELS) for r in good)
    again = classify_recording(p, x, ts, MUSELSL_CHANNELS, 256.0)
    assert again == results


def aligned_checkpoint(path: Path) -> Path:
    """A seeded, untrained TSCeption that aligns each wearer (classifier.alignment)."""
    import torch

    from classifier.model import build_tsception, make_checkpoint, save_checkpoint

    torch.manual_seed(0)
    ckpt = make_checkpoint(
        state_dict=build_tsception(4).state_dict(),
        model_name="aligned-untrained-test-model",
        channels=MUSE_MODEL_CHANNELS,
        norm_mean=np.zeros(4),
        norm_std=np.ones(4),
        trained_on={"data": "nothing: seeded random weights for tests"},
        alignment="wearer-zscore",
        temperature=[1.5, 0.8],
    )
    return save_checkpoint(ckpt, path)


@pytest.mark.parametrize("seconds", [8.0, 40.0])
def test_the_live_path_gives_the_batch_windows_and_probabilities(
    tmp_path: Path, seconds: float
) -> None:
    # Real Muse 2 EEG (eyes open, good contact), fed to the listener's own classifier in
    # muselsl's chunks of 12 samples, a tick every 5 chunks, then the stream stops.
    from classifier.datasets import read_muselsl_csv
    from classifier.pipeline import LiveClassifier
    from tests.real_muse import take_lines

    p = Predictor.load(aligned_checkpoint(tmp_path / "aligned.pt"))
    header, lines = take_lines("A2_05", "EO")
    csv = tmp_path / "take.csv"
    csv.write_text("\n".join([header, *lines[: int(seconds * 256)]]) + "\n")
    x, ts, labels = read_muselsl_csv(csv)
    batch_alignment = p.new_alignment()
    batch = classify_recording(p, x, ts, labels, 256.0, alignment=batch_alignment)
    live = LiveClassifier(p, labels, 256.0)
    windows = []
    for chunk, i in enumerate(range(0, len(x), 12)):
        live.push(x[i : i + 12], ts[i : i + 12])
        if chunk % 5 == 0:
            windows += live.tick()
    windows += live.tick(connected=False)  # the last whole window is not lost
    assert len(windows) == len(batch) == int(seconds) - 3
    # Same windows (stamps jitter by well under a sample period), same verdicts.
    np.testing.assert_allclose(
        [w.start_time for w in windows], [w.start_time for w in batch], atol=2e-3
    )

    def verdict(w: WindowResult) -> str:  # the reason without its µV figure
        return re.sub(r"\d+ µV", "N µV", w.reject_reason or "kept")

    assert [verdict(w) for w in windows] == [verdict(w) for w in batch]
    # Same probabilities: only the band-pass's edge on the short live buffer differs.
    live_p = np.array([[w.p_valence, w.p_arousal] for w in windows], dtype=float)
    batch_p = np.array([[w.p_valence, w.p_arousal] for w in batch], dtype=float)
    np.testing.assert_allclose(live_p, batch_p, atol=2e-3)
    # The wearer statistics grew window by window alike, and are what a session stores.
    live_json, batch_json = live.alignment.to_json(), batch_alignment.to_json()
    assert live_json["windows"] == batch_json["windows"] > 0
    np.testing.assert_allclose(live_json["std_uv"], batch_json["std_uv"], rtol=1e-2)


def test_an_aligned_model_answers_the_same_whatever_the_wearers_scale(tmp_path: Path) -> None:
    p = Predictor.load(aligned_checkpoint(tmp_path / "aligned.pt"))
    x = synthetic_muse_eeg(12, "happy", seed=1)
    ts = np.arange(len(x)) / 256
    quiet = classify_recording(p, x, ts, MUSELSL_CHANNELS, 256.0)
    loud = classify_recording(p, 3.0 * x, ts, MUSELSL_CHANNELS, 256.0)
    kept = [i for i, w in enumerate(quiet) if not w.rejected and not loud[i].rejected]
    assert kept
    assert [loud[i].p_valence for i in kept] == pytest.approx(
        [quiet[i].p_valence for i in kept], abs=1e-4
    )
    unaligned = Predictor.load(tiny_checkpoint(tmp_path / "m.pt"))
    a = classify_recording(unaligned, x, ts, MUSELSL_CHANNELS, 256.0)
    b = classify_recording(unaligned, 3.0 * x, ts, MUSELSL_CHANNELS, 256.0)
    assert any(abs(a[i].p_valence - b[i].p_valence) > 1e-3 for i in kept)


@pytest.mark.parametrize("mood", list(MOODS))
def test_the_demo_model_puts_synthetic_moods_in_their_quadrant(mood: str) -> None:
    p = Predictor.load(DEMO_CHECKPOINT)
    assert p.synthetic and "synthetic" in p.model_name
    x = synthetic_muse_eeg(20, mood, seed=12345, subject=77)  # a wearer it never saw
    results = classify_recording(p, x, np.arange(len(x)) / 256, MUSELSL_CHANNELS, 256.0)
    kept = [r for r in results if not r.rejected]
    valence, arousal = MOODS[mood]
    pv = np.mean([r.p_valence for r in kept])
    pa = np.mean([r.p_arousal for r in kept])
    assert (pv > 0.5) == (valence > 3) and (pa > 0.5) == (arousal > 3)
    hits = [
        (r.p_valence > 0.5) == (valence > 3) and (r.p_arousal > 0.5) == (arousal > 3) for r in kept
    ]  # noqa: E501
    assert np.mean(hits) >= 0.75  # chance is 0.25
