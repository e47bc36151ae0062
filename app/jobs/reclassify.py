"""Re-running a model over stored EEG: `emotune reclassify` and `emotune import-recording`.

Both read raw EEG (a session's FIF file, or a muselsl CSV), classify every
window in batches with `classify_recording`, place each window on the stored
listens' playing segments, replace the stored window predictions in one unit
of work, and recompute the tags of the tracks involved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from app.db import repository
from app.db.engine import Store
from app.db.models import Listen, ListeningSession, WindowPrediction
from app.errors import ConfigError, NotFoundError
from app.timeline import Placement, StoredListen, place_window


@dataclass
class ReclassifyResult:
    session_id: int
    windows: int
    kept: int
    rejected: int
    dropped: int
    tracks_retagged: int
    seconds_of_eeg: float


def _window_rows(
    results: list[Any], session_id: int, model_id: int | None, listens: list[StoredListen]
) -> tuple[list[dict[str, Any]], dict[int, int], int]:
    """Rows for the window table, the windows dropped per listen, and the total kept."""
    rows, dropped, kept = [], {}, 0
    for w in results:
        placement, listen = place_window(w.start_time, w.end_time, listens)
        listen_id = listen.listen_id if placement is Placement.INSIDE and listen else None
        if placement is Placement.TRANSITION and listen is not None:
            dropped[listen.listen_id] = dropped.get(listen.listen_id, 0) + 1
        if listen_id is not None and not w.rejected:
            kept += 1
        rows.append(
            repository.window_prediction_values(
                w, session_id=session_id, listen_id=listen_id, model_id=model_id
            )
        )
    return rows, dropped, kept


def _store_windows(
    store: Store,
    session_id: int,
    results: list[Any],
    model_id: int | None,
    min_windows_per_listen: int,
) -> tuple[int, int, int]:
    """Replace a session's windows and retag its tracks; returns (kept, dropped, retagged)."""
    with store.session() as db:
        listen_rows = list(db.scalars(select(Listen).where(Listen.session_id == session_id)))
        for row in listen_rows:
            if row.ended_at is None:  # the listener died mid-track: close the listen where
                # the windows it credited live end (the last few seconds are all a crash costs)
                last = db.scalar(
                    select(func.max(WindowPrediction.end_time)).where(
                        WindowPrediction.listen_id == row.id
                    )
                )
                row.ended_at = float(last) if last is not None else row.started_at
                row.segments = [[row.started_at, row.ended_at]]
                row.completed = False
        listens = [
            StoredListen(
                listen_id=row.id,
                segments=tuple((float(a), float(b)) for a, b in (row.segments or [])),
            )
            for row in listen_rows
        ]
        rows, dropped, kept = _window_rows(results, session_id, model_id, listens)
        db.execute(delete(WindowPrediction).where(WindowPrediction.session_id == session_id))
        if rows:
            db.execute(insert(WindowPrediction), rows)
        for row in listen_rows:
            row.windows_dropped = dropped.get(row.id, 0)
        track_ids = sorted({row.track_id for row in listen_rows})
        for track_id in track_ids:
            repository.recompute_track_tag(
                db, track_id, min_windows_per_listen=min_windows_per_listen
            )
    return kept, sum(dropped.values()), len(track_ids)


def _load_session_eeg(session: ListeningSession) -> Any:
    from classifier.raw_store import finalize_spool, read_fif, spool_in_use

    if not session.raw_path:
        raise NotFoundError(f"session {session.id} kept no raw EEG; nothing to re-classify")
    path = Path(session.raw_path)
    if path.suffix == ".spool" and spool_in_use(path):
        raise NotFoundError(
            f"session {session.id} is still recording; re-classify it after `emotune listen` stops"
        )
    if path.suffix == ".spool" and path.exists():  # left by a crash: convert it now
        path = finalize_spool(path, path.with_name(path.stem + "_raw.fif"))
    return read_fif(path), str(path)


def reclassify_sessions(
    store: Store,
    predictor: Any,
    model_id: int | None,
    *,
    session_ids: list[int] | None = None,
    min_windows_per_listen: int = 10,
    line_noise_hz: float = 50.0,
    on_session: Callable[[ReclassifyResult], None] = lambda r: None,
) -> list[ReclassifyResult]:
    """Re-classify stored sessions with `predictor` (all sessions with raw EEG by default)."""
    from classifier.pipeline import classify_recording

    with store.session() as db:
        stmt = select(ListeningSession).order_by(ListeningSession.id)
        if session_ids:
            stmt = stmt.where(ListeningSession.id.in_(session_ids))
        sessions = list(db.scalars(stmt))
    if session_ids:
        missing = sorted(set(session_ids) - {s.id for s in sessions})
        if missing:
            raise NotFoundError(f"no session {missing[0]}; `emotune sessions` lists them")
    out = []
    for session in sessions:
        if not session.raw_path:
            continue
        try:
            rec, raw_path = _load_session_eeg(session)
        except NotFoundError:
            if session_ids:  # asked for by id: say why not
                raise
            continue  # a session still recording: leave it to its listener
        # The session's wearer statistics are rebuilt window by window, as live.
        alignment = predictor.new_alignment()
        results = classify_recording(
            predictor,
            rec.samples,
            rec.timestamps,
            rec.channel_labels,
            rec.rate_hz,
            line_noise_hz=line_noise_hz,
            batch_size=256,
            alignment=alignment,
        )
        kept, dropped, retagged = _store_windows(
            store, session.id, results, model_id, min_windows_per_listen
        )
        with store.session() as db:
            row = db.get(ListeningSession, session.id)
            if row is not None:
                row.model_id, row.raw_path = model_id, raw_path
                row.alignment = alignment.to_json() if alignment is not None else None
        result = ReclassifyResult(
            session_id=session.id,
            windows=len(results),
            kept=kept,
            rejected=sum(1 for w in results if w.rejected),
            dropped=dropped,
            tracks_retagged=retagged,
            seconds_of_eeg=len(rec.timestamps) / rec.rate_hz,
        )
        on_session(result)
        out.append(result)
    return out


