"""Policy: DD_MCP_DENY_TOOLS and DD_MCP_DENY_QUERY refuse calls before anything is sent, naming the
rule; the refusal is recorded like any call; rules that cannot work stop the server at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from dd_mcp_server.config import ConfigError
from dd_mcp_server.server import build_server
from tests.conftest import API_KEY, BASE, connect, make_settings, run_console
from tests.test_recording import records, session

LOGS = "/api/v2/logs/events/search"


@pytest.mark.anyio
async def test_a_denied_tool_is_refused_naming_the_rule_and_nothing_is_sent() -> None:
    with respx.mock(base_url=BASE) as mock:
        async with connect(env={"DD_MCP_DENY_TOOLS": "search_logs, get_trace"}) as client:
            refused = await client.call_tool("search_logs", {"query": "service:web"})
            assert not mock.calls
            mock.post("/api/v2/logs/analytics/aggregate").respond(200, json={"data": {"buckets": []}})
            allowed = await client.call_tool("aggregate_logs", {"query": "service:web"})
    assert refused.is_error
    assert refused.content[0].text == (  # type: ignore[union-attr]
        "Refused by policy: DD_MCP_DENY_TOOLS lists search_logs. Do not retry; use another tool or ask the user."
    )
    assert not allowed.is_error


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"query": "service:web @usr.email:ana@shop.example"}, "query"),
        ({"query": "*", "indexes": ["main", "PII-emails"]}, "indexes"),
    ],
)
@pytest.mark.anyio
async def test_a_text_argument_matching_a_denied_query_is_refused_naming_rule_and_argument(
    arguments: dict[str, object], argument: str
) -> None:
    rules = json.dumps([r"@usr\.email", "(?i)pii"])
    with respx.mock(base_url=BASE) as mock:
        async with connect(env={"DD_MCP_DENY_QUERY": rules}) as client:
            refused = await client.call_tool("search_logs", arguments)
            mock.post(LOGS).respond(200, json={"data": []})
            allowed = await client.call_tool("search_logs", {"query": "service:web"})
        assert len(mock.calls) == 1
    text = refused.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Refused by policy: DD_MCP_DENY_QUERY rule ")
    assert f"matches argument '{argument}'" in text
    assert not allowed.is_error


@pytest.mark.anyio
async def test_a_refusal_is_recorded_with_its_rule(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    await session(path, [("get_monitors", {})], DD_MCP_DENY_TOOLS="get_monitors")
    (call,) = [r for r in records(path) if r.get("event") == "call"]
    assert call["outcome"] == "error"
    assert call["requests"] == []
    assert "DD_MCP_DENY_TOOLS lists get_monitors" in call["error"]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DD_MCP_DENY_TOOLS": "Search Logs"}, "is not a tool name"),
        ({"DD_MCP_DENY_QUERY": "(unclosed"}, "is not a regular expression"),
        ({"DD_MCP_DENY_QUERY": '["ok", 5]'}, "JSON list of non-empty strings"),
        ({"DD_MCP_DENY_QUERY": "[not json"}, "is not a JSON list"),
    ],
)
def test_rules_that_cannot_work_are_refused_naming_the_variable(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_settings(**env)


def test_a_denied_tool_that_does_not_exist_stops_the_build() -> None:
    with pytest.raises(ConfigError, match="DD_MCP_DENY_TOOLS names no tool of this server: search_log"):
        build_server(make_settings(DD_MCP_DENY_TOOLS="search_log"))


@pytest.mark.stdio
def test_the_server_refuses_to_start_on_an_unknown_denied_tool() -> None:
    done = run_console("--demo", env={"DD_MCP_DENY_TOOLS": "drop_database"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["dd-mcp-server: DD_MCP_DENY_TOOLS names no tool of this server: drop_database"]


@pytest.mark.anyio
async def test_an_odd_argument_name_is_never_quoted_in_a_refusal() -> None:
    async with connect(env={"DD_MCP_DENY_QUERY": "pii"}) as client:
        refused = await client.call_tool("search_logs", {API_KEY: "pii"})
    text = refused.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Refused by policy: DD_MCP_DENY_QUERY rule 'pii' matches an argument.")
    assert API_KEY[:12] not in text
