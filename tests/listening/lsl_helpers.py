"""Real LSL outlets in subprocesses, for tests (mne-lsl style: a sample counter proves order)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

OUTLET_SCRIPT = """
import sys, numpy as np
from classifier.muse_outlet import OutletConfig, publish
n_channels, rate, lsl_time, source_id, duration = (
    int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], float(sys.argv[5]))
labels = ("TP9", "AF7", "AF8", "TP10", "Right AUX", "X1", "X2", "X3")[:n_channels]
total = int(duration * rate)
def chunks():
    sent = 0
    rng = np.random.default_rng(0)
    while sent < total:
        c = rng.normal(0, 10, size=(12, n_channels))
        c[:, -1] = np.arange(sent, sent + 12)  # sample counter in the last channel
        sent += 12
        yield c
publish(chunks(), OutletConfig(channel_labels=labels, rate_hz=rate, lsl_time=lsl_time,
                               source_id=source_id))
"""


def unique_source_id() -> str:
    """A source id no other test's outlet uses, so resolves never cross tests."""
    return f"MuseTEST-{uuid.uuid4().hex[:8]}"


@contextmanager
def counter_outlet(
    *,
    n_channels: int = 5,
    rate_hz: float = 256.0,
    lsl_time: bool = False,
    source_id: str | None = None,
    duration_s: float = 60.0,
) -> Iterator[str]:
    """A real LSL outlet in a subprocess: random µV with a sample counter in the last channel.

    Yields the outlet's source id: resolve by it, as other tests' outlets may be up.
    """
    source_id = source_id or unique_source_id()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OUTLET_SCRIPT,
            str(n_channels),
            str(rate_hz),
            "1" if lsl_time else "0",
            source_id,
            str(duration_s),
        ]
    )
    try:
        yield source_id
    finally:
        proc.kill()
        proc.wait()
