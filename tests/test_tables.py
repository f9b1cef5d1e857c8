"""Lists as tables: decoding a table gives back exactly the records the JSON form holds.

The table form (the default, DD_MCP_OUTPUT=table) writes a list tool's records as a TOON table
under a header line; the JSON form (DD_MCP_OUTPUT=json) holds the same records as compact JSON.
`read_table` is what a reader does: drop the header line, decode the TOON, put the values shared
by every row back into each row. In a list view null and absent are the same, and a column empty
in every row is not written.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
import toon_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dd_mcp_server.common.tables import EVERY_ROW, SHARED, common_items, flatten, tabulate, toon
from dd_mcp_server.demo.api import DemoApi
from dd_mcp_server.demo.org import Org
from dd_mcp_server.tools import TOOLSETS
from tests.conftest import BASE, NOW, connect
from tests.test_fuzz_answers import ARGUMENTS

AWKWARD = ["a,b", "tab\there", 'say "hi"', "line\nnext", "ünï €", "", " padded ", "123", "true", "null", "-x", "a:b"]


def read_table(text: str, rows_key: str) -> tuple[str, dict[str, Any]]:
    """The header line, and the body as the JSON form would hold it (shared values back in each row)."""
    header, _, body = text.partition("\n")
    document = json.loads(body) if body.startswith("{") else toon_format.decode(body)
    shared = document.pop(SHARED, {})
    every = {k.removesuffix(EVERY_ROW): v for k, v in shared.items() if k.endswith(EVERY_ROW)}
    columns = {k: v for k, v in shared.items() if not k.endswith(EVERY_ROW)}
    document[rows_key] = [
        {**columns, **row, **{k: ",".join(filter(None, [row.get(k), v])) for k, v in every.items()}}
        if isinstance(row, dict)
        else row
        for row in document[rows_key]
    ]
    return header, document


def read_shared(text: str) -> dict[str, Any]:
    """What a list answer says every row shares."""
    body = text.partition("\n")[2]
    document = json.loads(body) if body.startswith("{") else toon_format.decode(body)
    shared: dict[str, Any] = document.get(SHARED, {})
    return shared


def as_listed(records: list[dict[str, Any]], sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Records as a list view holds them: nulls dropped, columns empty in every record dropped, and
    the joined cells of `sets` (lists whose shared items are said once) read as sets."""
    empty = {k for r in records for k in r if all(other.get(k) in (None, "") for other in records)}
    return [
        {k: ",".join(sorted(v.split(","))) if k in sets and isinstance(v, str) else v for k, v in r.items()}
        for r in ({k: v for k, v in r.items() if v is not None and k not in empty} for r in records)
    ]


# -- flatten ----------------------------------------------------------------------------------------


def test_nested_objects_become_dotted_columns_and_lists_of_scalars_one_cell() -> None:
    record = {
        "id": 1,
        "http": {"status_code": 500, "url": {"path": "/a"}},
        "tags": ["env:prod", "team:x"],
        "n": [1, True],
    }
    assert flatten(record) == {
        "id": 1,
        "http.status_code": 500,
        "http.url.path": "/a",
        "tags": "env:prod,team:x",
        "n": "1,true",
    }


def test_a_list_of_objects_becomes_numbered_columns_after_the_values() -> None:
    record = {"links": [{"name": "Runbook", "url": "https://r"}, {"name": "Source"}], "team": "core", "tags": []}
    flat = flatten(record)
    assert flat == {
        "team": "core",
        "tags": "",
        "links.0.name": "Runbook",
        "links.0.url": "https://r",
        "links.1.name": "Source",
    }
    assert list(flat or {}) == ["team", "tags", "links.0.name", "links.0.url", "links.1.name"]


@pytest.mark.parametrize(
    "record",
    [{"links": [{"url": "https://x"}, 1]}, {"a.b": 1}, {"": 1}, {"x": {"a.b": 1}}, {"nested": [[1]]}],
    ids=["objects mixed with values", "dotted key", "empty key", "dotted key inside", "list of lists"],
)
def test_a_record_that_cannot_be_a_row_is_not_flattened(record: dict[str, Any]) -> None:
    assert flatten(record) is None


# -- tabulate ---------------------------------------------------------------------------------------


