"""The reliability suite's ledger: what each test injected, and what it checked afterwards.

`make reliability` (and `make test`) end the run with one JSON line aggregated over the
tests that ran:

- `faults_injected`: faults a test really put in (a NaN burst, a 429, a `kill -9`, a forged
  callback, a file carrying code), counted once each.
- `survived`: of those, how many the test's own checks after the fault found survived (the
  data is there, nothing is duplicated, the process kept running or was recovered). A test
  records this before it asserts, so a failing run shows which faults were not survived.
- `windows_lost`, `data_lost`, `duplicates`: losses the tests measured.
- `inputs_fuzzed`: inputs hypothesis generated for the parsers (mutated or not: many are still
  valid). They are not faults and are not counted above.
- `inputs_rejected_cleanly`: of those, how many were refused with a one-line message naming the
  file (or link) and saying what to do next. The rest parsed as valid input; a refusal
  without a next step is counted (`inputs_rejected_without_next_step`) and fails its test.

The same line is written to `.reliability.json` in the directory pytest ran from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
class FuzzRecord:
    test: str
    name: str
    fuzzed: int = 0
    accepted: int = 0
    rejected_cleanly: int = 0
    rejected_without_next_step: int = 0


@dataclass
class Ledger:
    records: list[FaultRecord] = field(default_factory=list)
    fuzz: list[FuzzRecord] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {
            "faults_injected": sum(r.injected for r in self.records),
            "survived": sum(r.survived for r in self.records),
            "windows_lost": sum(r.windows_lost for r in self.records),
            "data_lost": sum(r.data_lost for r in self.records),
            "duplicates": sum(r.duplicates for r in self.records),
            "inputs_fuzzed": sum(r.fuzzed for r in self.fuzz),
            "inputs_rejected_cleanly": sum(r.rejected_cleanly for r in self.fuzz),
            "inputs_rejected_without_next_step": sum(
                r.rejected_without_next_step for r in self.fuzz
            ),
        }


LEDGER = Ledger()


class FaultRecorder:
    """Per test: `inject(name, n)` when faults go in, then `survived(name, k)` from the checks
    made after them, and `measured(...)` for losses; assert only after recording."""

    def __init__(self, test: str, ledger: Ledger = LEDGER) -> None:
        self.test = test
        self.ledger = ledger
        self.current: dict[str, FaultRecord] = {}

    def inject(self, name: str, times: int = 1) -> None:
        assert name not in self.current, f"fault {name!r} injected twice by one test"
        assert times >= 1, "a fault that was not injected is not counted"
        record = FaultRecord(self.test, name, times)
        self.current[name] = record
        self.ledger.records.append(record)

    def survived(self, name: str, count: int | bool) -> None:
        """How many of the `name` faults the test's checks found survived (a bool for one)."""
        record = self.current[name]
        count = int(count)
        assert 0 <= count <= record.injected, (name, count, record.injected)
        record.survived = count

    def measured(self, *, windows_lost: int = 0, data_lost: int = 0, duplicates: int = 0) -> None:
        """Losses seen by this test (charged to its first fault record)."""
        assert self.current, "inject() before measured()"
        first = next(iter(self.current.values()))
        first.windows_lost += int(windows_lost)
        first.data_lost += int(data_lost)
        first.duplicates += int(duplicates)

    def fuzzed(self, name: str) -> FuzzRecord:
        """A fuzzed input's tally, filled in example by example."""
        record = FuzzRecord(self.test, name)
        self.ledger.fuzz.append(record)
        return record


@pytest.fixture
def faults(request: pytest.FixtureRequest) -> FaultRecorder:
    return FaultRecorder(request.node.nodeid)


def summary_line() -> str:
    return json.dumps(LEDGER.totals())


def ledger_state() -> dict[str, list[dict[str, Any]]]:
    """This process's records, as plain data (an xdist worker sends them to the controller)."""
    return {
        "records": [asdict(r) for r in LEDGER.records],
        "fuzz": [asdict(f) for f in LEDGER.fuzz],
    }


def absorb(state: dict[str, list[dict[str, Any]]]) -> None:
    """Add another process's records (`ledger_state()`) to this one's ledger."""
    LEDGER.records.extend(FaultRecord(**r) for r in state["records"])
    LEDGER.fuzz.extend(FuzzRecord(**f) for f in state["fuzz"])


def write_summary(terminalreporter, config) -> None:  # noqa: ANN001
    """The table and the JSON line (also `.reliability.json`); called by tests/conftest.py's
    pytest_terminal_summary, which runs in the process that reports (the xdist controller)."""
    if not LEDGER.records and not LEDGER.fuzz:
        return
    terminalreporter.write_sep("-", "reliability (faults injected and what they cost)")
    for r in LEDGER.records:
        terminalreporter.write_line(
            f"{r.name:<52} injected {r.injected:>3}  survived {r.survived:>3}  "
            f"windows lost {r.windows_lost:>3}  data lost {r.data_lost:>3}  "
            f"duplicates {r.duplicates:>3}"
        )
    for f in LEDGER.fuzz:
        terminalreporter.write_line(
            f"fuzzed input: {f.name:<38} inputs {f.fuzzed:>3}  accepted {f.accepted:>3}  "
            f"rejected cleanly {f.rejected_cleanly:>3}  "
            f"without a next step {f.rejected_without_next_step:>3}"
        )
    line = summary_line()
    terminalreporter.write_line(line)
    Path(config.invocation_params.dir, ".reliability.json").write_text(line + "\n")
