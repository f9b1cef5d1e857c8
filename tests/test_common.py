"""Property tests for the pure shaping functions in common/."""

from __future__ import annotations

import copy
import itertools
import math
import string
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dd_mcp_server.common.aggregates import aggregate_result
from dd_mcp_server.common.attributes import pick, queried_attributes
from dd_mcp_server.common.budget import compact_json, fit_budget
from dd_mcp_server.common.compute import AGGREGATIONS, parse_compute
from dd_mcp_server.common.errors import InvalidArgument
from dd_mcp_server.common.series import MAX_POINTS, downsample, pick_indices
from dd_mcp_server.common.strip import NOISE_KEYS, drop_empty, strip_metadata
from dd_mcp_server.common.timeparse import UNIT_SECONDS, iso, parse_time, time_window
from dd_mcp_server.common.traces import build_tree, service_breakdown
from dd_mcp_server.common.widgets import simplify_widgets

NOW = 1_795_521_600
KEYS = st.one_of(st.sampled_from(sorted(NOISE_KEYS)), st.text(string.ascii_lowercase + "_", min_size=1, max_size=8))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)

# -- downsampling -------------------------------------------------------------------------------

VALUE = st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
SERIES = st.lists(VALUE, max_size=3000).map(lambda vs: [[1_795_000_000_000 + i * 60_000, v] for i, v in enumerate(vs)])


def close(a: float, b: float) -> bool:
    """Equal once rounded to the 6 significant digits the output keeps."""
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)


@given(SERIES)
def test_downsampled_series_keep_at_most_50_points_including_first_and_last(points: list[list[Any]]) -> None:
    shaped = downsample(points)
    kept = shaped["points"]
    assert len(kept) <= MAX_POINTS
    assert len(kept) == min(len(points), MAX_POINTS)
    if points:
        assert kept[0][0] == points[0][0] // 1000
        assert kept[-1][0] == points[-1][0] // 1000
    times = [p[0] for p in kept]
    assert times == sorted(set(times))
    assert ("_truncated" in shaped) == (len(points) > MAX_POINTS)
    if "_truncated" in shaped:
        assert shaped["_truncated"] == {"kept": MAX_POINTS, "total": len(points)}


@given(SERIES)
def test_summary_is_computed_over_every_point_not_just_the_kept_ones(points: list[list[Any]]) -> None:
    summary = downsample(points)["_summary"]
    values = [p[1] for p in points if p[1] is not None]
    assert summary["count"] == len(values)
    if values:
        assert close(summary["min"], min(values))
        assert close(summary["max"], max(values))
        assert (
            close(summary["avg"], sum(values) / len(values)) or abs(summary["avg"] - sum(values) / len(values)) < 1e-3
        )
    else:
        assert "min" not in summary
    if points:
        assert summary["start"] == iso(points[0][0] / 1000)
        assert summary["end"] == iso(points[-1][0] / 1000)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=2, max_value=200))
def test_kept_indices_are_evenly_spaced(total: int, keep: int) -> None:
    indices = pick_indices(total, keep)
    assert indices == sorted(set(indices))
    if total > keep:
        gaps = {b - a for a, b in itertools.pairwise(indices)}
        assert max(gaps) - min(gaps) <= 1
        assert (indices[0], indices[-1]) == (0, total - 1)


# -- stripping ----------------------------------------------------------------------------------


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for item in value for k in keys_anywhere(item)}
    return set()


@given(JSON)
def test_no_stripped_key_survives_at_any_depth(value: Any) -> None:
    original = copy.deepcopy(value)
    stripped = strip_metadata(value)
    assert not keys_anywhere(stripped) & NOISE_KEYS
    assert value == original  # the input is not changed


@given(JSON)
def test_stripping_leaves_everything_else_unchanged(value: Any) -> None:
    stripped = strip_metadata(value)
    assert strip_metadata(stripped) == stripped
    if not keys_anywhere(value) & NOISE_KEYS:
        assert stripped == value


@given(JSON)
def test_drop_empty_leaves_no_empty_values_in_dicts(value: Any) -> None:
    def empties(node: Any) -> bool:
        if isinstance(node, dict):
            return any(v is None or v in ("", [], {}) or empties(v) for v in node.values())
        if isinstance(node, list):
            return any(empties(item) for item in node)
        return False

    assert not empties(drop_empty(value))


# -- time parsing -------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2_000), st.sampled_from(sorted(UNIT_SECONDS)))
def test_relative_times_count_back_from_now(amount: int, unit: str) -> None:
    assert parse_time(f"now-{amount}{unit}", argument="start", now=NOW) == NOW - amount * UNIT_SECONDS[unit]


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_epoch_seconds_and_their_iso_form_round_trip(seconds: int) -> None:
    assert parse_time(seconds, argument="start", now=NOW) == seconds
    assert parse_time(str(seconds), argument="start", now=NOW) == seconds
    assert parse_time(iso(seconds), argument="start", now=NOW) == seconds
    assert parse_time(seconds * 1000, argument="start", now=NOW) == seconds or seconds * 1000 < 10**11


def test_iso_forms_with_offsets_and_without_a_zone() -> None:
    assert parse_time("2026-11-24T13:00:00+01:00", argument="end", now=NOW) == NOW
    assert parse_time("2026-11-24T12:00:00", argument="end", now=NOW) == NOW
    assert parse_time("2026-11-24", argument="end", now=NOW) == NOW - 12 * 3600
    assert parse_time(" NOW ", argument="end", now=NOW) == NOW


