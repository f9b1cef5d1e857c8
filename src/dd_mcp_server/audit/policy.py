"""Policy: calls an organisation will not let the assistant make, or makes only once a human agrees.

`DD_MCP_DENY_TOOLS` / `DD_MCP_ASK_TOOLS` name tools; `DD_MCP_DENY_QUERY` / `DD_MCP_ASK_QUERY` hold
regular expressions matched against every text argument of a call (queries, filters, names, tags).
A denied call answers a ToolError naming the rule, so the model can tell a policy from a failure.
An asked call waits for the user through MCP elicitation: the host shows the call and the user
accepts or declines. Clients on protocol 2026-07-28 or later are asked through an
`InputRequiredResult` (the client answers by calling again), older ones by an `elicitation/create`
request in the middle of the call; a client that cannot ask is refused, saying so. With recording
on, every decision is in the trail with the rule that made it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, ElicitRequest, ElicitRequestFormParams, InputRequiredResult, TextContent
from mcp_types.version import is_version_at_least

from dd_mcp_server.audit.records import masked
from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.common.text import clip

# The first protocol revision that asks through InputRequiredResult instead of a mid-call request.
INPUT_REQUIRED_VERSION = "2026-07-28"
# The key of the approval among a call's input requests and the client's responses.
APPROVAL = "dd_mcp_approval"
# Accept or decline, nothing to fill in.
NO_FIELDS: dict[str, Any] = {"type": "object", "properties": {}}
SHOWN_ARGUMENTS = 1000  # characters of the arguments the user is shown

# Writes a decision's record: the call's request id, its tool, the decision, the rule that made it.
Decide = Callable[[Any, str, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Rules:
    """One kind of rule (DD_MCP_DENY_* or DD_MCP_ASK_*): the tools it names, the patterns it matches."""

    prefix: str  # "DD_MCP_DENY" or "DD_MCP_ASK"
    tools: frozenset[str]
    queries: tuple[re.Pattern[str], ...]

    def match(self, tool: str, arguments: Any) -> str | None:
        """The rule this call meets, said for the model and the user; None when it meets none."""
        if tool in self.tools:
            return f"{self.prefix}_TOOLS lists {tool}"
        for name, text in _texts(arguments):
            for rule in self.queries:
                if rule.search(text):
                    # The name is the caller's: quoted only when it is a plain name (never a key or odd text).
                    said = f"argument '{name}'" if re.fullmatch(r"[a-z_]{1,40}", name) else "an argument"
                    return f"{self.prefix}_QUERY rule {rule.pattern!r} matches {said}"
        return None


class Policy:
    """A server middleware: refuses what the deny rules name, asks the user about what the ask rules name."""

    def __init__(self, deny: Rules, ask: Rules, redactor: Redactor, decide: Decide | None = None) -> None:
        self.deny, self.ask, self.redactor, self.decide = deny, ask, redactor, decide

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params if isinstance(ctx.params, dict) else {}
        if ctx.method != "tools/call":
            return await call_next(ctx)
        tool, arguments = str(params.get("name")), params.get("arguments")
        rule = self.deny.match(tool, arguments)
        if rule:
            await self.record(ctx, tool, "refused", rule)
            return refusal(f"Refused by policy: {rule}. Do not retry it; use another tool or ask the user.")
        rule = self.ask.match(tool, arguments)
        if rule:
            answer = await self.approval(ctx, params, tool, arguments, rule)
            if isinstance(answer, InputRequiredResult):
                await self.record(ctx, tool, "asked", rule)
                return answer
            await self.record(ctx, tool, answer, rule)
            if answer != "approved":
                return refusal(_REFUSALS[answer].format(rule=rule))
        return await call_next(ctx)

    async def approval(
        self, ctx: ServerRequestContext[Any, Any], params: dict[str, Any], tool: str, arguments: Any, rule: str
    ) -> str | InputRequiredResult:
        """'approved', 'declined' or 'cannot ask' (or, on the new protocol's first round, the question)."""
        question = self.question(tool, arguments, rule)
        elicitation = ctx.session.client_capabilities.elicitation if ctx.session.client_capabilities else None
        if elicitation is None or (elicitation.form is None and elicitation.url is not None):
            return "cannot ask"
        if is_version_at_least(ctx.protocol_version, INPUT_REQUIRED_VERSION):
            # An answer counts only with the state this server minted when it asked: the SDK seals that
            # state and binds it to this tool, these arguments and this caller, so an approval is never
            # forged without asking, nor carried to another call.
            responses = params.get("inputResponses")
            answer = responses.get(APPROVAL) if isinstance(responses, dict) else None
            if isinstance(answer, dict) and params.get("requestState") == APPROVAL:
                return _decision(answer.get("action"))
            request = ElicitRequest(params=ElicitRequestFormParams(message=question, requested_schema=NO_FIELDS))
            return InputRequiredResult(input_requests={APPROVAL: request}, request_state=APPROVAL)
        try:
            result = await ctx.session.elicit_form(question, NO_FIELDS, related_request_id=ctx.request_id)
        except Exception:  # the client failed to ask (no back channel, an error, it went away): no approval
            return "cannot ask"
        return _decision(result.action)

    def question(self, tool: str, arguments: Any, rule: str) -> str:
        """What the user reads: the call, its arguments masked like every answer, and the rule."""
        shown = masked(arguments if isinstance(arguments, dict) else {}, self.redactor)
        said = clip(json.dumps(shown, ensure_ascii=False, separators=(",", ":")), SHOWN_ARGUMENTS)
        return f"The assistant asks to call {tool} with {said}. A policy asks you first ({rule}). Allow this call?"

    async def record(self, ctx: ServerRequestContext[Any, Any], tool: str, decision: str, rule: str) -> None:
        if self.decide:
            await self.decide(ctx.request_id, tool, decision, rule)


_REFUSALS = {
    "declined": "The user declined this call ({rule}). Do not retry it; ask the user what they want instead.",
    "cannot ask": (
        "Refused by policy: {rule} needs the user's approval, and this client cannot ask for it (no form "
        "elicitation). Do not retry it; tell the user, who may run it elsewhere or change the rule."
    ),
}


def _decision(action: Any) -> str:
    return "approved" if action == "accept" else "declined"


def refusal(text: str) -> CallToolResult:
    """A tool call answered with an error the model reads, without running the tool."""
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _texts(arguments: Any) -> list[tuple[str, str]]:
    """Every text argument, and every text in a list argument, with the argument's name."""
    found: list[tuple[str, str]] = []
    for name, value in (arguments or {}).items() if isinstance(arguments, dict) else ():
        values = value if isinstance(value, list) else [value]
        found.extend((str(name), item) for item in values if isinstance(item, str))
    return found
