"""Series compared with a baseline window: exact numbers on hand-built answers, level shifts, properties."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.changes import Change, Stats, compare, level_shift, stats

T0 = 1_795_000_000  # epoch seconds of the first point
STEP = 60


def pointlist(*values: float | None) -> list[list[Any]]:
    """A Datadog v1 pointlist, one point a minute from T0: [epoch ms, value or None]."""
    return [[(T0 + i * STEP) * 1000, v] for i, v in enumerate(values)]


def answer(**series: list[list[Any]]) -> list[dict[str, Any]]:
    """An answer's "series", one per keyword: web=[...] is the series of scope "host:web"."""
    return [{"scope": f"host:{name}", "pointlist": points} for name, points in series.items()]


def at(index: int) -> float:
    """The epoch second of point `index` of a pointlist()."""
    return float(T0 + index * STEP)


NAN, INF = float("nan"), float("inf")
NOW = [
    *answer(
        double=pointlist(2, 4, 6, 8),
        half=pointlist(12, 12, 4, 4, 4, 4, 4, 4, None, NAN, INF, -INF),
        flat=pointlist(3, 3, 3, 3),
        new=pointlist(1, 1, 1, 1),
        silent=pointlist(None, None, None),
        zero=pointlist(0, 0, 2, 2),
    ),
    {"scope": "host:double", "pointlist": pointlist(100, 100, 100, 100)},  # a scope's second series is ignored
]
BEFORE = answer(
    double=pointlist(1, 2, 3, 4),
    half=pointlist(*[12] * 8),
    flat=pointlist(3, 3, 3, 3),
    gone=pointlist(7, 7),
    silent=pointlist(None),
    zero=pointlist(0, 0, 0, 0),
)


def test_hand_built_answers_give_exact_changes_largest_first() -> None:
    assert compare(NOW, BEFORE) == [
        # Appeared, vanished or left zero: first, by name.
        Change("host:gone", None, Stats(7, 7, 7, 2), None, None, None, None, None, None),
        Change("host:new", Stats(1, 1, 1, 4), None, None, None, None, None, None, None),
        Change("host:zero", Stats(1, 2, 2, 4), Stats(0, 0, 0, 4), None, None, None, at(2), 0, 2),
        # Then by |mean_change|: a doubling (+1.0) before a halving (-0.5) before no change.
        Change("host:double", Stats(5, 8, 8, 4), Stats(2.5, 4, 4, 4), 1.0, 1.0, 1.0, at(2), 3, 7),
        Change("host:half", Stats(6, 12, 12, 8), Stats(12, 12, 12, 8), -0.5, 0.0, 0.0, at(2), 12, 4),
        Change("host:flat", Stats(3, 3, 3, 4), Stats(3, 3, 3, 4), 0.0, 0.0, 0.0, None, None, None),
        # No points in either window: last.
        Change("host:silent", None, None, None, None, None, None, None, None),
    ]


def test_an_empty_answer_or_pointlist_gives_no_stats() -> None:
    assert stats([]) is None
    assert compare([], []) == []
    (change,) = compare([{"scope": "*", "pointlist": None}], [{"scope": "*", "pointlist": []}])
    assert (change.now, change.before, change.mean_change) == (None, None, None)


def test_p95_is_the_nearest_rank() -> None:
    hundred = [float(v) for v in range(1, 101)]
    assert stats(hundred) == Stats(mean=50.5, p95=95.0, max=100.0, points=100)
    assert stats(hundred[:20]) == Stats(mean=10.5, p95=19.0, max=20.0, points=20)  # ceil(0.95 * 20) = 19
    assert stats(hundred[:21]) == Stats(mean=11.0, p95=20.0, max=21.0, points=21)  # ceil(19.95) = 20


def test_a_negative_baseline_changes_by_its_magnitude() -> None:
    (change,) = compare(answer(a=pointlist(-5, -5)), answer(a=pointlist(-10, -10)))
    assert change.mean_change == 0.5  # from -10 to -5: up by half of 10


def test_values_near_the_largest_float_neither_overflow_nor_vanish() -> None:
    big = 1.7e308
    (change,) = compare(answer(a=pointlist(big, big)), answer(a=pointlist(-big, -big)))
    assert change.now == Stats(big, big, big, 2)
    assert change.mean_change == 2.0  # (big - -big) / big, though big - -big is no float
    assert level_shift([(at(i), v) for i, v in enumerate([-big] * 3 + [big] * 3)]) == (at(3), -big, big)


def test_a_step_is_found_at_its_first_point_with_both_levels() -> None:
    points = [(at(i), 1.0 if i < 6 else 3.0) for i in range(10)]
    assert level_shift(points) == (at(6), 1.0, 3.0)


def test_a_ramp_splits_near_its_middle() -> None:
    points = [(at(i), float(i)) for i in range(21)]
    shift = level_shift(points)
    assert shift is not None
    assert abs((shift[0] - T0) / STEP - 10.5) <= 1


@pytest.mark.parametrize("seed", range(10))
def test_a_step_in_noise_is_found_within_one_point(seed: int) -> None:
    rng = random.Random(seed)
    points = [(at(i), rng.gauss(0, 1) + (4.0 if i >= 63 else 0.0)) for i in range(100)]
    shift = level_shift(points)
    assert shift is not None
    moment, level_before, level_after = shift
    assert abs((moment - T0) / STEP - 63) <= 1
    assert abs(level_before) < 0.5
    assert abs(level_after - 4) < 0.5


def test_a_held_jump_outscores_a_taller_spike() -> None:
    values = [0.0] * 5 + [20.0] + [0.0] * 14 + [3.0] * 20
    shift = level_shift([(at(i), v) for i, v in enumerate(values)])
    assert shift is not None
    assert shift[0] == at(20)