@given(st.text(max_size=40))
def test_any_text_is_a_time_or_an_error_naming_the_argument(text: str) -> None:
    try:
        value = parse_time(text, argument="start", now=NOW)
    except InvalidArgument as error:
        message = str(error)
    else:
        assert 0 <= value < 253402300800
        return
    assert "'start'" in message
    assert "Example:" in message


@pytest.mark.parametrize("bad", [True, float("nan"), float("inf"), -5, "yesterday", "now-5x", "now+1h", "9" * 30])
def test_unreadable_times_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="'end'"):
        parse_time(bad, argument="end", now=NOW)


def test_time_window_defaults_to_the_last_hour_and_rejects_a_reversed_window() -> None:
    assert time_window(None, None, now=NOW) == (NOW - 3600, NOW)
    assert time_window("now-1d", "now-2h", now=NOW) == (NOW - 86400, NOW - 7200)
    with pytest.raises(InvalidArgument, match="'start'"):
        time_window("now", "now-1h", now=NOW)


# -- budget -------------------------------------------------------------------------------------

RESULTS = st.dictionaries(
    st.text(string.ascii_letters, min_size=1, max_size=10), JSON | st.text(min_size=0, max_size=3000), max_size=6
)


@settings(deadline=None)
@given(RESULTS, st.integers(min_value=1000, max_value=20_000))
def test_no_result_exceeds_the_budget(result: dict[str, Any], budget: int) -> None:
    assert len(compact_json(fit_budget(result, budget))) <= budget


@settings(deadline=None)
@given(RESULTS, st.integers(min_value=1000, max_value=20_000))
def test_a_result_that_fits_is_untouched_and_a_cut_one_says_so(result: dict[str, Any], budget: int) -> None:
    fitted = fit_budget(result, budget)
    if len(compact_json(result)) <= budget:
        assert fitted == result
    else:
        assert "DD_MCP_MAX_RESULT_CHARS" in fitted["_truncated"]["hint"]


@settings(deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=400), st.integers(min_value=1000, max_value=8000))
def test_lists_are_cut_at_item_boundaries_to_a_prefix(items: list[str], budget: int) -> None:
    logs = [{"message": text, "n": n} for n, text in enumerate(items)]
    fitted = fit_budget({"logs": logs}, budget)
    kept = fitted["logs"]
    if len(kept) < len(logs):
        assert kept == logs[: len(kept)] or "strings" in fitted["_truncated"]
        assert fitted["_truncated"]["logs"].startswith(f"kept {len(kept)} of {len(logs)}")


def test_one_giant_string_is_shortened_not_dropped() -> None:
    fitted = fit_budget({"logs": [{"message": "x" * 100_000}]}, 2000)
    assert len(compact_json(fitted)) <= 2000
    assert fitted["logs"][0]["message"].startswith("xxx")
    assert fitted["logs"][0]["message"].endswith("…")


# -- compute ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("count", ("count", None)),
        ("count(*)", ("count", None)),
        ("avg(@duration)", ("avg", "@duration")),
        ("p50(@duration)", ("median", "@duration")),
        ("p95(@http.response_time)", ("pc95", "@http.response_time")),
        ("PC99(@duration)", ("pc99", "@duration")),
        ("cardinality(@usr.id)", ("cardinality", "@usr.id")),
    ],
)
def test_compute_forms(text: str, parsed: tuple[str, str | None]) -> None:
    assert parse_compute(text) == parsed


@given(st.text(max_size=30))
def test_any_compute_text_parses_or_names_the_argument(text: str) -> None:
    try:
        aggregation, _ = parse_compute(text)
    except InvalidArgument as error:
        message = str(error)
    else:
        assert aggregation in AGGREGATIONS
        return
    assert "'compute'" in message


# -- widgets ------------------------------------------------------------------------------------


def test_widgets_keep_titles_types_queries_and_group_nesting() -> None:
    widgets = [
        {
            "definition": {
                "type": "group",
                "title": "G",
                "widgets": [
                    {
                        "definition": {
                            "type": "timeseries",
                            "title": "T",
                            "requests": [
                                {
                                    "queries": [{"query": "avg:a{*}"}, {"query": "avg:b{*}"}],
                                    "formulas": [{"formula": "query1 / query2"}],
                                },
                                {"q": "avg:a{*}"},
                            ],
                        }
                    },
                    {
                        "definition": {
                            "type": "scatterplot",
                            "title": "S",
                            "requests": {"x": {"q": "avg:x{*}"}, "y": {"q": "avg:y{*}"}},
                        }
                    },
                ],
            }
        },
        {"definition": {"type": "log_stream", "query": "status:error"}},
        {"definition": {"type": "alert_graph", "title": "A", "alert_id": "123"}},
        {"definition": {"type": "note", "content": "n" * 1000}},
        {"definition": {"type": "query_value", "requests": [{"log_query": {"search": {"query": "service:web"}}}]}},
    ]
    group, stream, alert, note, legacy = simplify_widgets(widgets)
    assert group["title"] == "G"
    timeseries, scatter = group["widgets"]
    assert timeseries["queries"] == ["avg:a{*}", "avg:b{*}", "query1 / query2"]
    assert scatter["queries"] == ["avg:x{*}", "avg:y{*}"]
    assert stream == {"type": "log_stream", "queries": ["status:error"]}
    assert alert["monitor_id"] == "123"
    assert len(note["note"]) == 300
    assert legacy["queries"] == ["service:web"]


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
