"""What the model reads when Datadog fails: every failure class becomes a clear ToolError.

Each message says what happened and what to do next, never contains a key, and the same client
answers the next call.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from dd_mcp_server.common.errors import InvalidArgument
from dd_mcp_server.common.timeparse import parse_time
from tests.conftest import API_KEY, APP_KEY, BASE, NOW, connect
from tests.test_requests import CASES

SCOPES = {
    "query_metrics": "timeseries_query",
    "list_metrics": "metrics_read",
    "get_metric_metadata": "metrics_read",
    "search_logs": "logs_read_data",
    "aggregate_logs": "logs_read_data",
    "get_monitors": "monitors_read",
    "get_monitor": "monitors_read",
    "list_dashboards": "dashboards_read",
    "get_dashboard": "dashboards_read",
    "list_hosts": "hosts_read",
    "get_events": "events_read",
    "list_incidents": "incident_read",
    "get_incident": "incident_read",
    "list_spans": "apm_read",
    "aggregate_spans": "apm_read",
    "get_trace": "apm_read",
    "list_services": "apm_service_catalog_read",
    "get_synthetics_tests": "synthetics_read",
    "search_rum_events": "rum_apps_read",
    "list_slos": "slos_read",
    "list_downtimes": "monitors_downtime",
    "list_notebooks": "notebooks_read",
    "get_notebook": "notebooks_read",
}
FIRST_CASE = {case.tool: case for case in reversed(CASES)}
METADATA = {"metric_name": "system.cpu.user", "include_tags": False}
METADATA_PATH = "/api/v1/metrics/system.cpu.user"

FAILURES = [
    (
        "400 v1",
        httpx.Response(400, json={"errors": ["Invalid metric name: system..cpu"]}),
        ["400 Bad Request", "Invalid metric name: system..cpu", "Fix the argument"],
    ),
    (
        "400 v2",
        httpx.Response(400, json={"errors": [{"status": "400", "title": "Bad Request", "detail": "bad window"}]}),
        ["Bad Request: bad window"],
    ),
    (
        "401",
        httpx.Response(401, json={"errors": ["Unauthorized"]}),
        ["401 Unauthorized", "DD_API_KEY", "datadoghq.com", "retrying will not help"],
    ),
    (
        "403",
        httpx.Response(403, json={"errors": ["Forbidden"]}),
        ["403 Forbidden", "'metrics_read' scope", "DD_APP_KEY", "datadoghq.com", "Datadog said: Forbidden"],
    ),
    (
        "404",
        httpx.Response(404, json={"errors": ["Metric not found"]}),
        ["metric 'system.cpu.user' does not exist on datadoghq.com"],
    ),
    (
        "429",
        httpx.Response(429, headers={"X-RateLimit-Reset": "7, 7"}),
        ["429 Too Many Requests", "resets in 7 s", "gave up after 3 attempts"],
    ),
    (
        "500",
        httpx.Response(500, text="<html>oops</html>", headers={"Content-Type": "text/html"}),
        ["500 Internal Server Error", "Nothing is wrong with the request"],
    ),
    ("503", httpx.Response(503), ["503 Service Unavailable", "gave up after 3 attempts"]),
    (
        "not JSON",
        httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}),
        ["not JSON (text/html)"],
    ),
    ("timeout", httpx.ReadTimeout("slow"), ["did not answer", "within the timeout (ReadTimeout)"]),
    ("connection", httpx.ConnectError("refused"), ["The connection to Datadog", "ConnectError"]),
]


@pytest.mark.parametrize(("name", "failure", "expected"), FAILURES, ids=[f[0] for f in FAILURES])
@pytest.mark.anyio
async def test_failure_becomes_a_clear_tool_error(
    name: str, failure: httpx.Response | Exception, expected: list[str]
) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(METADATA_PATH)
        if isinstance(failure, httpx.Response):
            route.mock(return_value=failure)
        else:
            route.mock(side_effect=failure)
        async with connect() as client:
            result = await client.call_tool("get_metric_metadata", METADATA)
            route.mock(return_value=httpx.Response(200, json={"type": "gauge"}), side_effect=None)
            after = await client.call_tool("get_metric_metadata", METADATA)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert text.startswith("Error executing tool get_metric_metadata: ")
    for part in expected:
        assert part in text
    assert API_KEY not in text
    assert APP_KEY not in text
    assert not after.is_error


@pytest.mark.parametrize("tool", sorted(SCOPES))
@pytest.mark.anyio
async def test_403_names_the_scope_each_tool_needs(tool: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.route().respond(403, json={"errors": [{"status": "403", "title": "Forbidden"}]})
        async with connect() as client:
            result = await client.call_tool(tool, FIRST_CASE[tool].args)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert f"'{SCOPES[tool]}' scope" in text
    assert "on datadoghq.com" in text


@pytest.mark.parametrize(
    ("tool", "args", "thing"),
    [
        ("get_monitor", {"monitor_id": 42}, "monitor 42"),
        ("get_dashboard", {"dashboard_id": "abc-def-ghi"}, "dashboard 'abc-def-ghi'"),
        ("get_incident", {"incident_id": "abc-123"}, "incident 'abc-123'"),
        ("get_notebook", {"notebook_id": 7}, "notebook 7"),
    ],
)
@pytest.mark.anyio
async def test_404_names_the_missing_resource(tool: str, args: dict[str, object], thing: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.route().respond(404, json={"errors": ["Not found"]})
        async with connect() as client:
            result = await client.call_tool(tool, args)
    assert result.is_error
    assert f"Datadog says {thing} does not exist on datadoghq.com (404 Not Found)" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("tool", ["query_metrics", "compare_metrics"])
@pytest.mark.anyio
async def test_a_metric_query_datadog_cannot_run_is_explained(tool: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/query").respond(200, json={"status": "error", "error": "Error parsing query: unexpected }"})
        async with connect() as client:
            result = await client.call_tool(tool, {"query": "avg:system.cpu.user}"})
    assert result.is_error
    assert "Datadog could not run the metric query: Error parsing query: unexpected }" in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_an_answer_of_the_wrong_shape_is_explained_not_crashed() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": [{"attributes": "not an object"}]})
        mock.get("/api/v1/monitor").respond(200, json={"not": "a list"})
        async with connect() as client:
            logs = await client.call_tool("search_logs", {})
            monitors = await client.call_tool("get_monitors", {})
    assert logs.is_error
    assert "did not have the shape its API documents" in logs.content[0].text  # type: ignore[union-attr]
    assert monitors.is_error
    assert "unexpected shape (dict, expected list)" in monitors.content[0].text  # type: ignore[union-attr]


# -- time arguments the model got wrong: refused before any request, saying what was wrong ------------

TIME_EXAMPLES = "'now-15m', 'now-2h', 'now-7d', 'now', 1732406400 or '2026-11-24T09:30:00Z'"
LONG = "now-" + "9" * 100 + "d"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"start": "yesterday"},
            f"Invalid argument 'start': cannot read 'yesterday' as a time. Example: {TIME_EXAMPLES}",
        ),
        (
            {"start": "now-99999999d"},
            f"Invalid argument 'start': 'now-99999999d' reaches before 1970. Example: {TIME_EXAMPLES}",
        ),
        ({"start": LONG}, f"Invalid argument 'start': {LONG[:80]!r} reaches before 1970. Example: {TIME_EXAMPLES}"),
        (
            {"start": "1969-12-31T23:59:59Z"},
            f"Invalid argument 'start': '1969-12-31T23:59:59Z' is outside 1970..9999. Example: {TIME_EXAMPLES}",
        ),
        (
            # Exactly 10000-01-01T00:00:00Z, once its offset is applied.
            {"start": "9999-12-31T23:00:00-01:00"},
            f"Invalid argument 'start': '9999-12-31T23:00:00-01:00' is outside 1970..9999. Example: {TIME_EXAMPLES}",
        ),
        ({"start": "nan"}, f"Invalid argument 'start': expected a finite time. Example: {TIME_EXAMPLES}"),
        ({"end": "-inf"}, f"Invalid argument 'end': expected a finite time. Example: {TIME_EXAMPLES}"),
        (
            {"start": "99999999999999999"},
            f"Invalid argument 'start': 1e+17 is outside 1970..9999 as epoch seconds. Example: {TIME_EXAMPLES}",
        ),
        (
            {"start": 10**400},
            f"Invalid argument 'start': the number is outside 1970..9999 as epoch seconds. Example: {TIME_EXAMPLES}",
        ),
        (
            {"end": "2026-11-26T12:00:00Z"},
            "Invalid argument 'end': 2026-11-26T12:00:00Z is more than a day after now (2026-11-24T12:00:00Z). "
            "Example: end='now' or end='now-1h'",
        ),
        (
            {"start": "now-1h", "end": "now-2h"},
            "Invalid argument 'start': start (2026-11-24T11:00:00Z) must be before end (2026-11-24T10:00:00Z). "
            "Example: start='now-2h', end='now-1h'",
        ),
        (
            # The call gave only end: the empty window is end's fault, not the default start's.
            {"end": 0},
            "Invalid argument 'end': start (1970-01-01T00:00:00Z) must be before end (1970-01-01T00:00:00Z). "
            "Example: start='now-2h', end='now-1h'",
        ),
    ],
    ids=[
        "unreadable",
        "before 1970",
        "long value cut",
        "ISO before 1970",
        "ISO after 9999",
        "nan",
        "-inf",
        "epoch string too large",
        "integer beyond floats",
        "end too late",
        "start after end",
        "end alone empty",
    ],
)
@pytest.mark.anyio
async def test_a_bad_time_is_refused_saying_what_was_wrong_with_examples(args: dict[str, object], message: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        async with connect() as client:
            result = await client.call_tool("search_logs", args)
        assert not mock.calls
    assert result.is_error
    assert result.content[0].text.removeprefix("Error executing tool search_logs: ") == message  # type: ignore[union-attr]


def test_a_boolean_is_never_read_as_a_time() -> None:
    # The tool layer refuses booleans by JSON type first; the parser refuses them too, on its own.
    with pytest.raises(InvalidArgument) as caught:
        parse_time(True, argument="start", now=NOW)
    assert str(caught.value) == f"Invalid argument 'start': expected a time, got a boolean. Example: {TIME_EXAMPLES}"


# -- the second request of a tool fails: its error names that request's scope and thing -------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, "(403 Forbidden) on datadoghq.com: the application key (DD_APP_KEY) lacks the 'metrics_read' scope"),
        (404, "Datadog says metric 'system.cpu.user' does not exist on datadoghq.com (404 Not Found)"),
    ],
)
@pytest.mark.anyio
async def test_a_failing_tag_request_names_its_scope_and_metric(status: int, expected: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get(METADATA_PATH).respond(200, json={"type": "gauge"})
        mock.get("/api/v2/metrics/system.cpu.user/all-tags").respond(status, json={"errors": ["no"]})
        async with connect() as client:
            result = await client.call_tool("get_metric_metadata", {"metric_name": "system.cpu.user"})
    assert result.is_error
    assert expected in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (403, "(403 Forbidden) on datadoghq.com: the application key (DD_APP_KEY) lacks the 'synthetics_read' scope"),
        (404, "Datadog says synthetic test 'abc-123-xyz' does not exist on datadoghq.com (404 Not Found)"),
    ],
)
@pytest.mark.anyio
async def test_a_failing_results_request_names_its_scope_and_test(status: int, expected: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/synthetics/tests").respond(200, json={"tests": [{"public_id": "abc-123-xyz", "type": "api"}]})
        mock.get("/api/v1/synthetics/tests/abc-123-xyz/results").respond(status, json={"errors": ["no"]})
        async with connect() as client:
            result = await client.call_tool("get_synthetics_tests", {})
    assert isinstance(result.structured_content, dict)
    (test,) = result.structured_content["tests"]
    assert expected in test["latest"]["unavailable"]


@pytest.mark.anyio
async def test_an_id_from_datadog_outside_the_grammar_is_named_in_the_answer() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/synthetics/tests").respond(200, json={"tests": [{"public_id": "..", "type": "api"}]})
        async with connect() as client:
            result = await client.call_tool("get_synthetics_tests", {})
        assert len(mock.calls) == 1
    assert isinstance(result.structured_content, dict)
    (test,) = result.structured_content["tests"]
    assert test["latest"]["unavailable"] == (
        "synthetic test id '..' is not a valid identifier, so no request was sent. Use the id exactly as Datadog "
        "lists it."
    )


@pytest.mark.parametrize(
    ("headers", "place"), [({}, "an unnamed place"), ({"location": "https://elsewhere.example/x"}, "elsewhere.example")]
)
@pytest.mark.anyio
async def test_a_redirect_names_where_it_pointed_and_what_to_check(headers: dict[str, str], place: str) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get(METADATA_PATH).respond(302, headers=headers)
        async with connect() as client:
            result = await client.call_tool("get_metric_metadata", METADATA)
    assert result.content[0].text.removeprefix("Error executing tool get_metric_metadata: ") == (  # type: ignore[union-attr]
        f"Datadog answered GET {METADATA_PATH} with a redirect (302) to {place}, which was not followed so the keys "
        "go nowhere else. Something other than Datadog's API answered: check DD_SITE or DD_API_URL, and any proxy."
    )