def test_no_shift_in_a_flat_or_short_series() -> None:
    assert level_shift([(at(i), 5.0) for i in range(50)]) is None
    assert level_shift([(at(0), 1.0), (at(1), 1.0), (at(2), 9.0)]) is None
    assert level_shift([]) is None


# Properties

FINITE = st.floats(allow_nan=False, allow_infinity=False)
VALUES = st.one_of(st.none(), FINITE, st.integers(min_value=-(10**9), max_value=10**9))
JUNK = st.sampled_from([None, NAN, INF, -INF])
SCOPES = st.sampled_from(["*", "host:a", "host:b", "host:c,env:prod"])


@st.composite
def times(draw: st.DrawFn, count: int) -> list[int]:
    """`count` epoch milliseconds, strictly increasing by at least a second."""
    gaps = draw(st.lists(st.integers(1000, 3_600_000), min_size=count, max_size=count))
    return list(itertools.accumulate(gaps, initial=T0 * 1000))[1:]


@st.composite
def pointlists(draw: st.DrawFn, values: st.SearchStrategy[Any] = VALUES) -> list[list[Any]]:
    drawn = draw(st.lists(values, max_size=60))
    return [[t, v] for t, v in zip(draw(times(len(drawn))), drawn, strict=True)]


def answers(values: st.SearchStrategy[Any] = VALUES) -> st.SearchStrategy[list[dict[str, Any]]]:
    """An answer's "series": a few series, scopes sometimes repeated."""
    one = st.fixed_dictionaries({"scope": SCOPES, "pointlist": pointlists(values)})
    return st.lists(one, max_size=5)


@given(st.lists(FINITE, min_size=1, max_size=500))
def test_stats_mean_and_p95_lie_within_the_values(values: list[float]) -> None:
    result = stats(values)
    assert result is not None
    assert min(values) <= result.mean <= result.max == max(values)
    assert min(values) <= result.p95 <= result.max
    assert result.p95 in values
    assert result.points == len(values)


@given(answers())
def test_a_series_against_itself_has_not_changed(series: list[dict[str, Any]]) -> None:
    for change in compare(series, series):
        assert change.now == change.before
        if change.now is not None:
            assert change.mean_change == (None if change.now.mean == 0 else 0.0)
            assert change.p95_change == (None if change.now.p95 == 0 else 0.0)
            assert change.max_change == (None if change.now.max == 0 else 0.0)


# Non-negative, as most metrics are: with mixed signs a mean near zero by cancellation magnifies rounding.
MAGNITUDES = st.one_of(st.none(), st.just(0.0), st.floats(min_value=1e-6, max_value=1e6))


@given(answers(MAGNITUDES), answers(MAGNITUDES), st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_every_value_leaves_relative_changes_alone(
    now: list[dict[str, Any]], before: list[dict[str, Any]], factor: float
) -> None:
    def scaled(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**s, "pointlist": [[t, None if v is None else v * factor] for t, v in s["pointlist"]]} for s in series]

    plain = {c.series: c for c in compare(now, before)}
    for change in compare(scaled(now), scaled(before)):
        original = plain[change.series]
        for name in ("mean_change", "p95_change", "max_change"):
            ratio, expected = getattr(change, name), getattr(original, name)
            assert (ratio is None) == (expected is None)
            assert ratio is None or math.isclose(ratio, expected, rel_tol=1e-9, abs_tol=1e-9)


@st.composite
def with_junk(draw: st.DrawFn, series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`series` with null or non-finite times or values slipped in anywhere."""
    dirty = []
    for s in series:
        points = list(s["pointlist"])
        for _ in range(draw(st.integers(0, 5))):
            junk = draw(st.sampled_from([[draw(JUNK), 1.0], [T0 * 1000, draw(JUNK)], [draw(JUNK), draw(JUNK)]]))
            points.insert(draw(st.integers(0, len(points))), junk)
        dirty.append({**s, "pointlist": points})
    return dirty


@given(st.data(), answers(), answers())
def test_nulls_and_non_finite_numbers_anywhere_change_nothing(
    data: st.DataObject, now: list[dict[str, Any]], before: list[dict[str, Any]]
) -> None:
    clean = compare(now, before)
    dirty = compare(data.draw(with_junk(now)), data.draw(with_junk(before)))
    assert dirty == clean  # so no NaN reached a number (NaN would not equal itself)


@given(st.lists(FINITE, max_size=300).flatmap(lambda vs: st.tuples(st.just(vs), times(len(vs)))))
def test_a_level_shift_is_at_one_of_the_times_between_the_extremes(drawn: tuple[list[float], list[int]]) -> None:
    values, stamps = drawn
    points = [(t / 1000, v) for t, v in zip(stamps, values, strict=True)]
    shift = level_shift(points)
    if len(values) < 4 or min(values) == max(values):
        assert shift is None
        return
    assert shift is not None
    moment, level_before, level_after = shift
    assert moment in [t for t, _ in points[1:]]
    assert min(values) <= level_before <= max(values)
    assert min(values) <= level_after <= max(values)


def test_a_shift_at_the_windows_boundary_is_found_across_them_not_inside_the_window() -> None:
    before = [{"scope": "*", "pointlist": [[(1000 + 60 * n) * 1000, 40.0] for n in range(10)]}]
    now = [{"scope": "*", "pointlist": [[(1600 + 60 * n) * 1000, 95.0] for n in range(10)]}]
    (inside,) = compare(now, before)
    (across,) = compare(now, before, across=True)
    assert inside.shift_at is None  # flat inside the window
    assert (across.shift_at, across.shift_from, across.shift_to) == (1600, 40.0, 95.0)
