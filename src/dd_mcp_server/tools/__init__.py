"""The toolsets: one module per product area, each exporting its tool functions as TOOLS."""

from __future__ import annotations

from dd_mcp_server.tools import (
    apm,
    dashboards,
    downtimes,
    events,
    hosts,
    incidents,
    investigations,
    logs,
    metrics,
    monitors,
    notebooks,
    rum,
    slos,
    synthetics,
    triage,
)
from dd_mcp_server.tools.results import ToolFunction

TOOLSETS: dict[str, tuple[ToolFunction, ...]] = {
    "metrics": metrics.TOOLS,
    "logs": logs.TOOLS,
    "monitors": monitors.TOOLS,
    "dashboards": dashboards.TOOLS,
    "hosts": hosts.TOOLS,
    "events": events.TOOLS,
    "incidents": incidents.TOOLS,
    "apm": apm.TOOLS,
    "synthetics": synthetics.TOOLS,
    "rum": rum.TOOLS,
    "slos": slos.TOOLS,
    "downtimes": downtimes.TOOLS,
    "notebooks": notebooks.TOOLS,
    "investigations": (*investigations.TOOLS, *triage.TOOLS),
}
