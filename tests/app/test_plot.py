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
