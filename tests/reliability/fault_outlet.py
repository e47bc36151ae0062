"""A Muse-like LSL outlet that misbehaves on cue: run as `python -m tests.reliability.fault_outlet
SPEC_JSON`.

SYNTHETIC EEG (AR(1) noise in µV) on 4 channels plus a sample counter in Right AUX, so a reader can
prove which samples arrived. Stamps follow muselsl (start + k / 256 on time.time()). The spec:

    {"source_id": "...", "name": "Muse", "counter_start": 0,
     "phases": [["until_file", PATH], ["normal", 3.0], ["nan", 0.5], ["inf", 0.5],
                ["stall_burst", 1.5], ["jump", 20.0], ["normal", 2.0]],
     "then": "exit" | "forever"}

- normal S: S seconds of signal in real time
- nan / inf S: S seconds whose EEG channels are NaN / +inf (the counter keeps counting)
- stall_burst S: nothing for S seconds, then the backlog arrives at 10x the sample rate
  (a Bluetooth hiccup followed by catch-up; stamps stay on the 256 Hz schedule)
- jump S: every stamp from now on is S seconds later (the sender's clock jumped forward)
- until_file PATH: normal signal until PATH exists
"""

from __future__ import annotations

import faulthandler
import json
import sys
import time
from pathlib import Path

import numpy as np

RATE = 256.0
CHUNK = 12


def main(spec: dict) -> None:
    from classifier.muse_outlet import OutletConfig, make_muse_outlet

    outlet = make_muse_outlet(
        OutletConfig(name=spec.get("name", "Muse"), source_id=spec["source_id"])
    )
    rng = np.random.default_rng(spec.get("seed", 0))
    counter = float(spec.get("counter_start", 0))
    sent = 0  # samples pushed by this process
    jump = 0.0
    state = np.zeros(4)
    t0 = time.perf_counter()
    first_stamp = time.time()

    def push(kind: str = "normal", pace: float = 1.0) -> None:
        nonlocal sent, counter
        due = t0 + (sent + CHUNK) / RATE / pace if pace == 1.0 else None
        if due is not None:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        chunk = np.empty((CHUNK, 5))
        for k in range(CHUNK):  # AR(1) noise: EEG-like low-frequency power, little "muscle"
            state[:] = 0.97 * state + rng.normal(0.0, 3.0, size=4)
            chunk[k, :4] = state
        if kind == "nan":
            chunk[:, :4] = np.nan
        elif kind == "inf":
            chunk[:, :4] = np.inf
        chunk[:, 4] = counter + np.arange(CHUNK)
        stamps = first_stamp + jump + (sent + np.arange(CHUNK)) / RATE
        for row, stamp in zip(chunk, stamps, strict=True):
            outlet.push_sample(row.astype(np.float32).tolist(), float(stamp))
        sent += CHUNK
        counter += CHUNK

    def run_for(seconds: float, kind: str = "normal") -> None:
        target = sent + int(seconds * RATE)
        while sent < target:
            push(kind)

    for phase in spec["phases"]:
        kind, arg = phase[0], phase[1]
        if kind == "until_file":
            while not Path(arg).exists():
                run_for(0.1)
        elif kind in ("normal", "nan", "inf"):
            run_for(float(arg), kind)
        elif kind == "stall_burst":
            time.sleep(float(arg))
            # Catch up at 10x the sample rate until back on the real-time schedule.
            while (time.perf_counter() - t0) * RATE > sent + CHUNK:
                push(pace=10.0)
                time.sleep(CHUNK / RATE / 10.0)
        elif kind == "jump":
            jump += float(arg)
        else:
            raise SystemExit(f"unknown phase {kind!r}")
    if spec.get("then") == "forever":
        while True:
            run_for(1.0)


if __name__ == "__main__":
    # A crash prints where it happened; the test shows stderr. (liblsl 1.18 can crash tearing
    # down an outlet that inlets asked for another stream's data: the reader must not.)
    faulthandler.enable()
    main(json.loads(sys.argv[1]))
