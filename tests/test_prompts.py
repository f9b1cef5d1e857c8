"""Prompts: the common investigations, each naming only tools this server serves, in order."""

from __future__ import annotations

import re

import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import connect

NAMES = {
    "investigate_monitor": ["monitor_id"],
    "service_health": ["service", "env"],
    "what_changed": ["service", "around"],
    "summarise_incident": ["incident_id"],
    "postmortem_draft": ["incident_id"],
}
ARGUMENTS = {
    "investigate_monitor": {"monitor_id": "1000001"},
    "service_health": {"service": "checkout", "env": "prod"},
    "what_changed": {"service": "payments", "around": "2026-11-24T11:15:00Z"},
    "summarise_incident": {"incident_id": "9a0c1e2f-0000-4000-9000-000000000042"},
    "postmortem_draft": {"incident_id": "9a0c1e2f-0000-4000-9000-000000000042"},
}
STEP = re.compile(r"^\d+\. ([a-z_]+)", re.M)


@pytest.mark.parametrize("toolsets", ["", "all", "logs,monitors"])
@pytest.mark.anyio
async def test_each_prompt_asks_for_calls_to_tools_this_server_serves(toolsets: str) -> None:
    async with connect(env={"DD_MCP_TOOLSETS": toolsets}) as client:
        served = {tool.name for tool in (await client.list_tools()).tools}
        listed = (await client.list_prompts()).prompts
        texts = {name: await client.get_prompt(name, ARGUMENTS[name]) for name in NAMES}
    assert {p.name: [a.name for a in p.arguments or []] for p in listed} == NAMES
    for name, result in texts.items():
        text = result.messages[0].content.text  # type: ignore[union-attr]
        called = STEP.findall(text)
        assert set(called) <= served, (name, called)
        assert called or "serves none of the tools" in text, name
        for value in ARGUMENTS[name].values():
            assert value in text, (name, value)


@pytest.mark.anyio
async def test_with_the_investigations_a_prompt_starts_with_the_one_call_picture() -> None:
    async with connect(env={"DD_MCP_TOOLSETS": "all"}) as client:
        monitor = await client.get_prompt("investigate_monitor", {"monitor_id": "7"})
        health = await client.get_prompt("service_health", {"service": "web"})
    assert STEP.findall(monitor.messages[0].content.text) == ["triage_monitor"]  # type: ignore[union-attr]
    assert "1. triage_service(service='web')" in health.messages[0].content.text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_bad_prompt_argument_is_refused() -> None:
    async with connect() as client:
        with pytest.raises(MCPError, match="Invalid argument 'monitor_id': expected a whole number from 1, got '0'"):
            await client.get_prompt("investigate_monitor", {"monitor_id": "0"})
