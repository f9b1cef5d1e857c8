"""The console script as a person runs it: help, version, log level, missing keys, an unknown site, the demo;
and the stderr guard that keeps the keys out of everything written there."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
import threading
from typing import Any

import pytest

from dd_mcp_server import __version__
from dd_mcp_server.cli import configure_stderr
from tests.conftest import API_KEY, APP_KEY, clean_env, console_script, run_console

pytestmark = pytest.mark.stdio

TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "cli-test", "version": "1"}},
}


def session(*args: str, env: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Initialize and list tools over stdio; the two JSON-RPC answers and what stderr said.

    Stdin stays open until both answers are in: closing it ends the session, pending requests included.
    """
    process = subprocess.Popen(
        [console_script(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**(env or {})),
    )
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        for line in (INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"}, TOOLS_LIST):
            process.stdin.write(json.dumps(line) + "\n")
            process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in range(2)]
        process.stdin.close()
        stderr = process.stderr.read() if process.stderr else ""
        process.wait()
    finally:
        watchdog.cancel()
        process.kill()
    return answers, stderr


def test_missing_keys_exit_2_with_one_line_on_stderr_and_nothing_on_stdout() -> None:
    done = run_console()
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DD_API_KEY" in lines[0]
    assert "DD_APP_KEY" in lines[0]


def test_one_missing_key_is_also_refused() -> None:
    done = run_console(env={"DD_API_KEY": API_KEY})
    assert done.returncode == 2
    assert "DD_APP_KEY" in done.stderr
    assert API_KEY not in done.stderr


def test_version_and_help() -> None:
    version = run_console("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"dd-mcp-server {__version__}"
    helped = run_console("--help")
    assert helped.returncode == 0
    assert "--demo" in helped.stdout
    assert "DD_API_KEY" in helped.stdout


def test_a_bad_setting_exits_2_naming_it() -> None:
    done = run_console(env={"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_API_URL": "http://example.com"})
    assert done.returncode == 2
    assert "DD_API_URL" in done.stderr
    assert done.stdout == ""


def test_an_unknown_site_warns_on_stderr_and_still_serves() -> None:
    answers, stderr = session(env={"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_SITE": "datadoghq.example"})
    assert "not a known Datadog site" in stderr
    assert answers[0]["result"]["serverInfo"]["name"] == "dd-mcp-server"
    assert len(answers[1]["result"]["tools"]) == 23
    assert API_KEY not in stderr


def test_demo_serves_every_tool_without_keys() -> None:
    answers, _ = session("--demo")
    tools = answers[1]["result"]["tools"]
    assert len(tools) == 23
    assert all(tool["annotations"]["readOnlyHint"] for tool in tools)


def test_log_level_flag_overrides_the_environment_and_refuses_unknown_levels() -> None:
    # asyncio says which selector it uses at DEBUG: a line only the most verbose level shows.
    louder = run_console("--demo", "--log-level", "debug", env={"DD_MCP_LOG_LEVEL": "ERROR"})
    assert louder.returncode == 0
    assert "DEBUG" in louder.stderr
    quieter = run_console("--demo", "--log-level", "ERROR", env={"DD_MCP_LOG_LEVEL": "DEBUG"})
    assert (quieter.returncode, quieter.stderr) == (0, "")
    refused = run_console("--demo", "--log-level", "LOUD")
    assert refused.returncode == 2
    assert "--log-level" in refused.stderr
    assert refused.stdout == ""


def guarded_stderr(monkeypatch: pytest.MonkeyPatch, level: str = "WARNING") -> io.StringIO:
    """A fresh sys.stderr behind the guard, logging at `level`; all restored after the test.

    Called in the test itself: pytest puts its own sys.stderr back between fixture setup and the test.
    """
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.WARNING)
    configure_stderr((API_KEY, APP_KEY), level)
    return captured


def leaked(text: str) -> list[str]:
    """Every piece of either key, 8 characters or longer, found in `text`."""
    return [key[i : i + 8] for key in (API_KEY, APP_KEY) for i in range(len(key) - 7) if key[i : i + 8] in text]


def test_stderr_guard_masks_a_key_written_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = guarded_stderr(monkeypatch)
    sys.stderr.write(f"api key {API_KEY[:17]}")
    sys.stderr.write(f"{API_KEY[17:]} and app key ")
    for start in range(0, len(APP_KEY), 8):  # pieces shorter than any fragment the redactor knows alone
        sys.stderr.write(APP_KEY[start : start + 8])
    sys.stderr.write("\n")
    sys.stderr.flush()
    assert leaked(stderr.getvalue()) == []
    assert stderr.getvalue().count("[REDACTED:datadog_key]") >= 2


def test_stderr_guard_masks_a_key_in_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = guarded_stderr(monkeypatch)
    print("header", base64.b64encode(f"{API_KEY}:{APP_KEY}".encode()).decode(), file=sys.stderr)
    print("api", base64.b64encode(API_KEY.encode()).decode(), file=sys.stderr, flush=True)
    assert base64.b64encode(API_KEY.encode()).decode()[:16] not in stderr.getvalue()
    assert "[REDACTED:datadog_key]" in stderr.getvalue()


def test_stderr_guard_masks_keys_in_debug_logs_and_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = guarded_stderr(monkeypatch, "DEBUG")
    log = logging.getLogger("dd_mcp_server.test")
    log.debug("sending DD-API-KEY %s", API_KEY)
    try:
        raise ValueError(f"upstream echoed {APP_KEY}")
    except ValueError:
        log.exception("call failed")
    sys.stderr.flush()
    assert "DEBUG sending DD-API-KEY" in stderr.getvalue()
    assert "Traceback" in stderr.getvalue()
    assert leaked(stderr.getvalue()) == []
