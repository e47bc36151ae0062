"""The reliability suite's ledger: every fault test records what it injected and measured.

`make reliability` (and `make test`) end the run with one JSON line aggregated over the
tests that ran: {"faults_injected", "survived", "windows_lost", "data_lost", "duplicates"}.
A fault counts as survived only when its test reached `survived()` (all its checks passed).
The same line is written to `.reliability.json` in the directory pytest ran from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class FaultRecord:
    test: str
    name: str
    injected: int
    survived: int = 0
    windows_lost: int = 0
    data_lost: int = 0
    duplicates: int = 0


@dataclass
class Ledger:
    records: list[FaultRecord] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "faults_injected": sum(r.injected for r in self.records),
            "survived": sum(r.survived for r in self.records),
            "windows_lost": sum(r.windows_lost for r in self.records),
            "data_lost": sum(r.data_lost for r in self.records),
            "duplicates": sum(r.duplicates for r in self.records),
        }


LEDGER = Ledger()


class FaultRecorder:
    """Per test: `inject(name, n)` when faults go in, `measured(...)`, then `survived()`."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.current: list[FaultRecord] = []

    def inject(self, name: str, times: int = 1) -> None:
        record = FaultRecord(self.test, name, times)
        self.current.append(record)
        LEDGER.records.append(record)

    def measured(self, *, windows_lost: int = 0, data_lost: int = 0, duplicates: int = 0) -> None:
        """Losses seen by this test (charged to its first fault record)."""
        assert self.current, "inject() before measured()"
        first = self.current[0]
        first.windows_lost += int(windows_lost)
        first.data_lost += int(data_lost)
        first.duplicates += int(duplicates)

    def survived(self) -> None:
        """Call last, after every check passed: all faults of this test were survived."""
        for record in self.current:
            record.survived = record.injected


@pytest.fixture
def faults(request: pytest.FixtureRequest) -> FaultRecorder:
    return FaultRecorder(request.node.nodeid)


def summary_line() -> str:
    return json.dumps(LEDGER.totals())


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if not LEDGER.records:
        return
    terminalreporter.write_sep("-", "reliability (faults injected and what they cost)")
    for r in LEDGER.records:
        terminalreporter.write_line(
            f"{r.name:<44} injected {r.injected:>3}  survived {r.survived:>3}  "
            f"windows lost {r.windows_lost:>3}  data lost {r.data_lost:>3}  "
            f"duplicates {r.duplicates:>3}"
        )
    line = summary_line()
    terminalreporter.write_line(line)
    Path(config.invocation_params.dir, ".reliability.json").write_text(line + "\n")


# --- shared fixtures -------------------------------------------------------------------
