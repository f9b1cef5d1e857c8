"""Investigations: tools composing several Datadog requests into one answer (issue 15)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
import pytest
import respx

from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.demo.org import INCIDENT_AFTER
from tests.conftest import BASE, NOW, answered, connect
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

    def __init__(self, expected: int, answer: dict[str, Any]) -> None:
        self.expected, self.answer, self.waiting, self.most = expected, answer, 0, 0
        self.all_in = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        if self.waiting == self.expected:
            self.all_in.set()
        await self.all_in.wait()
        self.waiting -= 1
        return httpx.Response(200, json=self.answer)


@pytest.mark.parametrize(
    ("tool", "arguments", "answer", "at_once"),
    [
        ("compare_metrics", {"query": QUERY}, {"status": "ok", "series": []}, 2),  # the window and the baseline
        ("log_patterns", {}, {"data": []}, 2),  # the sample and the count
        ("log_patterns", {"compare": "previous"}, {"data": []}, 4),  # and both for the window before
    ],
)
@pytest.mark.anyio
async def test_the_requests_of_an_investigation_are_made_at_once(
    tool: str, arguments: dict[str, Any], answer: dict[str, Any], at_once: int
) -> None:
    barrier = Barrier(at_once, answer)
    with anyio.fail_after(10):
        async with connect(transport=barrier) as client:
            result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert barrier.most == at_once


@pytest.mark.anyio
async def test_the_demo_story_shows_checkout_slowing_when_the_incident_began() -> None:
    arguments = {"query": "avg:trace.http.request.duration{service:checkout}", "baseline": "day"}
    answer = await answered("compare_metrics", arguments, httpx.MockTransport(Datadog(odd=False)))
    (checkout,) = answer["series"]
    assert checkout["now"]["p95"] > 10 * checkout["before"]["p95"]
    assert checkout["shift"]["at"] == iso(NOW - INCIDENT_AFTER)


@pytest.mark.anyio
async def test_the_investigations_are_served_when_asked_for() -> None:
    async with connect(env={"DD_MCP_TOOLSETS": ""}) as client:
        default = {tool.name for tool in (await client.list_tools()).tools}
    async with connect(env={"DD_MCP_TOOLSETS": "investigations"}) as client:
        asked = {tool.name for tool in (await client.list_tools()).tools}
    assert "compare_metrics" not in default
    assert asked == {"compare_metrics", "log_patterns", "what_changed", "triage_service", "triage_monitor"}


# -- log_patterns ------------------------------------------------------------------------------------

SEARCH, COUNT = "/api/v2/logs/events/search", "/api/v2/logs/analytics/aggregate"


def logs(*messages: str, status: str = "error", start: int = NOW - 3000) -> list[dict[str, Any]]:
    return [
        {"id": f"l{n}", "attributes": {"message": m, "status": status, "timestamp": iso(start + n)}}
        for n, m in enumerate(messages)
    ]


def count_answer(total: int) -> dict[str, Any]:
    return {"data": {"buckets": [{"by": {}, "computes": {"c0": total}}]}}


def by_window(recent: Any, earlier: Any) -> Any:
    """An endpoint answering `recent` for the last hour's window and `earlier` for the one before."""

    def answer(request: httpx.Request) -> httpx.Response:
        window = json.loads(request.content)["filter"]
        return httpx.Response(200, json=recent if window["to"] == iso(NOW) else earlier)

    return answer


@pytest.mark.anyio
async def test_patterns_are_counted_with_their_share_statuses_and_trend_against_the_window_before() -> None:
    timeouts = [f"upstream timed out after {n} ms" for n in (200, 310, 450, 520)]
    now = logs(*timeouts, "user 17 logged in", "user 3 logged in", "pool exhausted 5/5", "pool exhausted 4/5")
    before = logs(*timeouts[:2], *[f"user {n} logged in" for n in range(5)], "cache miss", start=NOW - 6000)
    with respx.mock(base_url=BASE) as mock:
        mock.post(SEARCH).mock(side_effect=by_window({"data": now}, {"data": before}))
        mock.post(COUNT).mock(side_effect=by_window(count_answer(8), count_answer(8)))
        async with connect() as client:
            result = await client.call_tool("log_patterns", {"compare": "previous"})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    assert answer["read"] == "all 8 matching logs"
    assert answer["before"] == f"{iso(NOW - 7200)} to {iso(NOW - 3600)}: all 8 matching logs"
    rows = {row["template"]: row for row in answer["patterns"]}
    assert {t: (r["count"], r["share"], r["before"], r["trend"]) for t, r in rows.items()} == {
        "upstream timed out after <NUM> ms": (4, "50%", 2, "grew"),
        "user <NUM> logged in": (2, "25%", 5, "shrank"),
        "pool exhausted <NUM>/<NUM>": (2, "25%", 0, "new"),
    }
    timeout = rows["upstream timed out after <NUM> ms"]
    assert timeout["statuses"] == "error:4"
    assert (timeout["first_seen"], timeout["last_seen"]) == (iso(NOW - 3000), iso(NOW - 2997))
    assert timeout["example"] == "upstream timed out after 200 ms"


