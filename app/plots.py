"""Pictures of the store: the mood map and per-track timelines of window predictions.

matplotlib is imported lazily with the Agg backend, so this works with no screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Listen, Track, TrackTag, WindowPrediction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EMOTION_LABEL_POSITIONS = {
    "happy": (0.75, 0.75),
    "calm": (0.75, 0.25),
    "sad": (0.25, 0.25),
    "tense": (0.25, 0.75),
}
QUADRANT_COLOURS = {"happy": "#f2b705", "calm": "#2a9d8f", "sad": "#3a5a98", "tense": "#d1495b"}
SYNTHETIC_LABEL = "SYNTHETIC-trained model"
MUSIC_LABEL = "music tag (the crowd's words for the song, not your EEG)"


@dataclass(frozen=True)
class TrackPoint:
    name: str
    valence: float
    arousal: float
    quadrant: str
    confidence: float
    basis: str = "generic"  # what the tag rests on; "synthetic" is drawn hollow


@dataclass(frozen=True)
class TrackTimeline:
    name: str
    quadrant: str | None
    times_s: Sequence[float]  # window centre, seconds from the track's first window
    p_valence: Sequence[float]
    p_arousal: Sequence[float]
    rejected_times_s: Sequence[float]


def track_points(db: Session) -> list[TrackPoint]:
    """Every placed track: its tag, or else its music position (basis "music", see
    `emotune music fetch`), which the mood map draws with a marker of its own."""
    from app.db import repository

    return [
        TrackPoint(
            r.name or r.spotify_id,
            r.valence,
            r.arousal,
            r.emotion,
            r.confidence or 0.0,
            r.basis or "generic",
        )
        for r in repository.list_tracks(db, include_music=True)
        if r.emotion is not None and r.valence is not None and r.arousal is not None
    ]


def track_timelines(db: Session, limit: int = 12) -> list[TrackTimeline]:
    """Window predictions of up to `limit` tracks (most recently listened first)."""
    tracks = db.execute(
        select(Track, TrackTag.quadrant)
        .join(Listen, Listen.track_id == Track.id)
        .join(TrackTag, TrackTag.track_id == Track.id, isouter=True)
        .group_by(Track.id)
        .order_by(Listen.started_at.desc())
        .limit(limit)
    ).all()
    out = []
    for track, quadrant in tracks:
        windows = db.execute(
            select(WindowPrediction)
            .join(Listen, Listen.id == WindowPrediction.listen_id)
            .where(Listen.track_id == track.id)
            .order_by(WindowPrediction.start_time)
        ).scalars()
        windows = list(windows)
        if not windows:
            continue
        t0 = windows[0].start_time
        ok = [w for w in windows if not w.rejected and w.p_valence is not None]
        out.append(
            TrackTimeline(
                name=track.name or track.spotify_id,
                quadrant=quadrant,
                times_s=[(w.start_time + w.end_time) / 2 - t0 for w in ok],
                p_valence=[w.p_valence for w in ok],
                p_arousal=[w.p_arousal for w in ok],
                rejected_times_s=[
                    (w.start_time + w.end_time) / 2 - t0 for w in windows if w.rejected
                ],
            )
        )
    return out


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_mood_map(points: Sequence[TrackPoint], path: Path, *, title: str = "") -> Path:
    """Tracks on the valence-arousal plane (probability of high), coloured by quadrant."""
    return _save(mood_map_figure(points, title=title), _pyplot(), path)


def mood_map_figure(points: Sequence[TrackPoint], *, title: str = "") -> Figure:
    """The mood map as a matplotlib figure; tags from a SYNTHETIC-trained model are hollow,
    tracks placed by their music tags alone are diamonds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 7), dpi=110)
    ax.axhline(0.5, color="#999", lw=0.8)
    ax.axvline(0.5, color="#999", lw=0.8)
    for name, (x, y) in EMOTION_LABEL_POSITIONS.items():
        ax.text(
            x,
            y,
            name,
            color=QUADRANT_COLOURS[name],
            fontsize=16,
            weight="bold",
            ha="center",
            va="center",
            alpha=0.35,
        )
    stacked: dict[tuple[int, int], int] = {}  # labels of points that sit together are stacked
    synthetic_shown = music_shown = False
    for p in points:
        colour = QUADRANT_COLOURS[p.quadrant]
        synthetic = p.basis == "synthetic"
        music = p.basis == "music"
        music_shown = music_shown or music
        ax.scatter(
            p.valence,
            p.arousal,
            s=40 + 160 * p.confidence,
            marker="D" if music else "o",  # a diamond: placed from Last.fm tags, never heard
            # Hollow: the tag is the machinery on synthetic training data, not a reading of you.
            facecolor="none" if synthetic else colour,
            edgecolor=colour if synthetic else "black",
            alpha=0.9 if synthetic else 0.8,
            lw=1.8 if synthetic else 0.5,
            zorder=3,
        )
        synthetic_shown = synthetic_shown or synthetic
        cell = (round(p.valence * 20), round(p.arousal * 20))
        nth = stacked.get(cell, 0)
        stacked[cell] = nth + 1
        below = p.arousal > 0.5  # stack labels towards the middle of the plane
        ax.annotate(
            p.name[:28],
            (p.valence, p.arousal),
            fontsize=7,
            ha="right" if p.valence > 0.5 else "left",
            xytext=(-8 if p.valence > 0.5 else 8, (-1 if below else 1) * (8 + 10 * nth)),
            textcoords="offset points",
        )
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("valence: p(high)")
    ax.set_ylabel("arousal: p(high)")
    ax.set_title(title or f"Mood map: {len(points)} tagged tracks (marker size = confidence)")
    if synthetic_shown:  # a grey hollow marker stands for all of them, whatever the quadrant
        ax.scatter([], [], s=90, facecolor="none", edgecolor="#555", lw=1.8, label=SYNTHETIC_LABEL)
    if music_shown:
        ax.scatter([], [], s=70, marker="D", facecolor="#bbb", edgecolor="black", lw=0.5,
                   label=MUSIC_LABEL)  # fmt: skip
    if synthetic_shown or music_shown:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_timelines(timelines: Sequence[TrackTimeline], path: Path, *, title: str = "") -> Path:
    """One row per track: p(valence high) and p(arousal high) per window over time."""
    plt = _pyplot()
    rows = max(1, len(timelines))
    fig, axes = plt.subplots(rows, 1, figsize=(9, 1.9 * rows + 0.6), dpi=110, squeeze=False)
    for ax, tl in zip(axes[:, 0], timelines, strict=False):
        ax.plot(tl.times_s, tl.p_valence, color="#e07a1f", lw=2, marker=".", label="valence")
        ax.plot(tl.times_s, tl.p_arousal, color="#6a4c93", lw=2, marker=".", label="arousal")
        for t in tl.rejected_times_s:
            ax.axvline(t, color="#bbb", lw=0.6, zorder=0)
        ax.axhline(0.5, color="#999", lw=0.6, ls="--")
        ax.set_ylim(-0.05, 1.05)
        colour = QUADRANT_COLOURS.get(tl.quadrant or "", "black")
        ax.set_title(
            f"{tl.name[:60]} → {tl.quadrant or 'untagged'}", fontsize=9, color=colour, loc="left"
        )
        ax.set_ylabel("p(high)", fontsize=8)
    if not timelines:
        axes[0, 0].text(0.5, 0.5, "no windows stored yet", ha="center", va="center")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel("seconds into the track (grey lines: rejected windows)")
    fig.suptitle(title or "Window predictions per track")
    return _save(fig, plt, path)


def _save(fig, plt, path: Path) -> Path:  # type: ignore[no-untyped-def]
    from app.privacy import user_umask

    fig.tight_layout()
    with user_umask():  # written where the user points (--out): their umask, as usual
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)
    return path