TRACK_PATTERNS = (
    re.compile(r"^spotify:track:([0-9A-Za-z]{22})$"),
    re.compile(
        r"^https?://open\.spotify\.com/(?:intl-[a-z]+/)?track/([0-9A-Za-z]{22})(?:[/?#].*)?$"
    ),
    re.compile(r"^([0-9A-Za-z]{22})$"),
)


def track_id_from(text: str) -> str:
    """The Spotify track id in a track URI, URL or bare id."""
    for pattern in TRACK_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            return match.group(1)
    raise ConfigError(
        f"{text!r} is not a Spotify track: give spotify:track:ID, an open.spotify.com/track/ URL "
        "or the 22-character id"
    )


def parse_start(text: str) -> float:
    """An ISO 8601 time (naive means UTC) as Unix seconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--start {text!r} is not an ISO time; write it like 2026-11-24T20:15:00Z"
        ) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def import_recording(
    store: Store,
    predictor: Any,
    model_id: int | None,
    csv_path: Path,
    *,
    track: str,
    start: str,
    recordings_dir: Path,
    duration_s: float | None = None,
    min_windows_per_listen: int = 10,
    line_noise_hz: float = 50.0,
) -> ReclassifyResult:
    """Bring in a muselsl recording made while `track` played from `start` (ISO time).

    The recording becomes a session (its raw EEG saved as FIF) with one listen
    of the track from `start` for `duration_s` (default: to the end of the
    recording). muselsl stamps on time.time() by default, so the CSV's own
    times place it; a recording stamped on the LSL clock (`--lsltime`) is taken
    to begin at `start`.
    """
    from classifier.datasets import read_muselsl_csv, unreadable_note
    from classifier.pipeline import classify_recording
    from classifier.raw_store import RawRecording, write_fif

    track_id = track_id_from(track)
    start_unix = parse_start(start)
    samples, stamps, labels = read_muselsl_csv(csv_path)
    if stamps[0] < 1e9:  # LSL clock (seconds since boot), not Unix time
        stamps = stamps - stamps[0] + start_unix
    end = stamps[-1] if duration_s is None else min(stamps[-1], start_unix + duration_s)
    if end <= start_unix:
        raise ConfigError(
            f"{csv_path.name} ends before --start {start}; check the time (UTC unless it has an "
            "offset)"
        )
    predictor.check_stream(labels, 256.0)
    # Classify first: a recording no window of which can be read leaves nothing in the store.
    alignment = predictor.new_alignment()
    results = classify_recording(
        predictor,
        samples,
        stamps,
        labels,
        256.0,
        line_noise_hz=line_noise_hz,
        batch_size=256,
        alignment=alignment,
    )
    if results and all(w.rejected for w in results):
        raise ConfigError(
            f"{csv_path.name}: {unreadable_note([w.reject_reason for w in results])}; "
            "nothing was imported"
        )
    with store.session() as db:
        session = ListeningSession(
            started_at=float(stamps[0]),
            ended_at=float(stamps[-1]),
            stream_name=f"imported from {csv_path.name}",
            stream_channels=list(labels),
            stream_rate_hz=256.0,
            stream_clock="unix",
            model_id=model_id,
        )
        db.add(session)
        db.flush()
        session_id = session.id
        fif = recordings_dir / f"session-{session_id:05d}_raw.fif"
        write_fif(fif, RawRecording(samples.astype(float), stamps, tuple(labels), 256.0))
        session.raw_path = str(fif)
        track_row = repository.upsert_track(db, spotify_id=track_id)
        db.add(
            Listen(
                session_id=session_id,
                track_id=track_row.id,
                started_at=start_unix,
                ended_at=float(end),
                completed=duration_s is not None and stamps[-1] >= start_unix + duration_s,
                segments=[[start_unix, float(end)]],
            )
        )
    kept, dropped, retagged = _store_windows(
        store, session_id, results, model_id, min_windows_per_listen
    )
    if alignment is not None:
        with store.session() as db:
            row = db.get(ListeningSession, session_id)
            if row is not None:
                row.alignment = alignment.to_json()
    return ReclassifyResult(
        session_id=session_id,
        windows=len(results),
        kept=kept,
        rejected=sum(1 for w in results if w.rejected),
        dropped=dropped,
        tracks_retagged=retagged,
        seconds_of_eeg=len(stamps) / 256.0,
    )
