"""Policy: DD_MCP_DENY_TOOLS and DD_MCP_DENY_QUERY refuse calls before anything is sent, naming the
rule; the refusal is recorded like any call; rules that cannot work stop the server at start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import respx
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitRequestParams, ElicitResult, InputRequiredResult, InputResponses

from dd_mcp_server.audit.policy import APPROVAL
from dd_mcp_server.audit.trail import Trail
from dd_mcp_server.audit.verify import verify
from dd_mcp_server.config import ConfigError
from dd_mcp_server.server import build_server
from tests.conftest import API_KEY, BASE, clean_env, connect, console_script, make_settings, run_console
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
        "Refused by policy: DD_MCP_DENY_TOOLS lists search_logs. Do not retry it; use another tool or ask the user."
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
        ({"DD_MCP_ASK_TOOLS": "get-monitors"}, "DD_MCP_ASK_TOOLS: 'get-monitors' is not a tool name"),
        ({"DD_MCP_ASK_QUERY": "(unclosed"}, "DD_MCP_ASK_QUERY: '\\(unclosed' is not a regular expression"),
    ],
)
def test_rules_that_cannot_work_are_refused_naming_the_variable(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_settings(**env)


@pytest.mark.parametrize("variable", ["DD_MCP_DENY_TOOLS", "DD_MCP_ASK_TOOLS"])
def test_a_ruled_tool_that_does_not_exist_stops_the_build(variable: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable} names no tool of this server: search_log"):
        build_server(make_settings(**{variable: "search_log"}))


@pytest.mark.stdio
def test_an_unknown_denied_tool_fails_the_config_check_and_is_said_on_every_call() -> None:
    done = run_console("--demo", "--check-config", env={"DD_MCP_DENY_TOOLS": "drop_database"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["dd-mcp-server: DD_MCP_DENY_TOOLS names no tool of this server: drop_database"]
    served = run_console("--demo", env={"DD_MCP_DENY_TOOLS": "drop_database"})
    assert served.returncode == 0
    assert "DD_MCP_DENY_TOOLS names no tool of this server" in served.stderr


@pytest.mark.anyio
async def test_an_odd_argument_name_is_never_quoted_in_a_refusal() -> None:
    async with connect(env={"DD_MCP_DENY_QUERY": "pii"}) as client:
        refused = await client.call_tool("search_logs", {API_KEY: "pii"})
    text = refused.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Refused by policy: DD_MCP_DENY_QUERY rule 'pii' matches an argument.")
    assert API_KEY[:12] not in text


# -- asking the user first (DD_MCP_ASK_TOOLS, DD_MCP_ASK_QUERY) ---------------------------------------


class User:
    """The person behind the host: answers every question the same way, and remembers each one."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        return ElicitResult(action=self.action, content={} if self.action == "accept" else None)  # type: ignore[arg-type]


MODES = ["auto", "legacy"]  # the 2026-07-28 protocol (InputRequiredResult) and the older one (elicitation/create)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.anyio
async def test_an_asked_call_runs_once_the_user_accepts(mode: str, tmp_path: Path) -> None:
    user, path = User("accept"), tmp_path / "trail.jsonl"
    with respx.mock(base_url=BASE) as mock:
        mock.post(LOGS).respond(200, json={"data": []})
        env = {"DD_MCP_ASK_QUERY": "(?i)checkout", "DD_MCP_AUDIT_LOG": str(path)}
        async with connect(env=env, trail=Trail.open(path), elicitation_callback=user, mode=mode) as client:
            answer = await client.call_tool("search_logs", {"query": f"service:checkout {API_KEY}"})
            unasked = await client.call_tool("search_logs", {"query": "service:web"})
        assert len(mock.calls) == 2
    assert not answer.is_error, answer.content
    assert not unasked.is_error
    (question,) = user.questions
    assert question.startswith("The assistant asks to call search_logs with {")
    assert "service:checkout" in question
    assert "DD_MCP_ASK_QUERY rule '(?i)checkout' matches argument 'query'" in question
    assert API_KEY not in question
    assert API_KEY[:12] not in question
    trail = records(path)
    decisions = [(r["tool"], r["decision"], r["rule"]) for r in trail if r["event"] == "policy"]
    rule = "DD_MCP_ASK_QUERY rule '(?i)checkout' matches argument 'query'"
    asked = [("search_logs", "asked", rule)] if mode == "auto" else []
    assert decisions == [*asked, ("search_logs", "approved", rule)]
    assert [r["outcome"] for r in trail if r["event"] == "call"] == ["ok", "ok"]  # the question is no call
    assert verify([path]) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.anyio