@pytest.mark.anyio
async def test_a_sample_is_read_page_after_page_and_said_to_be_one() -> None:
    pages = iter(
        [
            ({"data": logs(*["disk full"] * 1000), "meta": {"page": {"after": "c2"}}}),
            {"data": logs(*["disk full"] * 500), "meta": {"page": {"after": "c3"}}},
        ]
    )
    with respx.mock(base_url=BASE) as mock:
        search = mock.post(SEARCH).mock(side_effect=lambda request: httpx.Response(200, json=next(pages)))
        mock.post(COUNT).respond(200, json=count_answer(4000))
        async with connect() as client:
            result = await client.call_tool("log_patterns", {"max_logs": 1500})
    assert not result.is_error, result.content
    assert [json.loads(c.request.content)["page"] for c in search.calls] == [
        {"limit": 1000},
        {"limit": 500, "cursor": "c2"},
    ]
    assert result.structured_content is not None
    assert result.structured_content["read"] == "the newest 1500 of 4000 matching logs: a sample"
    assert result.structured_content["patterns"][0]["count"] == 1500


@pytest.mark.anyio
async def test_no_log_says_what_to_try() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post(SEARCH).respond(200, json={"data": []})
        mock.post(COUNT).respond(200, json={"data": {"buckets": []}})
        async with connect() as client:
            result = await client.call_tool("log_patterns", {"query": "service:nothing"})
    assert result.structured_content is not None
    assert result.structured_content["patterns"] == []
    assert result.structured_content["read"] == "all 0 matching logs"
    assert result.structured_content["note"] == (
        "Nothing matches in this window; over the last day the same query matches 0. No service is named nothing."
    )


@pytest.mark.anyio
async def test_the_demo_story_shows_the_payments_error_that_is_new() -> None:
    arguments = {"query": "service:payments status:error", "compare": "previous"}
    answer = await answered("log_patterns", arguments, httpx.MockTransport(Datadog(odd=False)))
    new = [row["template"] for row in answer["patterns"] if row["trend"] == "new"]
    assert any("pool exhausted" in template for template in new), new


# -- triage_service ----------------------------------------------------------------------------------

RECENT, EARLIER = iso(NOW - 3600), iso(NOW - 7200)
MS = 1_000_000  # span durations are in nanoseconds


