"""librosa's numba cache survives processes that import it at the same time.

Numba writes each of librosa's gufuncs as two cache files; processes compiling
them at once can leave a mismatched pair that crashes every later process
(numba issue #10128). Here real processes meet on an empty cache, staggered so
that some find part of the cache written (the interleaving that mismatches),
and then a fresh process must still compute features. Without the import lock
this failed in about two runs of three on this suite's machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

IMPORT_THEN_EXTRACT = """
import sys, time
from pathlib import Path
ready, go, delay = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
import numpy as np
ready.touch()
while not go.exists():
    time.sleep(0.01)
time.sleep(delay)
from classifier.voice.librosa_loader import load_librosa
load_librosa()
from classifier.voice.dataset import SAMPLE_RATE
from classifier.voice.features import features_of
from classifier.voice.synthetic import synthetic_clip
vector = features_of(synthetic_clip("happy", 1, 0), "extended", SAMPLE_RATE)
assert vector.shape == (432,) and np.isfinite(vector).all()
"""

STAGGER_S = (0.0, 0.8, 1.6, 2.4)


def _crash_report(stderr: str) -> str:
    """faulthandler's traceback, without its long list of extension modules."""
    return stderr.split("Extension modules")[0][-3000:]


def _start(tmp_path: Path, env: dict[str, str], name: str, delay: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", IMPORT_THEN_EXTRACT]
        + [str(tmp_path / f"{name}.ready"), str(tmp_path / "go"), str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_meeting_on_a_cold_numba_cache_leave_it_usable(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),  # cold, and this test's own
        "TMPDIR": str(tmp_path),  # and so is the import lock
        "PYTHONFAULTHANDLER": "1",
    }
    workers = [_start(tmp_path, env, f"w{i}", d) for i, d in enumerate(STAGGER_S)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"w{i}.ready").exists() for i in range(len(workers))):
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)
    (tmp_path / "go").touch()
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, _crash_report(err)

    checker = _start(tmp_path, env, "checker", 0.0)
    _, err = checker.communicate(timeout=300)
    assert checker.returncode == 0, f"exit {checker.returncode}: {_crash_report(err)}"
    assert any((tmp_path / "numba-cache").rglob("guf-*.nbc")), "the cache was not written"
