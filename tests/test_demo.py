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
from dd_mcp_server.demo.org import ALERTS, DECLARED_AFTER, DEPLOY_AFTER, INCIDENT_AFTER, Org, tag_value
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
        failing = await call(
            client, "list_spans", query='service:payments resource_name:"POST /api/charge" status:error', limit=1
        )
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
    assert len(got) > 300


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
        epoch_of(s["attributes"]["start_timestamp"])
        for s in org.spans
        if s["attributes"]["service"] == "payments" and epoch_of(s["attributes"]["start_timestamp"]) >= DEMO_NOW - 7200
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
    if not numbers:
        return None  # a measure over no value: Datadog answers null
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
    return (record["attributes"]["attributes"].get("usr") or {}).get("id")


def log_duration(record: dict[str, Any]) -> Any:
    return record["attributes"]["attributes"].get("duration")


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
        assert got[service] == (None if value is None else pytest.approx(value)), service
    values = [b["computes"]["c0"] for b in answer["data"]["buckets"] if b["computes"]["c0"] is not None]
    assert values == sorted(values, reverse=True)
    assert len(values) > 3


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


# -- one world, one story: what the investigation tools must find -------------------------------------
# Through the MCP tools, on the demo generated at the fixed clock (tests/conftest.py NOW), with a budget
# large enough that no answer is cut.

WHOLE = {"DD_MCP_MAX_RESULT_CHARS": "1000000"}
DEPLOY = int(DEMO_NOW - DEPLOY_AFTER)
INCIDENT = int(DEMO_NOW - INCIDENT_AFTER)
DAY_AGO = int(DEMO_NOW - 86400)


async def rows(client: Client, tool: str, key: str, **args: Any) -> list[dict[str, Any]]:
    """Every row a list tool gives for `args`, its pages followed to the end."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        page = await call(client, tool, **args, **({"cursor": cursor} if cursor else {}))
        found.extend(page[key])
        cursor = page.get("next_cursor")
        if not cursor:
            return found
    raise AssertionError(f"{tool} kept giving pages")


@pytest.mark.anyio
async def test_every_trace_id_an_error_log_gives_resolves_to_a_trace_of_its_service() -> None:
    async with demo_at_now(WHOLE) as (client, _):
        logs = await rows(
            client, "search_logs", "logs", query="status:error", start=DAY_AGO, limit=1000, fields=["dd.trace_id"]
        )
        traced = [log for log in logs if "dd" in log]
        for log in traced:
            trace = await call(client, "get_trace", trace_id=log["dd"]["trace_id"])
            assert log["service"] in trace.get("services", {}), (log, trace)
    assert len(traced) > 50
    assert {log["service"] for log in traced} >= {"payments", "checkout", "inventory", "email-worker"}


def walk(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every node of a tree: the spans of a trace, the widgets of a dashboard."""
    return [node for top in tree for node in [top, *walk(top.get("children") or top.get("widgets") or [])]]


@pytest.mark.anyio
async def test_checkout_504s_agree_across_logs_spans_rum_and_metrics() -> None:
    window = {"start": INCIDENT, "end": int(DEMO_NOW)}
    before = {"start": DAY_AGO, "end": INCIDENT - 1}
    async with demo_at_now(WHOLE) as (client, _):
        logs = await rows(
            client, "search_logs", "logs", query="service:checkout @http.status_code:504", fields=["dd"], **window
        )
        spans = await rows(
            client, "list_spans", "spans", query="service:checkout @http.status_code:504", limit=1000, **window
        )
        rum = await rows(
            client, "search_rum_events", "events", query="@type:error @error.resource.status_code:504", **window
        )
        earlier = [
            await call(client, "aggregate_logs", query="service:checkout @http.status_code:504", **before),
            await call(client, "aggregate_spans", query="service:checkout @http.status_code:504", **before),
        ]
        earlier_rum = await rows(
            client, "search_rum_events", "events", query="@error.resource.status_code:504", **before
        )
        metric = await call(
            client, "query_metrics", query="sum:trace.http.request.errors{service:checkout}", start=INCIDENT - 3600
        )
        for log in logs:
            trace = await call(client, "get_trace", trace_id=log["dd"]["trace_id"])
            (span,) = [s for s in walk(trace["tree"]) if s["span_id"] == log["dd"]["span_id"]]
            assert (span["service"], span["status"], span["http_status"]) == ("checkout", "error", 504)
            assert epoch_of(span["start"]) <= epoch_of(log["timestamp"]) <= epoch_of(span["start"]) + 3
    assert logs
    assert len(logs) == len(spans)
    assert all(s["status"] == "error" and s["http_status"] == 504 for s in spans)
    assert 0 < len(rum) <= len(logs)  # RUM samples half the sessions
    assert [e["value"] for e in earlier] == [0, 0]
    assert earlier_rum == []
    (series,) = metric["series"]
    points = [(t, v) for t, v in series["points"] if v is not None]
    assert all(v == 0 for t, v in points if t < INCIDENT)
    assert all(v > 0 for t, v in points if t >= INCIDENT)


