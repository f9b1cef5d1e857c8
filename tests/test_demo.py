"""The demo organisation: every tool answers from it, and its story is visible through the tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.demo import demo_transport
from dd_mcp_server.server import build_server


@asynccontextmanager
async def demo() -> AsyncIterator[Client]:
    async with Client(build_server(load_settings({}, demo=True), transport=demo_transport())) as client:
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
    assert slow["compute"] == "pc95(@duration) ms"
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
