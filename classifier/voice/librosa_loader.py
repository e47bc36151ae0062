"""Import librosa one process at a time, so numba's on-disk cache stays whole.

librosa compiles its numba gufuncs (yin's parabolic interpolation, local
minima, zero crossings, ...) when their modules are imported, and caches the
machine code on disk (`cache=True`). Numba writes each gufunc as two files, and
two processes compiling at once can leave a pair from different processes whose
internal names disagree (numba issue #10128, open in numba 0.68). Every later
process that loads that pair dies with a segmentation fault, for good.

Feature extraction runs in several worker processes, so two of them can meet
on a cold cache. `load_librosa()` holds an exclusive file lock while librosa
and its compiled submodules are imported: the first process compiles and
writes whole pairs, the others wait and then load them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

# The librosa submodules that compile numba gufuncs at import, among those emotune uses.
COMPILING_SUBMODULES: tuple[str, ...] = (
    "librosa.util.utils",
    "librosa.core.audio",
    "librosa.core.pitch",
    "librosa.core.spectrum",
    "librosa.core.convert",
    "librosa.core.notation",
    "librosa.feature.utils",
    "librosa.filters",
)


def lock_path() -> Path:
    """One lock per user: numba's cache is shared by all of that user's processes."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"emotune-librosa-import-{uid}.lock"


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): import unlocked
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_librosa() -> ModuleType:
    """librosa, with its gufuncs compiled or loaded while no other process compiles them."""
    import importlib
    import sys

    if all(name in sys.modules for name in COMPILING_SUBMODULES):
        return sys.modules["librosa"]
    with _exclusive(lock_path()):
        librosa = importlib.import_module("librosa")
        for name in COMPILING_SUBMODULES:
            importlib.import_module(name)
    return librosa
