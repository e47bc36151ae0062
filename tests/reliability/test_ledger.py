"""The ledger's figures mean what they say: a fault counts once it is injected, survival
comes from the test's checks (not from the test passing), and fuzzed inputs stay apart."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import FaultRecorder, Ledger


def test_survival_is_what_the_checks_found_not_what_was_injected() -> None:
    ledger = Ledger()
    faults = FaultRecorder("t", ledger)
    faults.inject("outage", 3)
    faults.inject("burst")
    faults.survived("outage", 2)  # one outage's data was not there afterwards
    faults.survived("burst", False)
    totals = ledger.totals()
    assert totals["faults_injected"] == 4 and totals["survived"] == 2
    with pytest.raises(AssertionError):
        faults.survived("outage", 4)  # more survived than were injected
    with pytest.raises(AssertionError):
        faults.inject("nothing", 0)  # a fault not injected is not counted


def test_a_fault_is_not_survived_until_a_check_says_so() -> None:
    ledger = Ledger()
    FaultRecorder("t", ledger).inject("kill -9")  # the test stopped before its checks
    assert ledger.totals()["faults_injected"] == 1 and ledger.totals()["survived"] == 0


def test_fuzzed_inputs_are_not_faults() -> None:
    ledger = Ledger()
    tally = FaultRecorder("t", ledger).fuzzed("CSV")
    tally.fuzzed, tally.accepted, tally.rejected_cleanly = 30, 4, 26
    totals = ledger.totals()
    assert totals["faults_injected"] == 0 and totals["survived"] == 0
    assert totals["inputs_fuzzed"] == 30 and totals["inputs_rejected_cleanly"] == 26
