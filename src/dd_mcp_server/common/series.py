"""Metric series reduced to a few evenly spaced points plus a summary computed over all of them."""

from __future__ import annotations

from typing import Any

from dd_mcp_server.common.timeparse import iso

MAX_POINTS = 50

Point = list[Any]  # [epoch milliseconds, value or None], as Datadog's v1 pointlist sends it


def pick_indices(total: int, keep: int = MAX_POINTS) -> list[int]:
    """`keep` indices spread evenly over range(total), always including the first and the last."""
    if total <= keep:
        return list(range(total))
    if keep == 1:
        return [0]
    return [round(i * (total - 1) / (keep - 1)) for i in range(keep)]


def summarise(points: list[Point]) -> dict[str, Any]:
    """min, max, avg and count of the non-null values, and the times of the first and last point."""
    values = [float(p[1]) for p in points if p[1] is not None]
    summary: dict[str, Any] = {"count": len(values)}
    if values:
        summary.update(min=min(values), max=max(values), avg=sum(values) / len(values))
    if points:
        summary.update(start=iso(points[0][0] / 1000), end=iso(points[-1][0] / 1000))
    return summary


def downsample(points: list[Point], keep: int = MAX_POINTS) -> dict[str, Any]:
    """The shaped series: `points` as [epoch seconds, value], `_summary`, and `_truncated` when cut."""
    chosen = [points[i] for i in pick_indices(len(points), keep)]
    shaped: dict[str, Any] = {
        "points": [[int(p[0] // 1000), significant(p[1])] for p in chosen],
        "_summary": {k: significant(v) for k, v in summarise(points).items()},
    }
    if len(chosen) < len(points):
        shaped["_truncated"] = {"kept": len(chosen), "total": len(points)}
    return shaped


def significant(value: Any) -> Any:
    """Six significant digits: more is noise to a reader and costs tokens."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value
