"""Finding EEG streams on Lab Streaming Layer (pylsl is imported lazily)."""

from __future__ import annotations

from dataclasses import dataclass


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
    import pylsl

    found = pylsl.resolve_byprop("type", stream_type, minimum=1, timeout=timeout_s)
    out = []
    for info in found:
        if name is not None and info.name() != name:
            continue
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
