"""List views show the fields that identify and triage a record; `fields` brings back any other."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.attributes import pick, select
from dd_mcp_server.common.tables import flatten
from dd_mcp_server.tools import TOOLSETS
from tests.conftest import BASE, connect
from tests.test_fuzz_answers import ARGUMENTS
from tests.test_tables import LIST_TOOLS, Datadog

MONITOR = {
    "id": 7,
    "name": "CPU high",
    "type": "metric alert",
    "overall_state": "Alert",
    "query": "avg(last_5m):avg:system.cpu.user{*} > 90",
    "message": "CPU is high.\nRunbook: https://wiki/cpu",
    "options": {"thresholds": {"critical": 90}},
    "tags": ["env:prod"],
}


def test_the_shown_fields_then_the_asked_ones_from_the_summary_or_the_full_record() -> None:
    summary = {"id": 1, "name": "n", "message": "first line"}
    full = {"id": 1, "name": "n", "message": "first line\nsecond", "options": {"a": {"b": 2}}, "x": 3}
    assert select(summary, ("id", "name"), full, None) == {"id": 1, "name": "n"}
    assert select(summary, ("id",), full, ["message", "options.a.b", "@x", "absent"]) == {
        "id": 1,
        "message": "first line",
        "options": {"a": {"b": 2}},
        "x": 3,
    }


def test_a_star_gives_every_field_with_the_summarys_short_values() -> None:
    summary = {"id": 1, "message": "first line"}
    full = {"id": 1, "message": "first line\nsecond", "http": {"method": "GET", "code": 200}}
    assert select(summary, ("id",), full, ["*", "http.code"]) == {
        "id": 1,
        "message": "first line",
        "http": {"method": "GET", "code": 200},
    }


def test_a_key_spelt_with_a_dot_is_found_too() -> None:
    assert pick({"http.url": "/a"}, "http.url") == "/a"
    assert pick({"a": {"b.c": {"d": 1}}}, "a.b.c.d") == 1
    assert pick({"a": 1}, "a.b") is None


names = st.text(st.sampled_from("abc"), min_size=1, max_size=2)
records: st.SearchStrategy[Any] = st.recursive(
    st.integers() | st.text(max_size=3),
    lambda inner: st.dictionaries(names, inner, min_size=1, max_size=3),
    max_leaves=8,
)


def paths(record: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(record, dict):
        return [(prefix, record)]
    return [found for key, value in record.items() for found in paths(value, f"{prefix}{key}.")]


@given(records.filter(lambda r: isinstance(r, dict)))
def test_any_field_asked_for_is_found_where_it_was(record: dict[str, Any]) -> None:
    for path, value in paths(record):
        path = path.removesuffix(".")
        assert pick(select({}, (), record, [path]), path) == value


@pytest.mark.anyio
async def test_monitors_list_their_summary_and_more_by_fields() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/monitor").respond(200, json=[MONITOR])
        async with connect() as client:
            plain = await client.call_tool("get_monitors", {})
            more = await client.call_tool(
                "get_monitors", {"fields": ["query", "message", "options.thresholds.critical"]}
            )
    assert plain.structured_content is not None
    assert more.structured_content is not None
    (summary,) = plain.structured_content["monitors"]
    assert summary == {"id": 7, "name": "CPU high", "type": "metric alert", "state": "Alert", "tags": ["env:prod"]}
    (fuller,) = more.structured_content["monitors"]
    assert fuller["query"] == MONITOR["query"]
    assert fuller["message"] == "CPU is high."  # the first line: the rest is one get_monitor away
    assert fuller["options"] == {"thresholds": {"critical": 90}}


@pytest.mark.parametrize("name", ["a..b", "", "a b", "x" * 201, ".a", "a.b.c.d.e.f.g.h.i.j.k"])
@pytest.mark.anyio
async def test_a_field_name_outside_the_grammar_is_refused_by_name(name: str) -> None:
    async with connect() as client:
        result = await client.call_tool("get_monitors", {"fields": [name]})
    assert result.is_error
    assert result.content[0].text.startswith("Invalid argument 'fields'")  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_span_error_message_is_cut_to_300_and_whole_by_fields() -> None:
    long = "timeout talking to payments " + "x" * 1000
    span = {"attributes": {"trace_id": "1", "span_id": "2", "service": "web", "custom": {"error": {"message": long}}}}
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/spans/events/search").respond(200, json={"data": [span]})
        async with connect() as client:
            plain = await client.call_tool("list_spans", {})
            whole = await client.call_tool("list_spans", {"fields": ["error.message"]})
    assert plain.structured_content is not None
    assert whole.structured_content is not None
    (shown,) = plain.structured_content["spans"]
    assert shown["error"]["message"] == long[:300] + "…"
    (asked,) = whole.structured_content["spans"]
    assert asked["attributes"] == {"error.message": long}


@pytest.mark.anyio
async def test_a_rum_attribute_outside_the_summary_comes_by_fields() -> None:
    inner = {"type": "error", "context": {"cart_id": "c-42"}, "error": {"message": "boom"}}
    event = {"attributes": {"timestamp": "2026-11-24T11:59:00Z", "service": "shop-web", "attributes": inner}}
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/rum/events/search").respond(200, json={"data": [event]})
        async with connect() as client:
            plain = await client.call_tool("search_rum_events", {})
            asked = await client.call_tool("search_rum_events", {"fields": ["@context.cart_id"]})
            every = await client.call_tool("search_rum_events", {"fields": ["*"]})
    rows = [r.structured_content["events"][0] for r in (plain, asked, every)]
    assert "attributes" not in rows[0]
    assert rows[0]["error.message"] == "boom"
    assert rows[1]["attributes"] == {"context.cart_id": "c-42"}
    assert rows[2]["attributes"] == inner


# -- every list tool of records, on the demo organisation --------------------------------------------

WITH_FIELDS = sorted(
    fn.__name__ for fns in TOOLSETS.values() for fn in fns if "fields" in inspect.signature(fn).parameters
)


def test_every_list_of_records_takes_fields() -> None:
    # Aggregate groups, metric names, compared series, log patterns and timelines are whole in their rows.
    assert set(WITH_FIELDS) == set(LIST_TOOLS) - {
        "aggregate_logs",
        "aggregate_spans",
        "list_metrics",
        "compare_metrics",
        "log_patterns",
        "what_changed",
    }


# Spans and RUM events name their attributes by path inside `attributes` (tested above and in test_tables).
@pytest.mark.parametrize("tool", sorted(set(WITH_FIELDS) - {"list_spans", "search_rum_events"}))
@pytest.mark.anyio
async def test_a_list_shows_a_summary_and_any_other_field_by_name(tool: str) -> None:
    rows_key = LIST_TOOLS[tool]
    async with connect(transport=httpx.MockTransport(Datadog(odd=False))) as client:

        async def rows(**more: Any) -> list[dict[str, Any]]:
            result = await client.call_tool(tool, {**ARGUMENTS[tool], **more})
            assert not result.is_error, result.content
            assert result.structured_content is not None
            return [flatten(row) or row for row in result.structured_content[rows_key]]

        plain, every = await rows(), await rows(fields=["*"])
        assert plain
        assert len(plain) == len(every)
        for shown, whole in zip(plain, every, strict=True):
            assert shown.items() <= whole.items()  # the summary's values, not the record's longer ones
        hidden = sorted({key for shown, whole in zip(plain, every, strict=True) for key in whole.keys() - shown.keys()})
        assert hidden, f"{tool}: '*' added nothing to the summary"
        named = next(key for key in hidden if not any(part.isdigit() for part in key.split(".")))
        asked = await rows(fields=[named])
    assert [row.get(named) for row in asked] == [row.get(named) for row in every]
    assert all(row.keys() - {named} <= shown.keys() for row, shown in zip(asked, plain, strict=True))
