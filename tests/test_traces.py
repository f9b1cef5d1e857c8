"""Property tests for the trace tree, attribute picking and aggregate ranking in common/.

Downsampling, stripping, time parsing, the budget, compute and widgets have their own modules.
"""

from __future__ import annotations

import math
import string
from datetime import datetime, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.aggregates import aggregate_result
from dd_mcp_server.common.attributes import pick, queried_attributes
from dd_mcp_server.common.traces import build_tree, service_breakdown

NOW = 1_795_521_600
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


# -- traces -------------------------------------------------------------------------------------

SPAN_IDS = st.sampled_from([str(n) for n in range(1, 15)])


@st.composite
def span_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=25))
    return [
        {
            "n": n,
            "span_id": draw(SPAN_IDS),
            "parent_id": draw(st.one_of(SPAN_IDS, st.just("0"), st.just("999"))),
            "service": draw(st.sampled_from(["web", "api", "db"])),
            "start": f"2026-11-24T12:00:{draw(st.integers(0, 59)):02d}.000Z",
            "duration_ms": draw(st.floats(min_value=0, max_value=5000)),
            "error": draw(st.booleans()),
        }
        for n in range(count)
    ]


def nodes(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [node for root in tree for node in (root, *nodes(root.get("children", [])))]


@given(span_lists())
def test_every_span_appears_exactly_once_in_the_tree(spans: list[dict[str, Any]]) -> None:
    placed = [node["n"] for node in nodes(build_tree(spans))]
    assert sorted(placed) == [span["n"] for span in spans]


@given(span_lists())
def test_children_sit_under_their_parent_and_orphans_at_the_root(spans: list[dict[str, Any]]) -> None:
    tree = build_tree(spans)
    for node in nodes(tree):
        assert "parent_id" not in node
        for child in node.get("children", []):
            original = next(s for s in spans if s["n"] == child["n"])
            assert original["parent_id"] == node["span_id"]
    ids = {span["span_id"] for span in spans}
    orphans = {s["n"] for s in spans if s["parent_id"] not in ids}
    assert orphans <= {root["n"] for root in tree}


@given(span_lists())
def test_siblings_are_ordered_by_start_time(spans: list[dict[str, Any]]) -> None:
    tree = build_tree(spans)
    for siblings in [tree, *(node.get("children", []) for node in nodes(tree))]:
        starts = [s["start"] for s in siblings]
        if siblings is not tree:
            assert starts == sorted(starts)


@given(span_lists())
def test_service_breakdown_adds_up(spans: list[dict[str, Any]]) -> None:
    breakdown = service_breakdown(spans)
    assert sum(entry["spans"] for entry in breakdown.values()) == len(spans)
    assert sum(entry["errors"] for entry in breakdown.values()) == sum(1 for s in spans if s["error"])
    for service, entry in breakdown.items():
        total = sum(s["duration_ms"] for s in spans if s["service"] == service)
        assert math.isclose(entry["total_ms"], total, abs_tol=0.01)
        assert 0 <= entry["self_ms"] <= entry["total_ms"] + 0.001
    selfs = [entry["self_ms"] for entry in breakdown.values()]
    assert selfs == sorted(selfs, reverse=True)


def test_a_hand_checked_trace() -> None:
    spans = [
        {"span_id": "1", "parent_id": "0", "service": "web", "start": "12:00:00.000", "duration_ms": 100.0},
        {"span_id": "2", "parent_id": "1", "service": "api", "start": "12:00:00.010", "duration_ms": 80.0},
        {"span_id": "4", "parent_id": "2", "service": "db", "start": "12:00:00.050", "duration_ms": 20.0},
        {
            "span_id": "3",
            "parent_id": "2",
            "service": "db",
            "start": "12:00:00.020",
            "duration_ms": 30.0,
            "error": True,
        },
        {"span_id": "9", "parent_id": "8", "service": "api", "start": "12:00:00.005", "duration_ms": 5.0},
    ]
    tree = build_tree(spans)
    assert [root["span_id"] for root in tree] == ["1", "9"]
    assert [c["span_id"] for c in tree[0]["children"][0]["children"]] == ["3", "4"]
    assert service_breakdown(spans) == {
        "api": {"spans": 2, "errors": 0, "total_ms": 85.0, "self_ms": 35.0},
        "db": {"spans": 2, "errors": 1, "total_ms": 50.0, "self_ms": 50.0},
        "web": {"spans": 1, "errors": 0, "total_ms": 100.0, "self_ms": 20.0},
    }


# -- attributes and aggregates ---------------------------------------------------------------------


def test_queried_attributes_are_the_at_paths_in_order_without_repeats() -> None:
    query = "service:web @http.status_code:500 -@error.kind:Timeout @duration:>100 @http.status_code:404 free"
    assert queried_attributes(query) == ["http.status_code", "error.kind", "duration"]


@given(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=5), min_size=1, max_size=4), JSON)
def test_pick_reads_any_nested_path(parts: list[str], value: Any) -> None:
    nested: Any = value
    for part in reversed(parts):
        nested = {part: nested}
    assert pick(nested, ".".join(parts)) == value
    assert pick({".".join(parts): value}, ".".join(parts)) == value


@given(
    st.lists(
        st.one_of(
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.none(),
            st.text(max_size=3),
            st.booleans(),
        ),
        max_size=10,
    )
)
def test_aggregate_groups_are_ranked_largest_first_with_non_numbers_last(values: list[Any]) -> None:
    groups = [{"service": f"s{n}", "value": v} for n, v in enumerate(values)]
    ranked = aggregate_result("*", "count", NOW - 60, NOW, groups, grouped=True)["groups"]
    assert sorted(g["service"] for g in ranked) == sorted(g["service"] for g in groups)

    def numeric(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    flags = [numeric(g["value"]) for g in ranked]
    assert flags == sorted(flags, reverse=True)  # every number before every non-number
    numbers = [g["value"] for g in ranked if numeric(g["value"])]
    assert numbers == sorted(numbers, reverse=True)


def test_an_ungrouped_aggregate_is_one_value() -> None:
    assert aggregate_result("*", "count", NOW - 60, NOW, [{"value": 7}], grouped=False)["value"] == 7
    assert aggregate_result("*", "count", NOW - 60, NOW, [], grouped=False)["value"] == 0
    assert datetime.fromisoformat(
        aggregate_result("*", "c", NOW - 60, NOW, [], grouped=False)["to"].replace("Z", "+00:00")
    ) == datetime.fromtimestamp(NOW, tz=timezone.utc)
