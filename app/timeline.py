"""The playback timeline: which track was playing when, built from polls of the player.

Pure: it takes `PlayerSnapshot`s (one per poll, about once a second) and
answers, for an EEG window [start, end] in Unix seconds, whether it lies wholly
inside a playing stretch of one listen. Segment edges are conservative: a
segment runs from the moment playback is known to have started (no earlier
than the previous poll) to the last poll that saw it playing, so a window is
never credited to a track that might not have been playing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class PlayerSnapshot:
    """One poll of the player. `at` is the local Unix time of the poll (s)."""

    at: float
    is_playing: bool
    item_type: str | None = None  # "track" | "episode" | "ad" | "unknown" | None (nothing)
    track_id: str | None = None  # None for local files
    uri: str | None = None
    name: str = ""
    artists: tuple[str, ...] = ()
    album: str = ""
    duration_ms: int | None = None
    progress_ms: int | None = None

    @property
    def taggable(self) -> bool:
        """A Spotify track (not an ad, an episode or a local file)."""
        return self.item_type == "track" and self.track_id is not None


@dataclass
class PlayingSegment:
    start: float
    end: float
    progress_start_ms: int
    progress_end_ms: int


@dataclass
class ListenRecord:
    """One play of one track; `seq` numbers listens within the timeline."""

    seq: int
    track: PlayerSnapshot  # the first snapshot of the listen (track metadata)
    started_at: float
    ended_at: float | None = None
    segments: list[PlayingSegment] = field(default_factory=list)
    paused_s: float = 0.0
    progress_start_ms: int = 0
    progress_end_ms: int = 0
    completed: bool = False
    skipped: bool = False
    windows_dropped: int = 0

    @property
    def open(self) -> bool:
        return self.ended_at is None


class Placement(Enum):
    INSIDE = "inside"  # wholly inside one playing segment of a listen
    PENDING = "pending"  # ends after the last poll: ask again later
    TRANSITION = "transition"  # partly playing: crosses a pause, seek or track change
    OUTSIDE = "outside"  # nothing taggable was playing (or the track was paused) throughout


@dataclass(frozen=True)
class TimelineEvent:
    kind: str  # "listen_started" | "listen_ended"
    listen: ListenRecord


class PlaybackTimeline:
    """Builds listens and playing segments from successive player snapshots.

    `playback_rate` is how fast track progress advances per wall-clock second
    (1.0 for Spotify; the local emulator can run faster), used to tell seeks
    from ordinary progress.
    """

    def __init__(self, *, playback_rate: float = 1.0, seek_tolerance_s: float = 2.5) -> None:
        self.playback_rate = playback_rate
        self.seek_tolerance_ms = seek_tolerance_s * 1000.0 * playback_rate
        self.listens: list[ListenRecord] = []
        self._prev: PlayerSnapshot | None = None
        self._segment: PlayingSegment | None = None  # the open segment of the open listen
        self.last_poll_at: float | None = None

    @property
    def current(self) -> ListenRecord | None:
        return self.listens[-1] if self.listens and self.listens[-1].open else None

    def observe(self, snap: PlayerSnapshot) -> list[TimelineEvent]:
        """Take one poll; returns the listens that started or ended with it."""
        events: list[TimelineEvent] = []
        prev, self._prev = self._prev, snap
        self.last_poll_at = snap.at
        listen = self.current
        same_track = listen is not None and snap.taggable and snap.track_id == listen.track.track_id

        if listen is not None and not same_track:  # another track, an ad, or nothing
            events.append(self._end_listen(listen, prev, snap, switched=snap.taggable))
            listen = None
        elif listen is not None and same_track and prev is not None:
            if self._restarted(prev, snap):  # repeat: the same track from the top again
                events.append(self._end_listen(listen, prev, snap, switched=True))
                listen = None
            elif not snap.is_playing:
                self._close_segment()
                listen.paused_s += snap.at - prev.at
            elif self._segment is not None and self._seeked(prev, snap):
                self._close_segment()

        if snap.taggable and snap.is_playing:
            if listen is None:
                listen = ListenRecord(
                    seq=len(self.listens),
                    track=snap,
                    started_at=self._start_estimate(prev, snap),
                    progress_start_ms=snap.progress_ms or 0,
                )
                self.listens.append(listen)
                events.append(TimelineEvent("listen_started", listen))
            if self._segment is None:
                self._segment = PlayingSegment(
                    start=self._start_estimate(prev, snap),
                    end=snap.at,
                    progress_start_ms=snap.progress_ms or 0,
                    progress_end_ms=snap.progress_ms or 0,
                )
                listen.segments.append(self._segment)
            else:
                self._segment.end = snap.at
                self._segment.progress_end_ms = snap.progress_ms or 0
            listen.progress_end_ms = snap.progress_ms or listen.progress_end_ms
        return events

    def close(self, at: float) -> list[TimelineEvent]:
        """End the open listen (the session is over)."""
        listen = self.current
        if listen is None:
            return []
        return [self._end_listen(listen, self._prev, None, switched=False, at=at)]

    def locate(self, start: float, end: float) -> tuple[Placement, ListenRecord | None]:
        """Where the window [start, end] (Unix s) falls."""
        if self.last_poll_at is None or end > self.last_poll_at:
            return Placement.PENDING, None
        for listen in reversed(self.listens):
            for seg in listen.segments:
                if seg.start <= start and end <= seg.end:
                    return Placement.INSIDE, listen
        for listen in reversed(self.listens):
            for seg in listen.segments:
                if start < seg.end and end > seg.start:  # partly playing: crosses an edge
                    return Placement.TRANSITION, listen
        return Placement.OUTSIDE, None

    # --- internals -------------------------------------------------------------

    def _start_estimate(self, prev: PlayerSnapshot | None, snap: PlayerSnapshot) -> float:
        """When playback began: from progress, but never before the previous poll."""
        from_progress = snap.at - (snap.progress_ms or 0) / 1000.0 / self.playback_rate
        if prev is None:
            return max(from_progress, snap.at - 1.0)
        return max(from_progress, prev.at)

    def _seeked(self, prev: PlayerSnapshot, snap: PlayerSnapshot) -> bool:
        if prev.progress_ms is None or snap.progress_ms is None or not prev.is_playing:
            return False
        expected = prev.progress_ms + (snap.at - prev.at) * 1000.0 * self.playback_rate
        return abs(snap.progress_ms - expected) > self.seek_tolerance_ms

    def _restarted(self, prev: PlayerSnapshot, snap: PlayerSnapshot) -> bool:
        if prev.progress_ms is None or snap.progress_ms is None or prev.duration_ms is None:
            return False
        near_end = prev.duration_ms - prev.progress_ms <= self.seek_tolerance_ms
        return near_end and snap.progress_ms < prev.progress_ms and snap.progress_ms < 5000

    def _close_segment(self) -> None:
        self._segment = None

    def _end_listen(
        self,
        listen: ListenRecord,
        prev: PlayerSnapshot | None,
        snap: PlayerSnapshot | None,
        *,
        switched: bool,
        at: float | None = None,
    ) -> TimelineEvent:
        self._close_segment()
        listen.ended_at = at if at is not None else (snap.at if snap is not None else None)
        if listen.ended_at is None:
            listen.ended_at = prev.at if prev is not None else listen.started_at
        duration = listen.track.duration_ms
        # Completed if the last poll saw it within two polls' worth of progress of its end.
        slack_ms = max(3000.0, 2.0 * 1000.0 * self.playback_rate)
        listen.completed = duration is not None and duration - listen.progress_end_ms <= slack_ms
        listen.skipped = switched and not listen.completed
        return TimelineEvent("listen_ended", listen)


@dataclass(frozen=True)
class StoredListen:
    """A listen as the store keeps it: its id and playing segments (Unix s)."""

    listen_id: int
    segments: tuple[tuple[float, float], ...]


# A batch run times a window on a line fitted over the whole stretch of stamps, the live
# run over its few seconds of buffer: the same window's times then differ by float rounding
# (Unix seconds carry about 1e-7 s) or a sender's jitter. A window overhanging a stored edge
# by less than this is the one the live run credited there (a stored edge is itself known
# only to a player poll, about a second).
EDGE_TOLERANCE_S = 0.01


def place_window(
    start: float, end: float, listens: list[StoredListen]
) -> tuple[Placement, StoredListen | None]:
    """Where a window falls among stored listens (used when re-classifying or importing)."""
    for listen in listens:
        for seg_start, seg_end in listen.segments:
            if seg_start - EDGE_TOLERANCE_S <= start and end <= seg_end + EDGE_TOLERANCE_S:
                return Placement.INSIDE, listen
    for listen in listens:
        for seg_start, seg_end in listen.segments:
            if start < seg_end and end > seg_start:
                return Placement.TRANSITION, listen
    return Placement.OUTSIDE, None
