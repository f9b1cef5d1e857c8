"""A hung Datadog never hangs the assistant: the per-call deadline, and client cancellation."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from dd_mcp_server.tools.results import UNTRUSTED_NOTE
from tests.conftest import connect, make_settings


class Hanging(httpx.AsyncBaseTransport):
    """Never answers span searches; answers everything else at once. Records when it is cancelled."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.cancelled = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v2/logs/events/search":
            return httpx.Response(200, json={"type": "gauge"}, request=request)
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.cancelled.set()
        raise AssertionError("unreachable")


@pytest.mark.anyio
async def test_deadline_ends_a_hung_call_with_a_clear_error_and_the_server_goes_on() -> None:
    hanging = Hanging()
    async with connect(make_settings(DD_MCP_DEADLINE="0.3"), transport=hanging) as client:
        with anyio.fail_after(5):
            result = await client.call_tool("search_logs", {"query": "*"})
        assert result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "did not finish within 0.3 s (DD_MCP_DEADLINE)" in text
        assert hanging.cancelled.is_set()
        after = await client.call_tool("get_metric_metadata", {"metric_name": "m", "include_tags": False})
    assert not after.is_error
    assert after.structured_content == {"_note": UNTRUSTED_NOTE, "metric_name": "m", "type": "gauge"}


@pytest.mark.anyio
async def test_client_cancellation_stops_the_http_work() -> None:
    hanging = Hanging()
    async with connect(transport=hanging) as client:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "search_logs", {"query": "*"})
                await hanging.started.wait()
                group.cancel_scope.cancel()
            # The client's cancellation reaches the server, which abandons the pending request.
            await hanging.cancelled.wait()
        after = await client.call_tool("get_metric_metadata", {"metric_name": "m", "include_tags": False})
    assert not after.is_error


class Heavy(httpx.AsyncBaseTransport):
    """Answers log searches with a page of several megabytes to clean, mask and trim; the rest at once."""

    def __init__(self) -> None:
        line = "card 4111 1111 1111 1111 password=hunter2 token " * 400
        logs = [{"id": str(n), "attributes": {"message": line, "attributes": {"k": line}}} for n in range(400)]
        self.body = json.dumps({"data": logs}).encode()
        self.served = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/logs/events/search":
            self.served.set()
            return httpx.Response(200, content=self.body, request=request)
        return httpx.Response(200, json={"metrics": ["a", "b"]}, request=request)


@pytest.mark.anyio
async def test_the_event_loop_stays_responsive_while_a_huge_answer_is_shaped() -> None:
    heavy = Heavy()
    finished: list[str] = []
    async with connect(transport=heavy) as client:

        async def big() -> None:
            result = await client.call_tool("search_logs", {"limit": 400})
            assert not result.is_error
            finished.append("big")

        async with anyio.create_task_group() as group:
            group.start_soon(big)
            await heavy.served.wait()
            with anyio.fail_after(1):
                small = await client.call_tool("list_metrics", {})
            finished.append("small")
    assert not small.is_error
    assert finished == ["small", "big"], "the small call waited for the big one"
