"""Bad arguments, tool by tool: an error that names the argument, no request sent, and the next
valid call on the same connection works."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tests.conftest import BASE, connect
from tests.test_requests import CASES

FIRST_CASE = {case.tool: case for case in reversed(CASES)}
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("query_metrics", {}, "query"),
    ("query_metrics", {"query": ""}, "query"),
    ("query_metrics", {"query": "avg:m{*}", "start": "yesterday"}, "start"),
    ("query_metrics", {"query": "avg:m{*}", "start": "now", "end": "now-1h"}, "start"),
    ("query_metrics", {"query": "avg:m{*}", "end": 1e30}, "end"),
    ("compare_metrics", {"query": "avg:a{*}, avg:b{*}"}, "query"),
    ("log_patterns", {"max_logs": 10_001}, "max_logs"),
    ("triage_service", {}, "service"),
    ("what_changed", {"around": "2030-01-01T00:00:00Z"}, "around"),
    ("what_changed", {"around": "now", "window": "2x"}, "window"),
    ("what_changed", {}, "around"),
    ("triage_monitor", {"monitor_id": 0}, "monitor_id"),
    ("triage_monitor", {}, "monitor_id"),
    ("triage_service", {"service": "web", "env": "prod env:dev"}, "env"),
    ("log_patterns", {"compare": "yesterday"}, "compare"),
    ("compare_metrics", {"query": "avg:m{*}", "baseline": "yesterday"}, "baseline"),
    ("list_metrics", {"limit": 0}, "limit"),
    ("list_metrics", {"cursor": "abc"}, "cursor"),
    ("get_metric_metadata", {}, "metric_name"),
    ("get_metric_metadata", {"metric_name": ["system.cpu.user"]}, "metric_name"),
    ("search_logs", {"limit": 5000}, "limit"),
    ("search_logs", {"indexes": "main"}, "indexes"),
    ("search_logs", {"query": "x" * 5000}, "query"),
    ("aggregate_logs", {"compute": "p42(@duration)"}, "compute"),
    ("aggregate_logs", {"compute": "avg"}, "compute"),
    ("aggregate_logs", {"group_by": ["a", "b", "c", "d", "e"]}, "group_by"),
    ("get_monitors", {"group_states": ["firing"]}, "group_states"),
    ("get_monitors", {"limit": -1}, "limit"),
    ("get_monitor", {"monitor_id": "abc"}, "monitor_id"),
    ("get_monitor", {"monitor_id": 0}, "monitor_id"),
    ("list_dashboards", {"cursor": "-1"}, "cursor"),
    ("get_dashboard", {"dashboard_id": "../../api/v1/hosts"}, "dashboard_id"),
    ("get_dashboard", {"dashboard_id": "abc/def"}, "dashboard_id"),
    ("list_hosts", {"sort_field": "ram"}, "sort_field"),
    ("list_hosts", {"sort_dir": "up"}, "sort_dir"),
    ("get_events", {"query": 5}, "query"),
    ("get_events", {"fields": ["a b"]}, "fields"),
    ("list_incidents", {"limit": 101}, "limit"),
    ("get_incident", {"incident_id": "abc/../x"}, "incident_id"),
    ("get_incident", {}, "incident_id"),
    ("list_spans", {"start": "now-5x"}, "start"),
    ("aggregate_spans", {"compute": "p95"}, "compute"),
    ("get_trace", {"trace_id": "xyz"}, "trace_id"),
    ("get_trace", {"trace_id": ""}, "trace_id"),
    ("list_services", {"limit": 1000}, "limit"),
    ("get_synthetics_tests", {"type": "ping"}, "type"),
    ("get_synthetics_tests", {"status": "running"}, "status"),
    ("search_rum_events", {"end": "2026-13-45"}, "end"),
    ("list_slos", {"ids": ["not an id"]}, "ids"),
    ("list_downtimes", {"status": ["paused"]}, "status"),
    ("list_downtimes", {"status": []}, "status"),
    ("list_notebooks", {"limit": 0}, "limit"),
    ("get_notebook", {"notebook_id": "x"}, "notebook_id"),
]


def empty_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=[] if request.url.path == "/api/v1/monitor" else {})


@pytest.mark.parametrize(("tool", "args", "argument"), BAD, ids=[f"{t}-{a}" for t, _, a in BAD])
@pytest.mark.anyio
async def test_bad_argument_is_named_and_nothing_is_sent(tool: str, args: dict[str, Any], argument: str) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.route().mock(side_effect=empty_answer)
        async with connect() as client:
            result = await client.call_tool(tool, args)
            assert not route.called, "a request was sent for bad input"
            after = await client.call_tool(tool, FIRST_CASE[tool].args)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert argument in text
    assert text.strip() != f"Error executing tool {tool}"
    assert not after.is_error


def test_every_tool_has_bad_input_cases() -> None:
    assert {tool for tool, _, _ in BAD} == set(FIRST_CASE)