class ServiceDatadog:
    """A fake Datadog holding one service, `web`, whose `POST /pay` slowed and failed after 2.0 was
    deployed in the last hour; `down` names endpoints that answer 403 instead."""

    def __init__(self, down: tuple[str, ...] = (), monitors: int = 1, long_text: str = "") -> None:
        self.down, self.monitors, self.long_text = down, monitors, long_text
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(path)
        if any(path.startswith(prefix) for prefix in self.down):
            return httpx.Response(403, json={"errors": ["Forbidden"]})
        body = json.loads(request.content) if request.content else {}
        attributes = (body.get("data") or {}).get("attributes") or body
        search = attributes.get("filter") or {}
        recent = search.get("to") == iso(NOW)  # the window asked for (or, for versions, both windows)
        answer = {
            "/api/v1/monitor": self.monitor_list,
            "/api/v2/spans/analytics/aggregate": lambda: self.span_groups(attributes, recent),
            "/api/v2/spans/events/search": lambda: self.first_span(search),
            "/api/v2/logs/events/search": lambda: {"data": self.logs(recent)},
            "/api/v2/logs/analytics/aggregate": lambda: count_answer(3 if recent else 0),
            "/api/v2/events": self.events,
            "/api/v2/incidents/search": self.incidents,
            "/api/v2/services/definitions": self.catalog,
        }[path]()
        return httpx.Response(200, json=answer)

    def monitor_list(self) -> list[dict[str, Any]]:
        firing = {"state": {"groups": {"env:prod": {"status": "Alert"}, "env:dev": {"status": "OK"}}}}
        return [
            {"id": 10 + n, "name": f"web errors {n} {self.long_text}", "overall_state": "Alert", **firing}
            for n in range(self.monitors)
        ] + [{"id": 99, "name": "web fine", "overall_state": "OK"}]

    def span_groups(self, attributes: dict[str, Any], recent: bool) -> dict[str, Any]:
        errors = "status:error" in attributes["filter"]["query"]
        by = [group["facet"] for group in attributes["group_by"]]
        slow = 2000 * MS if recent else 100 * MS
        rows: list[tuple[dict[str, str], Sequence[float]]]
        if by == ["version"]:
            rows = [({"version": "1.9"}, [50]), ({"version": "2.0"}, [40])]
        elif by == ["resource_name"]:
            pay: Sequence[float] = [10 if recent else 0] if errors else [40, slow / 2, slow, slow]
            home: Sequence[float] = [0] if errors else [60, 50 * MS, 90 * MS, 95 * MS]
            rows = [({"resource_name": "POST /pay"}, pay), ({"resource_name": "GET /"}, home)]
        else:
            rows = [({}, [10 if recent else 0] if errors else [100, 60 * MS, slow, slow])]
        return {
            "data": [
                {"attributes": {"by": by_, "compute": {f"c{n}": v for n, v in enumerate(values)}}}
                for by_, values in rows
            ]
        }

    def first_span(self, search: dict[str, Any]) -> dict[str, Any]:
        first = {"1.9": EARLIER, "2.0": iso(NOW - 1800)}[search["query"].rsplit(":", 1)[1]]
        return {"data": [{"attributes": {"start_timestamp": first}}]}

    def logs(self, recent: bool) -> list[dict[str, Any]]:
        return (
            logs("pool exhausted after 30 ms", "pool exhausted after 41 ms", "pool exhausted after 29 ms")
            if recent
            else []
        )

    def events(self) -> dict[str, Any]:
        deploy = {"timestamp": iso(NOW - 1800), "attributes": {"title": f"Deployed web 2.0 {self.long_text}"}}
        return {"data": [{"id": "e1", "attributes": deploy}]}

    def incidents(self) -> dict[str, Any]:
        incident = {
            "id": "inc-1",
            "attributes": {"title": "Payments failing", "state": "active", "fields": {"services": {"value": ["web"]}}},
        }
        other = {"id": "inc-2", "attributes": {"title": "Other", "fields": {"services": {"value": ["db"]}}}}
        return {"data": {"attributes": {"incidents": [{"data": incident}, {"data": other}]}}}

    def catalog(self) -> dict[str, Any]:
        schema = {"dd-service": "web", "team": "shop", "contacts": [{"contact": "#web-oncall"}]}
        return {"data": [{"attributes": {"schema": schema}}]}


async def triage(datadog: ServiceDatadog, **arguments: Any) -> dict[str, Any]:
    return await answered("triage_service", {"service": "web", **arguments}, httpx.MockTransport(datadog))


@pytest.mark.anyio
async def test_triage_names_the_alert_the_slow_failing_endpoint_the_new_error_the_deploy_and_the_incident() -> None:
    answer = await triage(ServiceDatadog())
    assert answer["window"] == f"{RECENT} to {iso(NOW)}, against {EARLIER} to {RECENT}"
    assert answer["alerting"] == ["10 web errors 0 : Alert in env:prod"]
    traffic = answer["traffic"]
    assert traffic["now"] == "100 requests, 10 errors (10.0%), p50 60.0 ms, p95 2000.0 ms, p99 2000.0 ms"
    assert traffic["before"] == "100 requests, 0 errors (0.0%), p50 60.0 ms, p95 100.0 ms, p99 100.0 ms"
    assert traffic["resources"][0] == "POST /pay: p95 2000.0 ms (before 100.0), errors 25.0% (before 0.0%)"
    errors = answer["errors"]
    assert (errors["now"], errors["before"]) == (3, 0)
    assert errors["patterns"] == [
        f"pool exhausted after <NUM> ms: 3 (before 0), first {iso(NOW - 3000)}; e.g. pool exhausted after 30 ms"
    ]
    assert answer["changes"]["versions"] == [f"1.9 first seen {EARLIER}", f"2.0 first seen {iso(NOW - 1800)}"]
    assert answer["changes"]["events"] == [f"{iso(NOW - 1800)} Deployed web 2.0 "]
    (incident,) = answer["context"]["incidents"]
    assert incident.endswith("incident_id inc-1)")
    assert answer["context"]["catalog"] == "team shop; contacts: #web-oncall"
    assert answer["next"][0] == "get_monitor(monitor_id=10)"
    assert any(call.startswith("search_logs(") for call in answer["next"])
    assert any("POST /pay" in call for call in answer["next"])
    assert "get_incident(incident_id='inc-1')" in answer["next"]


