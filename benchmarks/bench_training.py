"""Training speed: this project's DREAMER training beside torcheeg's own DREAMER recipe.

    python benchmarks/bench_training.py [--subjects 3] [--trials 6] [--trial-s 60] [--epochs 1]

Writes one SYNTHETIC DREAMER-layout .mat for the run, then trains on it twice, each in its
own process (so peak memory is that recipe's alone), same epochs, same torch threads:

- torcheeg's recipe: `DREAMERDataset` with its default IO (LMDB cache on disk), 1 s chunks of
  14 channels, offline BaselineRemoval -> MeanStdNormalize -> To2d, `KFoldGroupbyTrial`
  (fold 1), TSCeption through `ClassifierTrainer` (batch 64).
- this project: `classifier.datasets.load_dreamer` (DREAMERDataset, whole trials in memory,
  Emotiv mapped to the Muse montage, 4 s windows without overlap) and `classifier.training.fit`.

Reports the time to prepare the data, seconds per training epoch (median; validation
excluded), windows per epoch, and peak resident memory of each, with the ratios. The last line
is one JSON object. Goal: >= 5x faster per epoch, peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def epoch_timer() -> Any:
    import lightning as L

    class EpochTimer(L.Callback):
        """Seconds of each training epoch (the train loop only, not validation)."""

        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.windows = 0

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self._t0 = time.perf_counter()

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            self.seconds.append(time.perf_counter() - self._t0)

    return EpochTimer()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_torcheeg(mat: Path, workdir: Path, epochs: int, threads: int) -> dict[str, Any]:
    import torch
    from torch.utils.data import DataLoader

    from classifier.model import import_torcheeg, tsception_class
    from classifier.training import _quiet_lightning

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    datasets = import_torcheeg("torcheeg.datasets")
    transforms = import_torcheeg("torcheeg.transforms")
    selection = import_torcheeg("torcheeg.model_selection")
    trainers = import_torcheeg("torcheeg.trainers")
    _quiet_lightning()
    t0 = time.perf_counter()
    dataset = datasets.DREAMERDataset(
        io_path=str(workdir / "torcheeg-io"),
        mat_path=str(mat),
        offline_transform=transforms.Compose(
            [transforms.BaselineRemoval(), transforms.MeanStdNormalize(), transforms.To2d()]
        ),
        online_transform=transforms.ToTensor(),
        label_transform=transforms.Compose([transforms.Select("valence"), transforms.Binary(3.0)]),
        chunk_size=128,
        baseline_chunk_size=128,
        num_baseline=61,
        num_worker=0,
        verbose=False,
    )
    prepare_s = time.perf_counter() - t0
    cv = selection.KFoldGroupbyTrial(n_splits=5, shuffle=False, split_path=str(workdir / "split"))
    train_set, val_set = next(iter(cv.split(dataset)))
    model = tsception_class()(
        num_electrodes=14, num_T=15, num_S=15, hid_channels=32, num_classes=2,
        sampling_rate=128, dropout=0.5,
    )  # fmt: skip
    trainer = trainers.ClassifierTrainer(model=model, num_classes=2, lr=1e-3, accelerator="cpu")
    timer = epoch_timer()
    trainer.fit(
        DataLoader(train_set, batch_size=64, shuffle=True),
        DataLoader(val_set, batch_size=64),
        max_epochs=epochs,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        logger=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
        default_root_dir=str(workdir / "torcheeg-trainer"),
    )
    cache_mb = sum(f.stat().st_size for f in (workdir / "torcheeg-io").rglob("*") if f.is_file())
    return {
        "prepare_s": round(prepare_s, 2),
        "epoch_s": timer.seconds,
        "train_windows": len(train_set),
        "window": "14 channels x 1 s",
        "cache_mb": round(cache_mb / 2**20, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_emotune(mat: Path, workdir: Path, epochs: int, threads: int) -> dict[str, Any]:
    from classifier.datasets import load_dreamer
    from classifier.model import import_torcheeg
    from classifier.training import TrainConfig, fit

    import_torcheeg("torcheeg.datasets")  # imported before the clock starts, as in the recipe
    t0 = time.perf_counter()
    ws = load_dreamer(mat, cache_dir=workdir)
    prepare_s = time.perf_counter() - t0
    timer = epoch_timer()
    config = TrainConfig(
        max_epochs=epochs, patience=epochs + 1, progress=False, threads=threads, callbacks=[timer]
    )
    trained = fit(ws, config, where=str(mat))
    return {
        "prepare_s": round(prepare_s, 2),
        "epoch_s": timer.seconds,
        "train_windows": trained.n_train,
        "window": "4 Muse-mapped channels x 4 s, no overlap",
        "cache_mb": 0.0,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def child(args: argparse.Namespace) -> None:
    runner = run_torcheeg if args.run == "torcheeg" else run_emotune
    result = runner(Path(args.mat), Path(args.workdir), args.epochs, args.threads)
    print("RESULT " + json.dumps(result))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description="EEG training benchmark")
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--trial-s", type=float, default=60.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--run", choices=["torcheeg", "emotune"], help=argparse.SUPPRESS)
    parser.add_argument("--mat", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args)
        return

    from classifier.synthetic import write_synthetic_dreamer_mat

    with tempfile.TemporaryDirectory(prefix="emotune-bench-training-") as tmp:
        root = Path(tmp)
        mat = write_synthetic_dreamer_mat(
            root / "synthetic-dreamer.mat", n_subjects=args.subjects, n_trials=args.trials,
            trial_s=args.trial_s, baseline_s=61.0, seed=0,
        )  # fmt: skip
        print(
            f"SYNTHETIC DREAMER-layout file: {args.subjects} subjects x {args.trials} trials x "
            f"{args.trial_s:g} s (+61 s baselines), {mat.stat().st_size / 2**20:.0f} MB; "
            f"{args.epochs} epoch(s), torch threads {args.threads}"
        )
        results = {}
        for name in ("torcheeg", "emotune"):
            workdir = root / name
            workdir.mkdir()
            cmd = [
                sys.executable, __file__, "--run", name, "--mat", str(mat),
                "--workdir", str(workdir), "--epochs", str(args.epochs),
                "--threads", str(args.threads),
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"{name} run failed (exit {proc.returncode})")
            results[name] = json.loads(lines[-1][len("RESULT ") :])
    te, em = results["torcheeg"], results["emotune"]
    te_epoch, em_epoch = median(te["epoch_s"]), median(em["epoch_s"])
    for name, r, ep in (("torcheeg recipe", te, te_epoch), ("emotune", em, em_epoch)):
        print(
            f"{name:16s} prepare {r['prepare_s']:7.2f} s | epoch {ep:7.2f} s "
            f"({r['train_windows']} windows of {r['window']}) | cache {r['cache_mb']} MB | "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    figures = {
        "subjects": args.subjects,
        "trials": args.trials,
        "trial_s": args.trial_s,
        "epochs": args.epochs,
        "threads": args.threads,
        "torcheeg_prepare_s": te["prepare_s"],
        "torcheeg_epoch_s": round(te_epoch, 3),
        "torcheeg_train_windows": te["train_windows"],
        "torcheeg_cache_mb": te["cache_mb"],
        "torcheeg_peak_rss_mb": te["peak_rss_mb"],
        "emotune_prepare_s": em["prepare_s"],
        "emotune_epoch_s": round(em_epoch, 3),
        "emotune_train_windows": em["train_windows"],
        "emotune_peak_rss_mb": em["peak_rss_mb"],
        "epoch_speedup": round(te_epoch / em_epoch, 2),
        "prepare_speedup": round(te["prepare_s"] / max(em["prepare_s"], 1e-9), 2),
    }
    print(
        f"per epoch: {figures['epoch_speedup']}x faster than torcheeg's recipe (goal >= 5x); "
        f"data preparation {figures['prepare_speedup']}x faster"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
