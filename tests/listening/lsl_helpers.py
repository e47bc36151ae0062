"""Real LSL outlets in subprocesses, for tests (mne-lsl style: a sample counter proves order)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    lsl_config: Path | None = None,
) -> Iterator[str]:
    """A real LSL outlet in a subprocess: random µV with a sample counter in the last channel.

    Yields the outlet's source id: resolve by it, as other tests' outlets may be up.
    `lsl_config` is an lsl_api.cfg for the outlet's process instead of the test's own.
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
        ],
        env=dict(os.environ, LSLAPICFG=str(lsl_config)) if lsl_config else None,
    )
    try:
        yield source_id
    finally:
        proc.kill()
        proc.wait()


def lsl_config_on_one_port(path: Path) -> Path:
    """An lsl_api.cfg at `path`: this test process's LSL session, with outlets allowed one
    port only (a free one), so an outlet started after another died takes the dead one's.

    IPv4 only: an IPv6 socket cannot share that one port with the IPv4 one, and liblsl would
    put it on a random port that inlets (which try IPv6 first) then find closed. On the
    default port range both land on the dead outlet's ports.
    """
    from tests.listening.e2e_helpers import free_port

    own = os.environ.get("LSLAPICFG")
    session = Path(own).read_text() if own and Path(own).is_file() else ""
    ports = f"[ports]\nBasePort = {free_port()}\nPortRange = 1\nIPv6 = disable\n"
    path.write_text(f"{session.rstrip()}\n{ports}")
    return path


def data_port(info) -> str:  # type: ignore[no-untyped-def]
    """The TCP port an outlet serves its data and descriptions on (from a resolved info)."""
    xml = info.as_xml()
    return xml.split("<v4data_port>", 1)[1].split("<", 1)[0]
