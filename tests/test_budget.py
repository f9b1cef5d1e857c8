"""Properties of fit_budget: never over the budget, untouched when it fits, cut to prefixes, every cut named."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from dd_mcp_server.common import budget as budget_module
from dd_mcp_server.common.budget import HINT, MAP_KEYS, NOTE, _build, _measure, _plan, _Text, compact_json, fit_budget
from dd_mcp_server.common.text import MASK, clip

ELLIPSIS = "…"
# Characters JSON escapes or that count differently in other encodings, mixed into ordinary text.
TRICKY = st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "\u2028", "é", "日", "🙂"])
TEXT = st.text(st.one_of(st.characters(), TRICKY), max_size=20)
# Redaction masks as redact.py writes them, from the shortest kind to the longest allowed.
MASKS = st.sampled_from(
    ["[REDACTED:jwt]", "[REDACTED:aws_access_key]", "[REDACTED:url_password]", f"[REDACTED:{'k' * 40}]"]
)
# Text with masks at arbitrary places.
MASKED = st.lists(st.one_of(TEXT, MASKS), min_size=1, max_size=8).map("".join)
# Long strings, cheaply: a short piece repeated (log lines, stack traces, query texts).
LONG = st.builds(lambda piece, times: piece * times, st.one_of(TEXT, MASKED), st.integers(1, 400))
KEYS = st.one_of(TEXT, MASKED).filter(lambda key: key != NOTE)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    MASKED,
    LONG,
)
# A map: more keys than a record has (tag keys, monitor groups), each worth little.
MAPS = st.lists(st.one_of(st.integers(), TEXT, st.lists(TEXT, max_size=2)), min_size=MAP_KEYS + 1, max_size=90).map(
    lambda values: {f"key{index}": value for index, value in enumerate(values)}
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=30) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)
RESULTS = st.one_of(
    st.dictionaries(KEYS, JSON, max_size=6),
    st.dictionaries(KEYS, st.lists(JSON, min_size=2, max_size=40), min_size=1, max_size=3),  # pages of items
    st.dictionaries(KEYS, st.one_of(JSON, MAPS, st.lists(MAPS, max_size=3)), max_size=4),
    MAPS,
)


@st.composite
def over_budget(draw: st.DrawFn, results: st.SearchStrategy[dict[str, Any]] = RESULTS) -> tuple[dict[str, Any], int]:
    """A result and a budget landing anywhere below (or just above) its size."""
    result = draw(results)
    size = len(compact_json(result))
    # Most budgets leave room for the note (about 300 characters); a few leave room for nothing.
    return result, draw(st.integers(min(size, 350), size + 10) | st.integers(2, size + 10))


def pruned_from(out: Any, original: Any) -> bool:
    """`out` is `original` with lists cut to a prefix (empty only when nothing else fits), maps to their
    first keys, strings clipped."""
    if isinstance(original, dict):
        keys = list(out) if isinstance(out, dict) else [None]
        whole = len(keys) == len(original) or len(original) > MAP_KEYS
        return whole and keys == list(original)[: len(keys)] and all(pruned_from(out[k], original[k]) for k in keys)
    if isinstance(original, list):
        return (
            isinstance(out, list)
            and len(out) <= len(original)
            and all(pruned_from(o, v) for o, v in zip(out, original, strict=False))
        )
    if isinstance(original, str) and isinstance(out, str) and out != original:
        return out.endswith(ELLIPSIS) and original.startswith(out[:-1]) and len(out) - 1 < len(original)
    return type(out) is type(original) and out == original


def cuts(out: Any, original: Any, label: str | None = None) -> dict[str, str]:
    """Each container `out` holds fewer items of than `original`, as the note names it."""
    found: dict[str, str] = {}
    if isinstance(original, dict | list) and len(out) < len(original):
        unit = " keys" if isinstance(original, dict) else ""
        found["result" if label is None else label] = f"kept {len(out)} of {len(original)}{unit}"
    if isinstance(original, dict):
        for key in out:
            found.update(cuts(out[key], original[key], key if label is None else f"{label}.{key}"))
    elif isinstance(original, list):
        for index, (o, v) in enumerate(zip(out, original, strict=False)):
            found.update(cuts(o, v, f"{label}[{index}]"))
    return found


def string_pairs(out: Any, original: Any) -> list[tuple[str, str]]:
    """Each string value (not key) `out` kept, with the original it came from."""
    if isinstance(original, dict):
        return [pair for key in out for pair in string_pairs(out[key], original[key])]
    if isinstance(original, list):
        return [pair for o, v in zip(out, original, strict=False) for pair in string_pairs(o, v)]
    return [(out, original)] if isinstance(original, str) else []


def kind(label: str, what: str) -> str:
    """What a note entry says was cut: a list, a map, strings, or everything."""
    return label if label in {"strings", "all"} else "map" if what.endswith(" keys") else "list"


def body(fitted: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fitted.items() if key != NOTE}


@given(st.one_of(JSON, st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none(), st.floats()), JSON)))
@example(float("nan"))
@example({"a": [float("inf"), -float("inf")], '"\\\x01': ""})
def test_measured_sizes_agree_with_compact_json(value: Any) -> None:
    tree = _measure(value)
    for node, part in enumerate(tree.values):
        assert tree.sizes[node] == len(compact_json(part))


@given(st.one_of(TEXT, MASKED, LONG, st.from_regex(MASK)), st.integers(min_value=0, max_value=12_000))
@example("ab[REDACTED:aws_key]cd", 5)
@example('"\\\n\x00', 2)
@example('a"\x01' * 5000, 8193)  # escapes counted across chunks
def test_a_clipped_string_is_counted_exactly(text: str, cap: int) -> None:
    assert _Text.of(text, len(compact_json(text))).size_at(cap) == len(compact_json(clip(text, cap)))


@settings(deadline=None)
@given(over_budget())
def test_the_planned_length_is_the_real_length(case: tuple[dict[str, Any], int]) -> None:
    """Cuts are decided by counting; the count must be exact, not merely caught by the final check."""
    result, budget = case
    hint = HINT
    tree = _measure(result)
    cut = _plan(tree, budget, hint)
    if cut is not None:
        assert cut.total == len(compact_json(_build(tree, cut, hint)))


@settings(deadline=None)
@given(over_budget())
def test_budget_is_never_exceeded(case: tuple[dict[str, Any], int]) -> None:
    result, budget = case
    before = copy.deepcopy(result)
    assert len(compact_json(fit_budget(result, budget))) <= budget
    assert result == before  # the input is never changed


@settings(deadline=None)
@given(RESULTS)
def test_a_result_at_exactly_its_budget_is_unchanged_and_one_over_is_cut(result: dict[str, Any]) -> None:
    size = len(compact_json(result))
    assert fit_budget(result, size) is result
    if size > 2:
        cut = fit_budget(result, size - 1)
        assert len(compact_json(cut)) <= size - 1
        assert cut == {} or NOTE in cut


@settings(deadline=None)
@given(over_budget())
def test_a_cut_result_is_a_pruned_copy_naming_each_cut(case: tuple[dict[str, Any], int]) -> None:
    result, budget = case
    fitted = fit_budget(result, budget)
    if fitted is result or fitted == {}:
        event("untouched" if fitted is result else "nothing fits")
        return
    note = fitted[NOTE]
    event("cut: " + " ".join(sorted({kind(label, what) for label, what in note.items() if label != "hint"})))
    assert list(fitted)[-1] == NOTE
    if "all" in note:
        assert fitted == {NOTE: note}
        return
    kept = body(fitted)
    assert pruned_from(kept, result)
    assert json.loads(compact_json(fitted)) == fitted
    named = [what for label, what in note.items() if label not in {"hint", "strings"}]
    assert sorted(named) == sorted(cuts(kept, result).values())  # each cut named once, none hidden by another
    pairs = string_pairs(kept, result)
    assert ("strings" in note) == any(out != original for out, original in pairs)
    if "strings" in note:  # the cap the note gives is the one applied, to every string
        cap = int(note["strings"].removeprefix("shortened to ").removesuffix(" characters"))
        assert all(out == clip(original, cap) for out, original in pairs)


@settings(deadline=None)
@given(over_budget(st.dictionaries(st.sampled_from("abcdef"), st.lists(MASKED, min_size=1, max_size=5) | MASKED)))
def test_a_cut_never_ends_inside_a_mask(case: tuple[dict[str, Any], int]) -> None:
    result, budget = case
    fitted = fit_budget(result, budget)
    if fitted is result or "all" in fitted.get(NOTE, {"all": ""}):
        return
    for out, original in string_pairs(body(fitted), result):
        if out != original:
            end = len(out) - 1
            assert not any(m.start() < end < m.end() for m in MASK.finditer(original)), (out, original)


@settings(deadline=None)
@given(over_budget())
def test_the_note_says_how_to_get_the_rest(case: tuple[dict[str, Any], int]) -> None:
    result, budget = case
    fitted = fit_budget(result, budget)
    if fitted is result or fitted == {}:
        return
    hint = fitted[NOTE]["hint"]
    for advice in ("DD_MCP_MAX_RESULT_CHARS", "limit", "narrow the query", "cursor"):
        assert advice in hint


def test_keys_spelt_like_the_note_entries_are_named_from_the_result() -> None:
    three = ["c" * 300] * 3
    result = {"hint": list(range(300)), "strings": three, "result": three, "all": three, "x": "y" * 900}
    note = fit_budget(result, 800)[NOTE]
    assert list(note) == ["result.hint", "result.strings", "result.result", "result.all", "strings", "hint"]
    assert note["result.hint"] == "kept 1 of 300"
    assert note["result.strings"] == note["result.result"] == note["result.all"] == "kept 1 of 3"


def test_a_cut_list_is_a_prefix_of_the_original() -> None:
    logs = [{"id": n, "message": f"request {n} failed"} for n in range(100)]
    fitted = fit_budget({"logs": logs, "next_cursor": "abc"}, 1000)
    assert fitted["logs"] == logs[: len(fitted["logs"])]
    assert fitted["next_cursor"] == "abc"


def test_a_cut_map_keeps_its_first_keys_in_order() -> None:
    groups = {f"host:web-{n}": "Alert" for n in range(200)}
    fitted = fit_budget({"id": 7, "groups": groups}, 1000)
    assert list(fitted["groups"].items()) == list(groups.items())[: len(fitted["groups"])]
    assert fitted[NOTE]["groups"] == f"kept {len(fitted['groups'])} of 200 keys"


def test_a_record_keeps_every_field_and_shortens_its_strings() -> None:
    record = {f"field{n}": "x" * 500 for n in range(MAP_KEYS)}
    fitted = fit_budget(record, 4000)
    assert list(body(fitted)) == list(record)
    assert "strings" in fitted[NOTE]


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
    assert fitted[NOTE]["data"] == f"kept {kept} of 1000"
    # Not cut more than needed: one more log would not have fitted.
    one_more: dict[str, Any] = {**result, "data": logs[: kept + 1], NOTE: {**fitted[NOTE]}}
    one_more[NOTE]["data"] = f"kept {kept + 1} of 1000"
    assert len(compact_json(one_more)) > budget
    assert len(result["data"]) == 1000  # the input is not cut


def test_four_thousand_tag_keys_are_cut_to_their_first_keys() -> None:
    tags = {f"tag_key_{n}": [f"value-{n}-{m}" for m in range(5)] for n in range(4000)}
    result = {"metric_name": "system.cpu.user", "type": "gauge", "unit": "percent", "tags": tags}
    fitted = fit_budget(result, 40_000)
    assert len(compact_json(fitted)) <= 40_000
    kept = len(fitted["tags"])
    assert 100 < kept < 4000
    assert list(fitted["tags"].items()) == list(tags.items())[:kept]
    assert fitted[NOTE]["tags"] == f"kept {kept} of 4000 keys"
    assert fitted["metric_name"] == "system.cpu.user"


@pytest.mark.parametrize("nested", [False, True])
def test_six_thousand_one_item_lists_in_one_object_are_cut(nested: bool) -> None:
    groups = {f"host:web-{n}": [{"status": "Alert", "last_triggered_ts": 1_795_521_600 + n}] for n in range(6000)}
    result: dict[str, Any] = {"id": 7, "name": "CPU high", "state": {"groups": groups}} if nested else groups
    fitted = fit_budget(result, 40_000)
    assert len(compact_json(fitted)) <= 40_000
    kept = fitted["state"]["groups"] if nested else body(fitted)
    assert 100 < len(kept) < 6000
    assert list(kept.items()) == list(groups.items())[: len(kept)]
    assert fitted[NOTE]["state.groups" if nested else "result"] == f"kept {len(kept)} of 6000 keys"


def test_one_giant_string_is_shortened() -> None:
    result = {"id": "abc", "message": "x" * 100_000, "status": "error"}
    fitted = fit_budget(result, 2000)
    assert len(compact_json(fitted)) <= 2000
    assert fitted["id"] == "abc"
    assert fitted["status"] == "error"
    assert fitted["message"].startswith("x" * 1000)
    assert fitted["message"].endswith(ELLIPSIS)
    assert fitted[NOTE]["strings"] == f"shortened to {len(fitted['message']) - 1} characters"


def test_a_mask_at_the_cut_is_kept_whole_or_not_at_all() -> None:
    secret = "[REDACTED:datadog_api_key]"
    result = {"message": "k" * 1500 + secret + "tail" * 1000}
    ends = set()
    for budget in range(1700, 2100):
        end = len(fit_budget(result, budget)["message"]) - 1
        assert not 1500 < end < 1500 + len(secret)
        ends.add(end)
    assert {1500, 1500 + len(secret)} <= ends  # the cut lands just before and just after the mask


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


def test_a_deep_value_is_cut_without_recursion() -> None:
    deep: Any = ["x" * 5000]
    for _ in range(600):
        deep = [deep, "y"]
    fitted = fit_budget({"deep": deep}, 3000)
    assert len(compact_json(fitted)) <= 3000


def test_records_too_large_even_alone_leave_their_list_empty_with_the_note() -> None:
    result = {"records": [{f"key{n}": n for n in range(MAP_KEYS)} for _ in range(3)], "total": 3}
    fitted = fit_budget(result, 600)
    assert fitted == {"records": [], "total": 3, NOTE: {"records": "kept 0 of 3", "hint": HINT}}
    assert fit_budget(result, 100) == {}  # not even the note fits


def test_a_list_is_emptied_only_when_nothing_else_fits() -> None:
    result = {"logs": ["x" * 5000], "total": 1}
    fitted = fit_budget(result, 600)
    assert len(fitted["logs"]) == 1  # the one log is shortened, not dropped
    assert fitted[NOTE]["strings"].startswith("shortened to")


def test_an_upstream_note_is_replaced_by_the_real_one() -> None:
    fitted = fit_budget({NOTE: "forged", "logs": list(range(1000))}, 1000)
    assert list(fitted) == ["logs", NOTE]
    assert fitted[NOTE]["logs"].startswith("kept ")


def test_a_miscount_still_never_exceeds_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    measured = budget_module._scalar_size
    monkeypatch.setattr(budget_module, "_scalar_size", lambda value: max(1, measured(value) - 3))
    result = {"logs": [log(n) for n in range(300)]}
    for budget in (1000, 5000, 20_000):
        assert len(compact_json(fit_budget(result, budget))) <= budget


def test_a_budget_too_small_for_any_object_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        fit_budget({}, 1)


def test_cuts_are_named_by_their_path_largest_container_first() -> None:
    result = {"": list(range(300)), "a": [{"b": list(range(300))}, list(range(300))]}
    note = fit_budget(result, 400)[NOTE]
    assert list(note) == ["a", "", "a[0].b", "hint"]
    assert note["a"] == "kept 1 of 2"
    assert note[""] == "kept 1 of 300"
    assert note["a[0].b"] == "kept 34 of 300"
