"""Security properties: the Spotify token stays private, the login callback is loopback-only
and single-use, checkpoints cannot run code, and SQL is never built from strings."""

from __future__ import annotations

import ast
import json
import socket
import stat
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app.config import load_settings
from playlists.errors import PlaylistsError
from tests.playlists.helpers import app_emulator, redirect_uri
from tests.reliability.helpers import REPO, emotune, tag_track_ids

PACKAGES = ("app", "classifier", "playlists", "migrations", "benchmarks")


def test_token_file_is_0600_and_never_in_verbose_logs_or_json(store, monkeypatch, faults):
    with app_emulator(monkeypatch) as emu:
        token_path = load_settings().token_path
        assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
        ids = emu.sample_track_ids()[:6]
        tag_track_ids(store, emu, ids, ["happy", "calm", "sad", "tense", "happy", "sad"])
        emu.expire_tokens()  # the first command refreshes: a new token is written and used
        runs = [
            emotune("--verbose", "sync", "--json"),
            emotune("--verbose", "sync", "--dry-run"),
            emotune("--verbose", "tracks", "--json"),
            emotune("--verbose", "doctor", "--json"),
        ]
        emu.inject_fault("500", times=2)  # retried, each retry logged (--verbose), then done
        runs.append(emotune("--verbose", "sync", "--json"))
        # and an error path, with tracebacks on: a Retry-After too long to wait for ends the
        # sync at once (a 5xx storm ends it too, after 7.5 s of back-off)
        emu.inject_fault("429", times=20, retry_after_s=3600)
        runs.append(emotune("--verbose", "sync", "--json"))
        # Refreshed on the way: the file must still be private.
        assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    token = json.loads(token_path.read_text())
    secrets = [token["access_token"], token["refresh_token"]]
    assert all(len(s) >= 16 for s in secrets)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[-1].returncode == 1  # the error path really ran
    name = "security: token in --verbose logs or --json output"
    faults.inject(name, len(runs))
    leaked = [run.args for run in runs if any(s in run.stdout + run.stderr for s in secrets)]
    faults.survived(name, len(runs) - len(leaked))
    assert leaked == []


def test_login_callback_binds_loopback_only_checks_state_and_answers_once(tmp_path, faults):
    from playlists.client import _callback_server, login

    uri = redirect_uri()
    server, _ = _callback_server(uri, "state-123")
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
    localhost = uri.replace("127.0.0.1", "localhost")
    server, _ = _callback_server(localhost, "state-123")
    try:
        assert server.server_address[0] == "127.0.0.1"  # "localhost" still binds loopback only
    finally:
        server.server_close()
    for bad in (
        "http://0.0.0.0:8888/callback",
        "http://192.168.1.20:8888/callback",
        "https://127.0.0.1:8888/callback",
    ):
        with pytest.raises(PlaylistsError, match="127.0.0.1"):
            _callback_server(bad, "s")

    # A forged state is refused, and the server is gone after that one answer: no retries.
    shown: list[str] = []
    outcome: dict = {}

    def run() -> None:
        try:
            login("emotune-test", uri, tmp_path / "t.json", api_url="http://127.0.0.1:9",
                  no_browser=True, show=shown.append, timeout_s=10)  # fmt: skip
        except PlaylistsError as exc:
            outcome["error"] = str(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        time.sleep(0.01)
    port = urlsplit(uri).port
    answer = requests.get(f"{uri}?code=stolen&state=forged", timeout=5)
    worker.join(timeout=10)
    faults.inject("security: forged login callback")
    refused = answer.status_code == 400 and "state" in outcome.get("error", "")
    no_token = not (tmp_path / "t.json").exists()
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        closed = False  # the callback server still answers: it would take a second try
    except OSError:
        closed = True
    faults.survived("security: forged login callback", refused and no_token and closed)
    assert refused, (answer.status_code, outcome)
    assert no_token and closed


def _python_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]


def test_every_torch_load_passes_weights_only_true() -> None:
    calls = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                weights_only = [k for k in node.keywords if k.arg == "weights_only"]
                calls.append((f"{path.relative_to(REPO)}:{node.lineno}", weights_only))
    assert calls, "no torch.load found: the scan is looking in the wrong place"
    for where, kw in calls:
        assert kw and isinstance(kw[0].value, ast.Constant) and kw[0].value.value is True, where


SQL_CALLS = {"text", "exec_driver_sql", "execute", "executemany", "executescript"}
# A PRAGMA takes no bound parameters; this one interpolates a module constant (an int).
ALLOWED = {'cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")'}


def _operands(expr: ast.expr) -> list[ast.expr]:
    """The leaves of a chain of `+` / `%` (e.g. "a" + x + "b" -> three leaves)."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Mod):
        return _operands(expr.left) + _operands(expr.right)
    return [expr]


def _built_from_strings(arg: ast.expr) -> bool:
    """True for SQL text made by interpolation: f-strings, `%`, `+`, or `.format`."""
    if isinstance(arg, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in arg.values)
    if isinstance(arg, ast.BinOp):
        leaves = _operands(arg)
        has_text = any(
            isinstance(x, ast.JoinedStr)
            or (isinstance(x, ast.Constant) and isinstance(x.value, str))
            for x in leaves
        )
        return has_text and any(not isinstance(x, ast.Constant) for x in leaves)
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute):
        return arg.func.attr == "format" and isinstance(arg.func.value, ast.Constant)
    return False


def test_no_sql_is_built_from_strings() -> None:
    offending, seen = [], 0
    for path in _python_files():
        source = path.read_text()
        for node in ast.walk(ast.parse(source, str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name not in SQL_CALLS:
                continue
            seen += 1
            if _built_from_strings(node.args[0]):
                code = ast.get_source_segment(source, node) or ""
                if code not in ALLOWED:
                    offending.append(f"{path.relative_to(REPO)}:{node.lineno}: {code}")
    assert seen >= 5, "the scan found almost no SQL calls: is it looking in the right place?"
    assert offending == []


def test_the_sql_scan_catches_interpolation() -> None:
    """The scan itself can fail: each way of building SQL from strings is caught."""
    for snippet in (
        "db.execute(text(f\"SELECT * FROM tracks WHERE name = '{name}'\"))",
        'conn.exec_driver_sql("DELETE FROM tracks WHERE id = %s" % track_id)',
        'db.execute(text("SELECT * FROM t WHERE a = {}".format(a)))',
        'cur.execute("SELECT " + column + " FROM t")',
    ):
        tree = ast.parse(snippet)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.args]
        assert any(_built_from_strings(c.args[0]) for c in calls), snippet
