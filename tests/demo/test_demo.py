"""`emotune demo` end to end (a short run): exit 0, a summary, two viewable pictures."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from PIL import Image


def test_demo_runs_offline_and_draws_two_pictures(tmp_path: Path, emotune_home: Path) -> None:
    out = tmp_path / "demo-output"
    run = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--out", str(out), "--tracks", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
        umask=0o022,  # a common umask: --out follows it, the demo home stays owner-only
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "SYNTHETIC" in run.stderr  # it says plainly what is synthetic
    summary = json.loads(run.stdout)
    assert [t["scripted_mood"] for t in summary["tracks"]] == ["happy", "calm"]
    assert all(t["emotion"] is not None and t["windows"] >= 4 for t in summary["tracks"])
    # The demo model on synthetic moods: tags agree with the script (this checks plumbing).
    assert summary["agreement"] == 2
    assert set(summary["playlists"]) == {
        f"emotune · {e}" for e in ("happy", "calm", "sad", "tense")
    }
    assert sum(len(v) for v in summary["playlists"].values()) == 2
    assert summary["sort"]["tagged"] == 2 and summary["queue"]["tracks"]
    # A mostly unheard playlist (2 heard, 22 never heard) is placed completely by music tags.
    music = summary["music"]
    assert (music["tracks"], music["placed"], music["unplaced"]) == (24, 24, 0)
    assert music["by_basis"] == {"synthetic": 2, "music": 22}
    assert sum(o["placed_by"] == "heard" for o in music["order"]) == 2
    for picture in summary["pictures"]:
        with Image.open(picture) as img:
            img.load()
            assert img.format == "PNG" and img.width >= 600 and img.height >= 400
    # The demo used its own home under --out, never the user's (here: the test's) store.
    assert (out / "demo-home" / "emotune.db").exists()
    assert not (emotune_home / "emotune.db").exists()
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {stat.S_IMODE(Path(p).stat().st_mode) for p in summary["pictures"]} == {0o644}
    home = out / "demo-home"
    private = [home, *home.rglob("*")]
    assert {stat.S_IMODE(p.stat().st_mode) for p in private if p.is_dir()} == {0o700}
    assert {stat.S_IMODE(p.stat().st_mode) for p in private if p.is_file()} == {0o600}
