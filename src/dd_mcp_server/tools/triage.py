"""Triage: a service's state in one answer, the picture an on-call engineer assembles first.

Each section is read concurrently and stands alone: one that fails says why in its place and the
others still answer. The window is compared with the one just before it, of the same length, so
"p95 1.9 s" comes with "was 120 ms". The answer ends with the calls worth making next.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common import changes, patterns
from dd_mcp_server.common.budget import fit_budget
from dd_mcp_server.common.series import significant
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.services.datadog import DatadogClient, DatadogError
from dd_mcp_server.tools.apm import schema_of
from dd_mcp_server.tools.base import TAG_VALUE, End, Group, Start, aggregate_groups, datadog, gather, now, window
from dd_mcp_server.tools.incidents import field_value
from dd_mcp_server.tools.investigations import change_row, event_change, first_time, read_logs
from dd_mcp_server.tools.metrics import series_of
from dd_mcp_server.tools.results import narrow

NARROW = "a section's own tool (get_monitors, aggregate_spans, log_patterns, get_events)"
ANSWER_CHARS = 6000  # the picture, not the data: each section's own tool has the rest
MIN_ALERT_WINDOW = 15 * 60
WORST = ("Alert", "Warn", "No Data")
# `avg(last_5m):avg:system.cpu.user{*} by {host} > 90`: the time aggregation, the query, the condition.
METRIC_MONITOR = re.compile(r"^\s*\w+\(last_\w+\):(?P<query>.+?)\s*(?P<condition>(?:>=|<=|>|<|==|!=)\s*-?[\d.]+)\s*$")
SHOWN = 5  # monitors, resources, patterns, versions, events, incidents: the few that matter most
ERROR_SAMPLE = 500  # error logs mined for patterns, per window
NS_PER_MS = 1e6
FIGURES = (("pc50", "p50"), ("pc95", "p95"), ("pc99", "p99"))  # Datadog's name, the one shown
Section = Callable[[], Awaitable[Any]]

ServiceName = Annotated[str, Field(min_length=1, max_length=200, pattern=TAG_VALUE, description="Service name")]
Env = Annotated[str | None, Field(max_length=200, pattern=TAG_VALUE, description="env tag value")]


@narrow(NARROW)
async def triage_service(
    ctx: Context, service: ServiceName, env: Env = None, start: Start = None, end: End = None
) -> dict[str, Any]:
    """A service's health in one answer: alerts, traffic, errors, changes, incidents, next calls.
    Example: service='checkout', env='prod'
    """
    start_s, end_s = window(ctx, start, end)
    scope = f"service:{service}" + (f" env:{env}" if env else "")
    triage = Triage(datadog(ctx), service, scope, start_s, end_s)
    answers = await answered(
        {
            "alerting": triage.alerting,
            "traffic": triage.traffic,
            "errors": triage.errors,
            "changes": triage.changes,
            "context": triage.context,
        }
    )
    result: dict[str, Any] = {
        "service": service,
        "window": windows_said(start_s, end_s),
        **answers,
    }
    result["next"] = suggestions(service, scope, result)
    return fit_budget(said(result), ANSWER_CHARS, hint=NARROW)


@narrow(NARROW)
async def triage_monitor(
    ctx: Context, monitor_id: Annotated[int, Field(ge=1, description="Monitor id")]
) -> dict[str, Any]:
    """Why a monitor alerts: its query now vs before per group, events, its service's triage.
    Example: monitor_id=1234567
    """
    client, clock = datadog(ctx), int(now(ctx))
    monitor = await client.get_monitor(monitor_id)
    groups = _alerting_groups(monitor)
    # The alert window: since the earliest alerting group fired (15 minutes at least), and as long before.
    triggered = [g["since"] for g in groups if isinstance(g.get("since"), int | float)]
    start = int(min([*triggered, clock - MIN_ALERT_WINDOW]))
    tags = [str(t) for t in monitor.get("tags") or []]
    service = next((t.removeprefix("service:") for t in tags if t.startswith("service:")), None)
    triage = Triage(client, service or "", f"service:{service}" if service else "*", start, clock)
    sections: dict[str, Section] = {"why": lambda: _why(client, str(monitor.get("query") or ""), groups, start, clock)}
    if service:  # its events are among the changes
        sections.update(traffic=triage.traffic, errors=triage.errors, changes=triage.changes)
    else:
        name = monitor.get("name")
        sections["events"] = lambda: _events(client, f'"{name}"' if name else "*", start, clock)
    answers = await answered(sections)
    result: dict[str, Any] = {
        "monitor": {
            "id": monitor.get("id"),
            "name": monitor.get("name"),
            "state": monitor.get("overall_state"),
            "query": monitor.get("query"),
            "message": clip(str(monitor.get("message") or "").strip().split("\n", 1)[0], 160),
        },
        "groups": [{**g, "since": iso(g["since"])} if g.get("since") else g for g in groups[:SHOWN]],
        "window": windows_said(start, clock),
        **answers,
    }
    result["next"] = (
        suggestions(service, triage.scope, result) if service else [f"get_monitor(monitor_id={monitor_id})"]
    )
    return fit_budget(said(result), ANSWER_CHARS, hint=NARROW)


async def answered(sections: dict[str, Section]) -> dict[str, Any]:
    """Every section read at once; one that fails holds why, and the others still answer."""
    answers: dict[str, Any] = {}

    async def run(name: str, section: Section) -> None:
        try:
            answers[name] = await section()
        except DatadogError as exc:
            answers[name] = {"unavailable": str(exc)}
        except Exception as exc:  # an answer of another shape than Datadog documents: said, not raised
            answers[name] = {"unavailable": f"Datadog's answer was not of the documented shape ({type(exc).__name__})"}

    async with anyio.create_task_group() as group:
        for name, section in sections.items():
            group.start_soon(run, name, section)
    return {name: answers[name] for name in sections}


def _alerting_groups(monitor: dict[str, Any]) -> list[dict[str, Any]]:
    """The groups in Alert, Warn or No Data, the worst first, with when each last fired."""
    groups = ((monitor.get("state") or {}).get("groups") or {}).items()
    found = [
        {"group": str(name), "status": g.get("status"), "since": g.get("last_triggered_ts") or g.get("last_nodata_ts")}
        for name, g in groups
        if isinstance(g, dict) and g.get("status") in WORST
    ]
    return sorted(found, key=lambda g: (WORST.index(g["status"]), g["group"]))


async def _why(client: DatadogClient, query: str, groups: list[dict[str, Any]], start: int, end: int) -> Any:
    """A metric monitor's query over the alert window and the window before, for its alerting groups."""
    found = METRIC_MONITOR.match(query)
    if not found:
        return "not a metric monitor: its query is not one the metrics API runs; see its events and sections"
    metric_query = found.group("query")
    span = end - start
    got = await gather(
        {
            "now": client.query_metrics(metric_query, start, end),
            "before": client.query_metrics(metric_query, start - span, start),
        }
    )
    rows = [change_row(c) for c in changes.compare(series_of(got["now"]), series_of(got["before"]), across=True)]
    alerting = {g["group"] for g in groups}
    chosen = [r for r in rows if r["series"] in alerting] or rows
    return chosen[:SHOWN]


