"""Real Muse 2 recordings (eyes open / eyes closed rest) as a user would bring them.

The committed takes (tests/data/muse-eyes-open-closed, see its SOURCE.md) are 72 s per
condition and subject. `write_user_recordings` unpacks them into plain muselsl CSV files
cut into "tracks", with the untidiness of real use: unequal numbers of tracks per class, a
Bluetooth drop (rows missing) inside one track, and a file too short for one window.
Eyes closed is labelled arousal 1, eyes open arousal 5 (a physiological proxy, not emotion);
valence is left blank.
"""

from __future__ import annotations

import gzip
from pathlib import Path

DATA = Path(__file__).parent / "data" / "muse-eyes-open-closed"
SUBJECTS = ("A2_05", "A1_07", "B_06", "A2_03")
RATE_HZ = 256
AROUSAL = {"EC": 1, "EO": 5}


def take_lines(subject: str, condition: str) -> tuple[str, list[str]]:
    """(header line, data lines) of one committed take, exactly as muselsl wrote them."""
    with gzip.open(DATA / f"{subject}_{condition}.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    return lines[0], lines[1:]


def write_user_recordings(
    folder: Path,
    *,
    subjects: tuple[str, ...] = SUBJECTS,
    tracks: dict[str, int] | None = None,
    gap_s: float = 2.0,
    short_file: bool = True,
) -> Path:
    """Write the takes as track-sized muselsl CSVs plus labels.csv; returns the labels path.

    tracks: how many consecutive tracks each condition's 72 s is cut into (default EC 3,
    EO 2: unbalanced). The second track of every subject's EC take loses `gap_s` of rows in
    its middle (a Bluetooth drop). With short_file, the first subject also has a 3 s file.
    """
    tracks = tracks or {"EC": 3, "EO": 2}
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,subject,valence,arousal"]
    for subject in subjects:
        for condition, n_tracks in tracks.items():
            header, lines = take_lines(subject, condition)
            size = len(lines) // n_tracks
            for k in range(n_tracks):
                part = lines[k * size : (k + 1) * size]
                if condition == "EC" and k == 1 and gap_s > 0:
                    middle, cut = len(part) // 2, int(gap_s * RATE_HZ)
                    part = part[:middle] + part[middle + cut :]
                name = f"{subject}_{condition}_track{k + 1}.csv"
                (folder / name).write_text("\n".join([header, *part]) + "\n")
                rows.append(f"{name},{subject},,{AROUSAL[condition]}")
    if short_file:
        header, lines = take_lines(subjects[0], "EO")
        (folder / "short.csv").write_text("\n".join([header, *lines[: 3 * RATE_HZ]]) + "\n")
        rows.append(f"short.csv,{subjects[0]},,5")
    labels = folder / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    return labels
