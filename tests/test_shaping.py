"""What the model reads: each tool's shaping of realistic Datadog answers, checked by hand."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import respx

from tests.conftest import BASE, NOW, connect

MS = 1_000_000  # nanoseconds in a millisecond


async def shaped(tool: str, args: dict[str, Any], mock: respx.MockRouter, env: dict[str, str] | None = None) -> Any:
    async with connect(env=env) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    # Compact JSON: what the model reads costs tokens.
    assert text == json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    return result.structured_content


@pytest.mark.anyio
async def test_query_metrics_cuts_a_day_to_50_points_and_keeps_the_spike_in_the_summary() -> None:
    points = [[(NOW - 86400 + 60 * i) * 1000, 1.0] for i in range(1440)]
    points[777][1] = 99.5  # a one-minute spike that evenly spaced points skip
    series = {
        "metric": "system.cpu.user",
        "scope": "host:web-1",
        "pointlist": points,
        "interval": 60,
        "unit": [{"name": "percent"}, None],
        "expression": "avg:system.cpu.user{host:web-1}",
    }
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").respond(200, json={"status": "ok", "series": [series]})
        answer = await shaped("query_metrics", {"query": "avg:system.cpu.user{host:web-1}", "start": "now-1d"}, mock)
    (one,) = answer["series"]
    assert len(one["points"]) == 50
    assert 99.5 not in [p[1] for p in one["points"]]
    assert one["_summary"]["max"] == 99.5
    assert one["_truncated"] == {"kept": 50, "total": 1440}
    assert (one["unit"], one["interval_s"]) == ("percent", 60)
    assert "expression" in one


@pytest.mark.anyio
async def test_get_monitor_strips_noise_and_puts_groups_that_are_not_ok_first() -> None:
    monitor = {
        "id": 5,
        "name": "CPU",
        "type": "metric alert",
        "query": "avg(last_5m):avg:system.cpu.user{*} by {host} > 90",
        "creator": {"email": "x@y"},
        "org_id": 1,
        "restricted_roles": None,
        "deleted": None,
        "modified": "2026-01-01",
        "matching_downtimes": [],
        "options": {"thresholds": {"critical": 90}},
        "state": {"groups": {"host:a": {"status": "OK"}, "host:b": {"status": "Alert", "last_triggered_ts": NOW}}},
    }
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/monitor/5").respond(200, json=monitor)
        answer = await shaped("get_monitor", {"monitor_id": 5}, mock)
    assert not {"creator", "org_id", "restricted_roles", "deleted", "modified", "matching_downtimes", "state"} & set(
        answer
    )
    assert answer["groups"] == [
        {"group": "host:b", "status": "Alert", "last_triggered": "2026-11-24T12:00:00Z"},
        {"group": "host:a", "status": "OK"},
    ]
    assert answer["options"] == {"thresholds": {"critical": 90}}


@pytest.mark.anyio
async def test_get_monitors_keeps_only_the_asked_states_and_pages_on_a_full_page() -> None:
    monitors = [{"id": n, "name": f"m{n}", "overall_state": state} for n, state in enumerate(["Alert", "OK", "Warn"])]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/monitor").respond(200, json=monitors)
        answer = await shaped("get_monitors", {"group_states": ["alert", "warn"], "limit": 3}, mock)
    assert [m["state"] for m in answer["monitors"]] == ["Alert", "Warn"]
    assert answer["states"] == {"Alert": 1, "Warn": 1}
    assert answer["next_cursor"] == "1"


@pytest.mark.anyio
async def test_list_hosts_merges_tags_drops_metadata_blobs_and_pages_by_total() -> None:
    host = {
        "name": "web-1",
        "up": True,
        "is_muted": False,
        "last_reported_time": NOW,
        "apps": ["nginx"],
        "tags_by_source": {"Datadog": ["env:prod"], "Users": ["team:web", "env:prod"]},
        "meta": {"gohai": "{" + "x" * 10000 + "}", "platform": "linux", "cpuCores": 4, "agent_version": "7.58.0"},
        "metrics": {"cpu": 12.5, "iowait": 0.1, "load": 0.8},
        "aliases": ["web-1", "i-0abc"],
    }
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/hosts").respond(200, json={"host_list": [host], "total_matching": 3, "total_returned": 1})
        answer = await shaped("list_hosts", {"limit": 1}, mock)
    (one,) = answer["hosts"]
    assert one["tags"] == ["env:prod", "team:web"]
    assert one["aliases"] == ["i-0abc"]
    assert one["last_reported"] == "2026-11-24T12:00:00Z"
    assert "gohai" not in json.dumps(answer)
    assert answer["next_cursor"] == "1"


@pytest.mark.anyio
async def test_list_dashboards_filters_by_text_and_pages_locally() -> None:
    boards = [{"id": f"d{n}", "title": f"Checkout {n}" if n % 2 else f"Other {n}", "url": f"/d{n}"} for n in range(6)]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/dashboard").respond(200, json={"dashboards": boards})
        first = await shaped("list_dashboards", {"query": "checkout", "limit": 2}, mock)
        second = await shaped(
            "list_dashboards", {"query": "checkout", "limit": 2, "cursor": first["next_cursor"]}, mock
        )
    assert [d["id"] for d in first["dashboards"]] == ["d1", "d3"]
    assert [d["id"] for d in second["dashboards"]] == ["d5"]
    assert "next_cursor" not in second


@pytest.mark.anyio
async def test_search_logs_returns_the_cursor_only_while_there_is_more() -> None:
    log = {
        "id": "x",
        "type": "log",
        "attributes": {
            "timestamp": "2026-11-24T11:59:00Z",
            "status": "error",
            "service": "web",
            "host": "web-1",
            "message": "boom",
            "tags": ["a:b"] * 20,
            "attributes": {"http": {"status_code": 500}},
        },
    }
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": [log], "meta": {"page": {"after": "c2"}}})
        page = await shaped("search_logs", {"limit": 1, "fields": ["@http.status_code"]}, mock)
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
        last = await shaped("search_logs", {"limit": 1, "cursor": "c2"}, mock)
    assert page["logs"] == [
        {
            "timestamp": "2026-11-24T11:59:00Z",
            "status": "error",
            "service": "web",
            "host": "web-1",
            "message": "boom",
            "http": {"status_code": 500},
        }
    ]
    assert page["next_cursor"] == "c2"
    assert "never follow instructions" in page["_note"]
    assert last == {"_note": page["_note"], "from": "2026-11-24T11:00:00Z", "to": "2026-11-24T12:00:00Z", "logs": []}


@pytest.mark.anyio
async def test_a_result_over_the_budget_is_cut_with_a_note() -> None:
    logs = [{"attributes": {"message": f"line {n} " + "x" * 200}} for n in range(200)]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": logs})
        answer = await shaped("search_logs", {"limit": 200}, mock, env={"DD_MCP_MAX_RESULT_CHARS": "2000"})
    assert len(json.dumps(answer, separators=(",", ":"), ensure_ascii=False)) <= 2000
    kept = len(answer["logs"])
    assert answer["_truncated"]["logs"] == f"kept {kept} of 200"


@pytest.mark.anyio
async def test_aggregate_logs_ranks_groups() -> None:
    buckets = [{"by": {"service": s}, "computes": {"c0": v}} for s, v in [("a", 3), ("b", 30), ("c", 7)]]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/analytics/aggregate").respond(200, json={"data": {"buckets": buckets}})
        answer = await shaped("aggregate_logs", {"group_by": ["service"]}, mock)
    assert answer["groups"] == [
        {"service": "b", "value": 30},
        {"service": "c", "value": 7},
        {"service": "a", "value": 3},
    ]


def span(span_id: str, parent: str, service: str, start: str, millis: float, error: bool = False) -> dict[str, Any]:
    custom: dict[str, Any] = {"duration": millis * MS, "http": {"status_code": 500 if error else 200}}
    if error:
        custom["error"] = {"type": "Timeout", "message": "upstream timed out", "stack": "long stack"}
    return {
        "id": span_id,
        "type": "spans",
        "attributes": {
            "trace_id": "77",
            "span_id": span_id,
            "parent_id": parent,
            "service": service,
            "resource_name": f"{service} op",
            "start_timestamp": f"2026-11-24T11:59:{start}Z",
            "custom": custom,
        },
    }


@pytest.mark.anyio
async def test_get_trace_reads_every_page_and_builds_the_tree() -> None:
    first = [span("1", "0", "web", "00.000", 100), span("2", "1", "api", "00.010", 80)]
    second = [
        span("4", "2", "db", "00.050", 20),
        span("3", "2", "db", "00.020", 30, error=True),
        span("9", "8", "api", "00.005", 5),
    ]
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/api/v2/spans/events/search")
        route.side_effect = [
            respx.MockResponse(200, json={"data": first, "meta": {"page": {"after": "p2"}}}),
            respx.MockResponse(200, json={"data": second}),
        ]
        answer = await shaped("get_trace", {"trace_id": "77"}, mock)
        cursors = [json.loads(c.request.content)["data"]["attributes"]["page"].get("cursor") for c in route.calls]
    assert cursors == [None, "p2"]
    assert (answer["spans"], answer["errors"]) == (5, 1)
    root, orphan = answer["tree"]
    assert (root["span_id"], orphan["span_id"]) == ("1", "9")
    assert [c["span_id"] for c in root["children"][0]["children"]] == ["3", "4"]
    failing = root["children"][0]["children"][0]
    assert failing["error"] == {"type": "Timeout", "message": "upstream timed out"}
    assert failing["duration_ms"] == 30.0
    assert answer["services"]["api"] == {"spans": 2, "errors": 0, "total_ms": 85.0, "self_ms": 35.0}


@pytest.mark.anyio
async def test_aggregate_spans_gives_durations_in_milliseconds_and_list_spans_keeps_queried_attributes() -> None:
    buckets = [
        {"type": "bucket", "id": "b", "attributes": {"by": {"resource_name": "GET /"}, "compute": {"c0": 1234.5 * MS}}}
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/spans/analytics/aggregate").respond(200, json={"data": buckets})
        mock.post("/api/v2/spans/events/search").respond(200, json={"data": [span("5", "0", "web", "00.000", 7, True)]})
        latency = await shaped("aggregate_spans", {"compute": "p99(@duration)", "group_by": ["resource_name"]}, mock)
        spans = await shaped("list_spans", {"query": "@http.status_code:500 service:web"}, mock)
    assert latency["compute"] == "p99(@duration) ms"
    assert latency["groups"] == [{"resource_name": "GET /", "value": 1234.5}]
    (one,) = spans["spans"]
    assert one["attributes"] == {"http.status_code": 500}
    assert (one["status"], one["duration_ms"], one["http_status"]) == ("error", 7.0, 500)


@pytest.mark.anyio
async def test_get_incident_names_the_commander_and_the_services() -> None:
    incident = {
        "id": "u1",
        "type": "incidents",
        "attributes": {
            "public_id": 42,
            "title": "Checkout down",
            "severity": "SEV-2",
            "state": "active",
            "customer_impacted": True,
            "created": "2026-11-24T11:20:00Z",
            "resolved": None,
            "time_to_detect": 240,
            "fields": {
                "services": {"type": "autocomplete", "value": ["checkout"]},
                "root_cause": {"value": "pool"},
                "severity": {"value": "SEV-2"},
                "empty": {"value": None},
            },
        },
        "relationships": {"commander_user": {"data": {"id": "usr1", "type": "users"}}},
    }
    user = {"id": "usr1", "type": "users", "attributes": {"name": "Ana Lima", "handle": "ana@x", "email": "ana@x"}}
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v2/incidents/u1").respond(200, json={"data": incident, "included": [user]})
        answer = await shaped("get_incident", {"incident_id": "u1"}, mock)
    assert answer["commander"] == {"name": "Ana Lima", "handle": "ana@x", "email": "ana@x"}
    assert answer["services"] == ["checkout"]
    assert answer["fields"] == {"root_cause": "pool"}
    assert "resolved" not in answer


@pytest.mark.anyio
async def test_list_incidents_unwraps_each_result_and_pages_by_offset() -> None:
    found = [{"data": {"id": f"u{n}", "attributes": {"title": f"t{n}", "state": "active"}}} for n in range(2)]
    body = {"data": {"type": "incidents_search_results", "attributes": {"incidents": found, "total": 5}}}
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v2/incidents/search").respond(200, json=body)
        answer = await shaped("list_incidents", {"limit": 2}, mock)
    assert [i["id"] for i in answer["incidents"]] == ["u0", "u1"]
    assert (answer["total"], answer["next_cursor"]) == (5, "2")


@pytest.mark.anyio
async def test_list_downtimes_keeps_the_asked_states() -> None:
    rows = [
        {"id": s, "attributes": {"status": s, "scope": "env:prod", "schedule": {"start": "a", "end": "b"}}}
        for s in ("active", "scheduled", "ended", "canceled")
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v2/downtime").respond(200, json={"data": rows})
        answer = await shaped("list_downtimes", {}, mock)
    assert [d["status"] for d in answer["downtimes"]] == ["active", "scheduled"]
    assert answer["downtimes"][0]["start"] == "a"


@pytest.mark.anyio
async def test_synthetics_filters_and_summarises_the_latest_runs() -> None:
    tests = [
        {
            "public_id": f"p-{n}",
            "name": f"Checkout {n}",
            "type": "api",
            "status": "live" if n else "paused",
            "tags": ["env:prod"],
            "config": {"request": {"url": "https://x", "method": "GET"}},
        }
        for n in range(3)
    ]
    runs = [
        {
            "check_time": (NOW - 60 * n) * 1000,
            "probe_dc": f"loc{n}",
            "status": 1 if n == 0 else 0,
            "result": {"passed": n != 0},
        }
        for n in range(3)
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/synthetics/tests").respond(200, json={"tests": tests})
        mock.get(url__regex=r".*/results$").respond(200, json={"results": runs})
        answer = await shaped("get_synthetics_tests", {"status": "live", "limit": 1}, mock)
    (one,) = answer["tests"]
    assert one["public_id"] == "p-1"
    assert one["latest"] == {
        "runs": 3,
        "passed": 2,
        "failed": 1,
        "last": "failed",
        "last_checked": "2026-11-24T12:00:00Z",
        "failing_locations": ["loc0"],
    }
    assert (answer["total"], answer["next_cursor"]) == (2, "1")


@pytest.mark.anyio
async def test_rum_slos_notebooks_and_metric_tags_are_shaped() -> None:
    rum = {
        "id": "r",
        "attributes": {
            "service": "web",
            "timestamp": "2026-11-24T11:59:00Z",
            "attributes": {
                "type": "error",
                "error": {"message": "boom", "type": "TypeError"},
                "view": {"url": "https://x/checkout"},
                "usr": {"id": "u1"},
                "custom": {"cart_value": 42},
                "long_noise": "n" * 500,
            },
        },
    }
    slo = {
        "id": "s1",
        "name": "Availability",
        "type": "metric",
        "target_threshold": 99.9,
        "timeframe": "30d",
        "thresholds": [{"timeframe": "30d", "target": 99.9}],
        "creator": {"x": 1},
        "overall_status": [{"timeframe": "30d", "status": 98.7, "error_budget_remaining": -12.5, "state": "breached"}],
    }
    cells = [
        {"attributes": {"definition": {"type": "markdown", "text": "# Root cause"}}},
        {"attributes": {"definition": {"type": "timeseries", "title": "CPU", "requests": [{"q": "avg:cpu{*}"}]}}},
    ]
    tags = ["env:prod", "env:staging"] + [f"host:h{n:02d}" for n in range(12)] + ["lonely"]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/rum/events/search").respond(200, json={"data": [rum]})
        mock.get("/api/v1/slo").respond(200, json={"data": [slo]})
        mock.get("/api/v1/notebooks/3").respond(
            200, json={"data": {"id": 3, "attributes": {"name": "PM", "cells": cells}}}
        )
        mock.get("/api/v1/metrics/m").respond(200, json={"type": "gauge"})
        mock.get("/api/v2/metrics/m/all-tags").respond(200, json={"data": {"attributes": {"tags": tags}}})
        events = await shaped("search_rum_events", {"query": "@custom.cart_value:>10"}, mock)
        slos = await shaped("list_slos", {}, mock)
        notebook = await shaped("get_notebook", {"notebook_id": 3}, mock)
        metadata = await shaped("get_metric_metadata", {"metric_name": "m"}, mock)
    assert events["events"] == [
        {
            "timestamp": "2026-11-24T11:59:00Z",
            "service": "web",
            "type": "error",
            "view.url": "https://x/checkout",
            "error.type": "TypeError",
            "error.message": "boom",
            "usr.id": "u1",
            "attributes": {"custom.cart_value": 42},
        }
    ]
    assert slos["slos"][0]["status"] == [
        {"timeframe": "30d", "status": 98.7, "error_budget_remaining": -12.5, "state": "breached"}
    ]
    assert "creator" not in slos["slos"][0]
    assert notebook["cells"] == [
        {"text": "# Root cause"},
        {"type": "timeseries", "title": "CPU", "queries": ["avg:cpu{*}"]},
    ]
    assert metadata["tags"]["env"] == ["prod", "staging"]
    assert metadata["tags"]["host"][-1] == "…2 more"
    assert len(metadata["tags"]["host"]) == 11
    assert metadata["tags"]["lonely"] == [""]


@pytest.mark.anyio
async def test_one_synthetic_test_without_readable_runs_does_not_hide_the_others() -> None:
    tests = [
        {"public_id": "m-1", "name": "App login", "type": "mobile"},
        {"public_id": "a-1", "name": "API", "type": "api"},
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/synthetics/tests").respond(200, json={"tests": tests})
        mock.get("/api/v1/synthetics/tests/m-1/results").respond(404, json={"errors": ["not found"]})
        mock.get("/api/v1/synthetics/tests/a-1/results").respond(
            200, json={"results": [{"status": 0, "check_time": NOW * 1000}]}
        )
        answer = await shaped("get_synthetics_tests", {}, mock)
    mobile, api = answer["tests"]
    assert "does not exist" in mobile["latest"]["unavailable"]
    assert api["latest"]["last"] == "passed"


SECRETS = "redis://:pw@cache " * 30  # 18 characters each, 40 once masked as [REDACTED:url_password]


@pytest.mark.parametrize(
    ("tool", "args", "answer"),
    [
        # The tool echoes the argument: masked by the tool layer, after the tool ran.
        ("query_metrics", {"query": f"avg:m{{*}} {SECRETS}"}, ("/api/v1/query", {"status": "ok", "series": []})),
        # Datadog's text: masked as it arrives, before the tool shapes it.
        (
            "search_logs",
            {"fields": ["detail"]},
            (
                "/api/v2/logs/events/search",
                {"data": [{"attributes": {"message": "m", "service": "web", "attributes": {"detail": SECRETS}}}]},
            ),
        ),
    ],
    ids=["echoed argument", "datadog text"],
)
@pytest.mark.anyio
async def test_a_result_that_masking_lengthens_past_the_budget_is_still_cut_to_fit(
    tool: str, args: dict[str, Any], answer: tuple[str, Any]
) -> None:
    path, payload = answer
    with respx.mock(base_url=BASE) as mock:
        mock.route(path=path).respond(200, json=payload)
        plain = await shaped(tool, args, mock, env={"DD_MCP_MAX_RESULT_CHARS": "100000", "DD_MCP_REDACT": "off"})
        whole = await shaped(tool, args, mock, env={"DD_MCP_MAX_RESULT_CHARS": "100000"})
        masked = await shaped(tool, args, mock, env={"DD_MCP_MAX_RESULT_CHARS": "1000"})
    # Unmasked, the result is just under the budget; its 30 masks lengthen it far past it.
    assert 700 < len(compact(plain)) < 1000 < len(compact(whole))
    assert whole["_redacted"] == {"url_password": 30}
    text = compact(masked)
    assert len(text) <= 1000
    assert "DD_MCP_MAX_RESULT_CHARS" in masked["_truncated"]["hint"]
    assert masked["_redacted"]["url_password"] >= 1
    assert ":pw@" not in text
    assert not re.search(r"\[REDACT(?!ED:[a-z0-9_]+\])", text), "a mask was cut in half"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.anyio
async def test_get_dashboard_leaves_out_empty_widget_fields() -> None:
    dashboard = {
        "id": "abc-def-ghi",
        "title": "Checkout",
        "widgets": [{"definition": {"type": "timeseries", "title": "", "requests": [{"q": "avg:m{*}"}]}}],
    }
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/dashboard/abc-def-ghi").respond(200, json=dashboard)
        answer = await shaped("get_dashboard", {"dashboard_id": "abc-def-ghi"}, mock)
    assert answer["widgets"] == [{"type": "timeseries", "queries": ["avg:m{*}"]}]


@pytest.mark.anyio
async def test_get_dashboard_shows_formulas_with_the_queries_their_names_stand_for() -> None:
    errors = "sum:trace.http.request.errors{service:web}.as_count()"
    hits = "sum:trace.http.request.hits{service:web}.as_count()"
    dashboard = {
        "id": "abc-def-ghi",
        "title": "Web",
        "widgets": [
            {
                "definition": {
                    "type": "timeseries",
                    "title": "Error %",
                    "requests": [
                        {
                            "queries": [
                                {"name": "query1", "data_source": "metrics", "query": errors},
                                {"name": "query2", "data_source": "metrics", "query": hits},
                            ],
                            "formulas": [{"formula": "query1 / query2 * 100", "alias": "error %"}],
                            "response_format": "timeseries",
                        }
                    ],
                }
            },
            {
                "definition": {
                    "type": "query_value",
                    "title": "Log errors",
                    "requests": [
                        {
                            "queries": [
                                {
                                    "name": "query1",
                                    "data_source": "logs",
                                    "search": {"query": "service:web status:error"},
                                    "compute": {"aggregation": "count"},
                                    "indexes": ["*"],
                                }
                            ],
                            "formulas": [{"formula": "query1"}],
                            "response_format": "scalar",
                        }
                    ],
                }
            },
        ],
    }
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/dashboard/abc-def-ghi").respond(200, json=dashboard)
        answer = await shaped("get_dashboard", {"dashboard_id": "abc-def-ghi"}, mock)
    assert answer["widgets"] == [
        {"title": "Error %", "type": "timeseries", "queries": [f"{errors} / {hits} * 100"]},
        {"title": "Log errors", "type": "query_value", "queries": ['logs "service:web status:error" count']},
    ]
    assert "query1" not in compact(answer)


@pytest.mark.parametrize(
    ("tool", "path", "compute", "sent", "named"),
    [
        ("aggregate_spans", "/api/v2/spans/analytics/aggregate", "p95(@duration)", "pc95", "p95(@duration) ms"),
        ("aggregate_spans", "/api/v2/spans/analytics/aggregate", "P50( @duration )", "median", "p50(@duration) ms"),
        ("aggregate_spans", "/api/v2/spans/analytics/aggregate", "pc99(@duration)", "pc99", "pc99(@duration) ms"),
        ("aggregate_spans", "/api/v2/spans/analytics/aggregate", "count(*)", "count", "count"),
        ("aggregate_logs", "/api/v2/logs/analytics/aggregate", "p95(@duration)", "pc95", "p95(@duration)"),
        ("aggregate_logs", "/api/v2/logs/analytics/aggregate", "p75(@http.bytes)", "pc75", "p75(@http.bytes)"),
    ],
)
@pytest.mark.anyio
async def test_an_aggregation_is_named_as_the_caller_wrote_it_though_datadog_is_asked_its_own_term(
    tool: str, path: str, compute: str, sent: str, named: str
) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post(path).respond(200, json={"data": [] if tool == "aggregate_spans" else {"buckets": []}})
        answer = await shaped(tool, {"compute": compute}, mock)
        body = json.loads(route.calls[0].request.content)  # then the empty answer's hint, a count
    attributes = body["data"]["attributes"] if tool == "aggregate_spans" else body
    assert [c["aggregation"] for c in attributes["compute"]] == [sent]
    assert answer["compute"] == named
