"""What the server tells the client besides answers: the capabilities it really serves, progress
while a call pages or fans out, and log messages when Datadog is retried, rate limits, or an answer
is cut; on both the 2026-07-28 protocol (log messages opted into per request) and the older one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from mcp import MCPError
from mcp_types import LoggingMessageNotificationParams

from tests.conftest import API_KEY, APP_KEY, BASE, connect

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings(
        "ignore:The logging capability is deprecated:mcp.shared.exceptions.MCPDeprecationWarning"
    ),
]

LOGS = "/api/v2/logs/events/search"
MONITOR = "/api/v1/monitor/42"
MODES = ["auto", "legacy"]  # the 2026-07-28 protocol and the initialize handshake


class Heard:
    """What the client received: log messages and progress notifications."""

    def __init__(self) -> None:
        self.logs: list[LoggingMessageNotificationParams] = []
        self.progress: list[tuple[float, float | None, str | None]] = []

    async def log(self, params: LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def moved(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))


def log_page(n: int, cursor: str | None) -> dict[str, Any]:
    logs = [
        {"id": f"log-{cursor}-{i}", "attributes": {"message": f"timeout after {i} ms", "status": "error"}}
        for i in range(n)
    ]
    return {"data": logs, "meta": {"page": {"after": cursor}} if cursor else {}}


@pytest.mark.parametrize("mode", MODES)
async def test_initialize_advertises_tools_prompts_and_logging_but_no_empty_resources(mode: str) -> None:
    async with connect(mode=mode) as client:
        capabilities = client.server_capabilities
        assert capabilities.tools is not None
        assert capabilities.prompts is not None
        assert capabilities.logging is not None
        assert capabilities.resources is None
        with pytest.raises(MCPError, match="not found"):
            await client.list_resources()


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_that_pages_reports_progress_as_datadog_answers(mode: str) -> None:
    heard = Heard()
    with respx.mock(base_url=BASE) as mock:
        mock.post(LOGS).mock(
            side_effect=[
                httpx.Response(200, json=log_page(1000, "c1")),
                httpx.Response(200, json=log_page(1000, None)),
            ]
        )
        mock.post("/api/v2/logs/analytics/aggregate").respond(
            200, json={"data": {"buckets": [{"computes": {"c0": 2000}}]}}
        )
        async with connect(mode=mode) as client:
            answer = await client.call_tool(
                "log_patterns", {"query": "service:web", "max_logs": 2000}, progress_callback=heard.moved
            )
    assert not answer.is_error
    assert [p for p, _, _ in heard.progress] == [1, 2, 3]
    assert all(message and "Datadog request" in message for _, _, message in heard.progress)
    assert str(heard.progress[-1][2]).startswith("3 Datadog requests answered")


@pytest.mark.parametrize("mode", MODES)
async def test_a_retry_and_a_rate_limit_are_told_as_warnings(mode: str) -> None:
    heard = Heard()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).mock(
            side_effect=[
                httpx.Response(503, json={"errors": ["unavailable"]}),
                httpx.Response(429, json={"errors": ["slow down"]}, headers={"X-RateLimit-Reset": "1"}),
                httpx.Response(200, json={"id": 42, "name": "disk"}),
            ]
        )
        async with connect(mode=mode, logging_callback=heard.log, log_level="info") as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 42})
    assert not answer.is_error
    assert [(m.level, m.logger) for m in heard.logs] == [("warning", "dd-mcp-server")] * 2
    first, second = (str(m.data) for m in heard.logs)
    assert first.startswith(f"Datadog: GET {MONITOR} met status 503; retrying in ")
    assert second.startswith(f"Datadog: GET {MONITOR} met Datadog's rate limit (429); retrying in ")
    assert all(key not in first + second for key in (API_KEY, APP_KEY))


@pytest.mark.parametrize("mode", MODES)
async def test_a_cut_answer_is_told_as_a_notice(mode: str) -> None:
    heard = Heard()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).respond(200, json={"id": 42, "name": "disk", "message": "x" * 5000})
        env = {"DD_MCP_MAX_RESULT_CHARS": "1000"}
        async with connect(env=env, mode=mode, logging_callback=heard.log, log_level="debug") as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 42})
    assert not answer.is_error
    (notice,) = heard.logs
    assert notice.level == "notice"
    assert str(notice.data).startswith("get_monitor: a ")
    assert "cut to the 1000-character budget (DD_MCP_MAX_RESULT_CHARS)" in str(notice.data)


async def test_set_level_silences_what_is_below_it_on_the_older_protocol() -> None:
    heard = Heard()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).respond(200, json={"id": 42, "name": "disk", "message": "x" * 5000})
        env = {"DD_MCP_MAX_RESULT_CHARS": "1000"}
        async with connect(env=env, mode="legacy", logging_callback=heard.log) as client:
            await client.set_logging_level("warning")
            await client.call_tool("get_monitor", {"monitor_id": 42})
            assert heard.logs == []  # a notice, below warning
            await client.set_logging_level("notice")
            await client.call_tool("get_monitor", {"monitor_id": 42})
    assert [m.level for m in heard.logs] == ["notice"]


async def test_the_new_protocol_sends_log_messages_only_to_a_request_that_opted_in() -> None:
    heard = Heard()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).mock(
            side_effect=[httpx.Response(503, json={}), httpx.Response(200, json={"id": 42, "name": "disk"})]
        )
        async with connect(mode="auto", logging_callback=heard.log) as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 42})
    assert not answer.is_error
    assert heard.logs == []
