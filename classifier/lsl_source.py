"""Reading muselsl's EEG stream from LSL into a ring buffer in a background thread.

The only module (with `lsl_discovery` and `muse_outlet`) that imports pylsl.
Timestamps handed out are always Unix seconds (`time.time()` clock), whichever
clock the outlet stamped on: muselsl uses `time.time()` unless `--lsltime`, so
the clock is detected from the first samples.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from classifier.errors import ClassifierError
from classifier.lsl_discovery import StreamDescription, _channel_labels, import_pylsl

log = logging.getLogger(__name__)

ACCEPTED_CHANNEL_COUNTS = (4, 5)
# A sample cannot arrive before it was stamped: stamps further ahead of this computer's
# clock than this mean the sender's clock jumped forward (or runs ahead), so re-anchor.
MAX_STAMP_AHEAD_S = 2.0
# Nor can a sample be stamped before the one sent ahead of it: a step back larger than this
# means the sender's clock was set back (NTP, a laptop waking up), so re-anchor again.
MAX_STAMP_BACK_S = 1.0
# How long one look for the stream waits for an answer after it was lost, seconds.
RECONNECT_RESOLVE_S = 2.0


class SenderReplacedError(Exception):
    """The stream resolved is gone and its address now serves another outlet.

    liblsl reaches an outlet by host and port, and a new outlet (another
    program's, or a restarted muselsl's) may take the port of one that just
    died: an inlet opened on the dead one's info then reads the newcomer's
    description. Not a ClassifierError: the reconnect loop looks again.
    """


class RingBuffer:
    """A fixed-capacity buffer of [n, C] samples and their timestamps, safe across threads.

    Every sample gets a running index (0, 1, 2, ...), so a reader asks for
    "everything since index k" and learns whether the buffer overran it.
    """

    def __init__(self, capacity: int, n_channels: int) -> None:
        self.capacity = capacity
        self._data = np.zeros((capacity, n_channels), dtype=np.float64)
        self._stamps = np.zeros(capacity, dtype=np.float64)
        self._written = 0  # total samples ever written
        self._lock = threading.Lock()

    @property
    def written(self) -> int:
        with self._lock:
            return self._written

    def push(self, samples: np.ndarray, stamps: np.ndarray) -> None:
        """Append [n, C] samples with [n] timestamps (n may exceed capacity: the tail is kept)."""
        n = len(samples)
        if n == 0:
            return
        with self._lock:
            if n > self.capacity:
                skip = n - self.capacity
                samples, stamps = samples[skip:], stamps[skip:]
                self._written += skip
                n = self.capacity
            pos = self._written % self.capacity
            first = min(n, self.capacity - pos)
            self._data[pos : pos + first] = samples[:first]
            self._stamps[pos : pos + first] = stamps[:first]
            if first < n:
                self._data[: n - first] = samples[first:]
                self._stamps[: n - first] = stamps[first:]
            self._written += n

    def read_since(self, index: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Samples from running index `index` on: (samples [m, C], stamps [m], next index, lost).

        `lost` counts samples the buffer overwrote before they were read.
        """
        with self._lock:
            oldest = max(0, self._written - self.capacity)
            lost = max(0, oldest - index)
            start = max(index, oldest)
            m = self._written - start
            idx = (np.arange(start, self._written) % self.capacity) if m else np.arange(0)
            return self._data[idx].copy(), self._stamps[idx].copy(), self._written, lost


@dataclass
class Gap:
    """A stretch with no samples: from the last sample before it to the first after (Unix s)."""

    started_at: float
    ended_at: float | None = None


@dataclass
class SourceStatus:
    connected: bool = False
    clock: str = ""  # "unix" | "lsl"
    gaps: list[Gap] = field(default_factory=list)
    reconnects: int = 0
    clock_jumps: int = 0  # times the sender's clock jumped (ahead or back) and was re-anchored