async def _events(client: DatadogClient, query: str, start: int, end: int) -> list[dict[str, Any]]:
    payload = await client.list_events(query, (2 * start - end) * 1000, end * 1000, SHOWN * 2, None)
    return [event_change(e) for e in payload.get("data") or [] if isinstance(e, dict)]


class Triage:
    """The sections of one service's triage, each a few Datadog requests made at once."""

    def __init__(self, client: DatadogClient, service: str, scope: str, start: int, end: int) -> None:
        self.client, self.service, self.scope = client, service, scope
        self.windows = {"now": (start, end), "before": (2 * start - end, start)}

    async def alerting(self) -> list[dict[str, Any]]:
        """Monitors tagged for the service that are in Alert, Warn or No Data, with the groups that are."""
        found = await self.client.list_monitors(None, None, f"service:{self.service}", "alert,warn,no data", 0, 100)
        firing = [m for m in found if isinstance(m, dict) and m.get("overall_state") in WORST]
        firing.sort(key=lambda m: WORST.index(m["overall_state"]))
        return [_monitor(m) for m in firing[:SHOWN]]

    async def traffic(self) -> dict[str, Any]:
        """Requests, error rate and latency now and before, and the resources that changed most."""
        reads = {
            (window, part): self._spans(window, part)
            for window in self.windows
            for part in ("all", "errors", "resources", "resource errors")
        }
        got = await gather(reads)
        totals = {w: _figures(got[(w, "all")], got[(w, "errors")]) for w in self.windows}
        resources = _resources({w: (got[(w, "resources")], got[(w, "resource errors")]) for w in self.windows})
        return {"now": totals["now"], "before": totals["before"], "resources": resources[:SHOWN]}

    async def _spans(self, window: str, part: str) -> list[Group]:
        start, end = self.windows[window]
        query = self.scope + (" status:error" if "errors" in part else "")
        group_by = ["resource_name"] if "resource" in part else []
        also = [(name, "@duration") for name, _ in FIGURES] if part in ("all", "resources") else []
        return aggregate_groups(
            await self.client.aggregate_spans(query, iso(start), iso(end), "count", None, group_by, 20, also)
        )

    async def errors(self) -> dict[str, Any]:
        """Error logs now and before, and their patterns: the new ones first."""
        query = f"{self.scope} status:error"
        reads = {w: read_logs(self.client, query, start, end, ERROR_SAMPLE) for w, (start, end) in self.windows.items()}
        got = await gather(reads)
        (now, total), (before, total_before) = got["now"], got["before"]
        found = await anyio.to_thread.run_sync(patterns.mine, now)
        found = await anyio.to_thread.run_sync(patterns.compare, found, before)
        found.sort(key=lambda p: (p.previous != 0, -p.count))
        shown = [
            {
                "template": p.template,
                "count": p.count,
                "before": p.previous,
                "first_seen": p.first_seen,
                "example": clip(p.example, 200),
            }
            for p in found[:SHOWN]
        ]
        return {"now": total, "before": total_before, "patterns": shown}

    async def changes(self) -> dict[str, Any]:
        """Versions running in the window, when each was first seen, and the service's events."""
        start, end = self.windows["before"][0], self.windows["now"][1]
        got = await gather(
            {
                "versions": self.client.aggregate_spans(
                    self.scope, iso(start), iso(end), "count", None, ["version"], SHOWN
                ),
                "events": self.client.list_events(self.scope, start * 1000, end * 1000, SHOWN * 4, None),
            }
        )
        versions, events = got["versions"], got["events"]
        names = [str(by.get("version")) for by, _ in aggregate_groups(versions)]
        names = [name for name in names if name not in ("None", "")]
        first = await gather(
            {name: first_time(self.client, f"{self.scope} version:{name}", start, end) for name in names}
        )
        return {
            "versions": [
                {"version": name, "first_seen": first[name]} for name in sorted(names, key=lambda n: first[n] or "")
            ],
            "events": [event_change(e) for e in (events.get("data") or [])[: SHOWN * 2] if isinstance(e, dict)],
        }

    async def context(self) -> dict[str, Any]:
        """Open incidents that name the service, and the service's catalog entry."""
        got = await gather(
            {
                "incidents": self.client.search_incidents("state:(active OR stable)", 50, 0),
                "catalog": self.client.list_service_definitions(100, 0),
            }
        )
        incidents, catalog = got["incidents"], got["catalog"]
        found = ((incidents.get("data") or {}).get("attributes") or {}).get("incidents") or []
        naming = [
            _incident(data)
            for data in (wrapper.get("data") for wrapper in found if isinstance(wrapper, dict))
            if isinstance(data, dict) and self.service in _services(data)
        ]
        schemas = [schema_of(item) for item in catalog.get("data") or [] if isinstance(item, dict)]
        entry = next((schema for schema in schemas if schema.get("dd-service") == self.service), None)
        return {"incidents": naming[:SHOWN], "catalog": _entry(entry) if entry else "not in the service catalog"}


