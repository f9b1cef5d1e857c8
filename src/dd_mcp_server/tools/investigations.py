"""Investigations: answers an on-call engineer wants first, each composed from several Datadog
requests made concurrently, so the model gets the picture in one call instead of ten."""

from __future__ import annotations

import re
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from dd_mcp_server.common.changes import Change, Stats, compare
from dd_mcp_server.common.series import significant
from dd_mcp_server.common.timeparse import iso, parse_time
from dd_mcp_server.tools.base import End, Start, datadog, now, window
from dd_mcp_server.tools.metrics import series_of
from dd_mcp_server.tools.results import listing, narrow

BASELINES = {"previous": None, "day": 86400, "week": 7 * 86400}
# A comma outside braces and parentheses separates two metric queries: each would pair its series
# with the other's by scope, so one query is compared at a time.
_SECOND_QUERY = re.compile(r",(?![^{(]*[})])")


@listing("series")
@narrow("a narrower scope or fewer groups ('by {...}'), or top(...) in the query")
async def compare_metrics(
    ctx: Context,
    query: Annotated[str, Field(min_length=1, max_length=4000, description="Datadog metric query")],
    start: Start = None,
    end: End = None,
    baseline: Annotated[
        str | None,
        Field(max_length=100, description="'previous' (default), 'day', 'week', or a time: its start"),
    ] = None,
) -> dict[str, Any]:
    """A metric now vs a baseline, per series: mean, p95, max, change, when it shifted.
    Example: query='avg:system.load.1{*} by {host}', baseline='day'
    """
    if _SECOND_QUERY.search(query):
        raise ToolError("Invalid argument 'query': compare one metric query at a time (no comma between queries).")
    start_s, end_s = window(ctx, start, end)
    before_s = _baseline_start(baseline, start_s, end_s, now(ctx))
    span = end_s - start_s
    client = datadog(ctx)
    answers: dict[str, Any] = {}

    async def run(name: str, begin: int) -> None:
        answers[name] = await client.query_metrics(query, begin, begin + span)

    async with anyio.create_task_group() as group:
        group.start_soon(run, "now", start_s)
        group.start_soon(run, "before", before_s)
    series = [_row(change) for change in compare(series_of(answers["now"]), series_of(answers["before"]))]
    result: dict[str, Any] = {
        "query": query,
        "from": iso(start_s),
        "to": iso(end_s),
        "baseline": f"{iso(before_s)} to {iso(before_s + span)}",
        "series": series,
    }
    if not series:
        result["note"] = (
            "No data for this query in either window. Check the metric name with list_metrics, its tags "
            "with get_metric_metadata, or widen the window."
        )
    return result


def _baseline_start(baseline: str | None, start: int, end: int, clock: float) -> int:
    """Where the baseline window starts: just before the window, a day or a week earlier, or at a time."""
    baseline = "previous" if baseline is None else baseline
    if baseline in BASELINES:
        shift = BASELINES[baseline]
        return start - (shift if shift is not None else end - start)
    return parse_time(baseline, argument="baseline", now=clock)


def _row(change: Change) -> dict[str, Any]:
    """One series as the table shows it: its figures in both windows, each change in percent."""
    row: dict[str, Any] = {"series": change.series}
    for side, figures in (("now", change.now), ("before", change.before)):
        row[side] = _figures(figures) if figures else "no data"
    row["change"] = {
        "mean": _percent(change.mean_change),
        "p95": _percent(change.p95_change),
        "max": _percent(change.max_change),
    }
    if change.shift_at is not None:
        row["shift"] = {
            "at": iso(change.shift_at),
            "from": significant(change.shift_from),
            "to": significant(change.shift_to),
        }
    return row


def _figures(stats: Stats) -> dict[str, Any]:
    return {"mean": significant(stats.mean), "p95": significant(stats.p95), "max": significant(stats.max)}


def _percent(change: float | None) -> str | None:
    """+104%, -50%, 0%: what a reader compares at a glance; None when there is nothing to compare with."""
    if change is None:
        return None
    return f"{change * 100:+.0f}%" if round(change * 100) else "0%"


TOOLS = (compare_metrics,)
