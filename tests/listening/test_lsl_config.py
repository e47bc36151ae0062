"""emotune keeps the user's lsl_api.cfg (session, peers, ports) while it turns liblsl's log down."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from classifier.lsl_discovery import config_with_log_level, find_streams, lsl_config_file
from tests.listening.lsl_helpers import counter_outlet, unique_source_id

REPO = Path(__file__).resolve().parents[2]


def parsed(text: str) -> configparser.ConfigParser:
    """Parse as liblsl does in the one way that matters here: a repeated section or key is an
    error (liblsl then reads none of the file)."""
    parser = configparser.ConfigParser(strict=True, inline_comment_prefixes=(";", "#"))
    parser.read_string(text)
    return parser


@pytest.mark.parametrize(
    "user_text, level",
    [
        ("", "-3"),
        ("[lab]\nSessionID = mine\n", "-3"),
        ("[lab]\nSessionID = mine\n[log]\nfile = lsl.log ; where\n[ports]\nIPv6 = disable\n", "-3"),
        ("[log]\nlevel = 0 ; I want liblsl's INFO lines\n", "0"),
    ],
    ids=["no file", "no [log]", "[log] without a level", "the user's own level"],
)
def test_the_users_settings_are_kept_and_the_level_set_once(user_text: str, level: str) -> None:
    config = parsed(config_with_log_level(user_text, -3, replace_users_level=False))
    assert config["log"]["level"] == level
    users = parsed(user_text)
    for section in users.sections():
        for key, value in users[section].items():
            if (section, key) != ("log", "level"):
                assert config[section][key] == value


def test_an_explicit_level_replaces_the_users() -> None:
    text = config_with_log_level("[log]\nlevel = 0\nfile = x\n", -1, replace_users_level=True)
    assert parsed(text)["log"]["level"] == "-1" and parsed(text)["log"]["file"] == "x"


def test_the_file_is_looked_for_where_liblsl_looks(tmp_path: Path, monkeypatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "lsl_api").mkdir(parents=True)
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.delenv("LSLAPICFG", raising=False)
    in_home = home / "lsl_api" / "lsl_api.cfg"
    in_home.write_text("[lab]\nSessionID = home\n")
    assert lsl_config_file() == in_home
    (work / "lsl_api.cfg").write_text("[lab]\nSessionID = here\n")
    assert lsl_config_file() == Path("lsl_api.cfg")
    named = tmp_path / "named.cfg"
    named.write_text("[lab]\nSessionID = named\n")
    monkeypatch.setenv("LSLAPICFG", str(named))
    assert lsl_config_file() == named


def test_a_stream_in_another_lsl_session_is_not_seen_and_liblsl_stays_quiet(
    tmp_path: Path,
) -> None:
    """The user's SessionID reaches liblsl: an outlet started with another session's file is
    invisible here (this test process has its own session) and visible to a process given
    the same file. That file sets its own log level (errors only), and liblsl logs nothing:
    a second `level` would make it reject the whole file and print why."""
    other_session = tmp_path / "lsl_api.cfg"
    other_session.write_text(
        f"[lab]\nSessionID = emotune-other-{uuid.uuid4().hex[:8]}\n[log]\nlevel = -2\n"
    )
    finder = (  # looks for up to 30 s: the outlet's process may still be starting
        "import sys; from tests.listening.e2e_helpers import wait_for_stream\n"
        "wait_for_stream(sys.argv[1], timeout_s=30.0); print(True)"
    )
    with counter_outlet(source_id=unique_source_id(), lsl_config=other_session) as source_id:
        same_session = subprocess.run(
            [sys.executable, "-c", finder, source_id],
            cwd=REPO,
            env=dict(os.environ, LSLAPICFG=str(other_session)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        seen_here = any(s.source_id == source_id for s in find_streams("Muse", timeout_s=3.0))
    assert same_session.stdout.strip() == "True", same_session.stderr[-2000:]
    assert not seen_here
    assert "ERR|" not in same_session.stderr and "INFO|" not in same_session.stderr


def test_a_log_level_that_is_not_a_number_is_refused_in_one_line(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "app", "doctor"],
        cwd=REPO,
        env=dict(os.environ, EMOTUNE_LSL_LOGLEVEL="loud", EMOTUNE_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "emotune: error: EMOTUNE_LSL_LOGLEVEL is 'loud'; set it to a number: -3 (fatal only), "
        "-2 errors, -1 warnings, 0 info"
    ]
