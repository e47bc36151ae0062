"""The listening session: source -> windows -> predictor -> store.

Reads top to bottom in `ListenSession.run`: each tick drains new EEG samples
from the LSL ring buffer (and spools them raw to disk), polls the player about
once a second into the playback timeline, classifies the windows that have
completed, places each window on the timeline, and stores it at once, so a
crash loses only the last few seconds. When a listen ends, the track's tag is
recomputed. With --rate the listener's own ratings are asked for on a thread of
their own (`RatingDesk`), so the session goes on polling and classifying while
the question waits; an answer is stored, and the tag recomputed, when it comes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.aggregation import WindowProbs, aggregate_track, electrode_share
from app.db import repository
from app.db.engine import Store
from app.db.models import (
    Listen,
    ListeningSession,
    MoodReading,
    SelfRating,
    StreamGap,
    Track,
    WindowPrediction,
)
from app.timeline import Placement, PlaybackTimeline, PlayerSnapshot

log = logging.getLogger(__name__)

Event = dict[str, Any]
# (valence, arousal) 1-5, either None when left unrated; None skips the track.
Rating = tuple[int | None, int | None]
RatingPrompt = Callable[[dict[str, Any]], "Rating | None"]


class RatingDesk:
    """Asks for self-ratings one at a time on its own thread, in the order listens ended.

    `ask(...)` returns at once; `answered()` hands back the ratings given since the last
    call, as (listen id, track id, (valence, arousal) or None when skipped; one of the two
    None when left unrated). `close()`
    waits until every question asked has been answered or skipped.
    """

    def __init__(self, prompt: RatingPrompt) -> None:
        self._prompt = prompt
        self._questions: queue.Queue[tuple[int, int, dict[str, Any]] | None] = queue.Queue()
        self._answers: queue.Queue[tuple[int, int, Rating | None]] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="rating-prompt", daemon=True)
        self._thread.start()

    def ask(self, listen_id: int, track_id: int, info: dict[str, Any]) -> None:
        self._questions.put((listen_id, track_id, info))

    def answered(self) -> list[tuple[int, int, Rating | None]]:
        out = []
        while True:
            try:
                out.append(self._answers.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self._questions.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (question := self._questions.get()) is not None:
            listen_id, track_id, info = question
            try:
                rating = self._prompt(info)
            except Exception as exc:  # noqa: BLE001 - a broken prompt skips one rating only
                log.warning("rating prompt failed: %s", exc)
                rating = None
            self._answers.put((listen_id, track_id, rating))


# The shortest step between windows and between player polls: the session's tick.
MIN_STEP_S = 0.25


def step_for_playback_rate(playback_rate: float) -> float:
    """Seconds between windows, and between player polls, for a player that advances
    `playback_rate` track-seconds per wall second: 1 s for Spotify (1x). A sped-up player
    (the emulator) is watched that many times more often, down to MIN_STEP_S, so a track
    still gets about as many windows, and its edges are placed about as closely in track
    time, as at 1x."""
    return min(1.0, max(MIN_STEP_S, 1.0 / playback_rate))


@dataclass
class ListenOptions:
    duration_s: float | None = None  # None: until stopped
    poll_interval_s: float = 1.0
    playback_rate: float = 1.0  # track progress per wall second (the emulator may run faster)
    stride_s: float = 1.0
    min_windows_per_listen: int = 10
    mood_window_s: float = 30.0  # the current mood is the mean over this many seconds
    mood_every_s: float = 5.0
    edge_guard_s: float = 0.5  # classify a window only when this much signal follows it
    line_noise_hz: float = 50.0
    tick_s: float = MIN_STEP_S


@dataclass
class SessionSummary:
    session_id: int
    windows_kept: int = 0
    windows_rejected: int = 0
    windows_dropped: int = 0  # across a track change or a pause
    windows_outside: int = 0  # nothing taggable playing
    listens: int = 0
    tagged_tracks: list[str] = field(default_factory=list)
    gaps: int = 0
    samples: int = 0
    samples_lost: int = 0  # overwritten in the ring buffer before being read
    player_errors: int = 0  # polls of the player that failed (and were skipped)
    raw_path: str | None = None


def snapshot_from_playback(state: Any, at: float) -> PlayerSnapshot:
    """Turn the Spotify client's `PlaybackState` (or None: nothing playing) into a snapshot."""
    if state is None:
        return PlayerSnapshot(at=at, is_playing=False)
    return PlayerSnapshot(
        at=at,
        is_playing=bool(state.is_playing),
        item_type=state.item_type,
        track_id=state.track_id,
        uri=state.uri,
        name=state.name or "",
        artists=tuple(state.artists or ()),
        album=state.album or "",
        duration_ms=state.duration_ms,
        progress_ms=state.progress_ms,
    )


