"""Finding EEG streams on Lab Streaming Layer (pylsl is imported lazily)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from types import ModuleType

_pylsl: ModuleType | None = None


def import_pylsl() -> ModuleType:
    """Import pylsl once, with liblsl's own stderr logging turned down.

    liblsl prints an ERR line each time an outlet vanishes; emotune handles
    that (it records a gap and reconnects), so only fatal messages are kept
    unless EMOTUNE_LSL_LOGLEVEL says otherwise (-2 errors, -1 warnings, 0 info).
    """
    global _pylsl
    if _pylsl is None:
        import pylsl

        level = os.environ.get("EMOTUNE_LSL_LOGLEVEL", "-3")
        # Must precede every other liblsl call; an older liblsl without it keeps its logging.
        with contextlib.suppress(Exception):
            pylsl.set_config_content(f"[log]\nlevel = {int(level)}\n")
        _pylsl = pylsl
    return _pylsl


@dataclass(frozen=True)
class StreamDescription:
    """What an LSL outlet says about itself."""

    name: str
    type: str
    source_id: str
    channel_count: int
    nominal_rate_hz: float
    channel_labels: tuple[str, ...]


def find_streams(
    name: str | None = "Muse", stream_type: str = "EEG", timeout_s: float = 2.0
) -> list[StreamDescription]:
    """Streams of `stream_type` (and `name`, if given) visible on the network within `timeout_s`."""
    pylsl = import_pylsl()
    # Ask for the name too: a resolve by type alone returns on the first EEG stream to answer.
    predicate = f"type='{stream_type}'" + (f" and name='{name}'" if name else "")
    found = pylsl.resolve_bypred(predicate, minimum=1, timeout=timeout_s)
    out = []
    for info in found:
        out.append(
            StreamDescription(
                name=info.name(),
                type=info.type(),
                source_id=info.source_id(),
                channel_count=info.channel_count(),
                nominal_rate_hz=info.nominal_srate(),
                channel_labels=tuple(_channel_labels(info)),
            )
        )
    return out


def _channel_labels(info) -> list[str]:  # type: ignore[no-untyped-def]
    """Channel labels from the stream's XML description (`channels/channel/label`)."""
    labels = []
    ch = info.desc().child("channels").child("channel")
    for _ in range(info.channel_count()):
        label = ch.child_value("label")
        if not label:
            break
        labels.append(label)
        ch = ch.next_sibling()
    return labels
