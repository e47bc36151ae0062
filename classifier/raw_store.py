"""Keeping the raw EEG of a session on disk: a crash-safe spool, then a FIF file MNE reads.

While a session runs, samples are appended to a spool (`.spool`): float64 rows
`[unix_time, ch1, ..., chC]`, flushed on every append, so a crash loses only
what the OS had not written. When the session ends, the spool becomes a FIF
file (`*_raw.fif`, readable with `mne.io.read_raw_fif`): EEG channels in volts
as MNE expects, plus a `UNIX_TIME` misc channel carrying each sample's exact
Unix time (saved in double precision), and `BAD_gap` annotations where the
stream had gaps. A spool left by a crash is converted the same way later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import ClassifierError

TIME_CHANNEL = "UNIX_TIME"
UV_PER_V = 1e6


@dataclass
class RawRecording:
    """samples [n, C] µV, timestamps [n] Unix s, channel labels, nominal rate (Hz)."""

    samples: np.ndarray
    timestamps: np.ndarray
    channel_labels: tuple[str, ...]
    rate_hz: float

    def segment(self, start: float, end: float) -> RawRecording:
        """The samples whose timestamps lie in [start, end)."""
        keep = (self.timestamps >= start) & (self.timestamps < end)
        return RawRecording(
            self.samples[keep], self.timestamps[keep], self.channel_labels, self.rate_hz
        )


class RawSpool:
    """Append-only spool of one session's samples; a JSON sidecar names channels and rate."""

    def __init__(self, path: Path, channel_labels: tuple[str, ...], rate_hz: float) -> None:
        self.path = path
        self.channel_labels = channel_labels
        self.rate_hz = rate_hz
        path.parent.mkdir(parents=True, exist_ok=True)
        _sidecar(path).write_text(
            json.dumps({"channel_labels": list(channel_labels), "rate_hz": rate_hz})
        )
        self._fh = path.open("ab")
        _lock(self._fh, exclusive=True)  # held until close (or the process dies)

    def append(self, samples: np.ndarray, timestamps: np.ndarray) -> None:
        """Append [n, C] µV samples with their [n] Unix-second timestamps."""
        if len(samples) == 0:
            return
        rows = np.column_stack([timestamps, samples]).astype(np.float64)
        self._fh.write(rows.tobytes())
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _lock(fh, *, exclusive: bool) -> bool:  # type: ignore[no-untyped-def]
    """Take an advisory lock on an open file without waiting; False if another holds it."""
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): no way to tell, assume free
        return True
    try:
        fcntl.flock(fh, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def spool_in_use(path: Path) -> bool:
    """Whether a running session still writes this spool (it holds a lock a crash releases)."""
    try:
        with path.open("rb") as fh:
            return not _lock(fh, exclusive=False)
    except FileNotFoundError:
        return False


def _sidecar(spool: Path) -> Path:
    return spool.with_suffix(".json")


def read_spool(path: Path) -> RawRecording:
    """Read a spool (a torn last row from a crash is ignored)."""
    meta = json.loads(_sidecar(path).read_text())
    labels = tuple(meta["channel_labels"])
    width = len(labels) + 1
    data = path.read_bytes()
    row_bytes = width * 8
    raw = np.frombuffer(data[: len(data) // row_bytes * row_bytes], dtype=np.float64)
    rows = raw[: len(raw) // width * width].reshape(-1, width)
    return RawRecording(rows[:, 1:].copy(), rows[:, 0].copy(), labels, float(meta["rate_hz"]))


def write_fif(path: Path, rec: RawRecording) -> Path:
    """Write `rec` as a FIF file (MNE's format); returns the path (must end in `_raw.fif`)."""
    import mne

    if len(rec.samples) < 2:
        raise ClassifierError(f"no EEG to save in {path.name}: the session received no samples")
    eeg_labels = list(rec.channel_labels)
    info = mne.create_info(
        ch_names=[*eeg_labels, TIME_CHANNEL],
        sfreq=rec.rate_hz,
        ch_types=["eeg"] * len(eeg_labels) + ["misc"],
        verbose="error",
    )
    data = np.vstack([rec.samples.T / UV_PER_V, rec.timestamps[None, :]])
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_meas_date(float(rec.timestamps[0]))
    gaps = np.flatnonzero(np.diff(rec.timestamps) > 2.0 / rec.rate_hz)
    if len(gaps):
        onsets = (gaps + 1) / rec.rate_hz
        raw.set_annotations(
            mne.Annotations(
                onsets, [0.0] * len(gaps), ["BAD_gap"] * len(gaps), orig_time=raw.info["meas_date"]
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp_raw.fif")
    raw.save(tmp, fmt="double", overwrite=True, verbose="error")
    tmp.replace(path)  # all or nothing
    return path


def read_fif(path: Path) -> RawRecording:
    """Read a session FIF written by `write_fif` (samples back in µV, exact Unix times)."""
    import mne

    if not path.exists():
        raise ClassifierError(f"raw EEG file {path} is missing; was it moved or deleted?")
    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    if TIME_CHANNEL not in raw.ch_names:
        raise ClassifierError(f"{path} has no {TIME_CHANNEL} channel: not an emotune session file")
    eeg = [c for c in raw.ch_names if c != TIME_CHANNEL]
    data = raw.get_data(picks=eeg).T * UV_PER_V
    stamps = raw.get_data(picks=[TIME_CHANNEL])[0]
    return RawRecording(data, stamps, tuple(eeg), float(raw.info["sfreq"]))


def finalize_spool(spool: Path, fif: Path) -> Path:
    """Turn a spool into its FIF file, then delete the spool (kept if anything fails)."""
    write_fif(fif, read_spool(spool))
    spool.unlink()
    _sidecar(spool).unlink(missing_ok=True)
    return fif