@pytest.mark.anyio
async def test_payments_changes_version_at_the_deploy_and_the_others_keep_theirs() -> None:
    async with demo_at_now(WHOLE) as (client, _):
        versions = await call(client, "aggregate_spans", query="service:payments", group_by=["version"], start="now-2h")
        by_service = await call(client, "aggregate_spans", group_by=["service", "version"], start="now-2h", limit=10)
        new = await rows(
            client, "list_spans", "spans", query="service:payments version:2.14.0", start="now-2h", limit=1000
        )
        old_after = await rows(client, "list_spans", "spans", query="service:payments version:2.13.2", start=DEPLOY)
        old = await rows(
            client, "list_spans", "spans", query="service:payments version:2.13.2", start="now-2h", limit=1000
        )
        deploys = await call(
            client, "get_events", query="source:github service:payments version:2.14.0", start="now-1d"
        )
    assert {g["version"] for g in versions["groups"]} == {"2.13.2", "2.14.0"}
    assert min(epoch_of(s["start"]) for s in new) >= DEPLOY
    assert max(epoch_of(s["start"]) for s in old) < DEPLOY
    assert old_after == []
    seen: dict[str, set[str]] = {}
    for group in by_service["groups"]:
        seen.setdefault(group["service"], set()).add(group["version"])
    assert seen.pop("payments") == {"2.13.2", "2.14.0"}
    assert seen
    assert all(len(v) == 1 for v in seen.values())
    (deploy,) = deploys["events"]
    assert epoch_of(deploy["timestamp"].replace("Z", ".000Z")) == DEPLOY
    assert {"service:payments", "version:2.14.0"} <= set(deploy["tags"])


POOL = '"connection pool exhausted"'


@pytest.mark.anyio
async def test_the_pool_exhaustion_pattern_is_new_after_the_deploy_and_the_noise_is_old() -> None:
    async with demo_at_now(WHOLE) as (client, _):
        before = await rows(client, "search_logs", "logs", query=POOL, start=DAY_AGO, end=DEPLOY, limit=1000)
        after = await rows(client, "search_logs", "logs", query=POOL, start=DEPLOY, limit=1000)
        noise = {
            when: await call(
                client, "aggregate_logs", query="status:error -service:(payments OR checkout OR web-frontend)", **span
            )
            for when, span in (("before", {"start": DEPLOY - 2700, "end": DEPLOY}), ("after", {"start": DEPLOY}))
        }
        old_payments = await call(client, "aggregate_logs", query="service:payments", start=DAY_AGO, end=DEPLOY)
    assert before == []
    assert len(after) > 10
    assert all(log["service"] == "payments" and log["status"] == "error" for log in after)
    waits = {int(m) for log in after for m in re.findall(r"waited (\d+)ms", log["message"])}
    assert len(waits) == len(after)  # one pattern, its numbers varying
    assert all(
        re.fullmatch(r"connection pool exhausted: waited \d+ms for a connection to payments-db", log["message"])
        for log in after
    )
    assert noise["before"]["value"] > 2
    assert noise["after"]["value"] > 2
    assert old_payments["value"] > 50