async def test_a_declined_call_is_refused_saying_the_user_declined(mode: str) -> None:
    user = User("decline")
    with respx.mock(base_url=BASE) as mock:
        async with connect(env={"DD_MCP_ASK_TOOLS": "search_logs"}, elicitation_callback=user, mode=mode) as client:
            refused = await client.call_tool("search_logs", {"query": "service:web"})
        assert not mock.calls
    assert refused.is_error
    assert refused.content[0].text == (  # type: ignore[union-attr]
        "The user declined this call (DD_MCP_ASK_TOOLS lists search_logs). "
        "Do not retry it; ask the user what they want instead."
    )
    assert len(user.questions) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.anyio
async def test_a_client_that_cannot_ask_is_refused_saying_so(mode: str, tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    env = {"DD_MCP_ASK_TOOLS": "get_monitors", "DD_MCP_AUDIT_LOG": str(path)}
    with respx.mock(base_url=BASE) as mock:
        async with connect(env=env, trail=Trail.open(path), mode=mode) as client:
            refused = await client.call_tool("get_monitors", {})
        assert not mock.calls
    text = refused.content[0].text  # type: ignore[union-attr]
    assert text.startswith("Refused by policy: DD_MCP_ASK_TOOLS lists get_monitors needs the user's approval")
    assert "this client cannot ask for it" in text
    (decision,) = [r for r in records(path) if r["event"] == "policy"]
    assert decision["decision"] == "cannot ask"


@pytest.mark.anyio
async def test_an_approval_counts_only_when_asked_and_only_for_the_call_it_was_asked_about() -> None:
    accept: InputResponses = {APPROVAL: ElicitResult(action="accept", content={})}
    with respx.mock(base_url=BASE) as mock:
        async with connect(env={"DD_MCP_ASK_TOOLS": "search_logs"}, elicitation_callback=User("accept")) as client:
            forged = await client.session.call_tool(
                "search_logs", {"query": "a"}, input_responses=accept, allow_input_required=True
            )
            assert isinstance(forged, InputRequiredResult)  # an answer nobody asked for: asked now
            with pytest.raises(MCPError, match="requestState"):
                await client.session.call_tool(
                    "search_logs",
                    {"query": "b"},
                    input_responses=accept,
                    request_state=forged.request_state,
                    allow_input_required=True,
                )
        assert not mock.calls


@pytest.mark.anyio
async def test_deny_wins_over_ask_and_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    user = User("accept")
    env = {"DD_MCP_DENY_TOOLS": "get_monitors", "DD_MCP_ASK_TOOLS": "get_monitors", "DD_MCP_AUDIT_LOG": str(path)}
    async with connect(env=env, trail=Trail.open(path), elicitation_callback=user) as client:
        refused = await client.call_tool("get_monitors", {})
    assert refused.is_error
    assert not user.questions
    (decision,) = [r for r in records(path) if r["event"] == "policy"]
    assert (decision["decision"], decision["rule"]) == ("refused", "DD_MCP_DENY_TOOLS lists get_monitors")


@pytest.mark.stdio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.anyio
async def test_the_console_script_asks_over_stdio(mode: str) -> None:
    user = User("accept")
    params = StdioServerParameters(
        command=console_script(), args=["--demo"], env=clean_env(DD_MCP_ASK_TOOLS="get_monitors")
    )
    async with Client(params, elicitation_callback=user, mode=mode) as client:
        answer = await client.call_tool("get_monitors", {"limit": 2})
    assert not answer.is_error, answer.content
    assert answer.content[0].text.startswith("2 monitors")  # type: ignore[union-attr]
    assert user.questions == [
        'The assistant asks to call get_monitors with {"limit":2}. '
        "A policy asks you first (DD_MCP_ASK_TOOLS lists get_monitors). Allow this call?"
    ]
