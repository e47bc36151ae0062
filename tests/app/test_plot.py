"""`emotune plot` writes two viewable PNGs from a real store."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from app.cli.main import app
from app.db import repository
from app.db.models import TrackTag
from tests.factories import add_listen_with_windows


def test_plot_writes_mood_map_and_timeline(cli, store, tmp_path: Path) -> None:
    with store.session() as db:
        for i, (name, pv, pa) in enumerate(
            [("Sunny", 0.9, 0.8), ("Rain", 0.2, 0.2), ("Storm", 0.1, 0.9)]
        ):
            t = repository.upsert_track(db, spotify_id=f"synthetic{i}", name=name)
            add_listen_with_windows(db, t.id, [(pv, pa)] * 8, rejected={3}, started_at=1e9 + i)
            repository.recompute_track_tag(db, t.id)
    out = tmp_path / "pictures"
    result = cli.invoke(app, ["plot", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert written["tracks"] == 3
    for key in ("mood_map", "timeline"):
        with Image.open(written[key]) as img:
            img.load()
            assert img.format == "PNG" and img.width > 300 and img.height > 200
            colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 20  # drawn, not blank


def test_mood_map_draws_synthetic_model_tags_hollow_with_a_legend(store) -> None:
    from app.plots import SYNTHETIC_LABEL, mood_map_figure, track_points

    with store.session() as db:
        for i, name in enumerate(("Demo", "Mine")):
            t = repository.upsert_track(db, spotify_id=f"synthetic{i}", name=name)
            add_listen_with_windows(db, t.id, [(0.9, 0.8)] * 4, started_at=1e9 + i)
            repository.recompute_track_tag(db, t.id)
            db.get(TrackTag, t.id).basis = "synthetic" if name == "Demo" else "calibrated"
        points = {p.name: p for p in track_points(db)}
    assert (points["Demo"].basis, points["Mine"].basis) == ("synthetic", "calibrated")
    fig = mood_map_figure(list(points.values()))
    try:
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None and [t.get_text() for t in legend.get_texts()] == [
            SYNTHETIC_LABEL
        ]
        # One filled marker (the calibrated tag), one hollow one (the synthetic tag).
        faces = [c.get_facecolors() for c in ax.collections if len(c.get_offsets())]
        assert sorted(len(f) for f in faces) == [0, 1]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_mood_map_without_synthetic_tags_has_no_legend(store) -> None:
    from app.plots import TrackPoint, mood_map_figure

    fig = mood_map_figure([TrackPoint("Mine", 0.8, 0.2, "calm", 0.6, "self")])
    try:
        assert fig.axes[0].get_legend() is None
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_music_placed_tracks_are_diamonds_with_their_own_legend(store) -> None:
    """A track never heard but placed by its Last.fm tags shows on the mood map, marked as
    the crowd's description of the song, beside a track tagged by EEG."""
    from app.db.music_repository import save_music_tags
    from app.plots import MUSIC_LABEL, mood_map_figure, track_points

    with store.session() as db:
        heard = repository.upsert_track(db, spotify_id="synthetic0", name="Heard", uri="u:0")
        add_listen_with_windows(db, heard.id, [(0.9, 0.8)] * 4, started_at=1e9)
        repository.recompute_track_tag(db, heard.id)
        unheard = repository.upsert_track(db, spotify_id="synthetic1", name="Unheard", uri="u:1")
        save_music_tags(
            db, unheard.id, source="track", tags=[("sad", 100), ("melancholy", 60)],
            lookup_artist="Someone", lookup_title="Unheard", crowd=(0.2, 0.3, 0.7, 2),
            used=(0.2, 0.3, 0.7), fitted=False,
        )  # fmt: skip
        points = {p.name: p for p in track_points(db)}
    assert points["Unheard"].basis == "music" and points["Unheard"].quadrant == "sad"
    assert points["Heard"].basis != "music"
    fig = mood_map_figure(list(points.values()))
    try:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [MUSIC_LABEL]
        drawn = [c for c in ax.collections if len(c.get_offsets())]
        shapes = sorted(len(c.get_paths()[0].vertices) for c in drawn)
        assert len(drawn) == 2 and shapes[0] != shapes[1]  # a diamond beside a circle
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