def _monitor(monitor: dict[str, Any]) -> dict[str, Any]:
    groups = ((monitor.get("state") or {}).get("groups") or {}).items()
    firing = [name for name, g in groups if isinstance(g, dict) and g.get("status") in WORST]
    return {
        "id": monitor.get("id"),
        "name": monitor.get("name"),
        "state": monitor.get("overall_state"),
        "groups": firing[:SHOWN],
    }


def _figures(everything: list[Group], errors: list[Group]) -> dict[str, Any]:
    """Requests, errors, error rate and latency percentiles (ms) of one window."""
    computes = everything[0][1] if everything else {}
    requests = computes.get("c0") or 0
    failed = errors[0][1].get("c0") or 0 if errors else 0
    figures: dict[str, Any] = {"requests": requests, "errors": failed, "error_rate": _rate(failed, requests)}
    for n, (_, shown) in enumerate(FIGURES, start=1):
        figures[f"{shown}_ms"] = _ms(computes.get(f"c{n}"))
    return figures


def _resources(windows: dict[str, tuple[list[Group], list[Group]]]) -> list[dict[str, Any]]:
    """Each resource's p95 and error rate now and before, the largest change first."""
    table: dict[str, dict[str, Any]] = {}
    for side, (figures, errors) in windows.items():
        failed = {str(by.get("resource_name")): computes.get("c0") or 0 for by, computes in errors}
        for by, computes in figures:
            name = str(by.get("resource_name"))
            row = table.setdefault(name, {"resource": name})
            row[f"p95_ms_{side}"] = _ms(computes.get("c2"))
            row[f"error_rate_{side}"] = _rate(failed.get(name, 0), computes.get("c0") or 0)
    return sorted(table.values(), key=_change, reverse=True)


