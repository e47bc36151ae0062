"""EEG and emotion data stay private on a shared machine: an owner-only home whatever the umask.

Real parts throughout: the CLI through typer's runner, a real SQLite file, a real LSL outlet
(SYNTHETIC EEG) and the Spotify emulator's player for the listening session, the committed
real Muse recordings for import-recording, model train and model calibrate.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.config import load_settings
from app.privacy import database_files, tighten_home
from tests.listening.e2e_helpers import synthetic_tracks
from tests.listening.lsl_helpers import counter_outlet
from tests.playlists.helpers import redirect_uri
from tests.real_muse import write_user_recordings

SPEED = 4.0


@pytest.fixture(params=[0o022, 0o002], ids=["umask-022", "umask-002"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The test process's umask (a permissive one, as on most machines), restored after."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[Path, int]:
    """Every path under `root` (itself included) and its st_mode; one that vanishes is skipped."""
    found = {}
    for folder, dirnames, filenames in os.walk(root):
        for path in (Path(folder), *(Path(folder) / name for name in (*dirnames, *filenames))):
            with contextlib.suppress(FileNotFoundError):
                found[path] = path.lstat().st_mode
    return found


def not_owner_only(root: Path) -> dict[str, str]:
    """Paths under `root` that are not folders 0700 or files 0600, with their modes."""
    return {
        str(p.relative_to(root.parent)): f"{stat.S_IMODE(m):04o}"
        for p, m in modes(root).items()
        if stat.S_IMODE(m) != (0o700 if stat.S_ISDIR(m) else 0o600)
    }


@contextlib.contextmanager
def watching(root: Path) -> Iterator[tuple[set[str], dict[str, str]]]:
    """While the block runs: the names seen under `root`, and any path seen not owner-only."""
    names: set[str] = set()
    wrong: dict[str, str] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            names.update(p.name for p in modes(root))
            wrong.update(not_owner_only(root))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield names, wrong
    finally:
        done.set()
        watcher.join(timeout=10)


def run(cli: CliRunner, *args: str) -> tuple[str, str]:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout, result.stderr


def test_a_home_made_under_a_permissive_umask_is_owner_only(
    cli: CliRunner, umask: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "fresh-home"  # made by emotune itself, not by the test
    monkeypatch.setenv("EMOTUNE_HOME", str(home))

    def step(*args: str) -> str:
        """Run a command; what it wrote is owner-only as written, not tightened later."""
        out, err = run(cli, *args)
        assert "owner-only" not in err, f"{args}: a command before it left data open: {err}"
        assert not_owner_only(home) == {}, args
        return out

    recordings = write_user_recordings(
        tmp_path / "muse", subjects=("A2_05", "A1_07"), tracks={"EC": 1, "EO": 1},
        gap_s=0.0, short_file=False,
    )  # fmt: skip
    step("init")
    assert (home / "emotune.db").exists() and (home / "recordings").is_dir()
    # model train: a generic model on the recordings (the checkpoint lands in models/)
    out = step(
        "model", "train", "--recordings", str(recordings.parent), "--labels",
        str(recordings), "--epochs", "1", "--use", "--force", "--json",
    )  # fmt: skip
    assert Path(json.loads(out)["path"]).parent == home / "models"
    # import-recording and rate: the wearer's own takes, one per track, rated
    for k, condition in enumerate(("EC", "EO")):
        csv = recordings.parent / f"A2_05_{condition}_track1.csv"
        first = float(csv.read_text().splitlines()[1].split(",")[0])
        start = datetime.fromtimestamp(first, UTC).isoformat()
        track = f"0PrivacyTrack{k:09d}"
        step("import-recording", str(csv), "--track", track, "--start", start)
        step("rate", track, "--valence", "3", "--arousal", "1" if condition == "EC" else "5")
    # model calibrate, kept whatever it scores: a second checkpoint in models/
    out = step("model", "calibrate", "--force", "--json")
    assert Path(json.loads(out)["path"]).parent == home / "models"
    # a listening session: LSL EEG and the emulator's player, raw EEG spooled then saved
    from playlists.emulator import start_emulator

    [track] = synthetic_tracks(["calm"], duration_ms=int(60 * SPEED * 1000))
    with start_emulator(speed=SPEED, tracks=[track]) as emulator:
        monkeypatch.setenv("EMOTUNE_SPOTIFY_URL", emulator.url)
        monkeypatch.setenv("SPOTIPY_REDIRECT_URI", redirect_uri())
        step("login", "--headless")
        from app.spotify import client_from_settings

        client_from_settings(load_settings()).start_playback([track.uri])
        with counter_outlet() as source_id, watching(home) as (names, wrong):
            out = step(
                "listen", "--json", "--source-id", source_id, "--duration", "5",
                "--playback-rate", str(SPEED), "--min-windows", "1",
            )  # fmt: skip
    events = [json.loads(line) for line in out.splitlines()]
    assert any(e["event"] == "listen_start" for e in events)
    # while it ran: the spool of raw EEG and the database's WAL and SHM files, all 0600
    assert {"emotune.db-wal", "emotune.db-shm"} <= names
    assert any(name.endswith(".spool") for name in names)
    assert wrong == {}
    # a file written where the user points follows the user's umask, as usual
    pictures = tmp_path / "pictures"
    step("plot", "--out", str(pictures))
    assert stat.S_IMODE(pictures.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((pictures / "mood-map.png").stat().st_mode) == 0o666 & ~umask

    assert os.umask(umask) == umask  # each command gave the test its umask back
    files = {p.relative_to(home).as_posix() for p, m in modes(home).items() if stat.S_ISREG(m)}
    assert {"emotune.db", "spotify-token.json"} <= files
    assert sum(f.startswith("recordings/") and f.endswith(".fif") for f in files) == 3
    assert sum(f.startswith("models/") and f.endswith(".pt") for f in files) == 2
    assert not_owner_only(home) == {}
    doctor = cli.invoke(app, ["doctor", "--json"])
    check = {c["name"]: c for c in json.loads(doctor.stdout)}["private data"]
    assert check["ok"] and str(home) in check["detail"]


def test_an_existing_open_home_is_tightened_on_the_next_run_with_one_line(
    cli: CliRunner, umask: int, emotune_home: Path
) -> None:
    run(cli, "init")
    # What an older emotune left: everything readable (and a folder enterable) by all.
    (emotune_home / "recordings" / "session-00001_raw.fif").write_bytes(b"raw EEG")
    (emotune_home / "models" / "old.pt").write_bytes(b"weights")
    for path in modes(emotune_home):
        path.chmod(0o755 if path.is_dir() else 0o644)
    n = len(modes(emotune_home))
    assert n >= 6  # the home, recordings/, models/, the database, a FIF file, a checkpoint

    doctor = cli.invoke(app, ["doctor", "--json"])
    assert doctor.exit_code == 1
    check = {c["name"]: c for c in json.loads(doctor.stdout)}["private data"]
    assert not check["ok"]
    assert f"{n} paths are open to other accounts" in check["detail"]
    assert "`emotune init`" in check["detail"]
    assert f"`chmod -R go-rwx {emotune_home}`" in check["detail"]
    assert not_owner_only(emotune_home)  # doctor reports, it does not change anything

    out, err = run(cli, "tracks", "--json")
    assert json.loads(out) == []  # stdout stays JSON; the line goes to stderr
    assert err.count("\n") == 1
    assert err.startswith(f"emotune: made {n} paths of your emotune data owner-only")
    assert str(emotune_home) in err
    assert not_owner_only(emotune_home) == {}
    _, err = run(cli, "tracks", "--json")
    assert err == ""  # said once: nothing left to tighten
    doctor = cli.invoke(app, ["doctor", "--json"])
    assert {c["name"]: c for c in json.loads(doctor.stdout)}["private data"]["ok"]


def test_one_open_file_in_a_private_home_fails_doctor_naming_it(
    cli: CliRunner, emotune_home: Path
) -> None:
    run(cli, "init")
    export = emotune_home / "models" / "copied-in.pt"
    export.write_bytes(b"weights")
    export.chmod(0o640)
    doctor = cli.invoke(app, ["doctor"])
    assert doctor.exit_code == 1
    [line] = [ln for ln in doctor.stdout.splitlines() if ln.startswith("private data")]
    assert f"fail: {export} is open to other accounts on this machine (mode 0640)" in line


def test_sqlite_wal_and_shm_files_are_owner_only_outside_the_cli(
    umask: int, tmp_path: Path
) -> None:
    from app.db import repository
    from app.db.engine import open_store

    db = tmp_path / "elsewhere" / "emotune.db"
    store = open_store(f"sqlite:///{db}")
    try:
        with store.session() as session:
            repository.upsert_track(session, spotify_id="0PrivacyWalTrack000001")
        wal, shm = db.with_name("emotune.db-wal"), db.with_name("emotune.db-shm")
        assert wal.exists() and shm.exists()  # the store is open: WAL mode's side files
        for path in (db, wal, shm):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.close()


def test_a_database_file_outside_the_home_is_tightened_too(
    umask: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emotune_home: Path
) -> None:
    db = tmp_path / "elsewhere" / "mine.db"
    db.parent.mkdir()
    db.write_bytes(b"")
    db.chmod(0o644)
    folder_mode = stat.S_IMODE(db.parent.stat().st_mode)
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", f"sqlite:///{db}")
    assert db in tighten_home(load_settings())
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == folder_mode  # the user's folder, not ours


def test_a_postgresql_url_is_left_alone(
    umask: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emotune_home: Path
) -> None:
    url = "postgresql+psycopg://someone@127.0.0.1:9/emotune"
    monkeypatch.setenv("EMOTUNE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    lookalike = tmp_path / "emotune"  # what the URL's database name would be as a path
    lookalike.write_bytes(b"not ours")
    lookalike.chmod(0o644)
    (emotune_home / "recordings").mkdir()
    for folder in (emotune_home, emotune_home / "recordings"):
        folder.chmod(0o755)
    assert database_files(url) == []  # the server owns its files
    assert database_files("sqlite:::not-a-url") == []  # opening the store reports it
    changed = tighten_home(load_settings())
    assert changed == [emotune_home, emotune_home / "recordings"]
    assert stat.S_IMODE(lookalike.stat().st_mode) == 0o644
    assert not_owner_only(emotune_home) == {}


def test_the_umask_is_given_back_when_a_command_fails(cli: CliRunner, umask: int) -> None:
    result = cli.invoke(app, ["tracks", "--emotion", "ecstatic"])
    assert result.exit_code == 1
    assert os.umask(umask) == umask


def test_without_emotune_home_the_config_and_data_folders_are_both_owner_only(
    cli: CliRunner, umask: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EMOTUNE_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    config, data = tmp_path / "config" / "emotune", tmp_path / "share" / "emotune"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[eeg]\nline_noise_hz = 60\n")
    for path in (config, config / "config.toml"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # written by hand, the usual way
    _, err = run(cli, "init")
    assert str(config) in err and "owner-only" in err
    assert (data / "emotune.db").exists()
    assert not_owner_only(config) == {} and not_owner_only(data) == {}
