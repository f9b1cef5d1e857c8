"""Server-level behaviour shared by every tool: unknown arguments, descriptions, toolset selection."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.server import build_server
from tests.conftest import BASE, connect

# Issue 13: every tools/list puts its bytes in the model's context; at most this many, as compact
# JSON (bench/toollist.py prints them per tool).
TOOLS_LIST_BYTES = 12_000


@pytest.mark.anyio
async def test_an_unknown_argument_is_an_error_naming_it_and_nothing_is_sent() -> None:
    with respx.mock(base_url=BASE) as mock:
        async with connect() as client:
            result = await client.call_tool("search_logs", {"query": "status:error", "from": "now-1h"})
            assert result.is_error
            text = result.content[0].text  # type: ignore[union-attr]
            assert "Unknown argument 'from' for search_logs" in text
            assert "start" in text
            assert "end" in text
            assert not mock.calls
            mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
            after = await client.call_tool("search_logs", {"query": "status:error", "start": "now-1h"})
    assert not after.is_error


@pytest.mark.anyio
async def test_descriptions_are_dedented_single_paragraph_lines_with_an_example() -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        description = tool.description or ""
        assert "\n    " not in description, tool.name
        assert "\nE.g. " in description, tool.name
        # One paragraph (what the tool does, when to use it), then the example on its own line.
        assert len(description.splitlines()) == 2, tool.name


async def listed_tools() -> list[dict[str, Any]]:
    """tools/list of the demo server, every tool as the client dumps it: what bench/toollist.py measures."""
    async with Client(build_server(load_settings({}, demo=True))) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools]


@pytest.mark.anyio
async def test_the_tool_list_fits_its_byte_budget() -> None:
    tools = await listed_tools()
    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= TOOLS_LIST_BYTES, f"tools/list is {size} bytes; run bench/toollist.py for the sizes per tool"


def schemas_in(schema: Any) -> list[dict[str, Any]]:
    """`schema` and every schema nested in it (properties, items, anyOf options)."""
    if not isinstance(schema, dict):
        return []
    found = [schema]
    for value in schema.get("properties", {}).values():
        found += schemas_in(value)
    for option in schema.get("anyOf", []):
        found += schemas_in(option)
    return found + schemas_in(schema.get("items"))


@pytest.mark.anyio
async def test_the_advertised_schemas_say_only_what_the_model_needs() -> None:
    for tool in await listed_tools():
        for schema in schemas_in(tool["inputSchema"]):
            assert "title" not in schema, tool["name"]
            assert {"type": "null"} not in schema.get("anyOf", []), tool["name"]
            assert "null" not in schema.get("type", []), tool["name"]
            assert schema.get("default", "") is not None, tool["name"]
        for name in {"start", "end"} & set(tool["inputSchema"]["properties"]):
            assert tool["inputSchema"]["properties"][name].keys() == {"type", "description"}
            assert tool["inputSchema"]["properties"][name]["type"] == "string"


@pytest.mark.parametrize("start", [1795518000, 1795518000.5, "1795518000", "now-1h"])
@pytest.mark.anyio
async def test_a_time_is_advertised_as_text_and_still_accepted_as_a_number(start: object) -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
        async with connect() as client:
            result = await client.call_tool("search_logs", {"start": start})
    assert not result.is_error, result.content
    assert json.loads(route.calls[0].request.content)["filter"]["from"] == "2026-11-24T11:00:00Z"


@pytest.mark.anyio
async def test_toolsets_setting_limits_the_tools_and_their_arguments() -> None:
    async with connect(env={"DD_MCP_TOOLSETS": "apm,slos"}) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("search_logs", {})
    assert names == {"list_spans", "aggregate_spans", "get_trace", "list_services", "list_slos"}
    assert result.is_error


@pytest.mark.anyio
async def test_a_rejected_value_is_one_plain_line_with_the_arguments_own_description() -> None:
    async with connect() as client:
        result = await client.call_tool("get_monitor", {"monitor_id": 0})
        both = await client.call_tool("query_metrics", {"start": "now"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert text == (
        "Invalid argument 'monitor_id': Input should be greater than or equal to 1 (got 0). monitor_id: Monitor id."
    )
    lines = both.content[0].text.splitlines()  # type: ignore[union-attr]
    assert len(lines) == 1
    assert lines[0].startswith("Invalid argument 'query': Field required. query: Datadog metric query")
    assert "pydantic" not in text


@pytest.mark.parametrize(
    ("tool", "arguments", "spelled_out"),
    [
        ("search_logs", {"start": True}, "start: A time. A time is epoch seconds, ISO 8601"),
        (
            "list_hosts",
            {"start": ["now"]},
            "start: A time: seen since. A time is epoch seconds, ISO 8601 ('2026-11-24T",
        ),
        ("list_spans", {"cursor": 5}, "cursor: Cursor. A cursor pages through results: an answer with more"),
        ("search_logs", {"query": 5}, "query: Search syntax. Search syntax (the query of log, span, RUM and"),
        ("aggregate_spans", {"compute": 1}, "compute: An aggregation; @duration in ms. An aggregation is 'count'"),
        ("get_monitors", {"tags": ["env:prod"]}, "tags: Scope tags, comma-separated. A tag is key:value"),
    ],
    ids=["time", "time of list_hosts", "cursor", "search syntax", "aggregation", "tag"],
)
@pytest.mark.anyio
async def test_an_error_spells_out_the_shared_term_the_short_description_names(
    tool: str, arguments: dict[str, object], spelled_out: str
) -> None:
    # Descriptions name a term the instructions explain once; the error says it again in full.
    async with connect() as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert spelled_out in text, text
    if "A time is" in spelled_out:
        assert "'now-15m'" in text


@pytest.mark.anyio
async def test_every_tool_is_read_only_and_speaks_the_shared_vocabulary() -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == 28
    for tool in tools:
        # readOnlyHint alone: by the MCP spec the destructive and idempotent hints mean nothing when it
        # is true, and openWorldHint is true (Datadog is outside) unless said otherwise.
        assert tool.annotations is not None
        assert tool.annotations.model_dump(by_alias=True, exclude_none=True) == {"readOnlyHint": True}, tool.name
        properties = tool.input_schema.get("properties", {})
        assert not {"from", "to", "page", "offset", "id"} & set(properties), tool.name
        if "limit" in properties:
            assert properties["limit"]["type"] == "integer"
            # Neither bound nor default is advertised: a limit too high is refused, naming the bound,
            # and the answer says how many rows it holds and whether more remain.
            assert not {"maximum", "default"} & set(properties["limit"])
        for name, schema in properties.items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
        ids = [name for name in properties if name.endswith("_id")]
        assert ids == [name for name in tool.input_schema.get("required", []) if name.endswith("_id")]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("query_metrics", {"query": "avg:m{*}", "start": True}, "'start': expected a string or an integer or a number"),
        ("get_monitor", {"monitor_id": "123"}, "'monitor_id': expected an integer, got a string (\"123\")"),
        ("get_monitor", {"monitor_id": 5.0}, "'monitor_id': expected an integer, got a number written as a float"),
        ("get_monitor", {"monitor_id": True}, "'monitor_id': expected an integer, got a boolean (true)"),
        ("get_metric_metadata", {"metric_name": "m", "include_tags": 1}, "'include_tags': expected true or false"),
        ("get_monitors", {"group_states": "alert"}, "'group_states': expected a list or null, got a string"),
        ("get_monitors", {"group_states": [1]}, "'group_states': expected a list or null, got a list"),
        ("get_monitor", {"monitor_id": None}, "'monitor_id': expected an integer, got null (null)"),
        ("query_metrics", {"query": 5}, "'query': expected a string, got an integer (5)"),
        ("list_slos", {"limit": 5.5}, "'limit': expected an integer, got a number with a fraction (5.5)"),
        ("get_monitor", {"monitor_id": {"a": 1}}, "'monitor_id': expected an integer, got an object ({\"a\": 1})"),
        (
            "get_monitor",
            {"monitor_id": "\u00e9t\u00e9"},
            "'monitor_id': expected an integer, got a string (\"\u00e9t\u00e9\")",
        ),
        # The value is shown as JSON up to 40 characters, then cut with '…'.
        ("get_monitor", {"monitor_id": "x" * 38}, f"'monitor_id': expected an integer, got a string (\"{'x' * 38}\")."),
        ("get_monitor", {"monitor_id": "x" * 39}, f"'monitor_id': expected an integer, got a string (\"{'x' * 39}…)."),
    ],
    ids=[
        "boolean time",
        "string id",
        "float id",
        "boolean id",
        "integer flag",
        "string for list",
        "wrong items",
        "null id",
        "integer query",
        "fraction limit",
        "object id",
        "non-ASCII shown as is",
        "40 characters shown whole",
        "41 characters cut",
    ],
)
@pytest.mark.anyio
async def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(
    tool: str, arguments: dict[str, object], expected: str
) -> None:
    async with connect() as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert text.startswith("Invalid argument " + expected.split(":")[0]), text
    assert expected in text


@pytest.mark.anyio
async def test_a_list_sent_as_json_text_is_read_as_the_list() -> None:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/api/v2/logs/analytics/aggregate").respond(200, json={"data": {"buckets": []}})
        async with connect() as client:
            result = await client.call_tool("aggregate_logs", {"group_by": '["service"]'})
        call = route.calls[0]  # then the empty answer's hint, a count over the last day
    assert not result.is_error, result.content
    assert [group["facet"] for group in json.loads(call.request.content)["group_by"]] == ["service"]


@pytest.mark.parametrize(
    ("tool", "arguments", "argument"),
    [
        ("search_logs", {"cursor": "\ud83d"}, "cursor"),
        ("search_logs", {"query": "service:web \udc00"}, "query"),
        ("aggregate_logs", {"group_by": ["service", "x\ud83d"]}, "group_by"),
    ],
    ids=["cursor", "inside a query", "inside a list"],
)
@pytest.mark.anyio
async def test_a_lone_surrogate_in_an_argument_is_refused_by_name_and_nothing_is_sent(
    tool: str, arguments: dict[str, object], argument: str
) -> None:
    # JSON may carry "\ud83d" alone; no request body holding it can be encoded, so it is named here.
    with respx.mock(base_url=BASE) as mock:
        async with connect() as client:
            result = await client.call_tool(tool, arguments)
            assert not mock.calls
            mock.post("/api/v2/logs/events/search").respond(200, json={"data": []})
            after = await client.call_tool("search_logs", {"query": "service:web"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error
    assert text.startswith(f"Invalid argument '{argument}': holds a lone UTF-16 surrogate"), text
    assert not after.is_error
