"""Properties of metric series downsampling: few evenly spaced points, a summary over all of them."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.series import MAX_POINTS, downsample, pick_indices
from dd_mcp_server.common.timeparse import iso

START_MS = 1_795_000_000_000
VALUES = st.one_of(
    st.none(),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    st.integers(min_value=-(10**9), max_value=10**9),
)


@st.composite
def series(draw: st.DrawFn, max_size: int = 400) -> list[list[Any]]:
    """A Datadog v1 pointlist: [epoch ms, value or None], times strictly increasing by at least a second."""
    values = draw(st.lists(VALUES, max_size=max_size))
    gaps = draw(st.lists(st.integers(min_value=1000, max_value=3_600_000), min_size=len(values), max_size=len(values)))
    start = draw(st.integers(min_value=0, max_value=START_MS))
    times = list(itertools.accumulate(gaps, initial=start))[1:]
    return [[t, v] for t, v in zip(times, values, strict=True)]


SERIES = st.one_of(series(), series(max_size=3000))


def rounded(value: Any) -> Any:
    """A value as the output shows it: floats to six significant digits."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def close(shown: float, exact: float, slack: float = 0.0) -> bool:
    """`shown` is `exact` rounded to six significant digits (rel 5e-6), give or take `slack`."""
    return math.isclose(shown, exact, rel_tol=1e-5, abs_tol=slack + 1e-300)


@given(SERIES)
def test_at_most_max_points_with_first_and_last_kept(points: list[list[Any]]) -> None:
    shaped = downsample(points)
    kept = shaped["points"]
    assert len(kept) == min(len(points), MAX_POINTS)
    if points:
        assert kept[0] == [points[0][0] // 1000, rounded(points[0][1])]
        assert kept[-1] == [points[-1][0] // 1000, rounded(points[-1][1])]


@given(SERIES)
def test_kept_points_are_an_ordered_subset_of_the_input(points: list[list[Any]]) -> None:
    by_second = {p[0] // 1000: (index, p[1]) for index, p in enumerate(points)}
    indices = []
    for second, value in downsample(points)["points"]:
        assert isinstance(second, int)
        assert second in by_second, "a kept point that is not in the input"
        index, original = by_second[second]
        assert value == rounded(original)
        assert type(value) is type(original)
        indices.append(index)
    assert indices == sorted(set(indices))


@given(SERIES)
def test_summary_is_computed_over_all_points(points: list[list[Any]]) -> None:
    summary = downsample(points)["_summary"]
    values = [float(v) for _, v in points if v is not None]
    assert summary["count"] == len(values)
    if values:
        assert close(summary["min"], min(values))
        assert close(summary["max"], max(values))
        # Summing n floats may lose up to n ulps of the largest; beyond that the avg must be exact.
        slack = len(values) * math.ulp(max(abs(v) for v in values))
        assert close(summary["avg"], math.fsum(values) / len(values), slack)
        # Rounded to six significant digits, no more.
        for key in ("min", "max", "avg"):
            assert summary[key] == rounded(summary[key])
    else:
        assert not {"min", "max", "avg"} & set(summary)
    if points:
        assert summary["start"] == iso(points[0][0] / 1000)
        assert summary["end"] == iso(points[-1][0] / 1000)
    else:
        assert not {"start", "end"} & set(summary)


@given(SERIES)
def test_truncated_is_there_exactly_when_points_were_dropped(points: list[list[Any]]) -> None:
    shaped = downsample(points)
    if len(shaped["points"]) < len(points):
        assert shaped["_truncated"] == {"kept": len(shaped["points"]), "total": len(points)}
    else:
        assert "_truncated" not in shaped
        assert len(shaped["points"]) == len(points)


@given(st.integers(min_value=0, max_value=20_000), st.integers(min_value=1, max_value=300))
def test_pick_indices_are_evenly_spaced_and_keep_both_ends(total: int, keep: int) -> None:
    indices = pick_indices(total, keep)
    assert len(indices) == min(total, keep)
    assert indices == sorted(set(indices))
    assert all(0 <= i < total for i in indices)
    if total and keep > 1:
        assert (indices[0], indices[-1]) == (0, total - 1)
    gaps = [b - a for a, b in itertools.pairwise(indices)]
    if gaps:
        assert max(gaps) - min(gaps) <= 1


def test_a_spike_between_kept_points_shows_in_the_summary() -> None:
    points: list[list[Any]] = [[START_MS + i * 1000, 1.0] for i in range(1440)]
    points[701][1] = 1e6  # not one of the 50 kept indices
    assert 701 not in pick_indices(1440)
    shaped = downsample(points)
    assert 1e6 not in [v for _, v in shaped["points"]]
    assert shaped["_summary"]["max"] == 1e6
    assert shaped["_summary"]["min"] == 1.0
    assert shaped["_summary"]["count"] == 1440
    assert shaped["_truncated"] == {"kept": 50, "total": 1440}


def test_an_empty_series() -> None:
    assert downsample([]) == {"points": [], "_summary": {"count": 0}}


def test_an_all_null_series_has_times_but_no_values() -> None:
    points: list[list[Any]] = [[START_MS, None], [START_MS + 60_000, None]]
    assert downsample(points) == {
        "points": [[START_MS // 1000, None], [START_MS // 1000 + 60, None]],
        "_summary": {"count": 0, "start": iso(START_MS / 1000), "end": iso(START_MS / 1000 + 60)},
    }


def test_nulls_are_kept_as_points_but_left_out_of_the_summary() -> None:
    points: list[list[Any]] = [[START_MS, None], [START_MS + 1000, 2.0], [START_MS + 2000, None], [START_MS + 3000, 4]]
    shaped = downsample(points)
    assert [v for _, v in shaped["points"]] == [None, 2.0, None, 4]
    assert shaped["_summary"] == {
        "count": 2,
        "min": 2.0,
        "max": 4.0,
        "avg": 3.0,
        "start": iso(START_MS / 1000),
        "end": iso(START_MS / 1000 + 3),
    }


def test_float_timestamps_and_six_significant_digits() -> None:
    shaped = downsample([[1.7955216e12, 0.123456789], [1.7955217e12, 123456789.0]])
    assert shaped["points"] == [[1795521600, 0.123457], [1795521700, 123457000.0]]
    assert shaped["_summary"]["avg"] == 61728400.0


@pytest.mark.parametrize(("total", "expected"), [(0, []), (1, [0]), (50, list(range(50))), (51, None), (99, None)])
def test_pick_indices_at_the_edges(total: int, expected: list[int] | None) -> None:
    indices = pick_indices(total)
    if expected is not None:
        assert indices == expected
    else:
        assert len(indices) == MAX_POINTS
        assert (indices[0], indices[-1]) == (0, total - 1)


def test_keep_one_keeps_the_first() -> None:
    assert pick_indices(10, 1) == [0]


def test_downsample_keeps_as_many_points_as_asked() -> None:
    points = [[START_MS + 1000 * n, float(n)] for n in range(100)]
    shaped = downsample(points, keep=10)
    assert [p[1] for p in shaped["points"]] == [0.0, 11.0, 22.0, 33.0, 44.0, 55.0, 66.0, 77.0, 88.0, 99.0]
    assert shaped["_truncated"] == {"kept": 10, "total": 100}
    assert shaped["_summary"]["count"] == 100
