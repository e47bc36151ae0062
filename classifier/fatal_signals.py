"""Keep the process's fatal-signal handlers across code that resets them.

Lightning's `Trainer` saves every signal's Python-level handler before fitting
and sets them all back afterwards. Python sees no handler for SIGSEGV and its
kin, so "setting back" installs SIG_DFL over the C handler that `faulthandler`
put there: a later crash then dies silently instead of printing where it
happened. `fatal_signal_handlers_kept()` saves the C-level handlers with
`sigaction` and restores them on exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
from collections.abc import Iterator
from contextlib import contextmanager

# The signals `faulthandler` handles.
FATAL_SIGNALS: tuple[int, ...] = tuple(
    int(getattr(signal, name))
    for name in ("SIGSEGV", "SIGFPE", "SIGABRT", "SIGBUS", "SIGILL")
    if hasattr(signal, name)
)
# Larger than `struct sigaction` on every libc (glibc x86_64: 152 bytes); the
# bytes are only copied back, never read, so the layout does not matter.
_SIGACTION_BYTES = 512


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "sigaction") else None


def current_handlers() -> dict[int, bytes]:
    """The raw `struct sigaction` of each fatal signal ({} where sigaction is missing)."""
    libc = _libc()
    if libc is None:
        return {}
    saved: dict[int, bytes] = {}
    for signum in FATAL_SIGNALS:
        buffer = ctypes.create_string_buffer(_SIGACTION_BYTES)
        if libc.sigaction(signum, None, buffer) == 0:
            saved[signum] = buffer.raw
    return saved


def restore_handlers(saved: dict[int, bytes]) -> None:
    """Install the handlers `current_handlers()` returned."""
    libc = _libc()
    if libc is None:
        return
    for signum, raw in saved.items():
        libc.sigaction(signum, ctypes.create_string_buffer(raw, _SIGACTION_BYTES), None)


@contextmanager
def fatal_signal_handlers_kept() -> Iterator[None]:
    """Run the body, then put back the fatal-signal handlers it found."""
    saved = current_handlers()
    try:
        yield
    finally:
        restore_handlers(saved)
