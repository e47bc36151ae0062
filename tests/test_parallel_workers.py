"""How many workers `make test` (`pytest -n auto`) starts: two per core, within bounds."""

from __future__ import annotations

import pytest

from tests.conftest import (
    MAX_WORKERS,
    auto_worker_count,
    physical_memory_bytes,
    xdist_core_count,
)

GIB = 1024**3


def test_two_workers_per_core_capped_by_count_and_by_memory() -> None:
    assert auto_worker_count(2, 24 * GIB) == 4  # the 2-core development machine
    assert auto_worker_count(1, None) == 2  # memory unknown: cores alone decide
    assert auto_worker_count(64, 256 * GIB) == MAX_WORKERS
    assert auto_worker_count(8, 6 * GIB) == 3  # about 2 GB for each worker and what it starts
    assert auto_worker_count(4, 1 * GIB) == 1


def test_auto_asks_this_suite_unless_the_xdist_variable_says(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pytestconfig.pluginmanager.hasplugin("xdist"):
        pytest.skip("pytest-xdist is not loaded (-p no:xdist)")
    ask = pytestconfig.hook.pytest_xdist_auto_num_workers
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    cores = xdist_core_count(pytestconfig)  # xdist's own count of cores, doubled below
    assert ask(config=pytestconfig) == auto_worker_count(cores, physical_memory_bytes())
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert ask(config=pytestconfig) == 3  # xdist's own answer