def _xpath_literal(value: str) -> str:
    """A name safe inside an XPath '...' literal (LSL's resolve predicate)."""
    if "'" in value:
        raise ClassifierError(f"stream names and ids may not contain quotes: {value!r}")
    return value


def detect_clock(first_stamp: float, unix_now: float, lsl_now: float) -> str:
    """Which clock a sample's stamp is on: 'unix' (time.time) or 'lsl' (local_clock)."""
    return "unix" if abs(first_stamp - unix_now) < abs(first_stamp - lsl_now) else "lsl"


class EEGSource:
    """Finds a muselsl EEG stream on LSL and keeps reading it into a `RingBuffer`.

    Stream loss (no samples for `gap_after_s`) does not stop the source: the gap
    is recorded and the stream is re-resolved until it comes back (a restarted
    `muselsl stream` has a new outlet with the same `source_id`; no other is taken).
    """

    def __init__(
        self,
        name: str = "Muse",
        stream_type: str = "EEG",
        *,
        source_id: str | None = None,
        expected_rate_hz: float = 256.0,
        buffer_s: float = 300.0,
        gap_after_s: float = 2.0,
        resolve_timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self.stream_type = stream_type
        self.source_id = source_id  # None: the first stream of that name and type
        self.expected_rate_hz = expected_rate_hz
        self.buffer_s = buffer_s
        self.gap_after_s = gap_after_s
        self.resolve_timeout_s = resolve_timeout_s
        self.description: StreamDescription | None = None
        self.buffer: RingBuffer | None = None
        self.status = SourceStatus()
        self._inlet = None
        self._offset = 0.0  # add to a stamp to get Unix seconds
        self._last_unix: float | None = None  # the newest stamp pushed, Unix s
        self._resumed = False  # the next chunk is the first after a reconnect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status_lock = threading.Lock()

    # --- connecting ---------------------------------------------------------

    def _resolve(self, timeout_s: float):  # type: ignore[no-untyped-def]
        """The stream we want, or None after `timeout_s`.

        Asks LSL for exactly our name, type (and source id): a plain resolve by
        type returns as soon as *any* EEG stream answers, which may be another's.
        """
        pylsl = import_pylsl()

        wanted = {"name": self.name, "type": self.stream_type}
        if self.source_id is not None:
            wanted["source_id"] = self.source_id
        if self.description is not None:  # once connected, only our headset: never another's
            wanted["source_id"] = self.description.source_id
        predicate = " and ".join(
            f"{key}='{_xpath_literal(value)}'" for key, value in wanted.items()
        )
        infos = pylsl.resolve_bypred(predicate, minimum=1, timeout=timeout_s)
        return infos[0] if infos else None

    def _open(self, info) -> None:  # type: ignore[no-untyped-def]
        pylsl = import_pylsl()

        count, rate = info.channel_count(), info.nominal_srate()
        if count not in ACCEPTED_CHANNEL_COUNTS:
            raise ClassifierError(
                f"stream {info.name()!r} ({info.source_id()}) has {count} channels; a Muse EEG "
                "stream has 4 or 5 (TP9, AF7, AF8, TP10[, Right AUX]): check --name/--type"
            )
        if abs(rate - self.expected_rate_hz) > 0.5:
            raise ClassifierError(
                f"stream {info.name()!r} ({info.source_id()}) runs at {rate:g} Hz; "
                f"expected {self.expected_rate_hz:g} Hz as muselsl streams EEG"
            )
        inlet = pylsl.StreamInlet(info, max_buflen=int(self.buffer_s), recover=False)
        full = inlet.info(timeout=5.0)
        if full.uid() != info.uid():
            raise SenderReplacedError(
                f"{info.name()!r} ({info.source_id()}) is gone; its address now serves "
                f"{full.name()!r} ({full.source_id()})"
            )
        labels = (
            tuple(_channel_labels(full)) or (("TP9", "AF7", "AF8", "TP10", "Right AUX")[:count])
        )
        desc = StreamDescription(
            name=full.name(),
            type=full.type(),
            source_id=full.source_id(),
            channel_count=count,
            nominal_rate_hz=rate,
            channel_labels=labels,
        )
        if self.description is not None and desc.channel_labels != self.description.channel_labels:
            raise ClassifierError(
                f"the stream came back with channels {list(desc.channel_labels)} instead of "
                f"{list(self.description.channel_labels)}; restart the session"
            )
        self.description = desc
        self._inlet = inlet
        if self.buffer is None:
            self.buffer = RingBuffer(int(self.buffer_s * rate), count)

    def connect(self) -> StreamDescription:
        """Find the stream and start reading it; ClassifierError if none or if it is wrong."""
        info = self._resolve(self.resolve_timeout_s)
        if info is None:
            wanted = f" with source id {self.source_id!r}" if self.source_id else ""
            raise ClassifierError(
                f"no {self.stream_type} stream named {self.name!r}{wanted} on LSL after "
                f"{self.resolve_timeout_s:g} s; start `muselsl stream` (or `emotune simulate muse`)"
            )
        try:
            self._open(info)
        except ClassifierError:
            raise
        except Exception as exc:  # noqa: BLE001 - LostError or a timeout from a dying sender
            raise ClassifierError(
                f"the {self.stream_type} stream {info.name()!r} ({info.source_id()}) was lost "
                f"while connecting ({exc}); check that `muselsl stream` is still running"
            ) from None
        with self._status_lock:
            self.status.connected = True
        self._thread = threading.Thread(target=self._run, name="eeg-source", daemon=True)
        self._thread.start()
        assert self.description is not None
        return self.description

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._inlet = None

    def __enter__(self) -> EEGSource:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------

    def _to_unix(self, stamps: np.ndarray) -> np.ndarray:
        pylsl = import_pylsl()

        if not self.status.clock:
            unix_now, lsl_now = time.time(), pylsl.local_clock()
            clock = detect_clock(float(stamps[0]), unix_now, lsl_now)
            with self._status_lock:
                self.status.clock = clock
            self._offset = 0.0 if clock == "unix" else unix_now - lsl_now
        unix = stamps + self._offset
        now = time.time()
        ahead = float(unix[-1]) - now
        if ahead > MAX_STAMP_AHEAD_S:
            log.warning("EEG stamps run %.1f s ahead of this computer's clock: re-anchored", ahead)
            first = int(np.argmax(unix - now > MAX_STAMP_AHEAD_S))  # samples before the jump
            shift = self._follow_on_shift(unix, first, now)
            self._offset += shift
            unix[first:] += shift
            with self._status_lock:
                self.status.clock_jumps += 1
        self._reanchor_backward_steps(unix, now)
        self._last_unix = float(unix[-1])
        self._resumed = False
        return unix

    def _follow_on_shift(self, unix: np.ndarray, first: int, now: float) -> float:
        """How far to shift unix[first:] (one chunk, Unix s) after a step in the stamps.

        Within a connection the samples are contiguous, so the first one after the step
        follows its predecessor by one sample period (anchoring it to `now` would add the
        chunk's delivery delay as a step, and stored time would hold more seconds than
        samples). The first chunk of a session, and of a reconnect (the outage lasted until
        now), ends at `now` instead.
        """
        assert self.description is not None
        period = 1.0 / self.description.nominal_rate_hz
        ends_now = now - (len(unix) - 1) * period
        if first > 0:
            target = float(unix[first - 1]) + period
        elif self._last_unix is None:
            target = ends_now
        else:
            target = self._last_unix + period
            if self._resumed:
                target = max(target, ends_now)
        return target - float(unix[first])

    def _reanchor_backward_steps(self, unix: np.ndarray, now: float) -> None:
        """Shift, in place, the samples after each backward step of the stamps (see
        `_follow_on_shift`). unix: [n] Unix s of one chunk."""
        if self._last_unix is None:
            return
        while True:
            before = np.concatenate([[self._last_unix], unix[:-1]])
            back = np.flatnonzero(unix - before < -MAX_STAMP_BACK_S)
            if not len(back):
                return
            first = int(back[0])
            shift = self._follow_on_shift(unix, first, now)
            log.warning("EEG stamps stepped %.1f s back: re-anchored", -shift)
            self._offset += shift
            unix[first:] += shift
            with self._status_lock:
                self.status.clock_jumps += 1

    def _run(self) -> None:
        pylsl = import_pylsl()
        last_sample_wall = time.monotonic()
        last_stamp: float | None = None
        while not self._stop.is_set():
            if self._inlet is None:
                if self._try_reconnect():
                    last_sample_wall = time.monotonic()
                continue
            try:
                chunk, stamps = self._inlet.pull_chunk(timeout=0.1, max_samples=256)
            except Exception as exc:  # LostError, or anything else: never let the reader die
                if not isinstance(exc, pylsl.util.LostError):
                    log.warning("EEG stream read failed (%s): reconnecting", exc)
                self._open_gap(last_stamp)
                continue
            if chunk:
                unix = self._to_unix(np.asarray(stamps, dtype=np.float64))
                assert self.buffer is not None
                self.buffer.push(np.asarray(chunk, dtype=np.float64), unix)
                with self._status_lock:
                    gap = self.status.gaps[-1] if self.status.gaps else None
                    if gap is not None and gap.ended_at is None:
                        gap.ended_at = float(unix[0])
                last_stamp = float(unix[-1])
                last_sample_wall = time.monotonic()
            elif time.monotonic() - last_sample_wall > self.gap_after_s:
                log.info(
                    "no EEG samples for %.1f s: looking for the stream again", self.gap_after_s
                )
                self._open_gap(last_stamp)

    def _open_gap(self, last_stamp: float | None) -> None:
        """Record that samples stopped after `last_stamp` and drop the inlet."""
        with self._status_lock:
            if not (self.status.gaps and self.status.gaps[-1].ended_at is None):
                started = last_stamp if last_stamp is not None else time.time()
                self.status.gaps.append(Gap(started_at=started))
            self.status.connected = False
        self._inlet = None

    def _try_reconnect(self) -> bool:
        try:
            # A short wait gives up on an answer that is merely late (a busy machine) and asks
            # again from scratch; the wait ends at the first answer, so a longer one costs
            # nothing once the stream is back.
            info = self._resolve(timeout_s=RECONNECT_RESOLVE_S)
            if info is None:
                return False
            self._open(info)
        except ClassifierError as exc:
            log.warning("%s", exc)
            self._stop.wait(1.0)
            return False
        except Exception as exc:  # noqa: BLE001 - the reader thread must outlive any of these
            # A sender that is shutting down still answers the resolve, then is lost while
            # the inlet opens (LostError, or a timeout): it is not back yet, so look again.
            log.info("EEG stream vanished while reconnecting (%s): looking again", exc)
            self._inlet = None
            self._stop.wait(0.2)
            return False
        with self._status_lock:
            self.status.connected = True
            self.status.reconnects += 1
            self.status.clock = ""  # a restarted sender may stamp on another clock: detect anew
        self._resumed = True
        log.info("EEG stream is back (%s)", info.source_id())
        return True

    def snapshot_status(self) -> SourceStatus:
        with self._status_lock:
            return SourceStatus(
                connected=self.status.connected,
                clock=self.status.clock,
                gaps=[Gap(g.started_at, g.ended_at) for g in self.status.gaps],
                reconnects=self.status.reconnects,
                clock_jumps=self.status.clock_jumps,
            )

    @property
    def channel_labels(self) -> Sequence[str]:
        assert self.description is not None
        return self.description.channel_labels
