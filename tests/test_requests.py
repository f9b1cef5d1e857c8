"""The HTTP edge: for every tool, the exact request Datadog receives.

Method, path (as sent on the wire), every query parameter, the auth and client headers, and the
JSON body of the POST searches, checked against Datadog's published contract. The server clock
reads NOW (2026-11-24T12:00:00Z), so every time window is exact.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from dd_mcp_server import __version__
from tests.conftest import API_KEY, APP_KEY, BASE, NOW, connect

HOUR_AGO = "2026-11-24T11:00:00Z"
NOW_ISO = "2026-11-24T12:00:00Z"


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Case:
    tool: str
    args: dict[str, Any]
    sent: tuple[Sent, ...]
    at_once: bool = False  # the requests go concurrently: their order is not part of the contract


def spans_body(kind: str, **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": kind, "attributes": attributes}}


def measure_group(facet: str, limit: int, aggregation: str, metric: str) -> dict[str, Any]:
    sort = {"type": "measure", "aggregation": aggregation, "order": "desc", "metric": metric}
    return {"facet": facet, "limit": limit, "sort": sort}


def log_search(query: str, start: str, end: str, limit: int) -> Sent:
    page = {"limit": limit}
    body = {"filter": {"query": query, "from": start, "to": end}, "page": page, "sort": "-timestamp"}
    return Sent("POST", "/api/v2/logs/events/search", body={**body, "options": {"timezone": "UTC"}})


def log_count(query: str, start: str, end: str, group_by: tuple[str, ...] = (), limit: int = 1) -> Sent:
    body = {
        "compute": [{"aggregation": "count", "type": "total"}],
        "filter": {"query": query, "from": start, "to": end},
    }
    sort = {"type": "measure", "aggregation": "count", "order": "desc"}
    grouped = [{"facet": facet, "limit": limit, "sort": sort} for facet in group_by]
    return Sent(
        "POST", "/api/v2/logs/analytics/aggregate", body={**body, "group_by": grouped, "options": {"timezone": "UTC"}}
    )


def span_count(
    query: str, start: str, end: str, group_by: tuple[str, ...] = (), limit: int = 20, durations: tuple[str, ...] = ()
) -> Sent:
    """A spans aggregate counting (then computing `durations` of @duration, as c1, c2...), maybe grouped."""
    computes = [{"aggregation": "count", "type": "total"}]
    computes += [{"aggregation": name, "type": "total", "metric": "@duration"} for name in durations]
    sort = {"type": "measure", "aggregation": "count", "order": "desc"}
    return Sent(
        "POST",
        "/api/v2/spans/analytics/aggregate",
        body=spans_body(
            "aggregate_request",
            compute=computes,
            filter={"query": query, "from": start, "to": end},
            group_by=[{"facet": facet, "limit": limit, "sort": sort} for facet in group_by],
            options={"timezone": "UTC"},
        ),
    )


def triage_sent(scope: str) -> tuple[Sent, ...]:
    """Every request triage_service makes for `scope` over the last hour, when Datadog has nothing."""
    before = "2026-11-24T10:00:00Z"
    durations = ("pc50", "pc95", "pc99")
    spans = [
        sent
        for start, end in ((HOUR_AGO, NOW_ISO), (before, HOUR_AGO))
        for sent in (
            span_count(scope, start, end, durations=durations),
            span_count(f"{scope} status:error", start, end),
            span_count(scope, start, end, ("resource_name",), durations=durations),
            span_count(f"{scope} status:error", start, end, ("resource_name",)),
            log_search(f"{scope} status:error", start, end, 500),
            log_count(f"{scope} status:error", start, end),
        )
    ]
    return (
        Sent(
            "GET",
            "/api/v1/monitor",
            {
                "monitor_tags": scope.split()[0],
                "group_states": "alert,warn,no data",
                "with_downtimes": "false",
                "page": "0",
                "page_size": "100",
            },
        ),
        *spans,
        span_count(scope, before, NOW_ISO, ("version",), 5),
        Sent(
            "GET",
            "/api/v2/events",
            {
                "filter[query]": scope,
                "filter[from]": str((NOW - 7200) * 1000),
                "filter[to]": str(NOW * 1000),
                "sort": "-timestamp",
                "page[limit]": "20",
            },
        ),
        Sent(
            "GET",
            "/api/v2/incidents/search",
            {"query": "state:(active OR stable)", "sort": "-created", "page[size]": "50", "page[offset]": "0"},
        ),
        Sent(
            "GET", "/api/v2/services/definitions", {"page[size]": "100", "page[number]": "0", "schema_version": "v2.2"}
        ),
    )


CASES = [
    Case(  # versions, events and error logs on both sides of the moment, at once
        "what_changed",
        {"around": "now-1h", "service": "web", "window": "30m"},
        (
            span_count("service:web", "2026-11-24T10:30:00Z", "2026-11-24T11:30:00Z", ("service", "version")),
            Sent(
                "GET",
                "/api/v2/events",
                {
                    "filter[query]": "service:web",
                    "filter[from]": str((NOW - 5400) * 1000),
                    "filter[to]": str((NOW - 1800) * 1000),
                    "sort": "-timestamp",
                    "page[limit]": "50",
                },
            ),
            span_count("service:web status:error", HOUR_AGO, "2026-11-24T11:30:00Z", ("@error.type",)),
            span_count("service:web status:error", "2026-11-24T10:30:00Z", HOUR_AGO, ("@error.type",)),
            log_search("service:web status:error", HOUR_AGO, "2026-11-24T11:30:00Z", 500),
            log_count("service:web status:error", HOUR_AGO, "2026-11-24T11:30:00Z"),
            log_search("service:web status:error", "2026-11-24T10:30:00Z", HOUR_AGO, 500),
            log_count("service:web status:error", "2026-11-24T10:30:00Z", HOUR_AGO),
        ),
        True,
    ),
    Case(  # the monitor, then (no query to run, no service to triage) the events naming it
        "triage_monitor",
        {"monitor_id": 1000001},
        (
            Sent("GET", "/api/v1/monitor/1000001", {"group_states": "all"}),
            Sent(
                "GET",
                "/api/v2/events",
                {
                    "filter[query]": "*",
                    "filter[from]": str((NOW - 1800) * 1000),
                    "filter[to]": str(NOW * 1000),
                    "sort": "-timestamp",
                    "page[limit]": "10",
                },
            ),
        ),
    ),
    Case("triage_service", {"service": "checkout", "env": "prod"}, triage_sent("service:checkout env:prod"), True),
    Case(  # a sample of the window and its count, then the same for the window before
        "log_patterns",
        {"query": "service:web status:error", "max_logs": 50, "compare": "previous"},
        (
            log_search("service:web status:error", HOUR_AGO, NOW_ISO, 50),
            log_count("service:web status:error", HOUR_AGO, NOW_ISO),
            log_search("service:web status:error", "2026-11-24T10:00:00Z", HOUR_AGO, 50),
            log_count("service:web status:error", "2026-11-24T10:00:00Z", HOUR_AGO),
        ),
    ),
    Case(  # the window, then the same query a day earlier
        "compare_metrics",
        {"query": "avg:system.cpu.user{env:prod} by {host}", "start": "now-2h", "baseline": "day"},
        (
            Sent(
                "GET",
                "/api/v1/query",
                {"from": str(NOW - 7200), "to": str(NOW), "query": "avg:system.cpu.user{env:prod} by {host}"},
            ),
            Sent(
                "GET",
                "/api/v1/query",
                {
                    "from": str(NOW - 7200 - 86400),
                    "to": str(NOW - 86400),
                    "query": "avg:system.cpu.user{env:prod} by {host}",
                },
            ),
        ),
    ),
    Case(
        "query_metrics",
        {"query": "avg:system.cpu.user{env:prod} by {host}", "start": "now-4h"},
        (
            Sent(
                "GET",
                "/api/v1/query",
                {"from": str(NOW - 14400), "to": str(NOW), "query": "avg:system.cpu.user{env:prod} by {host}"},
            ),
        ),
    ),
    Case(
        "list_metrics",  # tag_filter combines with no other filter (Datadog's docs): the host joins it
        {"host": "web-1", "tag_filter": "env:prod OR env:staging", "start": "now-1d"},
        (
            Sent(
                "GET",
                "/api/v1/metrics",
                {"from": str(NOW - 86400), "tag_filter": "(env:prod OR env:staging) AND host:web-1"},
            ),
        ),
    ),
    Case(
        "list_metrics", {"host": "web-1"}, (Sent("GET", "/api/v1/metrics", {"from": str(NOW - 3600), "host": "web-1"}),)
    ),
    Case(
        "get_metric_metadata",
        {"metric_name": "trace.http.request.hits"},
        (
            Sent("GET", "/api/v1/metrics/trace.http.request.hits"),
            Sent("GET", "/api/v2/metrics/trace.http.request.hits/all-tags", {"window[seconds]": "86400"}),
        ),
    ),
    Case(
        "get_metric_metadata",
        {"metric_name": "Custom_app.p99.latency_ms", "include_tags": False},
        (Sent("GET", "/api/v1/metrics/Custom_app.p99.latency_ms"),),
    ),
    Case(
        "search_logs",
        {"query": "service:web status:error", "limit": 20, "cursor": "abc", "indexes": ["main"]},
        (
            Sent(
                "POST",
                "/api/v2/logs/events/search",
                body={
                    "filter": {
                        "query": "service:web status:error",
                        "from": HOUR_AGO,
                        "to": NOW_ISO,
                        "indexes": ["main"],
                    },
                    "page": {"limit": 20, "cursor": "abc"},
                    "sort": "-timestamp",
                    "options": {"timezone": "UTC"},
                },
            ),
        ),
    ),
    Case(
        "aggregate_logs",
        {
            "query": "status:error",
            "compute": "p95(@duration)",
            "group_by": ["service", "@http.status_code"],
            "limit": 5,
        },
        (
            Sent(
                "POST",
                "/api/v2/logs/analytics/aggregate",
                body={
                    "compute": [{"aggregation": "pc95", "type": "total", "metric": "@duration"}],
                    "filter": {"query": "status:error", "from": HOUR_AGO, "to": NOW_ISO},
                    "group_by": [
                        measure_group("service", 5, "pc95", "@duration"),
                        measure_group("@http.status_code", 5, "pc95", "@duration"),
                    ],
                    "options": {"timezone": "UTC"},
                },
            ),
        ),
    ),
    Case(
        "get_monitors",
        {
            "name": "cpu",
            "tags": "env:prod",
            "monitor_tags": "team:x",
            "group_states": ["alert", "warn"],
            "limit": 10,
            "cursor": "2",
        },
        (
            Sent(
                "GET",
                "/api/v1/monitor",
                {
                    "name": "cpu",
                    "tags": "env:prod",
                    "monitor_tags": "team:x",
                    "group_states": "alert,warn",
                    "with_downtimes": "false",
                    "page": "2",
                    "page_size": "10",
                },
            ),
        ),
    ),
    Case("get_monitor", {"monitor_id": 123}, (Sent("GET", "/api/v1/monitor/123", {"group_states": "all"}),)),
    Case(
        "list_dashboards",
        {"limit": 25, "cursor": "50"},
        (Sent("GET", "/api/v1/dashboard", {"filter[deleted]": "false", "count": "25", "start": "50"}),),
    ),
    Case("list_dashboards", {"query": "checkout"}, (Sent("GET", "/api/v1/dashboard", {"filter[deleted]": "false"}),)),
    Case("get_dashboard", {"dashboard_id": "abc-def-ghi"}, (Sent("GET", "/api/v1/dashboard/abc-def-ghi"),)),
    Case(
        "list_hosts",
        {"filter": "env:prod", "sort_field": "cpu", "sort_dir": "desc", "limit": 25, "cursor": "50"},
        (
            Sent(
                "GET",
                "/api/v1/hosts",
                {
                    "filter": "env:prod",
                    "sort_field": "cpu",
                    "sort_dir": "desc",
                    "start": "50",
                    "count": "25",
                    "from": str(NOW - 3600),
                },
            ),
        ),
    ),
    Case(
        "get_events",
        {
            "query": "deploy source:(github OR chef) env:prod priority:normal",
            "limit": 10,
            "cursor": "c1",
            "start": "now-6h",
        },
        (
            Sent(
                "GET",
                "/api/v2/events",
                {
                    "filter[query]": "deploy source:(github OR chef) env:prod priority:normal",
                    "filter[from]": str((NOW - 21600) * 1000),
                    "filter[to]": str(NOW * 1000),
                    "sort": "-timestamp",
                    "page[limit]": "10",
                    "page[cursor]": "c1",
                },
            ),
        ),
    ),
    Case(
        "list_incidents",
        {"query": "state:active", "limit": 5, "cursor": "10"},
        (
            Sent(
                "GET",
                "/api/v2/incidents/search",
                {"query": "state:active", "sort": "-created", "page[size]": "5", "page[offset]": "10"},
            ),
        ),
    ),
    Case(
        "list_incidents",
        {},
        (
            Sent(
                "GET",
                "/api/v2/incidents/search",
                {
                    "query": "state:(active OR stable OR resolved)",
                    "sort": "-created",
                    "page[size]": "20",
                    "page[offset]": "0",
                },
            ),
        ),
    ),
    Case("get_incident", {"incident_id": "abc-123"}, (Sent("GET", "/api/v2/incidents/abc-123", {"include": "users"}),)),
    Case(
        "list_spans",
        {"query": "service:web @http.status_code:500", "limit": 10, "cursor": "x"},
        (
            Sent(
                "POST",
                "/api/v2/spans/events/search",
                body=spans_body(
                    "search_request",
                    filter={"query": "service:web @http.status_code:500", "from": HOUR_AGO, "to": NOW_ISO},
                    page={"limit": 10, "cursor": "x"},
                    sort="-timestamp",
                    options={"timezone": "UTC"},
                ),
            ),
        ),
    ),
    Case(
        "aggregate_spans",
        {"compute": "avg(@duration)", "group_by": ["resource_name"], "limit": 3},
        (
            Sent(
                "POST",
                "/api/v2/spans/analytics/aggregate",
                body=spans_body(
                    "aggregate_request",
                    compute=[{"aggregation": "avg", "type": "total", "metric": "@duration"}],
                    filter={"query": "*", "from": HOUR_AGO, "to": NOW_ISO},
                    group_by=[measure_group("resource_name", 3, "avg", "@duration")],
                    options={"timezone": "UTC"},
                ),
            ),
        ),
    ),
    Case(
        "get_trace",
        {"trace_id": "7216538916512283041"},
        (
            Sent(
                "POST",
                "/api/v2/spans/events/search",
                body=spans_body(
                    "search_request",
                    filter={"query": "trace_id:7216538916512283041", "from": "2026-11-23T12:00:00Z", "to": NOW_ISO},
                    page={"limit": 1000},
                    sort="timestamp",
                    options={"timezone": "UTC"},
                ),
            ),
        ),
    ),
    Case(
        "list_services",
        {},
        (
            Sent(
                "GET",
                "/api/v2/services/definitions",
                {"page[size]": "100", "page[number]": "0", "schema_version": "v2.2"},
            ),
        ),
    ),
    Case(
        "get_synthetics_tests",
        {"with_results": False},
        (Sent("GET", "/api/v1/synthetics/tests", {"page_size": "100", "page_number": "0"}),),
    ),
    Case(
        "search_rum_events",
        {"query": "@type:error", "limit": 10, "cursor": "r"},
        (
            Sent(
                "POST",
                "/api/v2/rum/events/search",
                body={
                    "filter": {"query": "@type:error", "from": HOUR_AGO, "to": NOW_ISO},
                    "page": {"limit": 10, "cursor": "r"},
                    "sort": "-timestamp",
                    "options": {"timezone": "UTC"},
                },
            ),
        ),
    ),
    Case(
        "list_slos",
        {"query": "checkout", "tags": "team:payments", "ids": ["abc", "def"], "limit": 20, "cursor": "40"},
        (
            Sent(
                "GET",
                "/api/v1/slo",
                {"ids": "abc,def", "query": "checkout", "tags_query": "team:payments", "limit": "20", "offset": "40"},
            ),
        ),
    ),
    Case(
        "list_downtimes",
        {"status": ["active"]},
        (Sent("GET", "/api/v2/downtime", {"current_only": "true", "page[limit]": "100", "page[offset]": "0"}),),
    ),
    Case(
        "list_downtimes",
        {},
        (Sent("GET", "/api/v2/downtime", {"current_only": "false", "page[limit]": "100", "page[offset]": "0"}),),
    ),
    Case(
        "list_notebooks",
        {"query": "postmortem", "author_handle": "a@b.example", "limit": 10, "cursor": "20"},
        (
            Sent(
                "GET",
                "/api/v1/notebooks",
                {
                    "query": "postmortem",
                    "author_handle": "a@b.example",
                    "count": "10",
                    "start": "20",
                    "sort_field": "modified",
                    "sort_dir": "desc",
                    "include_cells": "false",
                },
            ),
        ),
    ),
    Case("get_notebook", {"notebook_id": 7}, (Sent("GET", "/api/v1/notebooks/7"),)),
    # Aggregations pass the query and the indexes on, as searches do.
    Case(
        "aggregate_logs",
        {"query": "service:web", "indexes": ["main", "audit"]},
        (
            Sent(
                "POST",
                "/api/v2/logs/analytics/aggregate",
                body={
                    "compute": [{"aggregation": "count", "type": "total"}],
                    "filter": {"query": "service:web", "from": HOUR_AGO, "to": NOW_ISO, "indexes": ["main", "audit"]},
                    "group_by": [],
                    "options": {"timezone": "UTC"},
                },
            ),
        ),
    ),
    Case(
        "aggregate_spans",
        {"query": "service:checkout status:error", "compute": "count", "group_by": ["resource_name"]},
        (
            Sent(
                "POST",
                "/api/v2/spans/analytics/aggregate",
                body=spans_body(
                    "aggregate_request",
                    compute=[{"aggregation": "count", "type": "total"}],
                    filter={"query": "service:checkout status:error", "from": HOUR_AGO, "to": NOW_ISO},
                    group_by=[
                        {
                            "facet": "resource_name",
                            "limit": 10,
                            "sort": {"type": "measure", "aggregation": "count", "order": "desc"},
                        }
                    ],
                    options={"timezone": "UTC"},
                ),
            ),
        ),
    ),
]


DAY_AGO = "2026-11-23T12:00:00Z"


def hints(case: Case) -> tuple[Sent, ...]:
    """The requests an empty answer adds (tools/empty.py): the metric names of the last day; or the
    same search counted over the last day, and the services of that day when it names one."""
    query = str(case.args.get("query", "*"))
    if case.tool in ("query_metrics", "compare_metrics"):
        return (Sent("GET", "/api/v1/metrics", {"from": str(NOW - 86400)}),)
    if case.tool in ("search_logs", "aggregate_logs", "log_patterns") and "cursor" not in case.args:
        services = (log_count("*", DAY_AGO, NOW_ISO, ("service",), 50),) if "service:" in query else ()
        return (log_count(query, DAY_AGO, NOW_ISO), *services)
    if case.tool in ("list_spans", "aggregate_spans") and "cursor" not in case.args:
        services = (span_count("*", DAY_AGO, NOW_ISO, ("service",), 50),) if "service:" in query else ()
        return (span_count(query, DAY_AGO, NOW_ISO, limit=1), *services)
    return ()


def _wire(body: dict[str, Any] | None) -> bytes:
    """A body as the client writes it (compact JSON, keys in the order built), to sort requests alike."""
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


def empty_answer(request: httpx.Request) -> httpx.Response:
    """A well-formed empty answer, so the tool completes and every request it would send is sent."""
    return httpx.Response(200, json=[] if request.url.path == "/api/v1/monitor" else {})


@pytest.mark.parametrize("case", CASES, ids=[f"{c.tool}-{n}" for n, c in enumerate(CASES)])
@pytest.mark.anyio
async def test_tool_sends_exactly_the_documented_request(case: Case) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.route().mock(side_effect=empty_answer)
        async with connect() as client:
            result = await client.call_tool(case.tool, case.args)
        sent = [call.request for call in mock.calls]
    assert not result.is_error, result.content
    expected_sent = case.sent + hints(case)
    assert len(sent) == len(expected_sent)
    if case.at_once:
        sent.sort(key=lambda r: (r.url.path, str(sorted(r.url.params.items())), r.content))
        expected_sent = tuple(
            sorted(expected_sent, key=lambda s: (s.path, str(sorted(s.params.items())), _wire(s.body)))
        )
    for request, expected in zip(sent, expected_sent, strict=True):
        assert request.method == expected.method
        assert request.url.raw_path.decode().split("?")[0] == expected.path
        assert dict(request.url.params) == expected.params
        assert request.headers["DD-API-KEY"] == API_KEY
        assert request.headers["DD-APPLICATION-KEY"] == APP_KEY
        assert request.headers["User-Agent"] == f"dd-mcp-server/{__version__}"
        assert request.headers["Accept"] == "application/json"
        if expected.body is None:
            assert request.content == b""
        else:
            assert request.headers["Content-Type"] == "application/json"
            assert json.loads(request.content) == expected.body


def test_every_tool_has_a_request_case() -> None:
    from dd_mcp_server.tools import TOOLSETS

    tools = {fn.__name__ for functions in TOOLSETS.values() for fn in functions}
    assert tools == {case.tool for case in CASES}


@pytest.mark.anyio
async def test_synthetics_results_are_read_per_test_from_the_right_endpoint() -> None:
    tests = {"tests": [{"public_id": "aaa-111-bbb", "type": "api"}, {"public_id": "ccc-222-ddd", "type": "browser"}]}
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/synthetics/tests").respond(200, json=tests)
        api = mock.get("/api/v1/synthetics/tests/aaa-111-bbb/results").respond(200, json={"results": []})
        browser = mock.get("/api/v1/synthetics/tests/browser/ccc-222-ddd/results").respond(200, json={"results": []})
        async with connect() as client:
            result = await client.call_tool("get_synthetics_tests", {})
        assert api.call_count == 1
        assert browser.call_count == 1
    assert not result.is_error


# -- time windows: the defaults, and ISO times without an offset ----------------------------------


def window_sent(request: httpx.Request) -> tuple[str, ...]:
    """The time window a request carries, in whichever form its endpoint takes it."""
    params = request.url.params
    if request.method == "POST":
        search = json.loads(request.content)
        search = search["data"]["attributes"] if "data" in search else search
        return (search["filter"]["from"], search["filter"]["to"])
    if request.url.path == "/api/v2/events":
        return (params["filter[from]"], params["filter[to]"])
    if request.url.path == "/api/v1/query":
        return (params["from"], params["to"])
    return (params["from"],) if "from" in params else ()


def ms(epoch: int) -> str:
    return str(epoch * 1000)


# Every tool that reads a time window, called without start and end: the documented default.
DEFAULT_WINDOWS = [
    ("query_metrics", {"query": "avg:system.cpu.user{*}"}, (str(NOW - 3600), str(NOW))),
    ("list_metrics", {}, (str(NOW - 3600),)),
    ("list_hosts", {}, (str(NOW - 3600),)),
    ("search_logs", {}, (HOUR_AGO, NOW_ISO)),
    ("log_patterns", {}, [(HOUR_AGO, NOW_ISO), (HOUR_AGO, NOW_ISO)]),  # its sample and its count
    (  # spans and error logs now and the hour before; versions over both; events; monitors, incidents, catalog
        "triage_service",
        {"service": "web"},
        [
            *[(HOUR_AGO, NOW_ISO)] * 6,
            *[("2026-11-24T10:00:00Z", HOUR_AGO)] * 6,
            ("2026-11-24T10:00:00Z", NOW_ISO),
            (ms(NOW - 7200), ms(NOW)),
            *[()] * 3,
        ],
    ),
    ("aggregate_logs", {}, (HOUR_AGO, NOW_ISO)),
    ("get_events", {}, (ms(NOW - 3600), ms(NOW))),
    ("list_spans", {}, (HOUR_AGO, NOW_ISO)),
    ("aggregate_spans", {}, (HOUR_AGO, NOW_ISO)),
    ("get_trace", {"trace_id": "77"}, ("2026-11-23T12:00:00Z", NOW_ISO)),
    ("search_rum_events", {}, (HOUR_AGO, NOW_ISO)),
    # The window, then its baseline: the hour before.
    ("compare_metrics", {"query": "avg:m{*}"}, [(str(NOW - 3600), str(NOW)), (str(NOW - 7200), str(NOW - 3600))]),
]


async def windows_sent(tool: str, args: dict[str, Any]) -> list[tuple[str, ...]]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.route().mock(side_effect=empty_answer)
        async with connect() as client:
            result = await client.call_tool(tool, args)
        assert not result.is_error, result.content
        extra = hints(Case(tool, args, ()))  # what the empty answer's hint asked, over its own day
        return [window_sent(call.request) for call in mock.calls if not any(matches(call.request, h) for h in extra)]


def matches(request: httpx.Request, expected: Sent) -> bool:
    body = json.loads(request.content) if request.content else None
    return (request.method, request.url.path, dict(request.url.params), body) == (
        expected.method,
        expected.path,
        expected.params,
        expected.body,
    )


@pytest.mark.parametrize(("tool", "args", "window"), DEFAULT_WINDOWS, ids=[t for t, _, _ in DEFAULT_WINDOWS])
@pytest.mark.anyio
async def test_a_tool_called_without_a_window_asks_for_the_documented_default(
    tool: str, args: dict[str, Any], window: tuple[str, ...] | list[tuple[str, ...]]
) -> None:
    assert sorted(await windows_sent(tool, args)) == sorted(window if isinstance(window, list) else [window])


def test_every_tool_with_a_window_has_a_default_window_case() -> None:
    from dd_mcp_server.server import arguments_of
    from dd_mcp_server.tools import TOOLSETS

    timed = {fn.__name__ for functions in TOOLSETS.values() for fn in functions if "start" in arguments_of(fn)}
    assert timed == {tool for tool, _, _ in DEFAULT_WINDOWS}


@pytest.mark.parametrize(
    ("tool", "args", "window"),
    [
        ("query_metrics", {"query": "avg:m{*}", "end": "now-2h"}, (str(NOW - 10800), str(NOW - 7200))),
        ("search_logs", {"end": "2026-11-24T06:00:00Z"}, ("2026-11-24T05:00:00Z", "2026-11-24T06:00:00Z")),
        ("get_events", {"end": NOW - 86400}, (ms(NOW - 90000), ms(NOW - 86400))),
        ("get_trace", {"trace_id": "77", "end": "now-1d"}, ("2026-11-22T12:00:00Z", "2026-11-23T12:00:00Z")),
    ],
    ids=["query_metrics", "search_logs", "get_events", "get_trace"],
)
@pytest.mark.anyio
async def test_a_window_given_only_its_end_starts_the_default_span_before_that_end(
    tool: str, args: dict[str, Any], window: tuple[str, ...] | list[tuple[str, ...]]
) -> None:
    assert await windows_sent(tool, args) == (window if isinstance(window, list) else [window])


@pytest.mark.anyio
async def test_a_window_given_only_its_start_ends_now() -> None:
    assert await windows_sent("search_rum_events", {"start": "now-3d"}) == [("2026-11-21T12:00:00Z", NOW_ISO)]


@pytest.mark.parametrize(
    ("tool", "args", "window"),
    [
        (
            "query_metrics",
            {"query": "avg:m{*}", "start": "2026-11-24T09:30:00", "end": "2026-11-24T10:15:00"},
            (str(NOW - 9000), str(NOW - 6300)),
        ),
        ("search_logs", {"start": "2026-11-24T09:30:00"}, ("2026-11-24T09:30:00Z", NOW_ISO)),
        ("get_events", {"start": "2026-11-24 09:30:00"}, (ms(NOW - 9000), ms(NOW))),
        ("list_metrics", {"start": "2026-11-24T09:30"}, (str(NOW - 9000),)),
    ],
    ids=["query_metrics", "search_logs", "get_events space", "list_metrics minutes"],
)
@pytest.mark.anyio
async def test_an_iso_time_without_an_offset_is_read_as_utc(
    tool: str, args: dict[str, Any], window: tuple[str, ...] | list[tuple[str, ...]]
) -> None:
    assert await windows_sent(tool, args) == (window if isinstance(window, list) else [window])


@pytest.mark.anyio
async def test_an_iso_time_with_an_offset_keeps_its_offset() -> None:
    sent = await windows_sent("search_logs", {"start": "2026-11-24T15:15:00+05:45", "end": "2026-11-24T06:30:00-04:00"})
    assert sent == [("2026-11-24T09:30:00Z", "2026-11-24T10:30:00Z")]


def test_the_suite_runs_off_utc_at_an_offset_that_is_not_a_whole_hour() -> None:
    # tests/conftest.py sets TZ: without it, a time read in local time could pass every test above.
    offset = datetime(2026, 11, 24, 9, 30).astimezone().utcoffset()
    assert offset is not None
    assert offset.total_seconds() % 3600 != 0
    assert time.timezone % 3600 != 0


@pytest.mark.parametrize(
    ("args", "window"),
    [
        # The default hour reaches before 1970: the window starts at 1970, never earlier.
        ({"end": 1800}, ("1970-01-01T00:00:00Z", "1970-01-01T00:30:00Z")),
        # A relative start that lands exactly on 1970 is 1970, not refused.
        ({"start": f"now-{NOW}s"}, ("1970-01-01T00:00:00Z", NOW_ISO)),
    ],
    ids=["default start clamped", "relative start at 1970"],
)
@pytest.mark.anyio
async def test_a_window_reaching_1970_starts_there(args: dict[str, Any], window: tuple[str, ...]) -> None:
    assert await windows_sent("search_logs", args) == [window]
