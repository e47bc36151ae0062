"""Calibration: fine-tune the active EEG model on the wearer's own self-rated listens.

Reads top to bottom: the self-rated listens and their sessions' raw EEG from
the store -> one segment per playing stretch, grouped by track -> the
classifier's `fine_tune` (which holds out whole tracks and scores base and
calibrated model on them) -> the new checkpoint registered in the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.db import repository
from app.db.engine import Store
from app.db.models import Listen, ListeningSession, SelfRating, Track
from app.errors import ModelError


@dataclass
class CalibrationReport:
    model_id: int
    model_name: str
    path: str
    rated_listens: int
    tracks: int
    windows: int
    held_out_tracks: list[str]
    metrics: dict[str, Any]
    activated: bool


def rated_segments(store: Store) -> list[Any]:
    """One `CalibrationSegment` per playing stretch of every self-rated listen."""
    from classifier.pipeline import CalibrationSegment
    from classifier.raw_store import read_fif

    with store.session() as db:
        rows = db.execute(
            select(Listen, SelfRating, Track, ListeningSession)
            .join(SelfRating, SelfRating.listen_id == Listen.id)
            .join(Track, Track.id == Listen.track_id)
            .join(ListeningSession, ListeningSession.id == Listen.session_id)
            .order_by(Listen.started_at)
        ).all()
        rated = [
            (list(listen.segments or []), rating.valence, rating.arousal, track.spotify_id,
             session.raw_path)
            for listen, rating, track, session in rows
        ]  # fmt: skip
    recordings: dict[str, Any] = {}
    segments = []
    for stretches, valence, arousal, track_id, raw_path in rated:
        if not raw_path or not raw_path.endswith(".fif") or not Path(raw_path).exists():
            continue  # a session whose raw EEG is missing cannot teach anything
        if raw_path not in recordings:
            recordings[raw_path] = read_fif(Path(raw_path))
        rec = recordings[raw_path]
        for start, end in stretches:
            part = rec.segment(start, end)
            if len(part.timestamps) == 0:
                continue
            segments.append(
                CalibrationSegment(
                    samples=part.samples,
                    timestamps=part.timestamps,
                    channel_labels=part.channel_labels,
                    rate_hz=part.rate_hz,
                    valence=float(valence),
                    arousal=float(arousal),
                    group=track_id,
                )
            )
    return segments


def calibrate_active_model(
    store: Store, models_dir: Path, *, activate: bool = True, line_noise_hz: float = 50.0
) -> CalibrationReport:
    from classifier.pipeline import fine_tune

    with store.session() as db:
        base = repository.active_model(db, "eeg")
        if base is None:
            raise ModelError("no active EEG model to calibrate; `emotune model use ID` picks one")
        base_path, base_name = base.path, base.name
    segments = rated_segments(store)
    if not segments:
        raise ModelError(
            "no self-rated listens with raw EEG yet: run `emotune listen --rate` and rate "
            "a few tracks (varied moods) first"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = models_dir / f"{base_name}-calibrated-{stamp}.pt"
    result = fine_tune(base_path, segments, out, line_noise_hz=line_noise_hz)
    tracks = sorted({s.group for s in segments})
    with store.session() as db:
        model = repository.register_model(
            db,
            name=out.stem,
            kind="eeg",
            path=str(result.path),
            description=f"{base_name} calibrated on {len(tracks)} self-rated tracks",
            metrics={"calibration": result.metrics},
            activate=activate,
        )
        model_id = model.id
    return CalibrationReport(
        model_id=model_id,
        model_name=out.stem,
        path=str(result.path),
        rated_listens=len({(s.group, s.timestamps[0]) for s in segments}),
        tracks=len(tracks),
        windows=result.n_windows,
        held_out_tracks=result.held_out,
        metrics=result.metrics,
        activated=activate,
    )