def _change(row: dict[str, Any]) -> float:
    """How much a resource moved: its p95's ratio, or its error rate's rise in points, whichever is larger."""
    now, before = row.get("p95_ms_now") or 0, row.get("p95_ms_before") or 0
    latency = now / before if before else (2.0 if now else 0.0)
    errors = (row.get("error_rate_now") or 0) - (row.get("error_rate_before") or 0)
    return max(latency - 1, errors / 10)


def _rate(failed: Any, requests: Any) -> float:
    """Errors in percent of requests, one decimal."""
    return round(100 * failed / requests, 1) if isinstance(requests, int | float) and requests else 0.0


def _ms(nanoseconds: Any) -> float | None:
    return significant(nanoseconds / NS_PER_MS) if isinstance(nanoseconds, int | float) else None


def _services(incident: dict[str, Any]) -> list[str]:
    value = field_value(incident.get("attributes") or {}, "services")
    return [str(v) for v in value] if isinstance(value, list) else []


def _incident(incident: dict[str, Any]) -> dict[str, Any]:
    attributes = incident.get("attributes") or {}
    keys = ("public_id", "title", "severity", "state", "created")
    return {"id": incident.get("id"), **{k: attributes.get(k) for k in keys}}


def windows_said(start: int, end: int) -> str:
    return f"{iso(start)} to {iso(end)}, against {iso(2 * start - end)} to {iso(start)}"


def said(triage: dict[str, Any]) -> dict[str, Any]:
    """A triage's rows and figures as one line each: shorter than their keys, and cut, not dropped,
    when the answer must be smaller still (the smallest budget is 1,000 characters)."""
    if isinstance(triage.get("alerting"), list):
        triage["alerting"] = [_monitor_said(m) for m in _listed(triage["alerting"])]
    if isinstance(triage.get("groups"), list):
        triage["groups"] = [
            f"{g['group']}: {g['status']}" + (f" since {g['since']}" if g.get("since") else "")
            for g in triage["groups"]
        ]
    if isinstance(triage.get("events"), list):
        triage["events"] = [f"{e['time']} {e['what']}" for e in _listed(triage["events"])]
    errors = _section(triage, "errors")
    if "patterns" in errors:
        errors["patterns"] = [_pattern_said(p) for p in errors["patterns"]]
    changes = _section(triage, "changes")
    if "versions" in changes:
        changes["versions"] = [f"{v['version']} first seen {v['first_seen']}" for v in changes["versions"]]
        changes["events"] = [f"{e['time']} {e['what']}" for e in changes["events"]]
    traffic = _section(triage, "traffic")
    if "now" in traffic:
        traffic["now"], traffic["before"] = _window_said(traffic["now"]), _window_said(traffic["before"])
        traffic["resources"] = [_resource_said(row) for row in traffic["resources"]]
    if isinstance(triage.get("why"), list):
        triage["why"] = [_series_said(row) for row in _listed(triage["why"])]
    context = _section(triage, "context")
    if "incidents" in context:
        context["incidents"] = [
            f"{i['title']} ({i['severity']}, {i['state']}, created {i['created']}; incident_id {i['id']})"
            for i in context["incidents"]
        ]
    if isinstance(context.get("catalog"), dict):
        catalog = context["catalog"]
        owner = ", ".join(f"{key} {catalog[key]}" for key in ("team", "tier") if catalog.get(key))
        reach = [f"{key}: {' '.join(map(str, catalog[key]))}" for key in ("contacts", "links") if catalog[key]]
        context["catalog"] = "; ".join([owner or "no team", *reach])
    return triage


