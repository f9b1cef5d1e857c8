"""How metric series changed between a window and a baseline window, and when the level moved most.

The arithmetic behind compare_metrics, over two of Datadog's v1 query answers (GET /api/v1/query) for the
same query: statistics of each series in each window, their relative changes, and the one moment in the
window that best splits the series into two levels. Plain Python, no numpy: series hold a few thousand points
at most, and the server should start fast.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from dd_mcp_server.common.series import Point

MIN_SHIFT_POINTS = 4  # fewer points than this make any split a guess
_UNKNOWN = (None, None, None)  # no relative changes, or no level shift


@dataclass(frozen=True)
class Stats:
    """Over the finite points of one series in one window.

    p95 is the nearest rank: the smallest of the values with at least 95% of them at or below it. It is
    always one of the values, so it never exceeds max and scales exactly with them.
    """

    mean: float
    p95: float
    max: float
    points: int


@dataclass(frozen=True)
class Change:
    """One series in the window (`now`) against the baseline window (`before`).

    A side is None when the series has no finite points in that window. Each *_change is relative,
    (now - before) / |before|, so 1.0 is a doubling and -0.5 a halving; it is None when a side is None, when
    before is 0 (undefined: the absolute values are in the Stats) or when the change is beyond a float.
    shift_at is the epoch second of the first point at the new level of the largest level shift in the window,
    shift_from and shift_to the mean levels before and after it (all None when level_shift finds none).
    """

    series: str
    now: Stats | None
    before: Stats | None
    mean_change: float | None
    p95_change: float | None
    max_change: float | None
    shift_at: float | None
    shift_from: float | None
    shift_to: float | None


def stats(values: list[float]) -> Stats | None:
    """Mean, p95 (nearest rank), max and count of finite `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-95 * len(ordered) // 100)  # ceil(0.95 n), in integers so that no rounding is in question
    return Stats(mean=_mean(ordered), p95=ordered[rank - 1], max=ordered[-1], points=len(ordered))


def level_shift(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(moment, mean before, mean after) of the split that best describes finite `points` as two levels.

    `points` are (epoch seconds, value) in time order. Splitting before point k of n scores
    k (n - k) / n * (mean before - mean after)^2, the squared deviation that two levels explain beyond one
    (the statistic of binary segmentation, CUSUM, for a single change in mean): a jump held over many points
    outscores a spike of one point unless the spike is many times taller, and on a steady ramp the middle wins.
    The moment is the time of the first point after the split. None with fewer than MIN_SHIFT_POINTS points,
    or when every value is the same.
    """
    values = [value for _, value in points]
    if len(values) < MIN_SHIFT_POINTS or min(values) == max(values):
        return None
    split = _best_split(values)
    return points[split][0], _mean(values[:split]), _mean(values[split:])


def compare(now: list[dict[str, Any]], before: list[dict[str, Any]], *, across: bool = False) -> list[Change]:
    """The series of two answers to one query paired by scope, the largest change first.

    The level shift is looked for inside the window, or `across` both windows when the baseline ends
    where the window starts (a monitor's alert window: the shift is at its start).

    `now` and `before` are the answers' "series". A series in only one answer still appears, with the other
    side None. Should an answer hold one scope twice (a query of several comma-separated expressions does, and
    a malformed answer may), the first series is kept and the others are ignored. Ranking: series that
    appeared, vanished or left zero first, then by |mean_change|, then series with no points in either
    window; ties by name.
    """
    current, baseline = _by_scope(now), _by_scope(before)
    changes = [
        _change(name, current.get(name, []), baseline.get(name, []), across) for name in current.keys() | baseline
    ]
    return sorted(changes, key=lambda change: (-_size(change), change.series))


def _change(
    name: str, now_points: list[tuple[float, float]], before_points: list[tuple[float, float]], across: bool = False
) -> Change:
    """The Change of one series from its finite points in each window (either list may be empty)."""
    now, before = stats([v for _, v in now_points]), stats([v for _, v in before_points])
    mean_change, p95_change, max_change = _relative_changes(now, before)
    shifted = before_points + now_points if across else now_points
    shift_at, shift_from, shift_to = level_shift(shifted) or _UNKNOWN
    return Change(
        series=name,
        now=now,
        before=before,
        mean_change=mean_change,
        p95_change=p95_change,
        max_change=max_change,
        shift_at=shift_at,
        shift_from=shift_from,
        shift_to=shift_to,
    )


def _relative_changes(now: Stats | None, before: Stats | None) -> tuple[float | None, float | None, float | None]:
    """Relative changes of mean, p95 and max; all None unless the series has points in both windows."""
    if now is None or before is None:
        return _UNKNOWN
    return _relative(now.mean, before.mean), _relative(now.p95, before.p95), _relative(now.max, before.max)


def _relative(now: float, before: float) -> float | None:
    """(now - before) / |before|, or None when before is 0 or the change is beyond a float.

    Written as now / |before| - sign(before): no step overflows unless the result itself does (now - before
    would, for values near the largest float on both sides of zero).
    """
    if before == 0:
        return None
    change = now / abs(before) - math.copysign(1.0, before)
    return change if math.isfinite(change) else None


def _size(change: Change) -> float:
    """How far a series moved, for ranking: unbounded when it appeared, vanished or left zero, -1 when absent."""
    if change.now is None and change.before is None:
        return -1.0
    if change.now is None or change.before is None:
        return math.inf
    if change.mean_change is not None:
        return abs(change.mean_change)
    # No relative change with points on both sides: before is 0 (or so small the change overflows).
    return 0.0 if change.now.mean == change.before.mean else math.inf


def _by_scope(answer: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Each series' finite points under its scope ("host:web-1,env:prod", "*" when not grouped); first one wins."""
    named: dict[str, list[tuple[float, float]]] = {}
    for series in answer:
        scope = str(series.get("scope") or "*")
        if scope not in named:
            named[scope] = _points(series.get("pointlist") or [])
    return named


def _points(pointlist: list[Point]) -> list[tuple[float, float]]:
    """(epoch seconds, value) of the points whose time and value are finite numbers, in time order.

    Null is no data for that interval; NaN and infinities (or the nulls the JSON reader puts in their place)
    are an upstream fault: both are skipped. Datadog sends points in order; sorting keeps "before" and "after"
    true of an answer that does not.
    """
    readings = [(_number(point[0]), _number(point[1])) for point in pointlist]
    finite = [(time / 1000, value) for time, value in readings if math.isfinite(time) and math.isfinite(value)]
    return sorted(finite, key=lambda reading: reading[0])


def _number(value: Any) -> float:
    """`value` as a float, null as NaN (skipped with the non-finite); anything else that is no number raises."""
    return math.nan if value is None else float(value)


def _mean(values: list[float]) -> float:
    """The mean of finite `values`, never outside their range and never overflowing.

    The sum of values near the largest float overflows though their mean does not: the sum is taken of values
    scaled to at most 1, which changes no digit of the result. The exact sum divided by the count can round a
    hair outside [min, max] (the mean of 40 times x need not be x): it is held inside.
    """
    scaled, exponent = _scaled(values)
    mean = math.fsum(scaled) / len(scaled)  # what statistics.fmean does, without importing it
    return math.ldexp(min(max(mean, min(scaled)), max(scaled)), exponent)


def _best_split(values: list[float]) -> int:
    """The k in 1..n-1 with the highest level_shift score, the first of equals; the running sums cannot overflow."""
    scaled, _ = _scaled(values)
    prefix = list(itertools.accumulate(scaled))
    n, total = len(values), prefix[-1]

    def score(k: int) -> float:
        gap = prefix[k - 1] / k - (total - prefix[k - 1]) / (n - k)
        return k * (n - k) / n * gap * gap

    return max(range(1, n), key=score)


def _scaled(values: list[float]) -> tuple[list[float], int]:
    """`values` divided by the power of two that brings the largest below 1 in size, and that power.

    Dividing by a power of two is exact (short of values 2^1000 times smaller than the largest, which lose
    digits that could not have counted beside it), so results computed on the scaled values and multiplied back
    are those of the values themselves, without the overflow.
    """
    _, exponent = math.frexp(max(abs(value) for value in values))
    return [math.ldexp(value, -exponent) for value in values], exponent