@pytest.mark.anyio
async def test_a_section_that_fails_says_why_in_its_place_and_the_others_answer() -> None:
    answer = await triage(ServiceDatadog(down=("/api/v1/monitor", "/api/v2/logs")))
    assert "403" in answer["alerting"]["unavailable"]
    assert "403" in answer["errors"]["unavailable"]
    assert answer["traffic"]["now"].startswith("100 requests")
    assert answer["changes"]["versions"]
    assert answer["context"]["incidents"]


@pytest.mark.anyio
async def test_a_busy_service_is_triaged_within_6000_characters() -> None:
    answer = await triage(ServiceDatadog(monitors=40, long_text="x" * 3000))
    assert len(json.dumps(answer, separators=(",", ":"), ensure_ascii=False)) <= 6000
    assert answer["alerting"]
    assert answer["next"]


@pytest.mark.anyio
async def test_the_sections_are_read_at_once() -> None:
    barrier = Barrier(17, {"data": []})  # monitors 1, traffic 8, error logs 4, versions and events 2, context 2
    with anyio.fail_after(10):
        async with connect(transport=barrier) as client:
            result = await client.call_tool("triage_service", {"service": "web"})
    assert not result.is_error, result.content
    assert barrier.most == 17


@pytest.mark.parametrize(("tool", "arguments"), [("compare_metrics", {"query": QUERY}), ("log_patterns", {})])
@pytest.mark.anyio
async def test_a_datadog_refusal_inside_concurrent_reads_is_said_as_itself(
    tool: str, arguments: dict[str, Any]
) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.route().respond(403, json={"errors": ["Forbidden"]})
        async with connect() as client:
            result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert "403" in text
    assert "shape" not in text


# -- triage_monitor ----------------------------------------------------------------------------------

FIRED = NOW - 1800  # the alerting group fired half an hour ago: the alert window is that half hour


def metric_monitor(**more: Any) -> dict[str, Any]:
    groups = {
        "host:web-1": {"status": "Alert", "last_triggered_ts": FIRED},
        "host:web-2": {"status": "OK", "last_triggered_ts": NOW - 90_000},
    }
    return {
        "id": 7,
        "name": "CPU high on web",
        "type": "metric alert",
        "overall_state": "Alert",
        "query": "avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 90",
        "message": "CPU is high.\nRunbook: https://wiki/cpu",
        "tags": ["team:web"],
        "state": {"groups": groups},
        **more,
    }


@pytest.mark.anyio
async def test_a_monitor_is_explained_by_its_query_over_the_alert_window_against_the_one_before() -> None:
    now_series = [series("host:web-1", FIRED, [95.0] * 30), series("host:web-2", FIRED, [20.0] * 30)]
    before_series = [series("host:web-1", FIRED - 1800, [40.0] * 30), series("host:web-2", FIRED - 1800, [20.0] * 30)]

    def query(request: httpx.Request) -> httpx.Response:
        recent = int(request.url.params["from"]) == FIRED
        return httpx.Response(200, json={"status": "ok", "series": now_series if recent else before_series})

    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/monitor/7").respond(200, json=metric_monitor())
        metrics = mock.get("/api/v1/query").mock(side_effect=query)
        events = mock.get("/api/v2/events").respond(200, json={"data": []})
        async with connect() as client:
            result = await client.call_tool("triage_monitor", {"monitor_id": 7})
        windows = sorted((c.request.url.params["from"], c.request.url.params["to"]) for c in metrics.calls)
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    assert windows == [(str(FIRED - 1800), str(FIRED)), (str(FIRED), str(NOW))]
    assert {c.request.url.params["query"] for c in metrics.calls} == {"avg:system.cpu.user{env:prod} by {host}"}
    assert answer["monitor"]["message"] == "CPU is high."
    assert answer["groups"] == [f"host:web-1: Alert since {iso(FIRED)}"]
    (why,) = answer["why"]  # the alerting group, not web-2
    assert why.startswith("host:web-1: mean 95.0 (before 40.0, +138%), p95 95.0 (before 40.0, +138%)")
    assert why.endswith(f"shifted at {iso(FIRED)} from 40.0 to 95.0")  # across both windows: the alert
    assert events.calls.last.request.url.params["filter[query]"] == '"CPU high on web"'
    assert "traffic" not in answer  # no service tag: no service sections


