"""Investigations: answers an on-call engineer wants first, each composed from several Datadog
requests made concurrently, so the model gets the picture in one call instead of ten."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from dd_mcp_server.common import changes, patterns
from dd_mcp_server.common.series import significant
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import iso, parse_time
from dd_mcp_server.services.datadog import DatadogClient, next_cursor
from dd_mcp_server.tools.base import End, Start, datadog, gather, now, window
from dd_mcp_server.tools.logs import LogQuery
from dd_mcp_server.tools.metrics import series_of
from dd_mcp_server.tools.results import listing, narrow

BASELINES = {"previous": None, "day": 86400, "week": 7 * 86400}
LOG_PAGE = 1000  # logs per search request while sampling
EXAMPLE_CHARS = 300  # of a pattern's example: enough to recognise it, the rest is in search_logs
GREW = 2.0  # a pattern whose share of the logs read at least doubled "grew"
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
    answers = await gather(
        {
            "now": client.query_metrics(query, start_s, end_s),
            "before": client.query_metrics(query, before_s, before_s + span),
        }
    )
    series = [change_row(change) for change in changes.compare(series_of(answers["now"]), series_of(answers["before"]))]
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


def change_row(change: changes.Change) -> dict[str, Any]:
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


def _figures(stats: changes.Stats) -> dict[str, Any]:
    return {"mean": significant(stats.mean), "p95": significant(stats.p95), "max": significant(stats.max)}


def _percent(change: float | None) -> str | None:
    """+104%, -50%, 0%: what a reader compares at a glance; None when there is nothing to compare with."""
    if change is None:
        return None
    return f"{change * 100:+.0f}%" if round(change * 100) else "0%"


@listing("patterns")
async def log_patterns(
    ctx: Context,
    query: LogQuery = "*",
    start: Start = None,
    end: End = None,
    max_logs: Annotated[int, Field(ge=1, le=10_000, description="Logs read at most, newest first")] = 2000,
    compare: Annotated[Literal["previous"] | None, Field(description="'previous': the window before too")] = None,
) -> dict[str, Any]:
    """Log messages grouped into templates with counts: which kinds of error, which are new.
    Example: query='service:web status:error', compare='previous'
    """
    start_s, end_s = window(ctx, start, end)
    windows = {"now": (start_s, end_s)}
    if compare:
        windows["before"] = (2 * start_s - end_s, start_s)
    client = datadog(ctx)
    got = await gather({name: read_logs(client, query, *bounds, max_logs) for name, bounds in windows.items()})
    samples = {name: sample for name, (sample, _) in got.items()}
    totals = {name: total for name, (_, total) in got.items()}
    found = await anyio.to_thread.run_sync(patterns.mine, samples["now"])
    if compare:
        found = await anyio.to_thread.run_sync(patterns.compare, found, samples["before"])
    read = {name: len(sample) for name, sample in samples.items()}
    result: dict[str, Any] = {
        "query": query,
        "from": iso(start_s),
        "to": iso(end_s),
        "read": _read(read["now"], totals["now"]),
        "patterns": [_pattern(p, read) for p in found],
    }
    if compare:
        begin, finish = windows["before"]
        result["before"] = f"{iso(begin)} to {iso(finish)}: {_read(read['before'], totals['before'])}"
    if not found:
        result["note"] = (
            "No log matches this query in this window. Check the query's facets with aggregate_logs "
            "(group_by=['service']), or widen the window."
        )
    return result


async def read_logs(
    client: DatadogClient, query: str, start: int, end: int, most: int
) -> tuple[list[patterns.Log], Any]:
    """The newest `most` logs of a window and how many match in all, read at once."""
    got = await gather({"logs": _sample(client, query, start, end, most), "total": _total(client, query, start, end)})
    return got["logs"], got["total"]


async def _sample(client: DatadogClient, query: str, start: int, end: int, most: int) -> list[patterns.Log]:
    """The newest `most` logs of a window, page after page: (message, status, timestamp) each."""
    logs: list[patterns.Log] = []
    cursor: str | None = None
    while len(logs) < most:
        payload = await client.search_logs(query, iso(start), iso(end), min(LOG_PAGE, most - len(logs)), cursor)
        page = [item.get("attributes") for item in payload.get("data") or [] if isinstance(item, dict)]
        logs += [_log(attributes) for attributes in page if isinstance(attributes, dict)]
        cursor = next_cursor(payload)
        if not cursor or not page:
            break
    return logs[:most]


def _log(attributes: dict[str, Any]) -> patterns.Log:
    status, timestamp = attributes.get("status"), attributes.get("timestamp")
    return (
        str(attributes.get("message") or ""),
        status if isinstance(status, str) else None,
        timestamp if isinstance(timestamp, str) else None,
    )


async def _total(client: DatadogClient, query: str, start: int, end: int) -> Any:
    """How many logs match in all (Datadog counts them), so a sample is never taken for the whole."""
    payload = await client.aggregate_logs(query, iso(start), iso(end), "count", None, [], 1)
    buckets = (payload.get("data") or {}).get("buckets") or []
    return (buckets[0].get("computes") or {}).get("c0") if buckets else 0


def _read(read: int, total: Any) -> str:
    if isinstance(total, int | float) and total > read:
        return f"the newest {read} of {int(total)} matching logs: a sample"
    return f"all {read} matching logs"


def _pattern(pattern: patterns.Pattern, read: dict[str, int]) -> dict[str, Any]:
    """One template as the table shows it: how often, how bad, when, one example, and its trend."""
    row: dict[str, Any] = {
        "template": pattern.template,
        "count": pattern.count,
        "share": _share(pattern.count, read["now"]),
        "statuses": ",".join(f"{status}:{n}" for status, n in pattern.statuses.items()),
        "first_seen": pattern.first_seen,
        "last_seen": pattern.last_seen,
        "example": clip(pattern.example, EXAMPLE_CHARS),
    }
    if pattern.previous is not None:
        row["before"] = pattern.previous
        row["trend"] = _trend(pattern.count / max(read["now"], 1), pattern.previous / max(read["before"], 1))
    return row


def _share(count: int, read: int) -> str:
    return f"{100 * count / read:.0f}%" if read else "0%"


def _trend(now: float, before: float) -> str:
    """'new', 'grew', 'shrank' or 'steady', by each pattern's share of the logs read in its window
    (the windows may be sampled to different depths; shares compare, counts would not)."""
    if before == 0:
        return "new"
    if now >= GREW * before:
        return "grew"
    return "shrank" if now * GREW <= before else "steady"


TOOLS = (compare_metrics, log_patterns)
