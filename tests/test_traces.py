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


# -- hand-built trees for the paths the properties reach only by chance ----------------------------


def span(span_id: str, parent_id: str, start: str | None, **extra: Any) -> dict[str, Any]:
    shaped: dict[str, Any] = {"span_id": span_id, "parent_id": parent_id, **extra}
    if start is not None:
        shaped["start"] = f"2026-11-24T12:00:{start}Z"
    return shaped


def outline(tree: list[dict[str, Any]]) -> list[Any]:
    """The tree as nested [span_id, [children...]] (and 'deeper' as a flat list of ids)."""
    shaped: list[Any] = []
    for node in tree:
        entry: list[Any] = [node["span_id"], outline(node.get("children", []))]
        if "deeper" in node:
            entry.append([d["span_id"] for d in node["deeper"]])
        shaped.append(entry)
    return shaped


def test_roots_are_ordered_by_start_and_a_parent_cycle_comes_after_them_whole() -> None:
    spans = [
        span("a", "0", "03.000"),
        span("b", "zzz", "02.000"),  # an orphan: its parent is not in the trace
        span("c", "c", "01.000"),  # its own parent
        span("d", "e", "05.000"),  # d and e: each the other's parent
        span("e", "d", "04.000"),
        span("f", "0", None),  # no start time: listed first
    ]
    assert outline(build_tree(spans)) == [
        ["f", []],
        ["c", []],
        ["b", []],
        ["a", []],
        ["e", [["d", []]]],
    ]


def test_a_leaf_child_never_stops_its_siblings_subtrees() -> None:
    spans = [
        span("root", "0", "00.000"),
        span("first", "root", "01.000"),
        span("inner", "first", "01.500"),
        span("leaf", "root", "02.000"),
    ]
    assert outline(build_tree(spans)) == [["root", [["first", [["inner", []]]], ["leaf", []]]]]


def test_a_child_that_starts_before_its_parent_stays_under_it() -> None:
    # Clocks on two hosts disagree: the child seems to start first.
    spans = [span("parent", "0", "01.000"), span("child", "parent", "00.900")]
    assert outline(build_tree(spans)) == [["parent", [["child", []]]]]


def test_below_the_depth_cap_spans_are_listed_flat_in_start_order_and_other_branches_still_grow() -> None:
    # A chain 30 deep that starts after its sibling branch, so it is grown first.
    spans = [span("root", "0", "00.000"), span("side", "root", "00.100"), span("side-child", "side", "00.200")]
    parent = "root"
    for level in range(1, 30):
        spans.append(span(f"c{level}", parent, f"{level:02d}.000"))
        parent = f"c{level}"
    # Below c29 (level 30): a subtree whose spans are not in start order by position.
    spans += [
        span("late", "c29", "40.000"),
        span("late-child", "late", "31.000"),
        span("early", "c29", "35.000"),
    ]
    tree = build_tree(spans)
    (root,) = tree
    assert [child["span_id"] for child in root["children"]] == ["side", "c1"]
    assert [grand["span_id"] for grand in root["children"][0]["children"]] == ["side-child"]
    node = root["children"][1]
    for level in range(2, 30):
        (node,) = node["children"]
        assert node["span_id"] == f"c{level}"
    assert [d["span_id"] for d in node["deeper"]] == ["late-child", "early", "late"]
    assert "children" not in node


def test_a_parent_cycle_longer_than_the_depth_cap_lists_each_span_once() -> None:
    count = 35
    spans = [span(f"s{n}", f"s{(n - 1) % count}", f"{n:02d}.000") for n in range(count)]
    tree = build_tree(spans)

    def every(nodes: list[dict[str, Any]]) -> list[str]:
        found = []
        for node in nodes:
            found.append(node["span_id"])
            found += every(node.get("children", []))
            found += [d["span_id"] for d in node.get("deeper", [])]
        return found

    assert sorted(every(tree)) == sorted(s["span_id"] for s in spans)
    assert [root["span_id"] for root in tree] == ["s0"]


def test_service_breakdown_names_a_missing_service_unknown_and_rounds_to_the_microsecond() -> None:
    spans: list[dict[str, Any]] = [
        {"span_id": "1", "parent_id": "0", "duration_ms": 1.23456},
        {"span_id": "2", "parent_id": "1", "service": "db", "duration_ms": "not a number"},
    ]
    assert service_breakdown(spans) == {
        "unknown": {"spans": 1, "errors": 0, "total_ms": 1.235, "self_ms": 1.235},
        "db": {"spans": 1, "errors": 0, "total_ms": 0.0, "self_ms": 0.0},
    }


def test_an_aggregate_result_names_its_query_compute_and_window() -> None:
    groups = [{"service": "a", "value": 1}, {"service": "b", "value": 2}]
    assert aggregate_result("status:error", "P95( @duration )", NOW - 60, NOW, groups, grouped=True, unit="ms") == {
        "query": "status:error",
        "compute": "p95(@duration) ms",  # as the caller wrote it, though Datadog is asked for pc95
        "from": "2026-11-24T11:59:00Z",
        "to": "2026-11-24T12:00:00Z",
        "groups": [{"service": "b", "value": 2}, {"service": "a", "value": 1}],
    }
