"""The recording (DD_MCP_AUDIT_LOG): a session's start and end, every call, what Datadog was asked,
what the model read (its digest, or the text with DD_MCP_AUDIT_RESPONSES=full); never a key."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import respx
from mcp import Client, StdioServerParameters

from dd_mcp_server.audit.trail import Trail
from dd_mcp_server.audit.verify import verify
from dd_mcp_server.cli import main
from dd_mcp_server.config import ConfigError, load_settings
from dd_mcp_server.server import build_server
from tests.conftest import (
    API_KEY,
    APP_KEY,
    BASE,
    NO_WAIT_RETRY,
    NOW,
    clean_env,
    console_script,
    make_settings,
    run_console,
)

METADATA = "/api/v1/metrics/system.cpu.user"


async def session(path: Path, calls: list[tuple[str, dict[str, Any]]], **env: str) -> list[Any]:
    """Run one recorded session making `calls`; the answers, once the session has ended."""
    settings = make_settings(DD_MCP_AUDIT_LOG=str(path), **env)
    server = build_server(settings, clock=lambda: NOW, retry=NO_WAIT_RETRY, trail=Trail.open(path))
    async with Client(server) as client:
        return [await client.call_tool(tool, arguments) for tool, arguments in calls]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.anyio
async def test_a_session_records_its_start_each_call_and_its_end_in_one_intact_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "trail.jsonl"
    with respx.mock(base_url=BASE) as mock:
        mock.get(METADATA).respond(200, json={"type": "gauge"}, headers={"x-request-id": "req-1"})
        mock.get("/api/v1/monitor/7").respond(404, json={"errors": ["Monitor not found"]})
        answers = await session(
            path,
            [
                ("get_metric_metadata", {"metric_name": "system.cpu.user", "include_tags": False}),
                ("get_monitor", {"monitor_id": 7}),
                ("get_monitor", {"monitor_id": "seven"}),
            ],
        )
    events = [r for r in records(path) if r.get("event") not in ("chain",)]
    assert [r["event"] for r in events] == ["session_start", "call", "call", "call", "session_end"]
    start, ok, missing, refused, end = events
    assert start["client"]["name"] == "mcp"
    assert start["identity"]["app_key"] == "sha256:" + hashlib.sha256(APP_KEY.encode()).hexdigest()[:16]
    assert start["site"] == "datadoghq.com"
    assert {r["session"] for r in events} == {start["session"]}
    assert ok["tool"] == "get_metric_metadata"
    assert ok["arguments"] == {"metric_name": "system.cpu.user", "include_tags": False}
    assert ok["outcome"] == "ok"
    assert ok["requests"] == [{"method": "GET", "path": METADATA, "status": 200, "request_id": "req-1", "bytes": 16}]
    text = answers[0].content[0].text
    assert ok["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert ok["bytes"] == len(text.encode())
    assert "response" not in ok  # the digest only, by default
    assert missing["outcome"] == "error"
    assert "does not exist" in missing["error"]
    assert missing["requests"][0]["status"] == 404
    assert refused["outcome"] == "error"
    assert refused["requests"] == []  # refused before any request
    assert refused["error"].startswith("Invalid argument 'monitor_id'")
    assert end["calls"] == 3
    assert verify([path]) == []
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.anyio
async def test_full_responses_record_the_text_the_model_read(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    with respx.mock(base_url=BASE) as mock:
        mock.get(METADATA).respond(200, json={"type": "gauge"})
        (answer,) = await session(
            path,
            [("get_metric_metadata", {"metric_name": "system.cpu.user", "include_tags": False})],
            DD_MCP_AUDIT_RESPONSES="full",
        )
    (call,) = [r for r in records(path) if r.get("event") == "call"]
    assert call["response"] == answer.content[0].text


@pytest.mark.anyio
async def test_no_key_is_ever_recorded(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
        await session(
            path,
            [
                ("search_logs", {"query": f"service:web {API_KEY}"}),
                ("search_logs", {"query": f"password={APP_KEY}", "limit": "x"}),
                ("search_logs", {API_KEY: 1}),
            ],
        )
    written = path.read_text()
    assert "[REDACTED" in written
    for key in (API_KEY, APP_KEY):
        assert not any(key[i : i + 12] in written for i in range(len(key) - 11)), "a piece of a key was recorded"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DD_MCP_AUDIT_RESPONSES": "everything"}, "DD_MCP_AUDIT_RESPONSES='everything' must be digest"),
        ({"DD_MCP_AUDIT_MAX_BYTES": "10"}, "DD_MCP_AUDIT_MAX_BYTES"),
    ],
)
def test_recording_settings_that_cannot_work_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, **env})


def test_recording_is_off_unless_a_path_is_given() -> None:
    assert make_settings().audit_log is None
    assert make_settings(DD_MCP_AUDIT_LOG=" /tmp/x.jsonl ").audit_log == "/tmp/x.jsonl"


# -- the real console script -------------------------------------------------------------------------


@pytest.mark.stdio
@pytest.mark.anyio
async def test_a_recorded_stdio_session_verifies_with_the_audit_command(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    params = StdioServerParameters(command=console_script(), args=["--demo"], env=clean_env(DD_MCP_AUDIT_LOG=str(path)))
    async with Client(params) as client:
        answer = await client.call_tool("get_monitors", {"group_states": ["alert"]})
    assert not answer.is_error
    events = [r["event"] for r in records(path)]
    assert events == ["chain", "session_start", "call", "session_end"]
    checked = await anyio.run_process([console_script(), "audit", "verify", str(path)], check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"chain intact" in checked.stdout


@pytest.mark.stdio
def test_a_trail_that_cannot_be_written_is_said_on_stderr_and_no_call_goes_unrecorded(tmp_path: Path) -> None:
    done = run_console("--demo", env={"DD_MCP_AUDIT_LOG": str(tmp_path)})  # a folder, not a file
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("dd-mcp-server: ERROR DD_MCP_AUDIT_LOG: cannot write the audit trail")
    assert line.endswith("(serving anyway: every tool call answers with this)")


@pytest.mark.anyio
async def test_a_session_without_calls_still_records_its_start_and_end(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    await session(path, [])
    assert [r["event"] for r in records(path)] == ["chain", "session_start", "session_end"]
    assert verify([path]) == []


# -- audit show ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_show_lists_the_calls_and_filters_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trail.jsonl"
    with respx.mock(base_url=BASE) as mock:
        mock.get(METADATA).respond(200, json={"type": "gauge"})
        mock.get("/api/v1/monitor/7").respond(404, json={"errors": ["Monitor not found"]})
        answers = await session(
            path,
            [
                ("get_metric_metadata", {"metric_name": "system.cpu.user", "include_tags": False}),
                ("get_monitor", {"monitor_id": 7}),
            ],
            DD_MCP_AUDIT_RESPONSES="full",
        )
    start = next(r for r in records(path) if r.get("event") == "session_start")

    def shown(*options: str) -> list[str]:
        assert main(["audit", "show", str(path), *options]) == 0
        return capsys.readouterr().out.splitlines()

    header, first, second = shown()
    assert header.startswith("time")
    assert " get_metric_metadata  ok  " in first
    assert '{"metric_name":"system.cpu.user","include_tags":false}' in first
    assert " get_monitor  error  " in second
    assert start["session"][:8] in second
    assert f"{start['identity']['user']}@" in second
    assert shown("--tool", "get_monitor")[1:] == [second]
    assert shown("--session", start["session"][:4])[1:] == [first, second]
    assert shown("--session", "ffff0000")[1:] == []
    assert shown("--identity", start["identity"]["app_key"])[1:] == [first, second]
    assert shown("--since", "now-1h")[1:] == [first, second]
    assert shown("--since", str(int(time.time()) + 3600))[1:] == []
    full = shown("--full", "--tool", "get_metric_metadata")
    assert full[2:] == ["    " + line for line in answers[0].content[0].text.splitlines()]


def test_show_refuses_a_since_that_is_not_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trail.jsonl"
    path.write_text("")
    assert main(["audit", "show", str(path), "--since", "yesterday"]) == 2
    assert capsys.readouterr().err.startswith("dd-mcp-server audit show: --since")
