"""The contact check: read the headband for a few seconds and say which electrode to fix.

source -> 2-s windows every second -> per-electrode figures (classifier.quality, the same
figures the listener keeps) -> good / so-so / bad per electrode -> one line of advice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.config import Settings
from app.errors import StreamError

CONTACT_WINDOW_S = 2.0  # short windows: the first reading comes after 2 s, not 4 s


@dataclass
class ContactReport:
    """statuses: electrode -> good / so-so / bad (the worst that held for most readings);
    problems: electrode -> what is wrong (classifier.quality.contact_problem); readings:
    how many 1-s readings were made; advice: one line naming the electrode to fix and how,
    or that the contact is good; ok: no electrode is bad."""

    statuses: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    readings: int = 0
    advice: str = ""
    ok: bool = True
    stream: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "electrodes": {
                ch: {"status": s, "problem": self.problems.get(ch)}
                for ch, s in self.statuses.items()
            },
            "readings": self.readings,
            "advice": self.advice,
            "stream": self.stream,
        }


def summarise_contact(readings: list[dict[str, dict[str, Any]]]) -> ContactReport:
    """Per-window quality entries (channel -> figures) -> the report: each electrode's most
    frequent status (ties go to the worse one), its most frequent problem, and advice for
    the worst electrode (bad before so-so; most often bad first)."""
    from classifier.quality import BAD, GOOD, SO_SO, contact_advice, contact_problem, contact_status

    rank = {GOOD: 0, SO_SO: 1, BAD: 2}
    report = ContactReport(readings=len(readings))
    channels = list(readings[0]) if readings else []
    bad_counts: dict[str, int] = {}
    for ch in channels:
        statuses = Counter(contact_status(r[ch]) for r in readings)
        report.statuses[ch] = max(statuses, key=lambda s: (statuses[s], rank[s]))
        bad_counts[ch] = statuses[BAD] * 10 + statuses[SO_SO]
        problems = Counter(p for r in readings if (p := contact_problem(r[ch])))
        if problems and report.statuses[ch] != GOOD:
            report.problems[ch] = problems.most_common(1)[0][0]
    worst = sorted(
        (ch for ch in channels if ch in report.problems),
        key=lambda ch: (-rank[report.statuses[ch]], -bad_counts[ch]),
    )
    report.ok = all(s != BAD for s in report.statuses.values())
    if worst:
        report.advice = contact_advice(worst[0], report.problems[worst[0]])
    else:
        report.advice = "contact is good on every electrode"
    return report


def check_contact(
    cfg: Settings,
    seconds: float = 5.0,
    *,
    source_id: str | None = None,
    on_reading: Callable[[dict[str, str]], None] | None = None,
    resolve_timeout_s: float = 5.0,
) -> ContactReport:
    """Read the EEG stream for `seconds` (after the first 2 s) and judge each electrode once
    a second; `on_reading` gets {electrode: status} each time. StreamError when no stream
    or no samples arrive."""
    import numpy as np

    from classifier.errors import ClassifierError
    from classifier.lsl_source import EEGSource
    from classifier.quality import QualityHistory, contact_status
    from classifier.signal import MUSE_MODEL_CHANNELS, recording_windows

    source = EEGSource(
        cfg.eeg_stream_name,
        cfg.eeg_stream_type,
        source_id=source_id or cfg.eeg_source_id,
        buffer_s=30.0,
        resolve_timeout_s=resolve_timeout_s,
    )
    try:
        desc = source.connect()
    except ClassifierError as exc:
        raise StreamError(str(exc)) from None
    readings: list[dict[str, dict[str, Any]]] = []
    history = QualityHistory(len(MUSE_MODEL_CHANNELS))
    try:
        assert source.buffer is not None
        started = time.monotonic()
        deadline = started + CONTACT_WINDOW_S + seconds
        next_reading = started + CONTACT_WINDOW_S
        while time.monotonic() < deadline:
            time.sleep(max(0.0, next_reading - time.monotonic()))
            next_reading += 1.0
            samples, stamps, _, _ = source.buffer.read_since(0)
            keep = int(CONTACT_WINDOW_S * desc.nominal_rate_hz)
            if len(stamps) < keep:
                continue
            windows = recording_windows(
                samples[-keep:],
                stamps[-keep:],
                desc.channel_labels,
                desc.nominal_rate_hz,
                window_s=CONTACT_WINDOW_S,
                stride_s=CONTACT_WINDOW_S,
                history=history,
            )
            if len(windows) == 0 or not np.isfinite(windows.figures).all():
                continue
            quality = windows.quality[-1]
            readings.append(quality)
            if on_reading is not None:
                on_reading({ch: contact_status(figs) for ch, figs in quality.items()})
    finally:
        source.close()
    if not readings:
        raise StreamError(
            f"no EEG arrived from {desc.name!r} in {seconds + CONTACT_WINDOW_S:g} s; check that "
            "the headband is on and `muselsl stream` is running"
        )
    report = summarise_contact(readings)
    report.stream = f"{desc.name} ({desc.source_id})"
    return report
