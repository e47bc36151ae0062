"""Build the small demo checkpoint from SYNTHETIC EEG, reproducibly (seeded).

    python -m classifier.demo_model --out classifier/data/demo-synthetic-tsception.pt

Trains on synthetic wearers 0..n_train-1 (every mood), then checks the quadrant on synthetic
wearers it never saw and stores that figure (with the chance rate, 0.25) in the checkpoint.
The model knows only the synthetic generator's rules; it says nothing about real EEG.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from classifier.datasets import WindowSet, concat
from classifier.signal import MUSELSL_CHANNELS, recording_windows
from classifier.synthetic import MOODS, synthetic_muse_eeg

QUADRANTS = {
    (True, True): "happy",
    (True, False): "calm",
    (False, False): "sad",
    (False, True): "tense",
}


def synthetic_windowset(subjects: range, duration_s: float, seed: int) -> WindowSet:
    """Windows of SYNTHETIC recordings: every mood for every subject ([N, 4, 512])."""
    sets = []
    for s in subjects:
        for m, (mood, (valence, arousal)) in enumerate(MOODS.items()):
            x = synthetic_muse_eeg(duration_s, mood, seed=seed * 1000 + s * 10 + m, subject=s)
            ts = np.arange(len(x)) / 256.0
            w = recording_windows(x, ts, MUSELSL_CHANNELS, 256.0)
            n = len(w)
            sets.append(
                WindowSet(
                    data=w.data,
                    valence=np.full(n, valence),
                    arousal=np.full(n, arousal),
                    subject=np.full(n, f"synthetic-{s}", dtype=object),
                    trial=np.full(n, f"synthetic-{s}/{mood}", dtype=object),
                    position=np.arange(n),
                    rejected=np.array([r is not None for r in w.reasons]),
                    channel_ok=w.channel_ok,
                )
            )
    out = concat(sets, description="")
    out.synthetic = True
    return out


def quadrant_accuracy(probs: np.ndarray, ws: WindowSet) -> dict[str, Any]:
    """Share of windows whose (p_valence, p_arousal) lands in the scripted quadrant."""
    truth = [QUADRANTS[(v > 3, a > 3)] for v, a in zip(ws.valence, ws.arousal, strict=True)]
    pred = [QUADRANTS[(pv > 0.5, pa > 0.5)] for pv, pa in probs]
    hits = np.array([p == t for p, t in zip(pred, truth, strict=True)])
    per_mood = {mood: round(float(hits[np.array(truth) == mood].mean()), 4) for mood in MOODS}
    return {
        "quadrant_accuracy": round(
            float(np.mean([p == t for p, t in zip(pred, truth, strict=True)])), 4
        ),
        "per_mood": per_mood,
        "chance_rate": 0.25,
        "n_windows": len(truth),
    }


def build(
    out: Path, *, seed: int = 0, n_train: int = 6, n_test: int = 2, epochs: int = 25
) -> dict[str, Any]:
    from classifier.model import save_checkpoint
    from classifier.training import TrainConfig, checkpoint_from, fit

    train = synthetic_windowset(range(n_train), 60.0, seed)
    train.description = (
        f"SYNTHETIC Muse-like EEG from classifier.synthetic: {n_train} simulated wearers x "
        f"{len(MOODS)} moods x 60 s, seed {seed}"
    )
    # No per-wearer alignment: the demo model predates it, and the demo's short synthetic
    # sessions show the machinery, not what alignment does for real heads.
    config = TrainConfig(
        max_epochs=epochs, seed=seed, patience=6, progress=False, threads=1, alignment="none"
    )
    trained = fit(train, config, where="synthetic demo data")
    test = synthetic_windowset(range(100, 100 + n_test), 30.0, seed + 1)
    figures = quadrant_accuracy(trained.predict(test.data), test)
    figures["protocol"] = f"held-out synthetic wearers ({n_test}), never seen in training"
    ckpt = checkpoint_from(
        trained,
        model_name="demo-synthetic-tsception",
        trained_on={
            "description": train.description,
            "synthetic": True,
            "seed": seed,
            "generator": "classifier.synthetic.synthetic_muse_eeg",
        },
        metrics={"synthetic_held_out": figures, "best_val_loss": trained.best_val_loss},
    )
    save_checkpoint(ckpt, out)
    return {"path": str(out), "epochs": trained.epochs_run, **figures}


def main() -> None:
    from classifier.model import DEMO_CHECKPOINT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args()
    print(json.dumps(build(args.out, seed=args.seed, epochs=args.epochs)))


if __name__ == "__main__":
    main()
