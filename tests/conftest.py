"""Shared fixtures: an isolated EMOTUNE_HOME per test and a migrated store in it.

The suite also runs in parallel (`make test`: pytest-xdist, two workers per core). What lets
it: every test's home is its own tmp_path; each pytest process has its own LSL session (see
`pytest_configure`), so no test sees another worker's outlets, nor a real headset; and the
reliability ledger of each worker is summed by the controller (see the hooks at the end).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

# In CI, hypothesis draws the same examples every run (a red build is then reproducible,
# never a coin toss); developers keep random exploration locally.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

_LSL_FOLDER = pytest.StashKey[tuple[Path, str | None]]()


def pytest_configure(config: pytest.Config) -> None:
    """This pytest process (a worker, or the whole run) gets an LSL session of its own.

    liblsl makes a stream visible only to resolvers of the same `[lab] SessionID`, read from
    the file LSLAPICFG names; the test's subprocesses inherit it. So a test looking for "no
    stream" or for any stream named Muse never finds another worker's outlet, and the suite
    never finds (nor disturbs) a real headset streaming on the same machine.
    """
    folder = Path(tempfile.mkdtemp(prefix="emotune-tests-lsl-"))
    cfg = folder / "lsl_api.cfg"
    cfg.write_text(f"[lab]\nSessionID = emotune-tests-{uuid.uuid4().hex[:12]}\n")
    config.stash[_LSL_FOLDER] = (folder, os.environ.get("LSLAPICFG"))
    os.environ["LSLAPICFG"] = str(cfg)
    # pytest-xdist registers it; a run without xdist (`PYTEST_WORKERS=0`) knows it too.
    config.addinivalue_line("markers", "xdist_group(name): run on the same xdist worker")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _LSL_FOLDER not in config.stash:
        return
    folder, previous = config.stash[_LSL_FOLDER]
    if previous is None:
        os.environ.pop("LSLAPICFG", None)
    else:
        os.environ["LSLAPICFG"] = previous
    shutil.rmtree(folder, ignore_errors=True)


ISOLATED_ENV = (
    "EMOTUNE_HOME",
    "EMOTUNE_CONFIG",
    "EMOTUNE_DATABASE_URL",
    "EMOTUNE_SPOTIFY_URL",
    "SPOTIPY_CLIENT_ID",
    "SPOTIPY_CLIENT_SECRET",
    "SPOTIPY_REDIRECT_URI",
)


@pytest.fixture(autouse=True)
def emotune_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own EMOTUNE_HOME, so no test touches a real user's store.

    What a test puts in the home stands for what emotune wrote there, so it is written
    owner-only as emotune writes it (otherwise the test's first command would tighten it
    and say so); tests/app/test_privacy.py runs emotune itself under permissive umasks.
    """
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    previous_umask = os.umask(0o077)
    home = tmp_path / "emotune-home"
    home.mkdir()
    monkeypatch.setenv("EMOTUNE_HOME", str(home))
    try:
        yield home
    finally:
        os.umask(previous_umask)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated by Alembic to head, made once per pytest process."""
    from app.db.engine import open_store

    path = tmp_path_factory.mktemp("store-template") / "emotune.db"
    open_store(f"sqlite:///{path}").close()
    side_files = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    assert not any(f.exists() for f in side_files), "the template is one closed file"
    return path


@pytest.fixture
def store(emotune_home: Path, migrated_template: Path) -> Iterator:
    """A real SQLite file in tmp_path, migrated by Alembic to head.

    The file is a copy of a template migrated once per process (the same bytes migrating
    it here would give); opening it still checks its revision against head.
    """
    from app.config import load_settings
    from app.db.engine import open_store, sqlite_path

    url = load_settings().database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_template, path)  # owner-only: the fixture's umask is 077
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def seeded_untrained_model(store, emotune_home: Path) -> Path:
    """A real TSCeption checkpoint with seeded random weights, registered as the active model.

    Untrained: good for testing plumbing (windows, placement, storage), not for accuracy.
    """
    from app.db import repository
    from tests.factories import save_seeded_untrained_checkpoint

    path = save_seeded_untrained_checkpoint(
        emotune_home / "models" / "untrained.pt", "untrained-seeded-test-model"
    )
    with store.session() as db:
        repository.register_model(
            db, name="untrained-seeded-test-model", kind="eeg", path=str(path), activate=True
        )
    return path


# --- parallel runs -------------------------------------------------------------------------
# Most of the slow tests wait on real time (EEG at 256 Hz over LSL, a player's clock), their
# cores idle: on 2 cores, one worker per core kept the CPU two thirds busy. Two per core
# fill the waits; the cap keeps a many-core machine from starting dozens of workers that
# each import torch (about 1 GB each, with the processes a test starts).
WORKERS_PER_CORE = 2
MAX_WORKERS = 8
MEMORY_PER_WORKER_BYTES = 2 * 1024**3


def auto_worker_count(cores: int, memory_bytes: int | None) -> int:
    """How many xdist workers `-n auto` starts on `cores` CPUs with `memory_bytes` of RAM."""
    count = min(WORKERS_PER_CORE * max(cores, 1), MAX_WORKERS)
    if memory_bytes:
        count = min(count, max(1, memory_bytes // MEMORY_PER_WORKER_BYTES))
    return count


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def xdist_core_count(config: pytest.Config) -> int:
    """The cores pytest-xdist's own `-n auto` would start one worker each on."""
    from xdist.plugin import pytest_xdist_auto_num_workers as xdist_default

    return xdist_default(config)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (what `make test` passes): two workers per core, see auto_worker_count.

    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, is left to xdist (returning None defers to it).
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return auto_worker_count(xdist_core_count(config), physical_memory_bytes())


