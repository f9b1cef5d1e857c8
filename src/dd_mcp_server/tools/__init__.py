"""The toolsets: one module per product area, each exporting its tool functions as TOOLS."""

from __future__ import annotations

from dd_mcp_server.tools import dashboards, hosts, logs, metrics, monitors
from dd_mcp_server.tools.base import ToolFunction

TOOLSETS: dict[str, tuple[ToolFunction, ...]] = {
    "metrics": metrics.TOOLS,
    "logs": logs.TOOLS,
    "monitors": monitors.TOOLS,
    "dashboards": dashboards.TOOLS,
    "hosts": hosts.TOOLS,
}
