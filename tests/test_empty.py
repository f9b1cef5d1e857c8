"""Empty answers say why they may be empty and what to try: close metric names, the same search over
the last day, close service names. Each hint is one more request, made only for an empty answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import BASE, NOW, answered

DAY = 86400
NAMES = {"metrics": ["system.cpu.user", "system.cpu.iowait", "system.mem.used", "trace.http.request.hits"]}
LOG_COUNT, SPAN_COUNT = "/api/v2/logs/analytics/aggregate", "/api/v2/spans/analytics/aggregate"


@pytest.mark.anyio
async def test_a_metric_that_reports_nothing_is_answered_with_the_closest_names_that_do() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").respond(200, json={"status": "ok", "series": []})
        names = mock.get("/api/v1/metrics").respond(200, json=NAMES)
        answer = await answered("query_metrics", {"query": "avg:system.cpu.usr{*} by {host}"})
        assert names.calls.last.request.url.params["from"] == str(NOW - DAY)
    assert answer["note"] == (
        "No data: system.cpu.usr reported nothing in the last day (close names that did: system.cpu.user, "
        "system.cpu.iowait, system.mem.used)."
    )


@pytest.mark.anyio
async def test_a_metric_that_reports_but_not_for_this_scope_points_at_its_tags() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").respond(200, json={"status": "ok", "series": []})
        mock.get("/api/v1/metrics").respond(200, json=NAMES)
        answer = await answered("compare_metrics", {"query": "avg:system.cpu.user{host:nope}"})
    assert answer["note"].startswith("No data for this query in this window, though system.cpu.user reports.")
    assert "get_metric_metadata" in answer["note"]


def counting(total: int, services: list[str]) -> Any:
    """A logs aggregate: `total` for a count, `services` for a count by service."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["group_by"]:
            buckets = [{"by": {"service": s}, "computes": {"c0": 5}} for s in services]
        else:
            buckets = [{"by": {}, "computes": {"c0": total}}]
        return httpx.Response(200, json={"data": {"buckets": buckets}})

    return answer


@pytest.mark.anyio
async def test_an_empty_log_search_counts_the_last_day_and_names_close_services() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
        counts = mock.post(LOG_COUNT).mock(side_effect=counting(0, ["payments", "checkout", "web"]))
        answer = await answered("search_logs", {"query": "service:paymnts status:error", "start": "now-15m"})
        windows = {
            (json.loads(c.request.content)["filter"]["from"], json.loads(c.request.content)["filter"]["to"])
            for c in counts.calls
        }
    assert windows == {("2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z")}  # the last day, not the asked window
    assert answer["note"] == (
        "Nothing matches in this window; over the last day the same query matches 0. "
        "No service is named paymnts; close names: payments."
    )


@pytest.mark.anyio
async def test_an_empty_span_aggregate_counts_the_last_day() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post(SPAN_COUNT).mock(
            side_effect=lambda request: httpx.Response(
                200,
                json={
                    "data": []
                    if json.loads(request.content)["data"]["attributes"]["filter"]["from"] != "2026-11-23T12:00:00Z"
                    else [{"attributes": {"by": {}, "compute": {"c0": 14}}}]
                },
            )
        )
        answer = await answered("aggregate_spans", {"query": "resource_name:checkout", "group_by": ["service"]})
    assert answer["note"] == "Nothing matches in this window; over the last day the same query matches 14."


@pytest.mark.anyio
async def test_a_later_empty_page_costs_no_more_requests() -> None:
    with respx.mock(base_url=BASE) as mock:
        search = mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
        answer = await answered("search_logs", {"cursor": "eyJhZnRlciI6IjEifQ"})
        assert len(mock.calls) == len(search.calls) == 1
    assert "note" not in answer


@pytest.mark.anyio
async def test_a_hint_datadog_refuses_leaves_the_answer_and_a_plain_note() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/spans/events/search").respond(200, json={"data": []})
        mock.post(SPAN_COUNT).respond(403, json={"errors": ["Forbidden"]})
        answer = await answered("list_spans", {"query": "service:web"})
    assert answer["spans"] == []
    assert answer["note"] == "Nothing matches in this window: widen it, or loosen the query (search syntax)."
