"""Calibration: fine-tune the active EEG model on the wearer's own self-rated listens.

Reads top to bottom: the self-rated listens and their sessions' raw EEG from
the store -> one segment per playing stretch, grouped by track -> the
classifier's `fine_tune` (which holds out whole tracks and scores base and
calibrated model on them) -> the new checkpoint registered in the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.db import repository
from app.db.engine import Store
from app.db.models import Listen, ListeningSession, SelfRating, Track
from app.errors import ModelError


@dataclass
class CalibrationReport:
    """What `emotune model calibrate` found. model_id/model_name/path are None when the
    calibrated model was not kept (it did not beat the base model and the majority class
    on held-out tracks, and --force was not given); advice then says what to rate next."""

    base_model: str
    rated_listens: int
    tracks: int
    windows: int
    metrics: dict[str, Any]
    beats_base_and_majority: bool
    activated: bool
    advice: str
    model_id: int | None = None
    model_name: str | None = None
    path: str | None = None
    notes: list[str] = field(default_factory=list)


def rated_segments(store: Store) -> list[Any]:
    """One `CalibrationSegment` per playing stretch of every self-rated listen.

    A dimension the listener left unrated is None in the segment: no label for it."""
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
                    valence=None if valence is None else float(valence),
                    arousal=None if arousal is None else float(arousal),
                    group=track_id,
                )
            )
    return segments


def calibrate_active_model(
    store: Store,
    models_dir: Path,
    *,
    activate: bool = True,
    force: bool = False,
    line_noise_hz: float = 50.0,
) -> CalibrationReport:
    """Calibrate the active EEG model on every self-rated listen with raw EEG.

    The calibrated model is saved and registered only when it beats the active model and the
    majority class on held-out tracks, or with force; it is made active when `activate`.
    """
    from classifier.errors import ClassifierError
    from classifier.pipeline import fine_tune

    with store.session() as db:
        base = repository.active_model(db, "eeg")
        if base is None:
            raise ModelError("no active EEG model to calibrate; `emotune model use ID` picks one")
        base_path, base_name = base.path, base.name
    segments = rated_segments(store)
    if not segments:
        with store.session() as db:
            rated = db.scalar(select(func.count()).select_from(SelfRating)) or 0
        if rated:
            raise ModelError(
                f"{rated} rated listen(s), but none has raw EEG left (the sessions' recordings "
                "were moved or deleted): rate tracks of a session whose recording is kept "
                "(`emotune sessions` lists them) or bring one in with `emotune import-recording`"
            )
        raise ModelError(
            "no self-rated listens with raw EEG yet: run `emotune listen --rate` (or "
            "`emotune rate TRACK` after a session) on a few tracks of varied moods first"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = models_dir / f"{base_name}-calibrated-{stamp}.pt"
    try:
        result = fine_tune(base_path, segments, out, line_noise_hz=line_noise_hz, force=force)
    except ClassifierError as exc:
        raise ModelError(str(exc)) from None
    report = CalibrationReport(
        base_model=base_name,
        rated_listens=len({(s.group, float(s.timestamps[0])) for s in segments}),
        tracks=len(result.tracks),
        windows=result.n_windows,
        metrics=result.metrics,
        beats_base_and_majority=result.beats_base_and_majority,
        activated=False,
        advice=result.advice,
        notes=result.notes,
    )
    if result.path is None:
        return report
    try:
        with store.session() as db:
            model = repository.register_model(
                db,
                name=out.stem,
                kind="eeg",
                path=str(result.path),
                description=f"{base_name} calibrated on {len(result.tracks)} self-rated tracks",
                metrics={"calibration": result.metrics},
                activate=activate,
            )
            report.model_id, report.model_name = model.id, out.stem
    except Exception:
        result.path.unlink(missing_ok=True)  # no model file without its registry row
        raise
    report.path, report.activated = str(result.path), activate
    return report
