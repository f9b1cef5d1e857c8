"""Investigations: tools composing several Datadog requests into one answer (issue 15)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import httpx
import pytest
import respx

from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.demo.org import INCIDENT_AFTER
from tests.conftest import BASE, NOW, connect
from tests.test_tables import Datadog

QUERY = "avg:trace.http.request.duration{env:prod} by {service}"


def series(scope: str, start: int, values: Sequence[float | None]) -> dict[str, Any]:
    """One series of a v1 query answer: a point a minute from `start`."""
    return {"scope": scope, "pointlist": [[(start + 60 * n) * 1000, v] for n, v in enumerate(values)]}


def answer_by_window(now: list[dict[str, Any]], before: list[dict[str, Any]]) -> Any:
    """A v1 query endpoint answering `now` for the last hour and `before` for any earlier window."""

    def answer(request: httpx.Request) -> httpx.Response:
        recent = int(request.url.params["to"]) == NOW
        return httpx.Response(200, json={"status": "ok", "series": now if recent else before})

    return answer


# -- compare_metrics ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_series_are_compared_with_their_baseline_and_ranked_by_change() -> None:
    start, before = NOW - 3600, NOW - 7200
    step = [100.0] * 30 + [300.0] * 30  # a step up at the 31st minute
    now_answer = [
        series("service:web", start, [10.0] * 60),
        series("service:checkout", start, step),
        series("service:new", start, [5.0] * 60),
    ]
    before_answer = [
        series("service:web", before, [10.0] * 60),
        series("service:checkout", before, [100.0] * 60),
        series("service:gone", before, [7.0] * 60),
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").mock(side_effect=answer_by_window(now_answer, before_answer))
        async with connect() as client:
            result = await client.call_tool("compare_metrics", {"query": QUERY})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    assert answer["baseline"] == f"{iso(before)} to {iso(start)}"
    rows = {row["series"]: row for row in answer["series"]}
    assert [row["series"] for row in answer["series"]] == [
        "service:gone",
        "service:new",
        "service:checkout",
        "service:web",
    ]
    checkout = rows["service:checkout"]
    assert checkout["now"] == {"mean": 200.0, "p95": 300.0, "max": 300.0}
    assert checkout["before"] == {"mean": 100.0, "p95": 100.0, "max": 100.0}
    assert checkout["change"] == {"mean": "+100%", "p95": "+200%", "max": "+200%"}
    assert checkout["shift"] == {"at": iso(start + 30 * 60), "from": 100.0, "to": 300.0}
    assert rows["service:web"]["change"] == {"mean": "0%", "p95": "0%", "max": "0%"}
    assert "shift" not in rows["service:web"]  # flat: no moment to name
    assert rows["service:new"]["before"] == "no data"
    assert rows["service:gone"]["now"] == "no data"


@pytest.mark.parametrize(
    ("baseline", "earlier"),
    [(None, 3600), ("previous", 3600), ("day", 86400), ("week", 7 * 86400), ("now-3d", 3 * 86400 - 3600)],
)
@pytest.mark.anyio
async def test_the_baseline_is_the_same_span_earlier(baseline: str | None, earlier: int) -> None:
    arguments = {"query": QUERY, **({"baseline": baseline} if baseline else {})}
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/query").respond(200, json={"status": "ok", "series": []})
        async with connect() as client:
            result = await client.call_tool("compare_metrics", arguments)
    assert not result.is_error, result.content
    windows = sorted((int(c.request.url.params["from"]), int(c.request.url.params["to"])) for c in route.calls)
    assert windows == [(NOW - 3600 - earlier, NOW - earlier), (NOW - 3600, NOW)]
    assert {c.request.url.params["query"] for c in route.calls} == {QUERY}


@pytest.mark.anyio
async def test_nothing_in_either_window_says_what_to_try() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").respond(200, json={"status": "ok", "series": []})
        async with connect() as client:
            result = await client.call_tool("compare_metrics", {"query": "avg:no.such.metric{*}"})
    assert result.structured_content is not None
    assert result.structured_content["series"] == []
    assert "list_metrics" in result.structured_content["note"]


class Barrier(httpx.AsyncBaseTransport):
    """Answers no request until `expected` are in flight at once: a tool asking one after the other
    would wait here for ever (the test's timeout says so)."""

    def __init__(self, expected: int) -> None:
        self.expected, self.waiting, self.most = expected, 0, 0
        self.all_in = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        if self.waiting == self.expected:
            self.all_in.set()
        await self.all_in.wait()
        return httpx.Response(200, json={"status": "ok", "series": []})


@pytest.mark.anyio
async def test_the_window_and_the_baseline_are_read_at_once() -> None:
    barrier = Barrier(expected=2)
    with anyio.fail_after(10):
        async with connect(transport=barrier) as client:
            result = await client.call_tool("compare_metrics", {"query": QUERY})
    assert not result.is_error, result.content
    assert barrier.most == 2


@pytest.mark.anyio
async def test_the_demo_story_shows_checkout_slowing_when_the_incident_began() -> None:
    async with connect(transport=httpx.MockTransport(Datadog(odd=False))) as client:
        result = await client.call_tool(
            "compare_metrics", {"query": "avg:trace.http.request.duration{service:checkout}", "baseline": "day"}
        )
    assert result.structured_content is not None
    (checkout,) = result.structured_content["series"]
    assert checkout["now"]["p95"] > 10 * checkout["before"]["p95"]
    assert checkout["shift"]["at"] == iso(NOW - INCIDENT_AFTER)


@pytest.mark.anyio
async def test_the_investigations_are_served_when_asked_for() -> None:
    async with connect(env={"DD_MCP_TOOLSETS": ""}) as client:
        default = {tool.name for tool in (await client.list_tools()).tools}
    async with connect(env={"DD_MCP_TOOLSETS": "investigations"}) as client:
        asked = {tool.name for tool in (await client.list_tools()).tools}
    assert "compare_metrics" not in default
    assert asked == {"compare_metrics"}
