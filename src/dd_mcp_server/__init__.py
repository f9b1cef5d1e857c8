"""dd-mcp-server: a read-only MCP server for investigating a Datadog organisation."""

__version__ = "0.1.0"
