"""Investigations: answers an on-call engineer wants first, each composed from several Datadog
requests made concurrently, so the model gets the picture in one call instead of ten."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from dd_mcp_server.common import changes, patterns
from dd_mcp_server.common.series import significant
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import TimeArg, iso, parse_time
from dd_mcp_server.services.datadog import DatadogClient, next_cursor
from dd_mcp_server.tools.base import TAG_VALUE, End, Start, aggregate_groups, datadog, gather, now, window
from dd_mcp_server.tools.empty import metric_hint, search_hint
from dd_mcp_server.tools.logs import LogQuery
from dd_mcp_server.tools.metrics import series_of
from dd_mcp_server.tools.results import listing, narrow

BASELINES = {"previous": None, "day": 86400, "week": 7 * 86400}
LOG_PAGE = 1000  # logs per search request while sampling
EXAMPLE_CHARS = 300  # of a pattern's example: enough to recognise it, the rest is in search_logs
GREW = 2.0  # a pattern whose share of the logs read at least doubled "grew"
CHANGES = 50  # lines of a timeline, and events read for it
ERROR_LOGS = 500  # error logs mined on each side of the moment
ERROR_TYPE = "@error.type"  # the facet of a failing span's error type
SHOWN_TYPES = 5
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
        result["note"] = await metric_hint(ctx, query)
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
        result["note"] = await search_hint(ctx, "logs", query)
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
    groups = aggregate_groups(await client.aggregate_logs(query, iso(start), iso(end), "count", None, [], 1))
    return groups[0][1].get("c0") if groups else 0


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


@listing("changes")
async def what_changed(
    ctx: Context,
    around: Annotated[TimeArg, Field(description="A time: the moment")],
    service: Annotated[str | None, Field(max_length=200, pattern=TAG_VALUE, description="Service name")] = None,
    window: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,3}[mhd]$", description="Each side: '30m', '2h'")] = "1h",
) -> dict[str, Any]:
    """What changed around a moment, oldest first: deploys, events, alerts, new errors.
    Example: around='now-1h', service='checkout'
    """
    clock = int(now(ctx))
    moment = parse_time(around, argument="around", now=clock)
    if moment > clock:
        raise ToolError(f"Invalid argument 'around': {iso(moment)} is in the future; give a past moment.")
    reach = int(window[:-1]) * {"m": 60, "h": 3600, "d": 86400}[window[-1]]
    start, end = moment - reach, min(moment + reach, clock)
    scope = f"service:{service}" if service else "*"
    client = datadog(ctx)
    reads: dict[str, Awaitable[Any]] = {
        "deploys": _deploys(client, scope, start, end),
        "events": client.list_events(scope, start * 1000, end * 1000, CHANGES, None),
        "errors": _new_errors(client, scope, start, moment, end),
        "types": _new_error_types(client, scope, start, moment, end),
    }
    got = await gather(reads)
    events = [event_change(e) for e in got["events"].get("data") or [] if isinstance(e, dict)]
    timeline = sorted([*got["deploys"], *events, *got["errors"], *got["types"]], key=lambda row: str(row["time"]))
    result: dict[str, Any] = {"around": iso(moment), "from": iso(start), "to": iso(end), "changes": timeline[:CHANGES]}
    if not timeline:
        result["note"] = "Nothing changed in this window that Datadog recorded: widen window, or drop service."
    return result


async def _deploys(client: DatadogClient, scope: str, start: int, end: int) -> list[dict[str, Any]]:
    """Each service version whose first span falls inside the window (one already running is no change)."""
    payload = await client.aggregate_spans(scope, iso(start), iso(end), "count", None, ["service", "version"], 20)
    pairs = [by for by, _ in aggregate_groups(payload) if by.get("service") and by.get("version")]
    queries = [f"service:{p['service']} version:{p['version']}" for p in pairs]
    firsts = await gather({n: first_time(client, query, start, end) for n, query in enumerate(queries)})
    since = iso(start + 60)  # a version seen in the window's first minute was already running
    return [
        {"time": first, "source": "apm", "what": f"{p['service']} {p['version']} first seen"}
        for p, first in zip(pairs, firsts.values(), strict=True)
        if first is not None and first > since
    ]


async def _new_errors(client: DatadogClient, scope: str, start: int, moment: int, end: int) -> list[dict[str, Any]]:
    """Error log patterns seen after the moment and not before it, at their first appearance."""
    if end <= moment:  # the moment is now: nothing after it yet
        return []
    query = f"{scope} status:error" if scope != "*" else "status:error"
    got = await gather(
        {
            "after": read_logs(client, query, moment, end, ERROR_LOGS),
            "before": read_logs(client, query, start, moment, ERROR_LOGS),
        }
    )
    found = await anyio.to_thread.run_sync(patterns.mine, got["after"][0])
    found = await anyio.to_thread.run_sync(patterns.compare, found, got["before"][0])
    return [
        {"time": p.first_seen, "source": "logs", "what": f"new error: {clip(p.template, 160)} ({p.count})"}
        for p in found
        if p.previous == 0
    ]


async def _new_error_types(
    client: DatadogClient, scope: str, start: int, moment: int, end: int
) -> list[dict[str, Any]]:
    """Error types of failing spans after the moment that no span had before it, at their first."""
    if end <= moment:
        return []
    query = f"{scope} status:error" if scope != "*" else "status:error"
    sides = {"after": (moment, end), "before": (start, moment)}
    got = await gather(
        {
            side: client.aggregate_spans(query, iso(begin), iso(finish), "count", None, [ERROR_TYPE], 20)
            for side, (begin, finish) in sides.items()
        }
    )
    seen = {
        side: {str(by.get(ERROR_TYPE)) for by, _ in aggregate_groups(payload)} - {"None"}
        for side, payload in got.items()
    }
    new = sorted(seen["after"] - seen["before"])[:SHOWN_TYPES]
    firsts = await gather({kind: first_time(client, f'{query} {ERROR_TYPE}:"{kind}"', moment, end) for kind in new})
    return [
        {"time": first, "source": "apm", "what": f"new error type in spans: {clip(kind, 160)}"}
        for kind, first in firsts.items()
        if first
    ]


async def first_time(client: DatadogClient, query: str, start: int, end: int) -> str | None:
    """When the first span matching `query` in the window started; None when none did."""
    payload = await client.search_spans(query, iso(start), iso(end), 1, None, "timestamp")
    spans = [s for s in payload.get("data") or [] if isinstance(s, dict)]
    first = (spans[0].get("attributes") or {}).get("start_timestamp") if spans else None
    return first if isinstance(first, str) else None


def event_change(item: dict[str, Any]) -> dict[str, Any]:
    outer = item.get("attributes") or {}
    inner = outer.get("attributes") or {}
    title = inner.get("title") or outer.get("message") or ""
    return {
        "time": outer.get("timestamp"),
        "source": inner.get("source_type_name") or "event",
        "what": clip(str(title), 160),
    }


TOOLS = (compare_metrics, log_patterns, what_changed)
