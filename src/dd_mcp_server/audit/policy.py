"""Policy: calls an organisation will not let the assistant make, refused before they run.

`DD_MCP_DENY_TOOLS` names tools; `DD_MCP_DENY_QUERY` holds regular expressions matched against
every text argument of a call (queries, filters, names, tags). A refused call answers a ToolError
naming the rule, so the model can tell a policy from a failure; with recording on, the refusal
and its rule are in the trail like any other call.
"""

from __future__ import annotations

import re
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, TextContent


class Policy:
    """A server middleware refusing the calls the deny rules name."""

    def __init__(self, tools: tuple[str, ...], queries: tuple[re.Pattern[str], ...]) -> None:
        self.tools, self.queries = frozenset(tools), queries

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params if isinstance(ctx.params, dict) else {}
        if ctx.method == "tools/call":
            reason = self.refusal(str(params.get("name")), params.get("arguments"))
            if reason:
                return CallToolResult(content=[TextContent(type="text", text=reason)], is_error=True)
        return await call_next(ctx)

    def refusal(self, tool: str, arguments: Any) -> str | None:
        """Why a policy refuses this call, naming the rule; None when none does."""
        if tool in self.tools:
            return f"Refused by policy: DD_MCP_DENY_TOOLS lists {tool}. Do not retry; use another tool or ask the user."
        for name, text in _texts(arguments):
            for rule in self.queries:
                if rule.search(text):
                    # The name is the caller's: quoted only when it is a plain name (never a key or odd text).
                    said = f"argument '{name}'" if re.fullmatch(r"[a-z_]{1,40}", name) else "an argument"
                    return (
                        f"Refused by policy: DD_MCP_DENY_QUERY rule {rule.pattern!r} matches {said}. "
                        "Do not retry it; ask the user, or search for something else."
                    )
        return None


def _texts(arguments: Any) -> list[tuple[str, str]]:
    """Every text argument, and every text in a list argument, with the argument's name."""
    found: list[tuple[str, str]] = []
    for name, value in (arguments or {}).items() if isinstance(arguments, dict) else ():
        values = value if isinstance(value, list) else [value]
        found.extend((str(name), item) for item in values if isinstance(item, str))
    return found
