"""The result pipeline (tools/results.py `finish`): what every tool's data becomes before the model reads it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.demo.api import DemoApi
from dd_mcp_server.demo.org import Org
from dd_mcp_server.tools import TOOLSETS
from dd_mcp_server.tools.results import UNTRUSTED_NOTE, finish
from tests.conftest import API_KEY, APP_KEY, NOW, connect
from tests.test_fuzz_answers import ARGUMENTS, TOOL_NAMES
from tests.test_tables import read_table

REDACTOR = Redactor((API_KEY, APP_KEY))
AWS_KEYS = [f"AKIA{n:016d}".replace("0", "Q") for n in range(300)]


def read(data: dict[str, Any], budget: int, fixes: Counter[str] | None = None) -> tuple[str, dict[str, Any]]:
    result = finish(data, fixes or Counter(), REDACTOR, budget)
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    return text, result.structured_content


def test_masking_that_lengthens_a_cut_result_is_cut_again_within_the_budget() -> None:
    # Each 20-character key becomes the 25-character [REDACTED:aws_access_key]: masked after the cut,
    # the first cut no longer fits.
    data = {"keys": [f"key {key}" for key in AWS_KEYS]}
    text, answer = read(data, 2000)
    assert len(text) <= 2000
    assert answer["_redacted"] == {"aws_access_key": len(answer["keys"])}
    assert answer["_truncated"]["keys"] == f"kept {len(answer['keys'])} of 300"
    assert not any(key in text for key in AWS_KEYS)


@settings(max_examples=300)
@given(st.integers(min_value=1000, max_value=6000), st.integers(min_value=0, max_value=300))
def test_no_result_ever_exceeds_the_budget_and_the_note_always_leads(budget: int, count: int) -> None:
    data = {"keys": [f"{key} and {API_KEY[:14]}" for key in AWS_KEYS[:count]], "echo": "x" * count}
    text, _answer = read(data, budget, Counter(non_finite=count % 3))
    assert len(text) <= budget
    assert text.startswith('{"_note":' + json.dumps(UNTRUSTED_NOTE) + ",")
    assert API_KEY[:14] not in text


def test_a_result_that_fits_comes_back_whole_with_the_note_first() -> None:
    _text, answer = read({"a": 1, "b": ["x"]}, 1000)
    assert answer == {"_note": UNTRUSTED_NOTE, "a": 1, "b": ["x"]}
    assert list(answer) == ["_note", "a", "b"]


def test_the_servers_own_keys_in_data_are_dropped_not_trusted() -> None:
    _, answer = read(
        {"_note": "forged", "_redacted": {"x": 1}, "_fixed": "forged", "_truncated": "forged", "a": 1}, 1000
    )
    assert answer == {"_note": UNTRUSTED_NOTE, "a": 1}


def test_fixes_made_on_the_way_are_said_once() -> None:
    _, answer = read({"a": float("nan"), "b": [float("inf")]}, 1000, Counter(too_deep=2))
    assert answer["a"] is None
    assert answer["b"] == [None]
    assert answer["_fixed"] == (
        "2 numbers that were not finite (NaN, Infinity) are given as null; 2 values nested deeper than 48 levels "
        "are not shown"
    )


def test_text_the_tool_added_itself_is_cleaned_and_masked() -> None:
    _, answer = read({"query": f"service:web \ud83d {APP_KEY}\u202e"}, 1000)
    assert answer["query"] == "service:web \ufffd [REDACTED:datadog_key]"
    assert answer["_redacted"] == {"datadog_key": 1}


# -- every tool at the smallest budget, in the default table form --------------------------------------


@pytest.mark.parametrize("tool", TOOL_NAMES)
@pytest.mark.anyio
async def test_at_the_smallest_budget_every_tool_answers_something_and_true_advice(tool: str) -> None:
    async with connect(
        transport=httpx.MockTransport(DemoApi(Org(now=float(NOW))).handle),
        env={"DD_MCP_OUTPUT": "table", "DD_MCP_MAX_RESULT_CHARS": "1000"},
    ) as client:
        result = await client.call_tool(tool, ARGUMENTS[tool])
    text = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, text
    assert len(text) <= 1000
    fn = next(fn for fns in TOOLSETS.values() for fn in fns if fn.__name__ == tool)
    listing = getattr(fn, "listing", None)
    answer = read_table(text, listing.rows)[1] if listing else json.loads(text)
    note = answer.get("_truncated")
    if note is None:
        return
    assert "all" not in note, f"{tool} answered nothing at the smallest budget: {text}"
    if listing and "next_cursor" in answer:
        assert "next_cursor resumes after the last row shown" in note["hint"]
    elif not listing:
        assert fn.narrow in note["hint"], f"{tool} gives no advice of its own"  # type: ignore[attr-defined]
