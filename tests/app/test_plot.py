"""`emotune plot` writes two viewable PNGs from a real store."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from app.cli.main import app
from app.db import repository
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