@pytest.mark.anyio
async def test_a_monitor_of_a_service_adds_that_services_sections() -> None:
    datadog = ServiceDatadog()
    monitor = metric_monitor(
        tags=["service:web"], query='logs("service:web status:error").index("*").rollup("count").last("5m") > 10'
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/monitor/7":
            return httpx.Response(200, json=monitor)
        return datadog(request)

    async with connect(transport=httpx.MockTransport(answer)) as client:
        result = await client.call_tool("triage_monitor", {"monitor_id": 7})
    assert result.structured_content is not None
    triaged = result.structured_content
    assert triaged["why"].startswith("not a metric monitor")
    assert triaged["errors"]["patterns"][0].startswith("pool exhausted after <NUM> ms: 3 (before 0)")
    assert triaged["changes"]["versions"]
    assert "/api/v1/query" not in datadog.paths


@pytest.mark.anyio
async def test_a_monitor_that_does_not_exist_is_said_so() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/monitor/8").respond(404, json={"errors": ["Monitor not found"]})
        async with connect() as client:
            result = await client.call_tool("triage_monitor", {"monitor_id": 8})
    assert result.is_error
    assert "monitor 8 does not exist" in result.content[0].text  # type: ignore[union-attr]


# -- what_changed ------------------------------------------------------------------------------------

MOMENT = NOW - 3600  # asked about an hour ago: the timeline runs from two hours ago to now


class ChangingDatadog:
    """web 1.9 runs all along; 2.0 is deployed at MOMENT+60; a new error follows; events say so."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        attributes = (body.get("data") or {}).get("attributes") or body
        search = attributes.get("filter") or {}
        if path == "/api/v2/spans/analytics/aggregate":
            if attributes["group_by"][0]["facet"] == "@error.type":  # Timeout all along, PoolExhausted after
                kinds = ["Timeout", "PoolExhausted"] if search["from"] == iso(MOMENT) else ["Timeout"]
                groups = [{"@error.type": kind} for kind in kinds]
            else:
                groups = [{"service": "web", "version": "1.9"}, {"service": "web", "version": "2.0"}]
            return httpx.Response(
                200, json={"data": [{"attributes": {"by": by, "compute": {"c0": 9}}} for by in groups]}
            )
        if path == "/api/v2/spans/events/search":
            first = {"version:1.9": NOW - 7200, "version:2.0": MOMENT + 60, 'PoolExhausted"': MOMENT + 90}
            moment = next(at for needle, at in first.items() if needle in search["query"])
            return httpx.Response(200, json={"data": [{"attributes": {"start_timestamp": iso(moment)}}]})
        if path == "/api/v2/events":
            event = {
                "timestamp": iso(MOMENT + 30),
                "attributes": {"title": "Deployed web 2.0", "source_type_name": "github"},
            }
            return httpx.Response(200, json={"data": [{"id": "e1", "attributes": event}]})
        after = search.get("from") == iso(MOMENT)
        if path == "/api/v2/logs/events/search":
            found = logs("disk full on /var", start=MOMENT + 120) if after else logs("cache miss 3", start=MOMENT - 900)
            return httpx.Response(
                200, json={"data": found + (logs("cache miss 4", start=MOMENT + 200) if after else [])}
            )
        return httpx.Response(200, json=count_answer(2 if after else 1))


@pytest.mark.anyio
async def test_what_changed_is_one_timeline_oldest_first_of_deploys_events_and_new_errors() -> None:
    async with connect(transport=httpx.MockTransport(ChangingDatadog())) as client:
        result = await client.call_tool("what_changed", {"around": "now-1h", "service": "web"})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer is not None
    assert (answer["around"], answer["from"], answer["to"]) == (iso(MOMENT), iso(NOW - 7200), iso(NOW))
    assert answer["changes"] == [
        {"time": iso(MOMENT + 30), "source": "github", "what": "Deployed web 2.0"},
        {"time": iso(MOMENT + 60), "source": "apm", "what": "web 2.0 first seen"},  # 1.9 was running: no change
        {"time": iso(MOMENT + 90), "source": "apm", "what": "new error type in spans: PoolExhausted"},
        {"time": iso(MOMENT + 120), "source": "logs", "what": "new error: disk full on /var (1)"},  # cache miss is old
    ]
