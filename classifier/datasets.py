"""Training data in memory: muselsl CSV recordings + a labels CSV, or DREAMER.mat.

Both become a `WindowSet`: filtered 4 s windows in TSCeption's Muse order with their
ratings and where each came from (subject, trial). I/O lives here; windowing is the pure
signal path in `classifier.signal`.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.alignment import NO_ALIGNMENT, align_by_group
from classifier.errors import ClassifierError
from classifier.signal import (
    MODEL_RATE_HZ,
    MUSE_MODEL_CHANNELS,
    MUSE_RATE_HZ,
    WINDOW_S,
    bandpass_notch,
    cut_windows,
    recording_windows,
    split_at_gaps,
    window_starts,
)

LABEL_COLUMNS = ("file", "subject", "valence", "arousal")
MUSE_EEG_COLUMNS = ("TP9", "AF7", "AF8", "TP10")
# DREAMER's Emotiv electrode nearest to each Muse electrode, in TSCeption's Muse order.
DREAMER_FOR_MUSE = {"TP9": "T7", "AF7": "AF3", "TP10": "T8", "AF8": "AF4"}


@dataclass
class WindowSet:
    """Windows with labels and provenance.

    data: [N, 4, 512] float32 µV (band-passed, MUSE_MODEL_CHANNELS order, 128 Hz);
    valence/arousal: [N] ratings 1-5 (NaN where the file had none); subject/trial: [N]
    str group names; position: [N] index of the window within its trial (time order);
    rejected: [N] bool (unreadable: too few usable electrodes or NaN; kept so shares can be
    reported); channel_ok: [N, 4] bool, the electrodes the model may use (a masked one is
    zero in the model's input);
    alignment: how `data` was aligned per wearer (classifier.alignment: "none" = raw µV,
    "wearer-zscore" = each subject's channels divided by that subject's own level).
    """

    data: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    subject: np.ndarray
    trial: np.ndarray
    position: np.ndarray
    rejected: np.ndarray
    description: str = ""
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    alignment: str = NO_ALIGNMENT
    channel_ok: np.ndarray | None = None
    masked: bool = False  # masked electrodes already zeroed (by `aligned`)
    # [N] str: the sitting a window was recorded in (labels.csv's optional session column;
    # "" when not given). Tracks of one sitting share electrode placement and state.
    session: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.channel_ok is None:
            self.channel_ok = np.ones(self.data.shape[:2], dtype=bool)
        if self.session is None:
            self.session = np.full(len(self.data), "", dtype=object)

    def __len__(self) -> int:
        return len(self.data)

    def subset(self, index: np.ndarray) -> WindowSet:
        return WindowSet(
            self.data[index],
            self.valence[index],
            self.arousal[index],
            self.subject[index],
            self.trial[index],
            self.position[index],
            self.rejected[index],
            self.description,
            self.synthetic,
            list(self.notes),
            self.alignment,
            self.ok[index],
            self.masked,
            self.sessions[index],
        )

    @property
    def sessions(self) -> np.ndarray:
        """[N] session names ("" when the labels file gave none)."""
        assert self.session is not None
        return self.session

    @property
    def ok(self) -> np.ndarray:
        """[N, C] bool usable electrodes (never None after construction)."""
        assert self.channel_ok is not None
        return self.channel_ok

    def aligned(self, kind: str) -> WindowSet:
        """This set with each subject aligned by its own clean windows (see
        classifier.alignment) and every masked electrode zero (what the model sees for it,
        live too); itself when already so."""
        if kind == self.alignment and self.masked:
            return self
        if kind != self.alignment and self.alignment != NO_ALIGNMENT:
            raise ClassifierError(f"windows aligned as {self.alignment!r} cannot become {kind!r}")
        out = self.subset(np.arange(len(self)))
        if kind != self.alignment:
            out.data = align_by_group(self.data, ~self.rejected, self.subject, self.ok)
            out.alignment = kind
        out.data = np.where(out.ok[:, :, None], out.data, 0.0).astype(np.float32)
        out.masked = True
        return out

    def labels(self, dimension: str) -> np.ndarray:
        """[N] float: 1.0 high (> 3), 0.0 low, NaN unrated."""
        ratings = self.valence if dimension == "valence" else self.arousal
        return np.where(np.isnan(ratings), np.nan, (ratings > 3.0).astype(np.float64))


def concat(sets: Sequence[WindowSet], description: str = "") -> WindowSet:
    if not sets:
        raise ClassifierError("no windows to train on")
    if len({s.alignment for s in sets}) > 1:
        raise ClassifierError("cannot join windows aligned in different ways")
    return WindowSet(
        data=np.concatenate([s.data for s in sets]),
        valence=np.concatenate([s.valence for s in sets]),
        arousal=np.concatenate([s.arousal for s in sets]),
        subject=np.concatenate([s.subject for s in sets]),
        trial=np.concatenate([s.trial for s in sets]),
        position=np.concatenate([s.position for s in sets]),
        rejected=np.concatenate([s.rejected for s in sets]),
        description=description or "; ".join(s.description for s in sets),
        synthetic=all(s.synthetic for s in sets),
        notes=[n for s in sets for n in s.notes],
        alignment=sets[0].alignment,
        channel_ok=np.concatenate([s.ok for s in sets]),
        masked=all(s.masked for s in sets),
        session=np.concatenate([s.sessions for s in sets]),
    )


# --- muselsl recordings ------------------------------------------------------------------


@dataclass(frozen=True)
class LabelRow:
    file: str
    subject: str
    valence: float | None
    arousal: float | None
    line: int
    session: str = ""  # optional column: the sitting (day) the file was recorded in


def _rating(text: str, column: str, where: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ClassifierError(
            f"{where}: {column} {text!r} is not a number; use 1-5 or leave it blank"
        ) from None
    if not (1.0 <= value <= 5.0) or math.isnan(value):
        raise ClassifierError(f"{where}: {column} {text} is outside 1-5; rate 1 (low) to 5 (high)")
    return value


def read_labels(labels_path: str | Path, recordings_dir: str | Path) -> list[LabelRow]:
    """Parse LABELS.csv (file,subject,valence,arousal[,session]); every named file must exist
    in DIR. The optional session column names the sitting (day) a file was recorded in."""
    labels_path, recordings_dir = Path(labels_path), Path(recordings_dir)
    if not labels_path.is_file():
        raise ClassifierError(f"labels file {labels_path} does not exist")
    if not recordings_dir.is_dir():
        raise ClassifierError(f"recordings folder {recordings_dir} does not exist")
    try:
        return _read_label_rows(labels_path, recordings_dir)
    except UnicodeDecodeError as exc:
        raise ClassifierError(
            f"{labels_path}: not UTF-8 text (byte {exc.start}); save it as a UTF-8 CSV"
        ) from None
    except csv.Error as exc:
        raise ClassifierError(
            f"{labels_path}: not a readable CSV ({exc}); save it as CSV with the header "
            f"{','.join(LABEL_COLUMNS)}"
        ) from None


def _read_label_rows(labels_path: Path, recordings_dir: Path) -> list[LabelRow]:
    with labels_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in LABEL_COLUMNS if c not in header]
        if missing:
            raise ClassifierError(
                f"{labels_path}: missing column(s) {', '.join(missing)}; "
                f"the header must be {','.join(LABEL_COLUMNS)}"
            )
        rows = []
        for i, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "") for k, v in raw.items()}
            where = f"{labels_path} line {i}"
            name = row["file"].strip()
            if not name:
                raise ClassifierError(
                    f"{where}: the file column is empty; write the CSV file's name"
                )
            if not (recordings_dir / name).is_file():
                raise ClassifierError(
                    f"{where}: file {name!r} is not in {recordings_dir}; "
                    "fix the name or move the file there"
                )
            rows.append(
                LabelRow(
                    file=name,
                    subject=row["subject"].strip() or "unknown",
                    valence=_rating(row["valence"], "valence", where),
                    arousal=_rating(row["arousal"], "arousal", where),
                    line=i,
                    session=(row.get("session") or "").strip(),
                )
            )
    if not rows:
        raise ClassifierError(f"{labels_path} lists no recordings; add one line per CSV file")
    return rows


def read_muselsl_csv(
    path: str | Path, *, rate_hz: float = MUSE_RATE_HZ
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a `muselsl record` CSV: (samples [n, C] µV, timestamps [n] s, channel labels).

    A missing Right AUX column is fine; the four EEG columns and timestamps are required.
    NaN/inf values and a sampling rate that disagrees with rate_hz are refused.
    """
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ClassifierError(
            f"{path}: not a readable CSV ({str(exc).splitlines()[0][:100]}); "
            "record it again with `muselsl record`"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("timestamps", *MUSE_EEG_COLUMNS) if c not in frame.columns]
    if missing:
        raise ClassifierError(
            f"{path}: missing column(s) {', '.join(missing)}; a muselsl recording has "
            "timestamps,TP9,AF7,AF8,TP10,Right AUX"
        )
    labels = list(MUSE_EEG_COLUMNS)
    try:
        values = frame[["timestamps", *labels]].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise ClassifierError(
            f"{path}: non-numeric values in timestamps or EEG columns; "
            "record it again with `muselsl record`"
        ) from None
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        column = ["timestamps", *labels][col]
        raise ClassifierError(
            f"{path}: {int(bad.sum())} NaN/inf value(s), first in column {column} at data row "
            f"{row + 1}; drop or repair those rows"
        )
    timestamps, samples = values[:, 0], values[:, 1:].astype(np.float32)
    check_stamps(timestamps, rate_hz, str(path))
    return samples, timestamps, labels


def check_stamps(timestamps: np.ndarray, rate_hz: float, where: str) -> None:
    """Refuse time stamps no recording of `rate_hz` can have (ClassifierError naming `where`).

    The rate is read from the longest gap-free stretch, dejittered (a line fit of time
    against sample index), so muselsl's jitter does not move it; it must agree with rate_hz
    within 1% (the shared real recordings measure 255.94-256.03 Hz; a file declared 250 Hz
    that holds 256 Hz samples would put the mains notch at the wrong frequency). A stretch
    whose time lies inside an earlier one (the clock went back, for more than a second)
    cannot be placed in time.
    """
    stretches = split_at_gaps(timestamps, rate_hz)
    longest = max(stretches, key=lambda ab: ab[1] - ab[0], default=(0, 0))
    if longest[1] - longest[0] > 16:
        index = np.arange(longest[1] - longest[0])
        slope = np.polyfit(index, timestamps[longest[0] : longest[1]], 1)[0]
        measured = 1.0 / slope if slope > 0 else float("nan")
        if not (abs(measured - rate_hz) <= 0.01 * rate_hz):
            raise ClassifierError(
                f"{where}: timestamps say {measured:.1f} Hz but {rate_hz:g} Hz was expected; "
                "record with muselsl at the headset's rate or pass the right --rate"
            )
    latest_end, latest_row = -np.inf, 0
    for start, stop in sorted(stretches, key=lambda ab: timestamps[ab[0]]):
        if latest_end - timestamps[start] > 1.0:
            row = max(start, latest_row) + 1
            raise ClassifierError(
                f"{where}: the time stamps go back {latest_end - timestamps[start]:.0f} s near "
                f"data row {row} and overlap other samples; split the file at that row into "
                "two recordings"
            )
        if timestamps[stop - 1] > latest_end:
            latest_end, latest_row = timestamps[stop - 1], stop


def unreadable_note(reasons: Sequence[str | None]) -> str:
    """One line for a recording none of whose windows could be read: the most common reason
    and what to do."""
    from collections import Counter

    common = Counter(r for r in reasons if r).most_common(1)
    why = common[0][0] if common else "no readable window"
    return (
        f"no window could be read ({why}); check the headband with `emotune contact` "
        "and record again"
    )


def load_recordings(
    recordings_dir: str | Path,
    labels_path: str | Path,
    *,
    rate_hz: float = MUSE_RATE_HZ,
    stride_s: float = 1.0,
    line_noise_hz: float = 50.0,
    progress: Any = None,
) -> WindowSet:
    """Windows of every labelled muselsl CSV (see read_labels / read_muselsl_csv).

    Files too short for one 4 s window are skipped with a note; gaps split recordings.
    """
    rows = read_labels(labels_path, recordings_dir)
    sets, notes = [], []
    for row in rows:
        samples, timestamps, labels = read_muselsl_csv(
            Path(recordings_dir) / row.file, rate_hz=rate_hz
        )
        w = recording_windows(
            samples, timestamps, labels, rate_hz, stride_s=stride_s, line_noise_hz=line_noise_hz
        )
        if progress is not None:
            progress(row.file)
        if len(w) == 0:
            notes.append(f"{row.file}: shorter than one {WINDOW_S:g} s window, skipped")
            continue
        if all(r is not None for r in w.reasons):
            notes.append(f"{row.file}: {unreadable_note(w.reasons)}")
        n = len(w)
        nan = float("nan")
        sets.append(
            WindowSet(
                data=w.data,
                valence=np.full(n, row.valence if row.valence is not None else nan),
                arousal=np.full(n, row.arousal if row.arousal is not None else nan),
                subject=np.full(n, row.subject, dtype=object),
                trial=np.full(n, f"{row.subject}/{row.file}", dtype=object),
                position=np.arange(n),
                rejected=np.array([r is not None for r in w.reasons]),
                notes=[],
                channel_ok=w.channel_ok,
                session=np.full(n, row.session, dtype=object),
            )
        )
    if sets and all(s.rejected.all() for s in sets):
        first = next(n for n in notes if "could be read" in n)
        raise ClassifierError(
            f"no window of the {len(sets)} recording(s) in {recordings_dir} could be read; "
            f"the first, {first}"
        )
    synthetic = "synthetic" in Path(recordings_dir).name.lower() or all(
        "synthetic" in r.file.lower() for r in rows
    )
    out = concat(
        sets, description=f"muselsl recordings in {Path(recordings_dir).name} ({len(rows)} files)"
    )
    out.synthetic = synthetic
    out.notes = notes
    return out


# --- DREAMER -----------------------------------------------------------------------------


# Run by check_dreamer_layout in a child interpreter: prints one JSON object, the layout or
# the ClassifierError's message.
_LAYOUT_IN_CHILD = """
import json, sys
from classifier.datasets import read_dreamer_layout
from classifier.errors import ClassifierError
try:
    print(json.dumps({"layout": read_dreamer_layout(sys.argv[1])}))
except ClassifierError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def check_dreamer_layout(mat_path: str | Path) -> tuple[int, int, bool]:
    """Open a DREAMER-layout .mat and check its structure: (subjects, trials, synthetic).

    `synthetic` is True for files written by `classifier.synthetic` (they carry a note).
    The file is read in a child interpreter: scipy's MATLAB reader does not raise but crashes
    the process (a segmentation fault) on some corrupted files, e.g. a data element whose type
    code is out of range (scipy PR #25349, not merged). A file that passes here is then safe
    for torcheeg, which reads it with the same reader.

    Raises ClassifierError naming the first thing that differs from
    DREAMER.Data{s}.EEG.stimuli{t} ([n, 14] at 128 Hz) with .ScoreValence/.ScoreArousal.
    """
    import json
    import signal
    import subprocess
    import sys

    mat_path = Path(mat_path)
    if not mat_path.is_file():
        raise ClassifierError(f"DREAMER file {mat_path} does not exist")
    child = subprocess.run(
        [sys.executable, "-c", _LAYOUT_IN_CHILD, str(mat_path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines = child.stdout.strip().splitlines()
    if child.returncode == 0 and lines:
        answer = json.loads(lines[-1])
        if "error" in answer:
            raise ClassifierError(answer["error"])
        n_subjects, n_trials, synthetic = answer["layout"]
        return int(n_subjects), int(n_trials), bool(synthetic)
    if child.returncode < 0:
        why = f"the MATLAB reader crashed on it: {signal.Signals(-child.returncode).name}"
    else:
        last = child.stderr.strip().splitlines()
        why = f"the reader failed: {last[-1] if last else f'exit {child.returncode}'}"
    raise ClassifierError(
        f"{mat_path}: not a readable MATLAB file ({why}); use the original DREAMER.mat"
    )


def read_dreamer_layout(mat_path: str | Path) -> tuple[int, int, bool]:
    """check_dreamer_layout's reading, in this process: only for a child interpreter."""
    import scipy.io as sio

    mat_path = Path(mat_path)
    try:
        mat = sio.loadmat(str(mat_path), verify_compressed_data_integrity=False)
    except Exception as exc:  # scipy raises several unrelated types for a non-.mat file
        raise ClassifierError(
            f"{mat_path}: not a readable MATLAB file ({type(exc).__name__}); "
            "use the original DREAMER.mat"
        ) from None
    where = "DREAMER"
    try:
        top = mat["DREAMER"][0, 0]
        where = "DREAMER.Data"
        data = top["Data"]
        n_subjects = data.shape[1]
        where = "DREAMER.Data{1}.EEG.stimuli"
        stimuli = data[0, 0]["EEG"][0, 0]["stimuli"][0, 0]
        n_trials = len(stimuli)
        for s in range(n_subjects):
            subject = data[0, s]
            where = f"DREAMER.Data{{{s + 1}}}.EEG.stimuli"
            stim = subject["EEG"][0, 0]["stimuli"][0, 0]
            base = subject["EEG"][0, 0]["baseline"][0, 0]
            for t in range(n_trials):
                where = f"DREAMER.Data{{{s + 1}}}.EEG.stimuli{{{t + 1}}}"
                trial = np.asarray(stim[t, 0])
                if trial.ndim != 2 or trial.shape[1] < 14:
                    raise ClassifierError(
                        f"{mat_path}: {where} has shape {trial.shape}, expected [samples, 14] "
                        "(Emotiv channels in DREAMER order)"
                    )
                where = f"DREAMER.Data{{{s + 1}}}.EEG.baseline{{{t + 1}}}"
                if np.asarray(base[t, 0]).shape[0] < MODEL_RATE_HZ:
                    raise ClassifierError(
                        f"{mat_path}: {where} is shorter than 1 s; use the original DREAMER.mat"
                    )
            for score in ("ScoreValence", "ScoreArousal"):
                where = f"DREAMER.Data{{{s + 1}}}.{score}"
                values = np.asarray(subject[score][0, 0], dtype=np.float64).ravel()
                if len(values) != n_trials or not np.all((values >= 1) & (values <= 5)):
                    raise ClassifierError(
                        f"{mat_path}: {where} must hold {n_trials} ratings in 1-5; "
                        "use the original DREAMER.mat"
                    )
    except ClassifierError:
        raise
    except (KeyError, IndexError, ValueError, TypeError):
        raise ClassifierError(
            f"{mat_path}: not DREAMER's layout (cannot read {where}); expected "
            "DREAMER.Data{s}.EEG.stimuli{t} and .ScoreValence/.ScoreArousal"
        ) from None
    names = top.dtype.names or ()
    synthetic = "Note" in names and "SYNTHETIC" in str(top["Note"])
    return n_subjects, n_trials, synthetic


class _PickRows:
    """torcheeg `before_trial` hook: [14, n] trial -> [len(rows), n] float32 (picklable)."""

    def __init__(self, rows: Sequence[int]) -> None:
        self.rows = list(rows)

    def __call__(self, trial: np.ndarray) -> np.ndarray:
        return np.asarray(trial, dtype=np.float32)[self.rows]


def load_dreamer(
    mat_path: str | Path,
    *,
    stride_s: float = 4.0,
    line_noise_hz: float = 50.0,
    cache_dir: str | Path | None = None,
) -> WindowSet:
    """DREAMER (or a file of its layout) read through torcheeg's `DREAMERDataset`.

    torcheeg yields each whole trial (chunk_size=-1) at 128 Hz, kept in memory
    (io_mode="memory") rather than cached window by window on disk; its before_trial hook
    keeps only the Emotiv electrodes nearest Muse's (T7->TP9, AF3->AF7, T8->TP10, AF4->AF8).
    Each trial is then band-passed and cut into 4 s windows every stride_s (default 4 s: no
    overlap, every sample once per epoch). Note torcheeg reloads the .mat once per subject.
    """
    from classifier.model import import_torcheeg

    n_subjects, n_trials, synthetic = check_dreamer_layout(mat_path)
    datasets = import_torcheeg("torcheeg.datasets")
    constants = import_torcheeg("torcheeg.datasets.constants")
    index = [
        constants.DREAMER_CHANNEL_LIST.index(DREAMER_FOR_MUSE[ch]) for ch in MUSE_MODEL_CHANNELS
    ]
    with tempfile.TemporaryDirectory(prefix="emotune-dreamer-", dir=cache_dir) as tmp:
        dataset = datasets.DREAMERDataset(
            mat_path=str(mat_path),
            chunk_size=-1,
            num_baseline=1,
            baseline_chunk_size=MODEL_RATE_HZ,
            io_path=str(Path(tmp) / "io"),
            io_mode="memory",
            num_worker=0,
            verbose=False,
            before_trial=_PickRows(index),  # keep 4 of 14 channels in memory, not all
        )
        info = dataset.info
        sets = []
        win = int(WINDOW_S * MODEL_RATE_HZ)
        stride = max(1, int(round(stride_s * MODEL_RATE_HZ)))
        for i in range(len(dataset)):
            eeg, label_info = dataset[i][0], info.iloc[i]
            trial = np.asarray(eeg, dtype=np.float32).T  # [n, 4] µV, Muse model order
            filt = bandpass_notch(trial, MODEL_RATE_HZ, line_noise_hz=line_noise_hz)
            starts = window_starts(len(filt), win, stride)
            if len(starts) == 0:
                continue
            n = len(starts)
            subject = f"S{int(label_info['subject_id']) + 1:02d}"
            sets.append(
                WindowSet(
                    data=cut_windows(filt, starts, win),
                    valence=np.full(n, float(label_info["valence"])),
                    arousal=np.full(n, float(label_info["arousal"])),
                    subject=np.full(n, subject, dtype=object),
                    trial=np.full(
                        n, f"{subject}/T{int(label_info['trial_id']) + 1:02d}", dtype=object
                    ),
                    position=np.arange(n),
                    rejected=np.zeros(n, dtype=bool),
                )
            )
    out = concat(
        sets,
        description=f"{'SYNTHETIC ' if synthetic else ''}DREAMER-layout file {Path(mat_path).name}"
        f" ({n_subjects} subjects x {n_trials} trials, Emotiv mapped to Muse)",
    )
    out.synthetic = synthetic
    return out
