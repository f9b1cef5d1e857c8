"""Properties of fit_budget: never over the budget, untouched when it fits, cut at item boundaries."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dd_mcp_server.common.budget import compact_json, fit_budget

ELLIPSIS = "…"
KEYS = st.text(min_size=1, max_size=10).filter(lambda k: not k.startswith("_"))
SHORT_TEXT = st.text(max_size=20)
# Long strings, cheaply: a short unicode piece repeated (log lines, stack traces, query texts).
LONG_TEXT = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=8), st.integers(1, 600))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    SHORT_TEXT,
    LONG_TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=30) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=60,
)
RESULTS = st.dictionaries(KEYS, JSON, max_size=6)
BUDGETS = st.integers(min_value=1000, max_value=6000)


def pruned_from(out: Any, original: Any) -> bool:
    """`out` is `original` with lists cut to a leading prefix and strings cut to a prefix plus '…'."""
    if isinstance(original, dict):
        return (
            isinstance(out, dict)
            and list(out) == list(original)
            and all(pruned_from(out[k], original[k]) for k in original)
        )
    if isinstance(original, list):
        return (
            isinstance(out, list)
            and len(out) <= len(original)
            and (len(out) > 0 or len(original) == 0)  # one item kept beats none
            and all(pruned_from(o, v) for o, v in zip(out, original, strict=False))
        )
    if isinstance(original, str) and isinstance(out, str) and out != original:
        return out.endswith(ELLIPSIS) and len(out) - 1 < len(original) and original.startswith(out[:-1])
    return type(out) is type(original) and out == original


@settings(deadline=None)
@given(RESULTS, BUDGETS)
def test_no_result_exceeds_the_budget(result: dict[str, Any], budget: int) -> None:
    assert len(compact_json(fit_budget(result, budget))) <= budget


@settings(deadline=None)
@given(RESULTS, BUDGETS)
def test_a_result_that_fits_comes_back_as_is(result: dict[str, Any], budget: int) -> None:
    before = copy.deepcopy(result)
    fitted = fit_budget(result, budget)
    assert result == before  # the input is never changed
    if len(compact_json(result)) <= budget:
        assert fitted is result
        assert "_truncated" not in fitted


@settings(deadline=None)
@given(RESULTS, BUDGETS)
def test_a_cut_result_says_so_and_is_a_pruned_copy(result: dict[str, Any], budget: int) -> None:
    fitted = fit_budget(result, budget)
    if len(compact_json(result)) <= budget:
        return
    note = fitted["_truncated"]
    assert isinstance(note, dict)
    assert "DD_MCP_MAX_RESULT_CHARS" in note["hint"]
    assert str(budget) in note["hint"]
    body = {k: v for k, v in fitted.items() if k != "_truncated"}
    if "all" in note:  # nothing could be kept
        assert body == {}
    else:
        assert pruned_from(body, result)
        assert set(note) - {"hint"}, "a cut result names what was cut"
        # The answer is still JSON that reads back the same.
        assert json.loads(compact_json(fitted)) == fitted


@settings(deadline=None)
@given(st.lists(JSON, min_size=1, max_size=80), st.integers(min_value=1000, max_value=4000))
def test_a_cut_list_is_a_prefix_of_the_original(items: list[Any], budget: int) -> None:
    result = {"data": items, "meta": {"page": {"after": "cursor-abc"}}}
    fitted = fit_budget(result, budget)
    assert len(compact_json(fitted)) <= budget
    if fitted is result:
        return
    if "all" not in fitted["_truncated"]:
        kept = fitted["data"]
        assert pruned_from(kept, items)
        if set(fitted["_truncated"]) <= {"data", "hint"}:
            assert kept == items[: len(kept)]  # only the top list was cut: whole items, none changed
        if len(kept) < len(items):
            assert fitted["_truncated"]["data"] == f"kept {len(kept)} of {len(items)}"


def log(n: int) -> dict[str, Any]:
    return {
        "id": f"AQAAAYz{n:08d}",
        "timestamp": f"2026-11-24T11:{n % 60:02d}:00Z",
        "service": "checkout",
        "status": "error" if n % 7 == 0 else "info",
        "message": f"request {n} to /api/cart failed: upstream timeout after 3000 ms (attempt {n % 3})",
        "attributes": {"http": {"status_code": 504, "method": "POST"}, "duration": 3.0e9 + n},
        "tags": ["env:prod", f"pod:checkout-{n % 5}"],
    }


def test_a_thousand_logs_are_cut_to_the_longest_prefix_that_fits() -> None:
    logs = [log(n) for n in range(1000)]
    result = {"data": logs, "meta": {"page": {"after": "eyJhZnRlciI6IkFRQUFBWXoifQ"}}}
    budget = 20_000
    fitted = fit_budget(result, budget)
    assert len(compact_json(fitted)) <= budget
    kept = len(fitted["data"])
    assert 0 < kept < 1000
    assert fitted["data"] == logs[:kept]
    assert fitted["meta"] == result["meta"]  # the cursor survives whole
    assert fitted["_truncated"]["data"] == f"kept {kept} of 1000"
    assert "DD_MCP_MAX_RESULT_CHARS=20000" in fitted["_truncated"]["hint"]
    # Not cut more than needed: one more log would not have fitted.
    one_more: dict[str, Any] = {**result, "data": logs[: kept + 1], "_truncated": {**fitted["_truncated"]}}
    one_more["_truncated"]["data"] = f"kept {kept + 1} of 1000"
    assert len(compact_json(one_more)) > budget
    assert len(result["data"]) == 1000  # the input is not cut


def test_one_giant_string_is_shortened() -> None:
    result = {"id": "abc", "message": "x" * 100_000, "status": "error"}
    fitted = fit_budget(result, 2000)
    assert len(compact_json(fitted)) <= 2000
    assert fitted["id"] == "abc"
    assert fitted["status"] == "error"
    message = fitted["message"]
    assert message.startswith("x" * 1000)
    assert message.endswith(ELLIPSIS)
    assert "strings" in fitted["_truncated"]


def test_unicode_counts_in_characters() -> None:
    result = {"message": "日本語🙂" * 5000}
    fitted = fit_budget(result, 1500)
    assert len(compact_json(fitted)) <= 1500
    assert len(fitted["message"]) > 500  # characters, not bytes or \u escapes
    assert result["message"].startswith(fitted["message"][:-1])


def test_a_list_of_one_huge_item_keeps_the_item_with_shorter_strings() -> None:
    result = {"data": [{"message": "y" * 50_000, "n": 1}]}
    fitted = fit_budget(result, 1000)
    assert len(compact_json(fitted)) <= 1000
    assert fitted["data"][0]["n"] == 1
    assert fitted["data"][0]["message"].endswith(ELLIPSIS)


def test_too_many_keys_to_fit_gives_a_note_alone() -> None:
    result = {f"key{n}": n for n in range(1000)}
    fitted = fit_budget(result, 1000)
    assert len(compact_json(fitted)) <= 1000
    assert set(fitted) == {"_truncated"}
    assert "DD_MCP_MAX_RESULT_CHARS" in fitted["_truncated"]["hint"]