def test_a_value_every_row_shares_is_said_once_and_empty_columns_are_dropped() -> None:
    records = [{"id": 1, "env": "prod", "note": "", "x": None}, {"id": 2, "env": "prod", "note": None}]
    assert tabulate(records) == ({"env": "prod"}, [{"id": 1}, {"id": 2}])


def test_values_of_different_types_are_not_shared() -> None:
    records: list[dict[str, Any]] = [{"id": 1, "v": 1}, {"id": 2, "v": True}, {"id": 3, "v": 1.0}]
    assert tabulate(records) == ({}, records)


def test_a_missing_column_is_null_in_that_row_and_rows_alike_stay_rows() -> None:
    assert tabulate([{"a": 1, "b": 2}, {"a": 1}]) == ({"a": 1}, [{"b": 2}, {"b": None}])
    assert tabulate([{"a": 1}, {"a": 1}]) == ({}, [{"a": 1}, {"a": 1}])


def test_items_every_list_holds_are_said_once_and_taken_out_of_each() -> None:
    records = [{"id": 1, "tags": ["team:a", "env:prod"]}, {"id": 2, "tags": ["env:prod", "team:b", 1]}]
    assert common_items(records) == (
        {"tags" + EVERY_ROW: "env:prod"},
        [{"id": 1, "tags": ["team:a"]}, {"id": 2, "tags": ["team:b", 1]}],
    )


@pytest.mark.parametrize(
    "records",
    [
        [{"tags": ["a"]}],
        [{"tags": ["a"]}, {"tags": "a"}],
        [{"tags": ["a"]}, {}],
        [{"n": [1]}, {"n": [True]}],
        [{"links": [{"a": 1}]}, {"links": [{"a": 1}]}],
    ],
    ids=["one record", "not a list in another", "missing in another", "1 is not true", "objects"],
)
def test_nothing_is_said_once_unless_every_record_lists_it(records: list[dict[str, Any]]) -> None:
    assert common_items(records) == ({}, records)


def test_records_holding_objects_are_not_a_table() -> None:
    assert tabulate([{"a": {"b": 1}}]) is None
    assert tabulate([]) is None


def test_awkward_cells_stay_on_one_line_each() -> None:
    records = [{"id": n, "text": text} for n, text in enumerate(AWKWARD)]
    _, rows = tabulate(records) or ({}, [])
    text = toon({"rows": rows})
    assert len(text.splitlines()) == 1 + len(records)
    assert canonical(toon_format.decode(text)["rows"]) == canonical(records)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(min_value=-1e15, max_value=1e15),
    st.sampled_from(AWKWARD),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
flat_records = st.lists(
    st.dictionaries(st.sampled_from(["id", "name", "tags", "status", "http.code", "msg"]), scalars, max_size=6),
    min_size=1,
    max_size=8,
)


@given(flat_records)
def test_any_flat_records_come_back_exactly_from_their_table(records: list[dict[str, Any]]) -> None:
    found = tabulate(records)
    assert found is not None
    shared, rows = found
    document = {SHARED: shared, "rows": rows} if shared else {"rows": rows}
    _, decoded = read_table("header\n" + toon(document), "rows")
    assert canonical(as_listed(decoded["rows"])) == canonical(as_listed(records))


