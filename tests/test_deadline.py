"""A hung Datadog never hangs the assistant: the per-call deadline, and client cancellation."""

from __future__ import annotations

import anyio
import httpx
import pytest

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
    assert after.structured_content == {"metric_name": "m", "type": "gauge"}


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
