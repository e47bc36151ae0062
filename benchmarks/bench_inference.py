"""Inference speed: the whole path (raw Muse samples -> probabilities) beside the bare forward.

    python benchmarks/bench_inference.py [--threads 2] [--repeats 300]

Measured in one run, same model (the SYNTHETIC demo checkpoint), same threads:
- batched: windows/s of `classify_recording` on 67 s of 256 Hz 5-channel samples (64 windows,
  4 s long, 1 s stride: resampling, filtering, quality, normalisation, TSCeption at batch 64)
  versus TSCeption's bare forward on a ready [64, 1, 4, 512] tensor (both channels_last, the
  faster layout at this batch size; batch 1 runs the plain layout in both);
- batch 1: p50/p99 latency of `classify_recording` on 4 s of samples (one window) versus the
  bare forward on [1, 1, 4, 512]; and the listener's call (last 8 s -> 5 windows).
Goals: path within 1.3x of the bare forward (batched), >= 2,000 windows/s, p99 < 5 ms.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np


def paired_timings(
    baseline: Callable[[], object], candidate: Callable[[], object], repeats: int, warmup: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per call of both, interleaved call by call so load changes hit both alike."""
    for _ in range(warmup):
        baseline()
        candidate()
    out = np.empty((2, repeats))
    for i in range(repeats):
        for j, fn in enumerate((baseline, candidate)):
            t0 = time.perf_counter()
            fn()
            out[j, i] = time.perf_counter() - t0
    return out[0], out[1]


def timings(fn: Callable[[], object], repeats: int, warmup: int = 5) -> np.ndarray:
    return paired_timings(fn, lambda: None, repeats, warmup)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="EEG inference benchmark")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument(
        "--aligned",
        action="store_true",
        help="run the demo weights as a model with per-wearer alignment (the default for new "
        "models): the path then also aligns every window with the wearer's statistics",
    )
    args = parser.parse_args()

    import torch

    from classifier.model import DEMO_CHECKPOINT
    from classifier.pipeline import Predictor, classify_recording
    from classifier.signal import MUSELSL_CHANNELS
    from classifier.synthetic import synthetic_muse_eeg

    torch.set_num_threads(args.threads)
    from classifier.model import load_checkpoint

    checkpoint = load_checkpoint(DEMO_CHECKPOINT)
    if args.aligned:
        checkpoint["alignment"] = "wearer-zscore"
    predictor = Predictor(checkpoint, source=str(DEMO_CHECKPOINT))
    model = predictor.model
    rate = 256.0

    # Batched: 67 s -> 64 windows of 4 s every 1 s.
    samples = synthetic_muse_eeg(67.0, "happy", seed=1)
    stamps = 1_700_000_000.0 + np.arange(len(samples)) / rate
    n_windows = len(classify_recording(predictor, samples, stamps, MUSELSL_CHANNELS, rate))
    assert n_windows == 64, n_windows
    # The bare forward runs in the faster layout for each batch size, as the path does.
    batch_model = predictor.batch_model
    ready = torch.randn(64, 1, 4, 512).contiguous(memory_format=torch.channels_last)

    def bare_batch() -> None:
        with torch.inference_mode():
            torch.sigmoid(batch_model(ready))

    def path_batch() -> None:
        classify_recording(predictor, samples, stamps, MUSELSL_CHANNELS, rate, batch_size=64)

    batch_repeats = max(20, args.repeats // 5)
    bare_b, path_b = paired_timings(bare_batch, path_batch, batch_repeats)

    # Batch 1: one 4 s window; and the listener's 8 s call.
    one = samples[:1024]
    one_stamps = stamps[:1024]
    single = torch.randn(1, 1, 4, 512)

    def bare_one() -> None:
        with torch.inference_mode():
            torch.sigmoid(model(single))

    def path_one() -> None:
        classify_recording(predictor, one, one_stamps, MUSELSL_CHANNELS, rate, batch_size=1)

    def live_8s() -> None:
        classify_recording(predictor, samples[:2048], stamps[:2048], MUSELSL_CHANNELS, rate)

    bare_1, path_1 = paired_timings(bare_one, path_one, args.repeats)
    live = timings(live_8s, args.repeats // 2)

    # The listener's tick: one second of new samples into its buffer, the new window out.
    from classifier.pipeline import LiveClassifier

    listener = LiveClassifier(predictor, MUSELSL_CHANNELS, rate, edge_guard_s=0.0)
    listener.push(samples[:1024], stamps[:1024])
    listener.tick()
    cursor = [1024]

    def live_tick() -> None:
        a = cursor[0] if cursor[0] + 256 <= len(samples) else 1024
        if a == 1024:  # start over on a fresh session when the samples run out
            listener.__init__(predictor, MUSELSL_CHANNELS, rate, edge_guard_s=0.0)
            listener.push(samples[:1024], stamps[:1024])
            listener.tick()
        listener.push(samples[a : a + 256], stamps[a : a + 256])
        assert len(listener.tick()) == 1
        cursor[0] = a + 256

    tick = timings(live_tick, args.repeats // 2)

    def ms(x: float) -> float:
        return round(1000 * x, 3)

    figures = {
        "threads": args.threads,
        "batch64_windows": 64,
        "bare_forward_windows_per_s": round(64 / float(np.median(bare_b)), 1),
        "path_windows_per_s": round(64 / float(np.median(path_b)), 1),
        "path_vs_bare_batch64": round(float(np.median(path_b) / np.median(bare_b)), 3),
        "bare_forward_b1_p50_ms": ms(np.percentile(bare_1, 50)),
        "bare_forward_b1_p99_ms": ms(np.percentile(bare_1, 99)),
        "path_b1_p50_ms": ms(np.percentile(path_1, 50)),
        "path_b1_p99_ms": ms(np.percentile(path_1, 99)),
        "path_vs_bare_b1_p50": round(float(np.median(path_1) / np.median(bare_1)), 3),
        "live_8s_call_p50_ms": ms(np.percentile(live, 50)),
        "live_8s_call_p99_ms": ms(np.percentile(live, 99)),
        "live_tick_p50_ms": ms(np.percentile(tick, 50)),
        "live_tick_p99_ms": ms(np.percentile(tick, 99)),
        "aligned": bool(args.aligned),
        "repeats": args.repeats,
        "batch_repeats": batch_repeats,
    }
    aligned = ", run with per-wearer alignment" if args.aligned else ""
    print(
        f"threads: {args.threads} (torch), model: {predictor.model_name} (SYNTHETIC demo{aligned})"
    )
    print(
        f"batch 64: bare forward {figures['bare_forward_windows_per_s']:.0f} windows/s, "
        f"whole path {figures['path_windows_per_s']:.0f} windows/s "
        f"(median, ratio path/bare {figures['path_vs_bare_batch64']:.2f}; goal <= 1.3, >= 2000/s)"
    )
    print(
        f"batch 1: bare forward p50 {figures['bare_forward_b1_p50_ms']} ms / p99 "
        f"{figures['bare_forward_b1_p99_ms']} ms; whole path p50 {figures['path_b1_p50_ms']} ms"
        f" / p99 {figures['path_b1_p99_ms']} ms (goal p99 < 5 ms)"
    )
    print(
        f"listener call (last 8 s, 5 windows): p50 {figures['live_8s_call_p50_ms']} ms, "
        f"p99 {figures['live_8s_call_p99_ms']} ms; listener tick (1 s in, 1 window out): "
        f"p50 {figures['live_tick_p50_ms']} ms, p99 {figures['live_tick_p99_ms']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