def canonical(value: Any) -> str:
    """JSON with sorted keys, a number written as in JSON (2.0 and 2 are one number; true is not 1)."""

    def number(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {k: number(v) for k, v in item.items()}
        if isinstance(item, list):
            return [number(v) for v in item]
        return item

    return json.dumps(number(value), sort_keys=True, ensure_ascii=False)


# -- every list tool, on the demo organisation and on awkward answers ----------------------------------

LIST_TOOLS = {fn.__name__: fn.listing.rows for fns in TOOLSETS.values() for fn in fns if hasattr(fn, "listing")}
TEXT_KEYS = {"message", "name", "title", "description", "text", "handle", "host"}
LONG_CELL = "first line, with a comma\n" + "x" * 3000


def awkward(answer: Any) -> Any:
    """`answer` with its free-text fields made awkward, each by its place in the answer (deterministic)."""
    place = 0
    pending = [answer]
    while pending:
        node = pending.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in list(items):
            if isinstance(value, dict | list):
                pending.append(value)
            elif isinstance(value, str) and key in TEXT_KEYS:
                node[key] = changed(value, place)
                place += 1
    return answer


def changed(text: str, place: int) -> str | None:
    """The `place`-th awkward change: an awkward ending, empty, null, a number as a string, a long cell."""
    endings = len(AWKWARD)
    choice = place % (endings + 4)
    if choice < endings:
        return text + AWKWARD[choice]
    return ["", None, "12345", LONG_CELL][choice - endings]


class Datadog:
    """The demo organisation at NOW, its answers made awkward or left alone."""

    def __init__(self, odd: bool) -> None:
        self.demo, self.odd = DemoApi(Org(now=float(NOW))), odd

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.demo.handle(request)
        if not self.odd or response.status_code != 200:
            return response
        return httpx.Response(200, json=awkward(json.loads(response.content)))


@pytest.mark.parametrize("odd", [False, True], ids=["demo", "awkward"])
@pytest.mark.parametrize("tool", sorted(LIST_TOOLS))
@pytest.mark.anyio
async def test_the_table_holds_exactly_the_records_of_the_json_form(tool: str, odd: bool) -> None:
    rows_key, arguments = LIST_TOOLS[tool], ARGUMENTS[tool]
    async with connect(transport=httpx.MockTransport(Datadog(odd))) as client:
        as_json = await client.call_tool(tool, arguments)
    async with connect(transport=httpx.MockTransport(Datadog(odd)), env={"DD_MCP_OUTPUT": "table"}) as client:
        as_table = await client.call_tool(tool, arguments)
    assert not as_json.is_error, as_json.content
    assert not as_table.is_error, as_table.content
    assert as_table.structured_content is None
    expected = as_json.structured_content
    assert isinstance(expected, dict)
    assert "_truncated" not in expected
    text = as_table.content[0].text  # type: ignore[union-attr]
    header, found = read_table(text, rows_key)
    records = expected[rows_key]
    flat = [(flatten(r) or r) if isinstance(r, dict) else r for r in records]
    if all(isinstance(r, dict) and not any(isinstance(v, dict | list) for v in r.values()) for r in flat):
        sets = tuple(k.removesuffix(EVERY_ROW) for k in read_shared(text) if k.endswith(EVERY_ROW))
        assert canonical(as_listed(found[rows_key], sets)) == canonical(as_listed(flat, sets))
    else:  # not rows: the records as they are, in JSON or TOON
        assert canonical(found[rows_key]) == canonical(records)
    rest = {k: v for k, v in expected.items() if k not in (rows_key, "from", "to")}
    assert {k: v for k, v in found.items() if k != rows_key} == rest
    assert header.startswith(f"{len(records)} {rows_key}")
    total = expected.get("total", expected.get("total_matching"))
    assert (f"; {total} in all" in header) == isinstance(total, int), header
    assert ("more: call again with cursor=next_cursor" in header) == ("next_cursor" in expected), header
    if "from" in expected:
        assert f"window {expected['from']} to {expected['to']} UTC" in header
    assert len(text) <= len(as_json.content[0].text) + len(header) + 1  # type: ignore[union-attr]


keys = st.one_of(st.sampled_from(["", ".", "a.b", "x", "1", "[0]", "#", "-", "key: value", '"q"']), st.text(max_size=5))
values = st.recursive(
    scalars | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(keys, values, max_size=4), min_size=1, max_size=4), st.integers(0, 120))
@pytest.mark.anyio
async def test_any_attributes_in_the_table_form_give_a_readable_answer_within_the_budget(
    attributes: list[dict[str, Any]], depth: int
) -> None:
    deep: Any = "bottom"
    for _ in range(depth):
        deep = {"d": deep}
    logs = [
        {"id": str(n), "attributes": {"message": "m", "attributes": {**a, "deep": deep}}}
        for n, a in enumerate(attributes)
    ]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/v2/logs/events/search").respond(200, json={"data": logs})
        async with connect(env={"DD_MCP_OUTPUT": "table", "DD_MCP_MAX_RESULT_CHARS": "4000"}) as client:
            result = await client.call_tool("search_logs", {"fields": ["*"]})
    text = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, text
    assert len(text) <= 4000
    _, answer = read_table(text, "logs")
    assert answer["_note"]
