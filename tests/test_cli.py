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


def session(*args: str, env: dict[str, str] | None = None, call: str = "") -> tuple[list[dict[str, Any]], str]:
    """Initialize and list tools over stdio (and call `call` with no arguments); the answers and stderr.

    Stdin stays open until every answer is in: closing it ends the session, pending requests included.
    """
    process = subprocess.Popen(
        [console_script(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**(env or {})),
    )
    lines = [INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"}, TOOLS_LIST]
    if call:
        lines.append({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": call, "arguments": {}}})
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        for line in lines:
            process.stdin.write(json.dumps(line) + "\n")
            process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in range(len(lines) - 1)]
        process.stdin.close()
        stderr = process.stderr.read() if process.stderr else ""
        process.wait()
    finally:
        watchdog.cancel()
        process.kill()
    return answers, stderr


def test_missing_keys_still_serve_and_every_call_says_the_fix() -> None:
    """Exiting before initialize would show the host's user only "connection closed"."""
    answers, stderr = session(call="get_monitors")
    instructions = answers[0]["result"]["instructions"]
    assert instructions.startswith("dd-mcp-server is not set up")
    assert len(answers[1]["result"]["tools"]) == 23
    called = answers[2]["result"]
    assert called["isError"] is True
    text = called["content"][0]["text"]
    assert "missing DD_API_KEY and DD_APP_KEY" in text
    assert "claude_desktop_config.json" in text
    assert ".vscode/mcp.json" in text
    (line,) = stderr.splitlines()
    assert "DD_API_KEY" in line
    assert "serving anyway" in line


def test_one_missing_key_is_named_and_the_other_never_shown() -> None:
    answers, stderr = session(env={"DD_API_KEY": API_KEY}, call="list_hosts")
    text = answers[2]["result"]["content"][0]["text"]
    assert "missing DD_APP_KEY" in text
    assert "DD_API_KEY and" not in text.split(":")[1]
    assert leaked(json.dumps(answers) + stderr) == []


def test_a_bad_setting_still_serves_the_tools_it_names_and_says_which_variable() -> None:
    env = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_API_URL": "http://example.com", "DD_MCP_TOOLSETS": "logs"}
    answers, _ = session(env=env, call="search_logs")
    assert [tool["name"] for tool in answers[1]["result"]["tools"]] == ["search_logs", "aggregate_logs"]
    assert "DD_API_URL" in answers[2]["result"]["content"][0]["text"]


def test_an_unreadable_toolset_setting_serves_the_default_tools() -> None:
    answers, _ = session(env={"DD_MCP_TOOLSETS": "nothing"}, call="query_metrics")
    assert len(answers[1]["result"]["tools"]) == 23
    text = answers[2]["result"]["content"][0]["text"]
    assert "DD_MCP_TOOLSETS" in text
    assert "missing DD_API_KEY" in text  # the first problem found is said first; the keys are read first


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "missing DD_API_KEY and DD_APP_KEY"),
        ({"DD_API_KEY": API_KEY}, "missing DD_APP_KEY"),
        ({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_API_URL": "http://example.com"}, "DD_API_URL"),
        ({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_MCP_DENY_TOOLS": "drop_database"}, "DD_MCP_DENY_TOOLS"),
    ],
)
def test_check_config_exits_2_with_one_line_and_nothing_on_stdout(env: dict[str, str], said: str) -> None:
    done = run_console("--check-config", env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert said in line
    assert leaked(line) == []


def test_check_config_exits_0_on_a_usable_configuration_without_serving() -> None:
    done = run_console("--check-config", env={"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_SITE": "datadoghq.eu"})
    assert (done.returncode, done.stdout) == (0, "")
    assert "configuration ok (site datadoghq.eu" in done.stderr
    assert leaked(done.stderr) == []


def test_version_and_help() -> None:
    version = run_console("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"dd-mcp-server {__version__}"
    helped = run_console("--help")
    assert helped.returncode == 0
    assert "--demo" in helped.stdout
    assert "DD_API_KEY" in helped.stdout


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