# Tests that share what a process builds once go to one worker under `--dist loadgroup`.
SHARED_BY_GROUP = {
    "postgres": ("postgres_url",),  # one throwaway PostgreSQL server per module
    "voice-model": ("synthetic_features", "synthetic_model_path"),  # features, a fitted model
}

# The longest tests (about 9 s or more each on 2 busy cores), longest first: marked slow
# (`make test-fast` leaves them out) and run first, so that no worker is still running a
# long one while the other has nothing left. A test missing here is only scheduled later.
SLOW_TESTS: tuple[str, ...] = (
    "reliability/test_eeg_stream_faults.py::"
    "test_stream_faults_during_a_session_with_sync_writing_the_same_store",
    "listening/test_listen_end_to_end.py::test_three_tracks_three_moods_three_tags",
    "voice/test_librosa_loader.py::test_processes_meeting_on_a_cold_numba_cache_leave_it_usable",
    "listening/test_listen_end_to_end.py::test_outlet_killed_mid_track_and_nan_bursts",
    "reliability/test_process_faults.py::"
    "test_listen_killed_mid_track_loses_at_most_the_last_seconds",
    "voice/test_features_models.py::test_auto_searches_every_kind_and_keeps_the_best",
    "classifier/test_real_muse.py::test_calibration_protocol_on_real_recordings_through_the_cli",
    "demo/test_demo.py::test_demo_runs_offline_and_draws_two_pictures",
    "reliability/test_security.py::test_token_file_is_0600_and_never_in_verbose_logs_or_json",
    "app/test_privacy.py::test_a_home_made_under_a_permissive_umask_is_owner_only",
    "listening/test_rating_prompt.py::"
    "test_the_next_track_is_tagged_while_the_rating_question_waits",
    "listening/test_calibrate.py::test_a_calibration_that_does_not_beat_the_base_model_is_not_kept",
    "listening/test_player_faults.py::test_session_survives_a_500_storm_on_the_player",
    "classifier/test_training.py::test_a_crash_after_training_still_prints_where_it_happened",
    "classifier/test_training.py::test_model_evaluate_loso_beats_the_majority_rate",
    "classifier/test_real_muse.py::"
    "test_a_new_wearers_path_on_real_recordings_train_import_rate_calibrate",
    "voice/test_cli.py::test_train_skips_unusable_files_and_absent_test_actors",
    "app/test_privacy.py::test_an_existing_open_home_is_tightened_on_the_next_run_with_one_line",
    "voice/test_cli.py::test_train_saves_registers_and_activates",
    "reliability/test_eeg_stream_faults.py::"
    "test_sender_clock_set_back_and_forward_again_keeps_stored_time_running_forward",
    "voice/test_cli.py::test_evaluate_json_shape_and_folds",
    "demo/test_demo_model_build.py::test_two_demo_model_builds_give_identical_weights",
    "app/test_spotify_login_checks.py::test_doctor_fails_a_login_expired_beyond_refresh",
)
TESTS = Path(__file__).resolve().parent


def _slow_rank(item: pytest.Item) -> int:
    try:
        where = f"{item.path.relative_to(TESTS).as_posix()}::{getattr(item, 'originalname', '')}"
    except ValueError:
        return len(SLOW_TESTS)
    return _SLOW_RANK.get(where, len(SLOW_TESTS))


_SLOW_RANK = {where: rank for rank, where in enumerate(SLOW_TESTS)}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for group, fixtures in SHARED_BY_GROUP.items():
            if any(name in getattr(item, "fixturenames", ()) for name in fixtures):
                item.add_marker(pytest.mark.xdist_group(group))
                break
        if _slow_rank(item) < len(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
    items.sort(key=_slow_rank)  # stable: the rest keep their order


def _reliability_ledger():  # noqa: ANN202
    """The reliability suite's ledger module, once its tests were collected in this process."""
    return sys.modules.get("tests.reliability.conftest")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's reliability ledger to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    ledger = _reliability_ledger()
    if workeroutput is not None and ledger is not None:
        workeroutput["reliability_ledger"] = json.dumps(ledger.ledger_state())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ANN001  (xdist's hook, controller side)
    state = getattr(node, "workeroutput", {}).get("reliability_ledger")
    if state:
        from tests.reliability import conftest as ledger

        ledger.absorb(json.loads(state))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """The reliability summary and `.reliability.json`, once per run (never on a worker)."""
    ledger = _reliability_ledger()
    if ledger is not None and not hasattr(config, "workerinput"):
        ledger.write_summary(terminalreporter, config)