def percentile_of(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


@pytest.mark.parametrize(
    ("service", "resource"), [("payments", "POST /api/charge"), ("checkout", "POST /api/checkout")]
)
@pytest.mark.anyio
async def test_trace_metrics_agree_with_the_spans(service: str, resource: str) -> None:
    scope = f"service:{service},resource_name:{tag_value(resource)}"
    windows = {"healthy": (int(DEMO_NOW - 7200), DEPLOY - 60), "degraded": (INCIDENT, int(DEMO_NOW))}
    async with demo_at_now(WHOLE) as (client, _):
        for name, (start, end) in windows.items():
            spans = await rows(
                client,
                "list_spans",
                "spans",
                query=f'service:{service} resource_name:"{resource}"',
                start=start,
                end=end,
                limit=1000,
            )
            series = {}
            for query in (
                f"sum:trace.http.request.errors{{{scope}}}",
                f"sum:trace.http.request.hits{{{scope}}}",
                f"p95:trace.http.request.duration{{{scope}}}",
            ):
                answer = await call(client, "query_metrics", query=query, start=start, end=end)
                series[query.split(".")[-1].split("{")[0]] = answer["series"][0]["_summary"]["avg"]
            failed = sum(s["status"] == "error" for s in spans) / len(spans)
            p95 = percentile_of([s["duration_ms"] for s in spans], 95) / 1000
            rate = series["errors"] / series["hits"]
            assert len(spans) > 20, name
            assert abs(rate - failed) < 0.15, (name, rate, failed)
            assert 0.5 < series["duration"] / p95 < 2, (name, series["duration"], p95)
            if name == "healthy":
                assert rate == failed == 0
            else:
                assert rate > 0.2
                assert series["duration"] > 1.5


# -- every filter a tool sends is honoured: (tool, arguments, rows key, what every row must be) ----------

PAYMENTS_SLO = "5a1b0000000000000000000000000002"
STOREFRONT_SLO = "5a1b0000000000000000000000000003"
Check = Any  # a predicate over one row

FILTERS: list[tuple[str, dict[str, Any], str, Check]] = [
    ("list_metrics", {"host": "api-2"}, "metrics", lambda m: m.startswith("system.")),
    ("list_metrics", {"host": "db-1"}, "metrics", lambda m: m.startswith(("system.", "postgresql."))),
    (
        "list_metrics",
        {"tag_filter": "service:payments AND version:2.14.0"},
        "metrics",
        lambda m: m.startswith("trace."),
    ),
    (
        "list_metrics",
        {"tag_filter": "version IN (2.13.2, 3.7.4) AND NOT service:inventory"},
        "metrics",
        lambda m: m.startswith("trace."),
    ),
    ("list_metrics", {"tag_filter": "region:eu-*"}, "metrics", lambda m: m.startswith("aws.")),
    (
        "query_metrics",
        {"query": "avg:system.cpu.user{host:api-2 OR host:db-1} by {host}"},
        "series",
        lambda s: s["scope"] in ("host:api-2", "host:db-1"),
    ),
    (
        "query_metrics",
        {"query": "avg:system.cpu.user{!service:web-frontend} by {service}"},
        "series",
        lambda s: s["scope"] != "service:web-frontend",
    ),
    (
        "query_metrics",
        {"query": "sum:trace.http.request.hits{service:payments} by {version}", "start": "now-30m"},
        "series",
        lambda s: s["scope"] == "version:2.14.0",
    ),
    (
        "query_metrics",
        {"query": "sum:trace.http.request.hits{resource_name:get_*} by {resource_name}"},
        "series",
        lambda s: s["scope"].startswith("resource_name:get_"),
    ),
    (
        "search_logs",
        {"query": "service:payments status:error"},
        "logs",
        lambda r: (r["service"], r["status"]) == ("payments", "error"),
    ),
    ("search_logs", {"query": "status:error OR status:warn"}, "logs", lambda r: r["status"] in ("error", "warn")),
    (
        "search_logs",
        {"query": "service:(checkout OR payments) -status:info"},
        "logs",
        lambda r: r["service"] in ("checkout", "payments") and r["status"] != "info",
    ),
    (
        "search_logs",
        {"query": "@duration:[2000000000 TO 3000000000]", "fields": ["duration"]},
        "logs",
        lambda r: 2e9 <= r["duration"] <= 3e9,
    ),
    ("search_logs", {"query": "service:postgres", "indexes": ["main"]}, "logs", lambda r: r["service"] == "postgres"),
    ("search_logs", {"query": "*", "indexes": ["archive"]}, "logs", None),
    (
        "aggregate_logs",
        {"query": "status:error", "group_by": ["service"], "indexes": ["ma*"]},
        "groups",
        lambda g: g["value"] > 0,
    ),
    ("aggregate_logs", {"query": "status:error", "indexes": ["archive"]}, "value", None),
    ("get_monitors", {"monitor_tags": "service:payments"}, "monitors", lambda m: "service:payments" in m["tags"]),
    (
        "get_monitors",
        {"tags": "host:worker-2", "group_states": ["all"]},
        "monitors",
        lambda m: any(g.startswith("host:worker-2:") for g in m["groups"]),
    ),
    ("get_monitors", {"tags": "service:checkout"}, "monitors", lambda m: "checkout" in m["name"].lower()),
    (
        "get_monitors",
        {"group_states": ["warn"]},
        "monitors",
        lambda m: m["state"] == "Warn" and all(g.endswith(": Warn") for g in m["groups"]),
    ),
    ("get_monitors", {"name": "latency"}, "monitors", lambda m: "latency" in m["name"].lower()),
    ("list_hosts", {"filter": "team:payments"}, "hosts", lambda h: "team:payments" in h["tags"]),
    ("list_hosts", {"filter": "i-0a1b2c3d4e5f60006"}, "hosts", lambda h: h["name"] == "db-1"),
    ("list_hosts", {"filter": "web"}, "hosts", lambda h: h["name"].startswith("web-")),
    ("list_hosts", {"start": int(DEMO_NOW) - 10}, "hosts", None),  # every host last reported 30 s ago or more
    ("get_events", {"query": "source:github", "start": "now-7d"}, "events", lambda e: e["source"] == "github"),
    (
        "get_events",
        {"query": "service:payments version:2.14.0", "start": "now-1d"},
        "events",
        lambda e: e["service"] == "payments",
    ),
    (
        "get_events",
        {"query": "triggered -service:payments", "start": "now-1d"},
        "events",
        lambda e: "Triggered" in e["title"] and e["service"] != "payments",
    ),
    ("list_incidents", {"query": "state:resolved"}, "incidents", lambda i: i["state"] == "resolved"),
    (
        "list_incidents",
        {"query": "severity:(SEV-1 OR SEV-2)"},
        "incidents",
        lambda i: i["severity"] in ("SEV-1", "SEV-2"),
    ),
    (
        "list_spans",
        {"query": "service:checkout @http.status_code:504"},
        "spans",
        lambda s: (s["service"], s["status"], s["http_status"]) == ("checkout", "error", 504),
    ),
    (
        "list_spans",
        {"query": "service:payments version:2.13.2", "start": "now-2h", "fields": ["tags"]},
        "spans",
        lambda s: "version:2.13.2" in s["attributes"]["tags"],
    ),
    ("list_spans", {"query": "@duration:>2000000000"}, "spans", lambda s: s["duration_ms"] > 2000),
    (
        "list_spans",
        {"query": "host:web-2 -status:ok"},
        "spans",
        lambda s: s["host"] == "web-2" and s["status"] == "error",
    ),
    (
        "aggregate_spans",
        {"query": "service:payments", "group_by": ["resource_name"]},
        "groups",
        lambda g: g["resource_name"] in ("POST /api/charge", "reconcile_settlements"),
    ),
    ("search_rum_events", {"query": "@type:error"}, "events", lambda e: e["type"] == "error"),
    (
        "search_rum_events",
        {"query": "@type:resource @resource.status_code:>=500"},
        "events",
        lambda e: e["resource.status_code"] >= 500,
    ),
    (
        "search_rum_events",
        {"query": "@view.name:(product OR cart)", "start": "now-1d"},
        "events",
        lambda e: e["view.name"] in ("product", "cart"),
    ),
    ("list_slos", {"tags": "service:payments"}, "slos", lambda s: "service:payments" in s["tags"]),
    ("list_slos", {"query": "Availability"}, "slos", lambda s: "availability" in s["name"].lower()),
    ("list_slos", {"ids": [PAYMENTS_SLO, STOREFRONT_SLO]}, "slos", lambda s: s["id"] in (PAYMENTS_SLO, STOREFRONT_SLO)),
    ("list_downtimes", {"status": ["active"]}, "downtimes", lambda d: d["status"] == "active"),
    ("list_notebooks", {"query": "postmortem"}, "notebooks", lambda n: "postmortem" in n["name"].lower()),
    ("list_notebooks", {"query": "ben.okafor"}, "notebooks", lambda n: n["author"] == "ben.okafor@shop.example"),
    ("list_notebooks", {"author_handle": "nobody@shop.example"}, "notebooks", None),
]


@pytest.mark.parametrize(("tool", "args", "key", "check"), FILTERS, ids=[f"{f[0]}-{n}" for n, f in enumerate(FILTERS)])
@pytest.mark.anyio
async def test_each_filter_a_tool_sends_is_honoured(tool: str, args: dict[str, Any], key: str, check: Check) -> None:
    page = {"limit": PAGED[tool]} if tool in PAGED else {}
    async with demo_at_now(WHOLE) as (client, _):
        found = (await call(client, tool, **args, **page))[key]
        unfiltered = {k: v for k, v in args.items() if k in ("start", "fields")}
        everything = (await call(client, tool, **unfiltered, **page)).get(key) if tool != "query_metrics" else None
    if check is None:  # nothing matches: nothing comes
        assert found in ([], 0), found
        return
    assert found, f"{tool} {args} matched nothing: the check would prove nothing"
    assert all(check(row) for row in found), [row for row in found if not check(row)]
    if isinstance(everything, list):
        assert len(everything) > len(found), "the filter left everything: it would prove nothing"


PAGED = {tool: 1000 for tool in ("list_metrics", "search_logs", "get_monitors", "list_hosts", "get_events")}
PAGED |= {tool: 1000 for tool in ("list_spans", "search_rum_events", "list_slos", "list_downtimes")}
PAGED |= {"list_incidents": 100, "list_notebooks": 100}  # the largest page of each


# -- every id one answer hands out resolves in the tool meant for it ------------------------------------


@pytest.mark.anyio
async def test_every_id_handed_out_resolves_in_the_tool_for_it() -> None:
    async with demo_at_now(WHOLE) as (client, org):
        monitors = await rows(client, "get_monitors", "monitors")
        monitor_ids = {m["id"] for m in monitors}
        for monitor_id in monitor_ids:
            assert (await call(client, "get_monitor", monitor_id=monitor_id))["id"] == monitor_id
        named: dict[str, set[int]] = {}  # monitor ids other answers give, by the tool that gave them
        slos = await rows(client, "list_slos", "slos", fields=["monitor_ids"])
        named["list_slos"] = {i for s in slos for i in s.get("monitor_ids", [])}
        for slo in slos:
            assert [s["id"] for s in (await call(client, "list_slos", ids=[slo["id"]]))["slos"]] == [slo["id"]]
        tests = await rows(client, "get_synthetics_tests", "tests")
        named["get_synthetics_tests"] = {t["monitor_id"] for t in tests}
        assert all(t["latest"]["runs"] > 0 for t in tests)  # each public id's results resolve
        boards = await rows(client, "list_dashboards", "dashboards")
        widgets = [await call(client, "get_dashboard", dashboard_id=b["id"]) for b in boards]
        named["get_dashboard"] = {
            int(w["monitor_id"]) for d in widgets for w in walk(d["widgets"]) if "monitor_id" in w
        }
        events = await rows(client, "get_events", "events", start="now-7d", fields=["monitor_id"])
        named["get_events"] = {e["monitor_id"] for e in events if "monitor_id" in e}
        downtimes = await rows(client, "list_downtimes", "downtimes", status=["active", "scheduled", "ended"])
        named["list_downtimes"] = {d["monitor"]["monitor_id"] for d in downtimes if "monitor_id" in d["monitor"]}
        incidents = await rows(client, "list_incidents", "incidents")
        for incident in incidents:
            assert (await call(client, "get_incident", incident_id=incident["id"]))["public_id"] == incident[
                "public_id"
            ]
        notebooks = await rows(client, "list_notebooks", "notebooks")
        for notebook in notebooks:
            assert (await call(client, "get_notebook", notebook_id=notebook["id"]))["name"] == notebook["name"]
        # trace ids: of spans, of logs, of RUM resources
        spans = await rows(client, "list_spans", "spans", start=DAY_AGO, limit=1000)
        logs = await rows(
            client, "search_logs", "logs", query="@dd.trace_id:*", start=DAY_AGO, limit=1000, fields=["dd"]
        )
        rum = await rows(
            client, "search_rum_events", "events", query="@type:resource", start=DAY_AGO, limit=1000, fields=["_dd"]
        )
        handed = [(s["trace_id"], s["span_id"]) for s in spans[::25]]
        handed += [(log["dd"]["trace_id"], log["dd"]["span_id"]) for log in logs[::10]]
        handed += [(e["attributes"]["_dd"]["trace_id"], e["attributes"]["_dd"]["span_id"]) for e in rum[::5]]
        for trace_id, span_id in handed:
            trace = await call(client, "get_trace", trace_id=trace_id)
            assert span_id in {s["span_id"] for s in walk(trace["tree"])}, trace_id
        # host names and services everywhere are those the host list and the service catalog know
        hosts = {h["name"] for h in await rows(client, "list_hosts", "hosts")}
        services = {s["name"] for s in await rows(client, "list_services", "services")}
        by_host = [
            await call(client, tool, group_by=["host"], start=DAY_AGO, limit=100)
            for tool in ("aggregate_logs", "aggregate_spans")
        ]
        by_service = [
            await call(client, tool, group_by=["service"], start=DAY_AGO, limit=100)
            for tool in ("aggregate_logs", "aggregate_spans")
        ]
        metric_hosts = set()
        for metric in ("system.cpu.user", "postgresql.connections"):
            metric_hosts |= set((await call(client, "get_metric_metadata", metric_name=metric))["tags"]["host"])
    for tool, ids in named.items():
        assert ids, f"{tool} gave no monitor id"
        assert ids <= monitor_ids, (tool, ids - monitor_ids)
    assert len(logs) > 300
    assert len(rum) > 50
    assert len(handed) > 100
    seen_hosts = {g["host"] for answer in by_host for g in answer["groups"]} | metric_hosts
    seen_services = {g["service"] for answer in by_service for g in answer["groups"]}
    assert seen_hosts == hosts
    assert seen_services == services == set(org_services(org))


def org_services(org: Org) -> set[str]:
    return {s["attributes"]["service"] for s in org.spans}


@pytest.mark.anyio
async def test_demo_honours_the_parameters_the_tools_send_unchanged(org: Org) -> None:
    hits = "/api/v2/metrics/trace.http.request.hits/all-tags"
    aggregate = {
        "compute": [{"aggregation": "count", "type": "total"}],
        "filter": {"query": "*", "from": iso_z(DEMO_NOW - 86400), "to": iso_z(DEMO_NOW)},
        "group_by": [{"facet": "service", "limit": 2}, {"facet": "status", "limit": 1}],
    }
    computes = [{"aggregation": "count"}, {"aggregation": "pc95", "metric": "@duration"}]
    alphabetical = {
        **aggregate,
        "group_by": [{"facet": "service", "limit": 3, "sort": {"type": "alphabetical", "order": "asc"}}],
    }
    async with demo_http(org) as http:
        deleted = (await http.get("/api/v1/dashboard", params={"filter[deleted]": "true"})).json()
        live = (await http.get("/api/v1/dashboard", params={"filter[deleted]": "false"})).json()
        plain = (await http.get("/api/v1/monitor")).json()
        bare = (await http.get("/api/v1/monitor", params={"with_downtimes": "false"})).json()
        disk = (await http.get("/api/v1/monitor/1000005", params={"group_states": "warn"})).json()
        recent = (await http.get(hits, params={"window[seconds]": "1800"})).json()
        today = (await http.get(hits, params={"window[seconds]": "86400"})).json()
        on_api_path = await http.get("/api/v1/synthetics/tests/def-456-uvw/results")
        on_browser_path = await http.get("/api/v1/synthetics/tests/browser/def-456-uvw/results")
        notebooks = (await http.get("/api/v1/notebooks", params={"sort_field": "name", "sort_dir": "asc"})).json()
        bare_notebooks = (await http.get("/api/v1/notebooks", params={"include_cells": "false"})).json()
        nested = (await http.post("/api/v2/logs/analytics/aggregate", json=aggregate)).json()
        several = await http.post(
            "/api/v2/spans/analytics/aggregate",
            json={"data": {"type": "aggregate_request", "attributes": {**aggregate, "compute": computes}}},
        )
        by_name = (await http.post("/api/v2/logs/analytics/aggregate", json=alphabetical)).json()
    assert deleted["dashboards"] == []
    assert len(live["dashboards"]) == len(catalog.dashboards(org))
    assert all(m["state"] == {} for m in plain)  # no group_states: no group state
    silenced = {m["id"]: [d["id"] for d in m["matching_downtimes"]] for m in plain if m["matching_downtimes"]}
    assert silenced == {1000006: ["dt-1"]}  # the one active downtime, on the email monitor it names by tag
    assert all("matching_downtimes" not in m for m in bare)
    assert list(disk["state"]["groups"]) == ["host:worker-2"]
    assert sorted(t for t in recent["data"]["attributes"]["tags"] if t.startswith("version:2.1")) == ["version:2.14.0"]
    assert sorted(t for t in today["data"]["attributes"]["tags"] if t.startswith("version:2.1")) == [
        "version:2.13.2",
        "version:2.14.0",
    ]
    assert (on_api_path.status_code, on_browser_path.status_code) == (404, 200)
    names = [n["attributes"]["name"] for n in notebooks["data"]]
    assert names == sorted(names)
    assert all({"cells", "time"}.isdisjoint(n["attributes"]) for n in bare_notebooks["data"])
    counts: dict[str, int] = {}
    for record in in_window(org.logs, DEMO_NOW - 86400, DEMO_NOW):
        counts[record["attributes"]["service"]] = counts.get(record["attributes"]["service"], 0) + 1
    top = sorted(counts, key=lambda s: counts[s], reverse=True)[:2]
    assert [b["by"]["service"] for b in nested["data"]["buckets"]] == top  # two services, one status each
    assert [b["by"]["service"] for b in by_name["data"]["buckets"]] == sorted(counts)[:3]
    for bucket in several.json()["data"]:  # every compute asked for, each as c<n>
        by, values = bucket["attributes"]["by"], bucket["attributes"]["compute"]
        spans = [
            s["attributes"]
            for s in org.spans
            if (s["attributes"]["service"], s["attributes"]["status"]) == (by["service"], by["status"])
            and epoch_of(s["attributes"]["start_timestamp"]) >= DEMO_NOW - 86400
        ]
        assert values == {
            "c0": len(spans),
            "c1": pytest.approx(expected_value("pc95", [s["custom"]["duration"] for s in spans])),
        }


def test_the_story_holds_together_in_time(org: Org) -> None:
    monitors = {m["id"]: m for m in catalog.monitors(org)}
    events = {e["attributes"]["attributes"].get("monitor_id"): e for e in org.events}
    for monitor_id, ago in ALERTS.items():
        groups = monitors[monitor_id]["state"]["groups"].values()
        assert max(g["last_triggered_ts"] or 0 for g in groups) == DEMO_NOW - ago
        assert events[monitor_id]["attributes"]["timestamp"] == iso_z(DEMO_NOW - ago)
        assert monitors[monitor_id]["overall_state"] == "Alert"
    runs = catalog.synthetics_results(org, "abc-123-xyz")
    assert min(r["check_time"] for r in runs if not r["result"]["passed"]) == (DEMO_NOW - ALERTS[1000007]) * 1000
    assert any(r["result"]["passed"] for r in runs)  # before the pool ran out, the test passed
    (incident,) = [i["attributes"] for i in catalog.incidents(org) if i["attributes"]["public_id"] == 42]
    assert incident["customer_impact_start"] == iso_z(DEMO_NOW - INCIDENT_AFTER)
    assert incident["detected"] == iso_z(DEMO_NOW - max(ALERTS.values()))
    assert incident["created"] == iso_z(DEMO_NOW - DECLARED_AFTER)
    deploy = next(e for e in org.events if e["attributes"]["attributes"].get("version") == "2.14.0")
    assert deploy["attributes"]["timestamp"] == iso_z(DEMO_NOW - DEPLOY_AFTER)
    assert DEPLOY_AFTER > INCIDENT_AFTER > max(ALERTS.values()) > min(ALERTS.values()) > DECLARED_AFTER
    connections = [
        org.metric_value("postgresql.connections", {"host": "db-1", "service": "postgres", "env": "prod"}, t)
        for t in (DEMO_NOW - DEPLOY_AFTER - 60, DEMO_NOW - DEPLOY_AFTER + 60)
    ]
    before, after = (c or 0.0 for c in connections)
    assert 0 < after < 0.8 * before  # payments holds fewer connections: postgres is not the cause
    started = [log for log in org.logs if "pool size of 5" in log["attributes"]["message"]]
    assert [epoch_of(log["attributes"]["timestamp"]) for log in started] == [DEMO_NOW - DEPLOY_AFTER + 1]