def _window_said(figures: dict[str, Any]) -> str:
    latency = [f"{shown} {figures[f'{shown}_ms']} ms" for _, shown in FIGURES if figures[f"{shown}_ms"] is not None]
    return ", ".join(
        [f"{figures['requests']} requests, {figures['errors']} errors ({figures['error_rate']}%)", *latency]
    )


def _monitor_said(monitor: dict[str, Any]) -> str:
    groups = f" in {', '.join(monitor['groups'])}" if monitor.get("groups") else ""
    return f"{monitor['id']} {monitor['name']}: {monitor['state']}{groups}"


def _pattern_said(pattern: dict[str, Any]) -> str:
    return (
        f"{pattern['template']}: {pattern['count']} (before {pattern['before']}), first {pattern['first_seen']}; "
        f"e.g. {pattern['example']}"
    )


def _series_said(row: dict[str, Any]) -> str:
    """'host:web-1: mean 95 (before 40, +138%), p95 ..., max ..., shifted at T from 41 to 95'."""
    now, before, change = row["now"], row["before"], row["change"]
    parts = [
        f"{key} {now[key] if isinstance(now, dict) else '-'} "
        f"(before {before[key] if isinstance(before, dict) else '-'}, {change[key] or 'n/a'})"
        for key in ("mean", "p95", "max")
    ]
    shift = row.get("shift")
    if shift:
        parts.append(f"shifted at {shift['at']} from {shift['from']} to {shift['to']}")
    return f"{row['series']}: " + ", ".join(parts)


def _resource_said(row: dict[str, Any]) -> str:
    p95 = f"p95 {row.get('p95_ms_now')} ms (before {row.get('p95_ms_before')})" if row.get("p95_ms_now") else ""
    errors = f"errors {row.get('error_rate_now')}% (before {row.get('error_rate_before', 0.0)}%)"
    return f"{row['resource']}: " + ", ".join(part for part in (p95, errors) if part)


def _entry(schema: dict[str, Any]) -> dict[str, Any]:
    """Who owns the service and how to reach them."""
    contacts = [c.get("contact") for c in schema.get("contacts") or [] if isinstance(c, dict)]
    links = [link.get("url") for link in schema.get("links") or [] if isinstance(link, dict)]
    return {"team": schema.get("team"), "tier": schema.get("tier"), "contacts": contacts, "links": links[:SHOWN]}


def suggestions(service: str, scope: str, triage: dict[str, Any]) -> list[str]:
    """The calls worth making next, from what looks wrong, most telling first."""
    calls: list[str] = []
    for monitor in _listed(triage.get("alerting")):
        calls.append(f"get_monitor(monitor_id={monitor['id']})")
    errors = _section(triage, "errors")
    if any(p.get("before") == 0 for p in errors.get("patterns") or []):  # a new kind of error
        calls.append(f"search_logs(query='{scope} status:error', limit=20)")
    traffic = _section(triage, "traffic")
    for row in (traffic.get("resources") or [])[:1]:
        if _change(row) > 0.5:
            calls.append(f"list_spans(query='{scope} resource_name:\"{row['resource']}\" status:error')")
    changes = _section(triage, "changes")
    if len(changes.get("versions") or []) > 1:
        calls.append(f"compare_metrics(query='avg:trace.http.request.duration{{service:{service}}} by {{version}}')")
    context = _section(triage, "context")
    for incident in _listed(context.get("incidents")):
        calls.append(f"get_incident(incident_id='{incident['id']}')")
    return calls or [f"nothing looks wrong with {service} in this window: widen it, or triage a neighbour"]


def _section(triage: dict[str, Any], name: str) -> dict[str, Any]:
    """A section that answered (one that failed holds only why)."""
    section = triage.get(name)
    return section if isinstance(section, dict) else {}


def _listed(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


TOOLS = (triage_service, triage_monitor)
