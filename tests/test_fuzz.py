"""Fuzzing every tool through the MCP client with generated arguments, valid and hostile alike.

Each answer must be a result, or an error that names the argument at fault (or reports what
Datadog said); never a crash. After the fuzzing, a valid call to the same server still works.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult, TextContent

from dd_mcp_server.tools import TOOLSETS
from tests.conftest import REPORTS, connect

EXAMPLES_PER_TOOL = 150
# One valid call per tool, to show the server still answers after the fuzzing.
VALID: dict[str, dict[str, Any]] = {
    "get_metric_metadata": {"metric_name": "system.cpu.user"},
    "query_metrics": {"query": "avg:system.cpu.user{*}"},
    "get_monitor": {"monitor_id": 1},
    "get_dashboard": {"dashboard_id": "abc-def-ghi"},
    "get_incident": {"incident_id": "00000000-0000-0000-0000-000000000001"},
    "get_trace": {"trace_id": "7216538916512283041"},
    "get_notebook": {"notebook_id": 1},
}
SENT: dict[str, int] = {}
TOOL_NAMES = [fn.__name__ for tools in TOOLSETS.values() for fn in tools]


def fake_datadog(request: httpx.Request) -> httpx.Response:
    """An empty but well-formed answer for any endpoint this server calls."""
    if request.url.path == "/api/v1/monitor":
        return httpx.Response(200, json=[])
    return httpx.Response(200, json={"status": "ok", "data": [], "series": []})


TIMEISH = st.sampled_from(
    ["now", "now-15m", "now-99999999d", "now-5x", "now+1h", "2026-13-45", "2026-11-24T25:00:00Z", "1e309", "-1", ""]
)
CONTROL = st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Zl", "Zp"]), max_size=20)
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.text(alphabet=string.printable, min_size=4000, max_size=12000),
    CONTROL,
    TIMEISH,
    st.lists(st.text(max_size=10), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def arguments(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the tool's own argument names with hostile values, sometimes with a stray extra one."""
    own = st.dictionaries(st.sampled_from(names), HOSTILE, max_size=len(names)) if names else st.just({})
    extra = st.dictionaries(st.sampled_from(["from", "to", "limit_", "zzz", "__proto__"]), HOSTILE, max_size=1)
    return st.tuples(own, st.one_of(st.just({}), extra)).map(lambda pair: {**pair[0], **pair[1]})


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


@pytest.fixture(scope="module")
def client(portal: BlockingPortal) -> Iterator[Client]:
    with portal.wrap_async_context_manager(connect(transport=httpx.MockTransport(fake_datadog))) as connected:
        yield connected


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


def assert_answer_is_clear(tool: str, names: list[str], args: dict[str, Any], result: CallToolResult) -> None:
    text = text_of(result)
    assert text.strip() != f"Error executing tool {tool}", f"{tool} crashed on {args!r}"
    if not result.is_error:
        assert isinstance(result.structured_content, dict)
        return
    names_an_argument = any(name in text for name in [*names, *args])
    from_datadog = f"Error executing tool {tool}: Datadog" in text
    assert names_an_argument or from_datadog, f"{tool}: unclear error for {args!r}: {text[:300]}"


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_tool_survives_hostile_arguments(portal: BlockingPortal, client: Client, tool: str) -> None:
    schema = next(t for t in portal.call(client.list_tools).tools if t.name == tool).input_schema
    names = sorted(schema.get("properties", {}))

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(args=arguments(names))
    def fuzz(args: dict[str, Any]) -> None:
        SENT[tool] = SENT.get(tool, 0) + 1
        result = portal.call(client.call_tool, tool, args)
        assert_answer_is_clear(tool, names, args, result)

    fuzz()
    after = portal.call(client.call_tool, tool, VALID.get(tool, {}))
    assert not after.is_error, f"{tool} no longer answers a valid call: {text_of(after)[:300]}"
    REPORTS.setdefault("fuzz: generated argument sets sent per tool", []).append(f"{tool:<22} {SENT[tool]:>5}")