class ListenSession:
    """One run of `emotune listen`. Construct, then `run()`; `stop` ends it from another thread."""

    def __init__(
        self,
        store: Store,
        source: Any,  # classifier.lsl_source.EEGSource, connected
        predictor: Any,  # classifier.pipeline.Predictor
        poll_player: Callable[[], PlayerSnapshot],
        *,
        model_id: int | None,
        recordings_dir: Path,
        options: ListenOptions,
        emit: Callable[[Event], None] = lambda e: None,
        ask_rating: RatingPrompt | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.predictor = predictor
        self.poll_player = poll_player
        self.model_id = model_id
        self.recordings_dir = recordings_dir
        self.opts = options
        self.emit = emit
        self.ratings = RatingDesk(ask_rating) if ask_rating is not None else None
        self.stop = stop or threading.Event()
        self.timeline = PlaybackTimeline(playback_rate=options.playback_rate)
        self._listen_rows: dict[int, int] = {}  # timeline seq -> Listen.id
        self._track_rows: dict[int, int] = {}  # timeline seq -> Track.id
        self._pending: list[Any] = []  # classified windows waiting for the timeline
        self._recent: list[tuple[float, WindowProbs]] = []  # (window end, its probabilities)
        self._gaps_seen: dict[int, int] = {}  # index in source gaps -> StreamGap.id
        self.live: Any = None  # classifier.pipeline.LiveClassifier, made when the run starts
        self.contact_watch: Any = None  # classifier.quality.ContactWatch, made with `live`

    # --- the session, top to bottom -------------------------------------------------

    def run(self) -> SessionSummary:
        from classifier.pipeline import LiveClassifier
        from classifier.raw_store import RawSpool, finalize_spool

        desc = self.source.description
        self.predictor.check_stream(desc.channel_labels, desc.nominal_rate_hz)
        started = time.time()
        with self.store.session() as db:
            row = ListeningSession(
                started_at=started,
                stream_name=desc.name,
                stream_source_id=desc.source_id,
                stream_channels=list(desc.channel_labels),
                stream_rate_hz=desc.nominal_rate_hz,
                model_id=self.model_id,
            )
            db.add(row)
            db.flush()
            self.summary = SessionSummary(session_id=row.id)
            spool_path = self.recordings_dir / f"session-{row.id:05d}.spool"
            # Point at the spool from the start: after a crash `emotune reclassify` finds it.
            row.raw_path = str(spool_path)
        spool = RawSpool(spool_path, tuple(desc.channel_labels), desc.nominal_rate_hz)
        self.emit(
            {
                "event": "session",
                "session_id": self.summary.session_id,
                "stream": desc.name,
                "source_id": desc.source_id,
                "channels": list(desc.channel_labels),
            }
        )

        live = LiveClassifier(
            self.predictor,
            desc.channel_labels,
            desc.nominal_rate_hz,
            stride_s=self.opts.stride_s,
            line_noise_hz=self.opts.line_noise_hz,
            edge_guard_s=self.opts.edge_guard_s,
        )
        self.live = live
        read_index, next_poll, next_mood = 0, 0.0, started + self.opts.mood_every_s
        try:
            while not self.stop.is_set():
                now = time.time()
                if self.opts.duration_s is not None and now - started >= self.opts.duration_s:
                    break
                # 1. source: new samples since the last tick, spooled raw to disk
                samples, stamps, read_index, lost = self.source.buffer.read_since(read_index)
                self.summary.samples += len(samples)
                self.summary.samples_lost += lost
                spool.append(samples, stamps)
                live.push(samples, stamps)
                # 2. player: one poll every poll_interval_s into the timeline
                if now >= next_poll:
                    next_poll = now + self.opts.poll_interval_s
                    self._poll_player()
                # 3. windows: classify those that completed since the last tick
                new_windows = live.tick(connected=self.source.snapshot_status().connected)
                self._watch_contact(new_windows)
                self._pending.extend(new_windows)
                # 4. store: place windows on the timeline and write them at once
                self._place_pending()
                self._record_gaps()
                self._store_ratings()
                if now >= next_mood:
                    next_mood = now + self.opts.mood_every_s
                    self._store_mood(now)
                self.stop.wait(self.opts.tick_s)
        finally:
            self._finish(spool, spool_path, finalize_spool)
        return self.summary

    # --- steps ---------------------------------------------------------------------------

    def _poll_player(self) -> None:
        """One poll; a failed poll (Spotify down, rate limit beyond its bound) skips a beat.

        The session must outlive the player: EEG keeps being stored, and windows
        are placed once polls succeed again.
        """
        try:
            snap = self.poll_player()
        except Exception as exc:  # noqa: BLE001 - any failure of the player is survivable
            self.summary.player_errors += 1
            log.warning("player poll failed: %s", exc)
            self.emit({"event": "player_error", "error": str(exc)})
            return
        self._observe_player(snap)

    def _watch_contact(self, windows: list[Any]) -> None:
        """Warn once per electrode that has been bad for 30 s (the contact check's advice)."""
        from classifier.quality import ContactWatch, contact_advice

        if self.contact_watch is None:
            self.contact_watch = ContactWatch(after_s=30.0)
        for w in windows:
            for channel, problem in self.contact_watch.observe(w.end_time, w.quality):
                self.emit(
                    {
                        "event": "contact",
                        "electrode": channel,
                        "status": "bad",
                        "bad_for_s": self.contact_watch.after_s,
                        "advice": contact_advice(channel, problem),
                    }
                )

    def _observe_player(self, snap: PlayerSnapshot) -> None:
        for event in self.timeline.observe(snap):
            if event.kind == "listen_started":
                self._start_listen(event.listen)
            else:
                self._end_listen(event.listen)

    def _start_listen(self, listen: Any) -> None:
        t = listen.track
        with self.store.session() as db:
            track = repository.upsert_track(
                db,
                spotify_id=t.track_id,
                uri=t.uri,
                name=t.name,
                artists=list(t.artists),
                album=t.album,
                duration_ms=t.duration_ms,
            )
            row = Listen(
                session_id=self.summary.session_id,
                track_id=track.id,
                started_at=listen.started_at,
                progress_start_ms=listen.progress_start_ms,
            )
            db.add(row)
            db.flush()
            self._listen_rows[listen.seq] = row.id
            self._track_rows[listen.seq] = track.id
        self.summary.listens += 1
        self.emit(
            {
                "event": "listen_start",
                "track": t.name or t.track_id,
                "uri": t.uri,
                "at": listen.started_at,
            }
        )

    def _end_listen(self, listen: Any) -> None:
        # Windows still pending when the track ends can be placed now: the timeline knows.
        self._place_pending()
        listen_id, track_id = self._listen_rows[listen.seq], self._track_rows[listen.seq]
        with self.store.session() as db:
            row = db.get(Listen, listen_id)
            assert row is not None
            row.ended_at = listen.ended_at
            row.progress_end_ms = listen.progress_end_ms
            row.completed = listen.completed
            row.skipped = listen.skipped
            row.paused_s = listen.paused_s
            row.windows_dropped = listen.windows_dropped
            row.segments = [[seg.start, seg.end] for seg in listen.segments]
            db.flush()
            tag = repository.recompute_track_tag(
                db, track_id, min_windows_per_listen=self.opts.min_windows_per_listen
            )
        event: Event = {
            "event": "listen_end",
            "track": listen.track.name or listen.track.track_id,
            "uri": listen.track.uri,
            "completed": listen.completed,
            "skipped": listen.skipped,
            "windows_dropped": listen.windows_dropped,
        }
        self.emit(event)
        if tag is not None:
            self.summary.tagged_tracks.append(listen.track.track_id)
            self._emit_tag(listen.track.uri, listen.track.name or listen.track.track_id, tag)
        if self.ratings is not None:
            self.ratings.ask(listen_id, track_id, {"track": event["track"]})

    def _store_ratings(self) -> None:
        """The self-ratings answered since the last tick: stored, and their tracks re-tagged."""
        if self.ratings is None:
            return
        for listen_id, track_id, rating in self.ratings.answered():
            if rating is None:
                continue
            with self.store.session() as db:
                db.add(SelfRating(listen_id=listen_id, valence=rating[0], arousal=rating[1]))
                db.flush()
                tag = repository.recompute_track_tag(
                    db, track_id, min_windows_per_listen=self.opts.min_windows_per_listen
                )
                track = db.get(Track, track_id)
                uri, name = (track.uri, track.name or track.spotify_id) if track else (None, "")
                if tag is not None and track and track.spotify_id not in self.summary.tagged_tracks:
                    self.summary.tagged_tracks.append(track.spotify_id)  # tagged by the rating
            self.emit(
                {"event": "rating", "track": name, "valence": rating[0], "arousal": rating[1]}
            )
            if tag is not None:
                self._emit_tag(uri, name, tag)

    def _emit_tag(self, uri: str | None, name: str, tag: Any) -> None:
        self.emit(
            {
                "event": "tag",
                "uri": uri,
                "track": name,
                "emotion": tag.quadrant,
                "valence": round(tag.valence, 4),
                "arousal": round(tag.arousal, 4),
                "confidence": round(tag.confidence, 4),
                "windows": tag.n_windows,
                "listens": tag.n_listens,
                "source": tag.source,
                "basis": tag.basis,  # self, calibrated, generic or synthetic (model trained on)
            }
        )

    def _place_pending(self, *, final: bool = False) -> None:
        """Store the windows the timeline can place; at the end, the rest count as outside."""
        if not self._pending:
            return
        rows, still_pending = [], []
        for w in self._pending:
            placement, listen = self.timeline.locate(w.start_time, w.end_time)
            if placement is Placement.PENDING and final:
                placement, listen = Placement.OUTSIDE, None
            if placement is Placement.PENDING:
                still_pending.append(w)
                continue
            listen_id = None
            if placement is Placement.INSIDE:
                listen_id = self._listen_rows.get(listen.seq)
            elif placement is Placement.TRANSITION:
                listen.windows_dropped += 1
                self.summary.windows_dropped += 1
            else:
                self.summary.windows_outside += 1
            if w.rejected:
                self.summary.windows_rejected += 1
            elif placement is Placement.INSIDE:
                self.summary.windows_kept += 1
            if not w.rejected and w.p_valence is not None:
                probs = WindowProbs(
                    0, w.p_valence, w.p_arousal, w.confidence, electrodes=electrode_share(w.quality)
                )
                self._recent.append((w.end_time, probs))
            rows.append(self._window_row(w, listen_id))
            self.emit(
                {
                    "event": "window",
                    "start": w.start_time,
                    "end": w.end_time,
                    "placement": placement.value,
                    "track": (listen.track.name or listen.track.track_id) if listen else None,
                    "p_valence": w.p_valence,
                    "p_arousal": w.p_arousal,
                    "confidence": w.confidence,
                    "rejected": w.rejected,
                    "reason": w.reject_reason,
                    "quality": w.quality,
                }
            )
        self._pending = still_pending
        if rows:
            with self.store.session() as db:
                db.add_all(rows)

    def _window_row(self, w: Any, listen_id: int | None) -> WindowPrediction:
        return WindowPrediction(
            **repository.window_prediction_values(
                w, session_id=self.summary.session_id, listen_id=listen_id, model_id=self.model_id
            )
        )

    def _record_gaps(self) -> None:
        status = self.source.snapshot_status()
        for i, gap in enumerate(status.gaps):
            known = self._gaps_seen.get(i)
            if known is None:
                with self.store.session() as db:
                    row = StreamGap(
                        session_id=self.summary.session_id,
                        started_at=gap.started_at,
                        ended_at=gap.ended_at,
                    )
                    db.add(row)
                    db.flush()
                    self._gaps_seen[i] = row.id
                self.summary.gaps += 1
                self.emit({"event": "gap", "started_at": gap.started_at, "ended_at": gap.ended_at})
            elif gap.ended_at is not None:
                with self.store.session() as db:
                    row = db.get(StreamGap, known)
                    if row is not None and row.ended_at is None:
                        row.ended_at = gap.ended_at
                        self.emit(
                            {
                                "event": "gap_end",
                                "started_at": gap.started_at,
                                "ended_at": gap.ended_at,
                            }
                        )

    def _store_mood(self, now: float) -> None:
        cutoff = now - self.opts.mood_window_s
        self._recent = [r for r in self._recent if r[0] >= cutoff]
        # The current mood is aggregated exactly as a track's tag is, over the last N seconds.
        mood = aggregate_track([probs for _, probs in self._recent])
        if mood is None:
            return
        with self.store.session() as db:
            db.add(
                MoodReading(
                    at=now,
                    source="eeg",
                    p_valence=mood.valence,
                    p_arousal=mood.arousal,
                    confidence=mood.confidence,
                    label=mood.quadrant,
                    session_id=self.summary.session_id,
                )
            )

    def _finish(self, spool: Any, spool_path: Path, finalize_spool: Callable) -> None:
        end = time.time()
        for event in self.timeline.close(end):
            self._end_listen(event.listen)
        self._place_pending(final=True)
        if self.ratings is not None:
            self.ratings.close()  # the session is over; the last questions may still be open
            self._store_ratings()
        spool.close()
        raw_path: str | None = None
        try:
            fif = spool_path.with_name(spool_path.stem + "_raw.fif")
            raw_path = str(finalize_spool(spool_path, fif))
        except Exception as exc:  # keep the spool: `emotune reclassify` can convert it later
            log.warning("raw EEG kept as %s (%s)", spool_path, exc)
            raw_path = str(spool_path) if spool_path.exists() else None
        self.summary.raw_path = raw_path
        with self.store.session() as db:
            row = db.get(ListeningSession, self.summary.session_id)
            assert row is not None
            row.ended_at = end
            row.stream_clock = self.source.snapshot_status().clock
            row.raw_path = raw_path
            alignment = self.live.alignment if self.live is not None else None
            row.alignment = alignment.to_json() if alignment is not None else None
        self.emit({"event": "session_end", **self.summary.__dict__})
