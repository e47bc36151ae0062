"""The live terminal view of `emotune listen`, fed the session's events."""

from __future__ import annotations

import io
import time
from typing import Any

from rich.console import Console

from app.cli.listen import LiveView


def _window(track: str, pv: float, pa: float, *, rejected: bool = False, placement="inside"):
    return {
        "event": "window",
        "track": track,
        "placement": placement,
        "p_valence": pv,
        "p_arousal": pa,
        "confidence": (abs(2 * pv - 1) + abs(2 * pa - 1)) / 2,
        "rejected": rejected,
        "reason": "jaw clench / muscle on TP9" if rejected else None,
        "quality": {
            "TP9": {"flat": 0.0, "peak_uv": 40.0, "line_noise_share": 0.01, "emg_share": 0.05},
            "AF7": {"flat": 1.0},
        },
    }


def _text(view: LiveView) -> str:
    console = Console(record=True, width=120)
    console.print(view._render())
    return console.export_text()


def test_running_tag_counts_and_quality() -> None:
    view = LiveView("demo-synthetic-tsception")
    view.update({"event": "listen_start", "track": "Quiet Summer"})
    for _ in range(3):
        view.update(_window("Quiet Summer", 0.9, 0.2))
    view.update(_window("Quiet Summer", 0.9, 0.2, rejected=True))
    view.update(_window("Old Track", 0.1, 0.9))  # late window of the previous listen
    view.update(_window("Quiet Summer", 0.5, 0.5, placement="transition"))
    text = _text(view)
    assert "Quiet Summer" in text
    assert "calm so far" in text and "3 windows" in text
    assert "4 kept, 1 rejected (80% kept), 1 dropped" in text
    assert "TP9 ●" in text and "AF7 ○" in text  # flat AF7 shows as bad contact
    view.update({"event": "tag", "emotion": "calm", "confidence": 0.55})
    assert "calm (confidence 0.55)" in _text(view)


def test_a_contact_warning_stays_on_the_panel() -> None:
    view = LiveView("demo-synthetic-tsception")
    assert "contact" not in _text(view)
    view.update(
        {
            "event": "contact",
            "electrode": "AF8",
            "status": "bad",
            "bad_for_s": 30.0,
            "advice": "fix AF8 (right forehead): it is loose or dry: dampen the sensor",
        }
    )
    assert "AF8 bad for 30 s: fix AF8 (right forehead)" in _text(view)


def test_the_panel_stops_redrawing_while_a_rating_question_is_open() -> None:
    """A redraw during `--rate`'s question would overwrite what the listener types."""
    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=100)
    view = LiveView("demo-synthetic-tsception")
    seen: dict[str, Any] = {}

    def person(info: dict[str, Any]) -> tuple[int, int]:
        seen["live during the question"] = view._live.is_started
        before = len(out.getvalue())
        view.update({"event": "listen_start", "track": "Next Track"})  # the session goes on
        time.sleep(0.8)  # three refresh periods of the panel
        seen["drawn during the question"] = out.getvalue()[before:]
        return 4, 2

    with view.live(target=terminal):
        answer = view.paused_for(person)({"track": "Quiet Summer"})
        assert view._live.is_started  # drawing again after the answer
        time.sleep(0.3)
    assert answer == (4, 2)
    assert seen["live during the question"] is False
    assert "Next Track" not in seen["drawn during the question"]
    assert "Next Track" in out.getvalue()  # and drawn up to date once answered
