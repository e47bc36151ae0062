"""Finding EEG streams on Lab Streaming Layer (pylsl is imported lazily)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from classifier.errors import ClassifierError

_pylsl: ModuleType | None = None


QUIET_LSL_LOG_LEVEL = -3  # liblsl's fatal messages only


def import_pylsl() -> ModuleType:
    """Import pylsl once, with liblsl's own stderr logging turned down.

    liblsl prints an ERR line each time an outlet vanishes; emotune handles
    that (it records a gap and reconnects), so only fatal messages are kept
    unless EMOTUNE_LSL_LOGLEVEL or the user's lsl_api.cfg says otherwise
    (-2 errors, -1 warnings, 0 info). The level is set by handing liblsl its
    configuration as text, which replaces the file it would read: so the text
    is the user's own lsl_api.cfg (`SessionID`, `KnownPeers`, ports) with the
    level put in.
    """
    global _pylsl
    if _pylsl is None:
        import pylsl

        asked = os.environ.get("EMOTUNE_LSL_LOGLEVEL")
        try:
            level = int(asked) if asked is not None else QUIET_LSL_LOG_LEVEL
        except ValueError:
            raise ClassifierError(
                f"EMOTUNE_LSL_LOGLEVEL is {asked!r}; set it to a number: -3 (fatal only), "
                "-2 errors, -1 warnings, 0 info"
            ) from None
        user_file = lsl_config_file()
        user_text = user_file.read_text(errors="replace") if user_file is not None else ""
        content = config_with_log_level(user_text, level, replace_users_level=asked is not None)
        # Must precede every other liblsl call; an older liblsl without it keeps its logging.
        with contextlib.suppress(Exception):
            pylsl.set_config_content(content)
        _pylsl = pylsl
    return _pylsl


def lsl_config_file() -> Path | None:
    """The lsl_api.cfg liblsl itself would read: the first readable of LSLAPICFG,
    ./lsl_api.cfg, ~/lsl_api/lsl_api.cfg and /etc/lsl_api/lsl_api.cfg (liblsl's order)."""
    names = [
        os.environ.get("LSLAPICFG", ""),
        "lsl_api.cfg",
        "~/lsl_api/lsl_api.cfg",
        "/etc/lsl_api/lsl_api.cfg",
    ]
    for name in filter(None, names):
        path = Path(name).expanduser()
        if path.is_file() and os.access(path, os.R_OK):
            return path
    return None


def config_with_log_level(user_text: str, level: int, *, replace_users_level: bool) -> str:
    """`user_text` (an lsl_api.cfg) with `level` as its `[log] level`, every other line kept.

    A level the file sets itself is kept unless `replace_users_level`. liblsl refuses a file
    that repeats a key (and then reads none of it), so a level is never added beside the
    user's, and goes into the file's own `[log]` section when there is one.
    """
    lines = user_text.splitlines()
    section, log_header = "", None
    for index, raw in enumerate(lines):
        line = raw.split(";", 1)[0].split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            if section == "log":
                log_header = index
        elif section == "log" and line.partition("=")[0].strip().lower() == "level":
            if not replace_users_level:
                return user_text
            lines[index] = f"level = {level}"
            return "\n".join(lines) + "\n"
    if log_header is None:
        lines += ["[log]", f"level = {level}"]
    else:
        lines.insert(log_header + 1, f"level = {level}")
    return "\n".join(lines) + "\n"


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
