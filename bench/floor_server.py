"""The floor bench/overhead.py measures this server against: a bare MCPServer over the SDK's stdio.

Not a benchmark of its own. Run: .venv/bin/python bench/floor_server.py [URL]
Without URL it serves one trivial tool, `echo` (the start-up floor). With URL it serves `fetch`
instead, which GETs URL (a path appended) through one shared httpx client and returns the body's
length: a tool call that makes one HTTP request, with nothing of this project in between.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

# WARNING as dd-mcp-server sets it: at the SDK's default, INFO, every request is logged to stderr.
server = MCPServer("floor", log_level="WARNING")

if len(sys.argv) > 1:
    import httpx  # only here: the start-up floor imports nothing but the SDK

    http = httpx.AsyncClient(base_url=sys.argv[1], timeout=30)

    @server.tool()
    async def fetch(path: str) -> str:
        """GET one path of the fake Datadog."""
        response = await http.get(path)
        return str(len(response.content))

else:

    @server.tool()
    def echo(text: str) -> str:
        """Say `text` back."""
        return text


if __name__ == "__main__":
    server.run()
