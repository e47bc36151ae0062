"""Two stores open in one process must not cost the first its SQLite locks.

On POSIX, closing any descriptor of a file drops every lock the process holds on it. When
opening a store read the database header with a plain `open()`, a second store in the same
process (the demo, a sync inside a listening session, a test) silently dropped the first
one's locks; the next emotune command to finish elsewhere then believed it was the last
user of the database and deleted the write-ahead log under the live connection, which
corrupted the database (seen in the reliability test: "database disk image is malformed").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from app.db import repository
from app.db.engine import open_store

REPO = Path(__file__).resolve().parents[2]


def test_a_second_store_in_this_process_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    db = tmp_path / "emotune.db"
    url = f"sqlite:///{db}"
    first = open_store(url)
    with first.session() as s:
        repository.upsert_track(s, spotify_id="0SynthLockTrack0000001", name="Synthetic A")
    second = open_store(url)  # e.g. the demo's sync inside its listening session
    second.close()
    # Another emotune process uses the database and exits while `first` is still open.
    other = subprocess.run(
        [sys.executable, "-m", "app", "tracks", "--json"],
        cwd=REPO, env={**os.environ, "EMOTUNE_DATABASE_URL": url},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    # It saw our live connection, so it left the write-ahead log's index in place ...
    assert Path(f"{db}-shm").exists()
    with first.session() as s:
        repository.upsert_track(s, spotify_id="0SynthLockTrack0000002", name="Synthetic B")
    first.close()
    # ... and the database is whole.
    check = open_store(url)
    with check.session() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert len(repository.list_tracks(s)) == 2
    check.close()
