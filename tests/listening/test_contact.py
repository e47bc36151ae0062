"""`emotune contact` over real LSL: a replayed real Muse recording, and a simulated Muse
with one electrode off the skin (SYNTHETIC EEG)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.jobs.contact import summarise_contact
from tests.listening.e2e_helpers import start_simulator, wait_for_stream
from tests.listening.lsl_helpers import unique_source_id
from tests.real_muse import DATA


def run_contact(cli, source_id: str, *extra: str) -> tuple[int, str, str]:
    from app.cli.main import app

    result = cli.invoke(app, ["contact", "--source-id", source_id, "--seconds", "3", *extra])
    return result.exit_code, result.stdout, result.stderr


def test_a_loose_electrode_is_named_with_what_to_do(cli) -> None:
    source_id = unique_source_id()
    proc = start_simulator(["--mood", "calm", "--loose", "AF8", "--duration", "60"], source_id)
    try:
        wait_for_stream(source_id)
        code, out, err = run_contact(cli, source_id, "--json")
    finally:
        proc.kill()
        proc.wait()
    assert code == 2, err  # a bad electrode: scripts see it in the exit code
    report = json.loads(out)
    electrodes = report["electrodes"]
    assert electrodes["AF8"] == {"status": "bad", "problem": "saturated"}
    assert {electrodes[ch]["status"] for ch in ("TP9", "AF7", "TP10")} == {"good"}
    assert report["advice"].startswith("fix AF8 (right forehead):")
    assert report["readings"] >= 2
    assert err.count("AF8 ○ bad") >= 2  # the per-second view goes to stderr with --json


def test_a_replayed_real_recording_reads_and_reports_mains_as_contact(cli, tmp_path: Path) -> None:
    """A2_03's eyes-closed take: clean EEG with 50 Hz mains behind the ears (loose contact
    that the notch removes): every electrode readable, the advice names the mains."""
    csv = tmp_path / "A2_03_EC.csv"
    with gzip.open(DATA / "A2_03_EC.csv.gz", "rt") as fh:
        csv.write_text(fh.read())
    source_id = unique_source_id()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "replay", str(csv), "--source-id", source_id],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_stream(source_id)
        code, out, err = run_contact(cli, source_id)
    finally:
        proc.kill()
        proc.wait()
    assert code == 0, err
    advice = out.strip().splitlines()[-1]
    assert advice.startswith(("fix TP10 (behind the right ear)", "fix TP9 (behind the left ear)"))
    assert "mains hum" in advice
    assert "TP10 ◐ so-so" in out and "AF7 ● good" in out


def test_no_stream_is_one_line_naming_the_next_step(cli, monkeypatch) -> None:
    from app.cli.main import app

    monkeypatch.setenv("EMOTUNE_EEG_SOURCE_ID", unique_source_id())
    result = cli.invoke(app, ["contact", "--seconds", "1"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "muselsl stream" in result.stderr


@pytest.mark.parametrize(
    ("figures", "status"),
    [
        ({"good": 1.0, "line_noise_share": 0.01, "railed_share": 0.0, "emg_share": 0.05}, "good"),
        ({"good": 1.0, "line_noise_share": 0.6, "railed_share": 0.0, "emg_share": 0.05}, "so-so"),
        ({"good": 0.0, "issue": "muscle", "line_noise_share": 0.0, "emg_share": 0.6}, "bad"),
    ],
)
def test_the_most_frequent_status_of_each_electrode_is_reported(figures, status) -> None:
    clean = {"good": 1.0, "line_noise_share": 0.0, "railed_share": 0.0, "emg_share": 0.05}
    readings = [{"TP9": figures, "AF7": clean}] * 3 + [{"TP9": clean, "AF7": clean}]
    report = summarise_contact(readings)
    assert report.statuses == {"TP9": status, "AF7": "good"}
    assert report.ok == (status != "bad")
    assert report.advice.startswith("fix TP9") == (status != "good")


def test_doctor_runs_the_contact_check_when_a_stream_is_visible(cli, monkeypatch) -> None:
    from app.cli.main import app

    source_id = unique_source_id()
    monkeypatch.setenv("EMOTUNE_EEG_SOURCE_ID", source_id)
    proc = start_simulator(["--mood", "calm", "--loose", "TP9", "--duration", "60"], source_id)
    try:
        wait_for_stream(source_id)
        result = cli.invoke(app, ["doctor", "--json"])
    finally:
        proc.kill()
        proc.wait()
    assert result.exit_code == 1  # the loose electrode (and no Spotify login) fail
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    contact = checks["EEG contact"]
    assert not contact["ok"] and "TP9 bad" in contact["detail"]
    assert "fix TP9 (behind the left ear)" in contact["detail"]
