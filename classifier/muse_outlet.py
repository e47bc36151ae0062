"""Publishing EEG on LSL exactly as `muselsl stream` does (pylsl is imported lazily).

muselsl 2.5.3 (muse.py, lsl_outlet.py, stream.py): stream name `Muse`, type
`EEG`, source id `Muse<MAC>`, float32 channels `TP9, AF7, AF8, TP10, Right AUX`
at 256 Hz in microvolts, outlet chunk size 12; every Bluetooth packet of 12
samples is pushed sample by sample with timestamps extrapolated backwards from
the packet's arrival, on `time.time()` unless `--lsltime` (then the LSL clock).
A Muse S Athena has 4 EEG channels and no AUX.

This module is the stand-in for a headset where no Bluetooth exists: `emotune
replay` feeds it a muselsl CSV recording, `emotune simulate muse` synthetic EEG.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from classifier.lsl_discovery import import_pylsl

MUSE_EEG_LABELS_5 = ("TP9", "AF7", "AF8", "TP10", "Right AUX")
MUSE_EEG_RATE_HZ = 256.0
MUSE_CHUNK = 12
SIMULATED_SOURCE_ID = "Muse00:55:DA:B0:00:00"  # a made-up MAC, marked as simulated by the OUI


@dataclass
class OutletConfig:
    name: str = "Muse"
    stream_type: str = "EEG"
    source_id: str = SIMULATED_SOURCE_ID
    channel_labels: tuple[str, ...] = MUSE_EEG_LABELS_5
    rate_hz: float = MUSE_EEG_RATE_HZ
    lsl_time: bool = False  # muselsl's --lsltime: stamp on the LSL clock instead of time.time()


def make_muse_outlet(cfg: OutletConfig):  # type: ignore[no-untyped-def]
    """An LSL outlet whose description matches muselsl's EEG outlet field for field."""
    pylsl = import_pylsl()

    info = pylsl.StreamInfo(
        cfg.name,
        cfg.stream_type,
        len(cfg.channel_labels),
        cfg.rate_hz,
        "float32",
        cfg.source_id,
    )
    info.desc().append_child_value("manufacturer", "Muse")
    channels = info.desc().append_child("channels")
    for label in cfg.channel_labels:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "microvolts")
        ch.append_child_value("type", "EEG")
    return pylsl.StreamOutlet(info, MUSE_CHUNK)


def publish(
    chunks: Iterator[np.ndarray],
    cfg: OutletConfig,
    *,
    speed: float = 1.0,
    should_stop: Callable[[], bool] = lambda: False,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Push `chunks` ([12, C] µV arrays, in order) in real time × `speed`; returns samples sent.

    Stamps follow muselsl: it de-jitters Bluetooth arrival times with a
    recursive least-squares fit of time against sample index, so sample k is
    stamped start + k × period. Here the fit is exact (start + k / rate, scaled
    by `speed`), and pacing follows the same absolute schedule, so neither the
    rate nor the stamps drift with sleep jitter or a busy CPU.
    """
    pylsl = import_pylsl()

    outlet = make_muse_outlet(cfg)
    clock = pylsl.local_clock if cfg.lsl_time else time.time
    period = 1.0 / cfg.rate_hz / speed
    sent = 0
    t0 = time.perf_counter()
    first_stamp = clock()
    for chunk in chunks:
        if should_stop():
            break
        due = t0 + (sent + len(chunk)) * period
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamps = first_stamp + (sent + np.arange(len(chunk))) * period
        for row, stamp in zip(chunk, stamps, strict=True):
            outlet.push_sample(row.astype(np.float32).tolist(), float(stamp))
        sent += len(chunk)
        if on_chunk is not None:
            on_chunk(sent)
    return sent


def chunked(samples: np.ndarray, size: int = MUSE_CHUNK) -> Iterator[np.ndarray]:
    """Split [n, C] samples into consecutive [size, C] chunks (the last may be shorter)."""
    for start in range(0, len(samples), size):
        yield samples[start : start + size]
