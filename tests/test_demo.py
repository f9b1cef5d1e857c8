"""The demo organisation: every tool answers from it, and its story is visible through the tools."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.demo import catalog, demo_transport
from dd_mcp_server.demo.api import DemoApi
from dd_mcp_server.demo.org import Org
from dd_mcp_server.server import build_server
from tests.test_paging import demo_at_now


@asynccontextmanager
async def demo() -> AsyncIterator[Client]:
    async with Client(
        build_server(load_settings({"DD_MCP_OUTPUT": "json"}, demo=True), transport=demo_transport())
    ) as client:
        yield client


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.mark.anyio
async def test_metrics_show_the_checkout_latency_spike() -> None:
    async with demo() as client:
        answer = await call(
            client, "query_metrics", query="avg:trace.http.request.duration{service:checkout}", start="now-1d"
        )
        names = await call(client, "list_metrics", query="system")
        metadata = await call(client, "get_metric_metadata", metric_name="system.cpu.user")
    (series,) = answer["series"]
    assert series["_truncated"]["total"] >= 1440
    assert len(series["points"]) == 50
    assert series["_summary"]["max"] > 10 * series["_summary"]["min"]
    assert "system.cpu.user" in names["metrics"]
    assert set(metadata["tags"]) >= {"host", "service", "env"}
    assert "db-1" in metadata["tags"]["host"]


@pytest.mark.anyio
async def test_logs_count_payment_errors_and_page_with_a_cursor() -> None:
    async with demo() as client:
        counts = await call(client, "aggregate_logs", query="status:error", group_by=["service"])
        first = await call(client, "search_logs", query="service:payments status:error", limit=5)
        second = await call(
            client, "search_logs", query="service:payments status:error", limit=5, cursor=first["next_cursor"]
        )
        slowest = await call(client, "aggregate_logs", compute="p95(@duration)", group_by=["service"])
    assert counts["groups"][0]["service"] == "payments"
    assert counts["groups"][0]["value"] > 10
    assert all(log["status"] == "error" and log["service"] == "payments" for log in first["logs"] + second["logs"])
    assert {log["timestamp"] for log in first["logs"]}.isdisjoint(log["timestamp"] for log in second["logs"])
    assert slowest["groups"][0]["service"] in ("payments", "checkout")


@pytest.mark.anyio
async def test_monitors_in_alert_warn_and_ok_with_noise_stripped() -> None:
    async with demo() as client:
        firing = await call(client, "get_monitors", group_states=["alert", "warn"])
        everything = await call(client, "get_monitors")
        one = await call(client, "get_monitor", monitor_id=firing["monitors"][0]["id"])
    assert {m["state"] for m in firing["monitors"]} <= {"Alert", "Warn"}
    assert {"Alert", "Warn", "OK"} <= set(everything["states"])
    assert one["groups"][0]["status"] != "OK"
    assert not {"creator", "org_id", "restricted_roles", "matching_downtimes", "modified", "deleted"} & set(one)


@pytest.mark.anyio
async def test_dashboards_hosts_events_and_incidents_tell_the_same_story() -> None:
    async with demo() as client:
        boards = await call(client, "list_dashboards", query="checkout")
        board = await call(client, "get_dashboard", dashboard_id=boards["dashboards"][0]["id"])
        hosts = await call(client, "list_hosts", sort_field="cpu", sort_dir="desc")
        events = await call(client, "get_events", query="deploy", start="now-1d")
        incidents = await call(client, "list_incidents", query="state:active")
        incident = await call(client, "get_incident", incident_id=incidents["incidents"][0]["id"])
    group = next(w for w in board["widgets"] if w.get("type") == "group")
    assert any("checkout" in q for w in group["widgets"] for q in w.get("queries", []))
    errors = next(w for w in group["widgets"] if w["title"] == "Errors, % of requests")
    assert errors["queries"] == [
        "sum:trace.http.request.errors{service:checkout}.as_count() / "
        "sum:trace.http.request.hits{service:checkout}.as_count() * 100"
    ]
    failures = next(w for w in board["widgets"] if w.get("title") == "Payment failures, % of payment logs")
    assert failures["queries"] == [
        '100 * (logs "service:payments status:error" count) / (logs "service:payments" count)'
    ]
    assert not re.search(r"\bquery\d\b", json.dumps(board))  # no formula name left unexplained
    assert hosts["total_matching"] == 8
    assert "gohai" not in str(hosts)
    assert any("payments v2.14.0" in e["title"] for e in events["events"])
    assert incident["severity"] == "SEV-2"
    assert incident["commander"]["name"] == "Ana Lima"
    assert incident["services"] == ["checkout", "payments"]


@pytest.mark.anyio
async def test_apm_finds_the_slow_endpoint_and_rebuilds_a_failing_trace() -> None:
    async with demo() as client:
        slow = await call(client, "aggregate_spans", compute="p95(@duration)", group_by=["service"], start="now-2h")
        failing = await call(client, "list_spans", query="service:payments status:error", start="now-1h", limit=1)
        trace = await call(client, "get_trace", trace_id=failing["spans"][0]["trace_id"])
        services = await call(client, "list_services", query="payments")
    assert slow["compute"] == "p95(@duration) ms"
    assert slow["groups"][0]["service"] in ("payments", "checkout", "web-frontend")
    assert trace["errors"] >= 1
    assert len(trace["tree"]) == 1
    assert trace["tree"][0]["service"] == "web-frontend"
    assert "payments" in trace["services"]
    assert {s["name"] for s in services["services"]} >= {"payments", "checkout"}


@pytest.mark.anyio
async def test_synthetics_rum_slos_downtimes_and_notebooks_answer() -> None:
    async with demo() as client:
        tests = await call(client, "get_synthetics_tests", status="live")
        rum = await call(client, "search_rum_events", query="@type:error", start="now-1h")
        slos = await call(client, "list_slos")
        downtimes = await call(client, "list_downtimes")
        notebooks = await call(client, "list_notebooks", query="postmortem")
        notebook = await call(client, "get_notebook", notebook_id=notebooks["notebooks"][0]["id"])
    assert {t["status"] for t in tests["tests"]} == {"live"}
    checkout = next(t for t in tests["tests"] if t["name"] == "Checkout API")
    assert checkout["latest"]["last"] == "failed"
    assert all(t["latest"]["last"] == "passed" for t in tests["tests"] if t is not checkout)
    assert rum["events"]
    assert all(e["type"] == "error" for e in rum["events"])
    assert {s["status"][0]["state"] for s in slos["slos"]} == {"breached", "ok"}
    assert {d["status"] for d in downtimes["downtimes"]} == {"active", "scheduled"}
    assert any("Root cause" in cell.get("text", "") for cell in notebook["cells"])


@pytest.mark.anyio
async def test_demo_answers_like_datadog_to_bad_requests() -> None:
    async with httpx.AsyncClient(transport=demo_transport(), base_url="https://demo.invalid") as http:
        missing = await http.get("/api/v1/monitor/999")
        unknown = await http.get("/api/v9/nothing")
        wrong_method = await http.delete("/api/v1/monitor")
        no_query = await http.get("/api/v2/incidents/search")
        bad_cursor = await http.post("/api/v2/logs/events/search", json={"page": {"cursor": "x"}})
        unwrapped = await http.post("/api/v2/spans/events/search", json={"filter": {}})
    assert (missing.status_code, missing.json()) == (404, {"errors": ["Monitor not found"]})
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    assert no_query.status_code == 400
    assert bad_cursor.status_code == 400
    assert unwrapped.json()["errors"][0]["title"] == "Bad Request"


# -- the demo's own claims: sort orders, page sizes, cursors, aggregations ---------------------------
# Each expected value is computed here from the demo's records, not through its search code.

DEMO_NOW = 1_795_521_600.0  # 2026-11-24T12:00:00Z


@asynccontextmanager
async def demo_http(org: Org) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(DemoApi(org).handle), base_url=DEMO_BASE) as http:
        yield http


DEMO_BASE = "https://demo.invalid"


def epoch_of(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def log_stamp(record: dict[str, Any]) -> float:
    return epoch_of(record["attributes"]["timestamp"])


def in_window(records: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    return [r for r in records if start <= log_stamp(r) <= end]


def iso_z(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def org() -> Org:
    return Org(now=DEMO_NOW)


@pytest.mark.parametrize(
    ("sort", "newest_first"), [("-timestamp", True), ("timestamp", False), (None, True)], ids=["desc", "asc", "default"]
)
@pytest.mark.anyio
async def test_demo_log_search_sorts_by_time_as_asked(org: Org, sort: str | None, newest_first: bool) -> None:
    body: dict[str, Any] = {
        "filter": {"query": "*", "from": iso_z(DEMO_NOW - 7200), "to": iso_z(DEMO_NOW)},
        "page": {"limit": 1000},
    }
    if sort:
        body["sort"] = sort
    async with demo_http(org) as http:
        answer = (await http.post("/api/v2/logs/events/search", json=body)).json()
    got = [log_stamp(r) for r in answer["data"]]
    expected = sorted((log_stamp(r) for r in in_window(org.logs, DEMO_NOW - 7200, DEMO_NOW)), reverse=newest_first)
    assert got == expected
    assert len(got) > 400


@pytest.mark.anyio
async def test_demo_span_search_sorts_oldest_first_when_asked(org: Org) -> None:
    attributes = {
        "filter": {"query": "service:payments", "from": iso_z(DEMO_NOW - 7200), "to": iso_z(DEMO_NOW)},
        "page": {"limit": 1000},
        "sort": "timestamp",
    }
    async with demo_http(org) as http:
        answer = await http.post(
            "/api/v2/spans/events/search", json={"data": {"type": "search_request", "attributes": attributes}}
        )
    got = [epoch_of(s["attributes"]["start_timestamp"]) for s in answer.json()["data"]]
    expected = sorted(
        epoch_of(s["attributes"]["start_timestamp"]) for s in org.spans if s["attributes"]["service"] == "payments"
    )
    assert got == expected
    assert len(got) > 10


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.anyio
async def test_demo_cursors_walk_every_match_once_in_pages_of_the_limit(org: Org, limit: int) -> None:
    start, end = DEMO_NOW - 1800, DEMO_NOW
    body: dict[str, Any] = {"filter": {"query": "service:checkout", "from": iso_z(start), "to": iso_z(end)}}
    pages: list[dict[str, Any]] = []
    async with demo_http(org) as http:
        cursor = None
        while len(pages) < 200:
            page = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            answer = (await http.post("/api/v2/logs/events/search", json={**body, "page": page})).json()
            pages.append(answer)
            cursor = (answer.get("meta", {}).get("page") or {}).get("after")
            if not cursor:
                break
            assert answer["links"]["next"].endswith(f"?page[cursor]={cursor}")
    expected = sorted(
        (r for r in in_window(org.logs, start, end) if r["attributes"]["service"] == "checkout"),
        key=log_stamp,
        reverse=True,
    )
    assert [r["id"] for p in pages for r in p["data"]] == [r["id"] for r in expected]
    assert [len(p["data"]) for p in pages[:-1]] == [limit] * (len(pages) - 1)
    assert 1 <= len(pages[-1]["data"]) <= limit
    assert "page" not in pages[-1]["meta"]
    assert "links" not in pages[-1]
    assert len(expected) > 7


@pytest.mark.parametrize(
    ("method", "path", "request_args"),
    [
        ("POST", "/api/v2/logs/events/search", {"json": {"page": {"limit": 1001}}}),
        ("POST", "/api/v2/logs/events/search", {"json": {"page": {"limit": -1}}}),
        ("GET", "/api/v2/events", {"params": {"page[limit]": "1001"}}),
        ("GET", "/api/v2/incidents/search", {"params": {"query": "state:active", "page[size]": "101"}}),
        ("GET", "/api/v1/hosts", {"params": {"count": "1001"}}),
        ("GET", "/api/v1/monitor", {"params": {"page_size": "1001"}}),
        ("GET", "/api/v2/services/definitions", {"params": {"page[size]": "101"}}),
    ],
    ids=["logs 1001", "logs -1", "events 1001", "incidents 101", "hosts 1001", "monitors 1001", "services 101"],
)
@pytest.mark.anyio
async def test_demo_refuses_pages_larger_than_datadog_allows(
    org: Org, method: str, path: str, request_args: dict[str, Any]
) -> None:
    async with demo_http(org) as http:
        answer = await http.request(method, path, **request_args)
    assert answer.status_code == 400


@pytest.mark.anyio
async def test_demo_pages_hold_the_largest_size_datadog_allows(org: Org) -> None:
    async with demo_http(org) as http:
        logs = await http.post(
            "/api/v2/logs/events/search",
            json={"filter": {"from": iso_z(DEMO_NOW - 86400), "to": iso_z(DEMO_NOW)}, "page": {"limit": 1000}},
        )
        incidents = await http.get("/api/v2/incidents/search", params={"query": "state:active", "page[size]": "100"})
    assert len(logs.json()["data"]) == len(in_window(org.logs, DEMO_NOW - 86400, DEMO_NOW))
    assert incidents.status_code == 200


def percentile(values: list[float], percent: float) -> float:
    """The smallest value with more than `percent`% of the values at or below it."""
    return min(v for v in values if sum(1 for x in values if x <= v) > len(values) * percent / 100)


def expected_value(aggregation: str, values: list[Any]) -> Any:
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if aggregation == "cardinality":
        return len({json.dumps(v) for v in values if v is not None})
    if aggregation == "count":
        return len(numbers)
    if aggregation == "sum":
        return sum(numbers)
    if aggregation == "min":
        return min(numbers)
    if aggregation == "max":
        return max(numbers)
    if aggregation == "avg":
        return sum(numbers) / len(numbers)
    return percentile(numbers, 50 if aggregation == "median" else int(aggregation[2:]))


AGGREGATIONS = ["count", "sum", "min", "max", "avg", "median", "pc75", "pc90", "pc95", "pc98", "pc99", "cardinality"]


def usr_id(record: dict[str, Any]) -> Any:
    return record["attributes"]["attributes"]["usr"]["id"]


def log_duration(record: dict[str, Any]) -> Any:
    return record["attributes"]["attributes"]["duration"]


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.anyio
async def test_demo_log_aggregations_give_the_right_number_per_group_largest_first(org: Org, aggregation: str) -> None:
    start, end = DEMO_NOW - 7200, DEMO_NOW
    metric = "@usr.id" if aggregation == "cardinality" else "@duration"
    body = {
        "compute": [{"aggregation": aggregation, "metric": metric, "type": "total"}],
        "filter": {"query": "*", "from": iso_z(start), "to": iso_z(end)},
        "group_by": [{"facet": "service", "limit": 10}],
    }
    async with demo_http(org) as http:
        answer = (await http.post("/api/v2/logs/analytics/aggregate", json=body)).json()
    got = {b["by"]["service"]: b["computes"]["c0"] for b in answer["data"]["buckets"]}
    read = usr_id if aggregation == "cardinality" else log_duration
    by_service: dict[str, list[Any]] = {}
    for record in in_window(org.logs, start, end):
        by_service.setdefault(record["attributes"]["service"], []).append(read(record))
    expected = {service: expected_value(aggregation, values) for service, values in by_service.items()}
    assert set(got) == set(expected)
    for service, value in expected.items():
        assert got[service] == pytest.approx(value), service
    values = [b["computes"]["c0"] for b in answer["data"]["buckets"]]
    assert values == sorted(values, reverse=True)


@pytest.mark.anyio
async def test_demo_count_without_a_measure_counts_the_records_and_keeps_the_group_limit(org: Org) -> None:
    start, end = DEMO_NOW - 3600, DEMO_NOW
    body = {
        "compute": [{"aggregation": "count", "type": "total"}],
        "filter": {"query": "status:error", "from": iso_z(start), "to": iso_z(end)},
        "group_by": [{"facet": "service", "limit": 1}],
    }
    total = {"compute": [{"aggregation": "count", "type": "total"}], "filter": body["filter"]}
    async with demo_http(org) as http:
        top = (await http.post("/api/v2/logs/analytics/aggregate", json=body)).json()
        overall = (await http.post("/api/v2/logs/analytics/aggregate", json=total)).json()
    errors = [r for r in in_window(org.logs, start, end) if r["attributes"]["status"] == "error"]
    counts: dict[str, int] = {}
    for record in errors:
        counts[record["attributes"]["service"]] = counts.get(record["attributes"]["service"], 0) + 1
    leader = max(counts, key=lambda s: counts[s])
    assert [(b["by"], b["computes"]["c0"]) for b in top["data"]["buckets"]] == [({"service": leader}, counts[leader])]
    assert [b["computes"]["c0"] for b in overall["data"]["buckets"]] == [len(errors)]
    assert len(counts) > 1


@pytest.mark.parametrize("aggregation", ["avg", "max", "pc95", "pc99"])
@pytest.mark.anyio
async def test_demo_span_latency_through_the_tool_is_right_in_milliseconds(aggregation: str) -> None:
    async with demo_at_now() as (client, org):
        name = aggregation.replace("pc", "p")
        result = await client.call_tool(
            "aggregate_spans", {"compute": f"{name}(@duration)", "group_by": ["service"], "start": "now-2h"}
        )
    assert isinstance(result.structured_content, dict)
    got = {g["service"]: g["value"] for g in result.structured_content["groups"]}
    durations: dict[str, list[Any]] = {}
    for record in org.spans:
        stamp = epoch_of(record["attributes"]["start_timestamp"])
        if DEMO_NOW - 7200 <= stamp <= DEMO_NOW:
            durations.setdefault(record["attributes"]["service"], []).append(record["attributes"]["custom"]["duration"])
    assert set(got) == set(durations)
    for service, values in durations.items():
        assert got[service] == pytest.approx(round(expected_value(aggregation, values) / 1e6, 3)), service


@pytest.mark.parametrize(("sort", "newest_first"), [("-created", True), ("created", False)])
@pytest.mark.anyio
async def test_demo_incidents_are_sorted_by_creation_as_asked(org: Org, sort: str, newest_first: bool) -> None:
    params = {"query": "state:(active OR stable OR resolved)", "sort": sort}
    async with demo_http(org) as http:
        answer = (await http.get("/api/v2/incidents/search", params=params)).json()
    created = [i["data"]["attributes"]["created"] for i in answer["data"]["attributes"]["incidents"]]
    assert created == sorted(created, reverse=newest_first)
    assert len(created) == len(catalog.incidents(org)) == answer["data"]["attributes"]["total"]


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.anyio
async def test_demo_notebooks_and_hosts_are_sorted_as_asked(org: Org, direction: str) -> None:
    async with demo_http(org) as http:
        notebooks = (await http.get("/api/v1/notebooks", params={"sort_dir": direction})).json()
        by_cpu = (await http.get("/api/v1/hosts", params={"sort_field": "cpu", "sort_dir": direction})).json()
        by_name = (await http.get("/api/v1/hosts", params={"sort_field": "name", "sort_dir": direction})).json()
    descending = direction == "desc"
    modified = [n["attributes"]["modified"] for n in notebooks["data"]]
    assert modified == sorted(modified, reverse=descending)
    cpu = [h["metrics"]["cpu"] for h in by_cpu["host_list"]]
    assert cpu == sorted(cpu, reverse=descending)
    names = [h["name"] for h in by_name["host_list"]]
    assert names == sorted(names, reverse=descending)
    assert len(set(cpu)) > 1
    assert len(names) == len(catalog.hosts(org))


@pytest.mark.anyio
async def test_demo_reads_a_time_without_an_offset_as_utc(org: Org) -> None:
    window = {"from": "2026-11-24T11:00:00", "to": "2026-11-24T11:30:00"}
    async with demo_http(org) as http:
        naive = await http.post("/api/v2/logs/events/search", json={"filter": window, "page": {"limit": 1000}})
    expected = in_window(org.logs, DEMO_NOW - 3600, DEMO_NOW - 1800)
    assert {r["id"] for r in naive.json()["data"]} == {r["id"] for r in expected}
    assert expected
