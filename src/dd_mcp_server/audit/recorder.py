"""One session's recording, as a server middleware: every `tools/call` is recorded, refused ones
too, with the Datadog requests it made; the first call writes the session's start.

Recording never blocks or breaks a call: appends run in a worker thread, and the trail itself
never raises (a write that fails is reported once on stderr and shows as a gap).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, InputRequiredResult

from dd_mcp_server.audit import records
from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.config import Settings
from dd_mcp_server.services.datadog import call_requests

if TYPE_CHECKING:
    from dd_mcp_server.audit.trail import Trail


class Recorder:
    def __init__(self, trail: Trail, settings: Settings, redactor: Redactor) -> None:
        self.trail, self.settings, self.redactor = trail, settings, redactor
        self.session = secrets.token_hex(8)
        self.calls = 0
        self.started = False

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params if isinstance(ctx.params, dict) else {}
        if ctx.method != "tools/call":
            return await call_next(ctx)
        await self.start(_client(ctx))
        started = time.monotonic()
        requests: list[dict[str, Any]] = []
        token = call_requests.set(requests)
        try:
            result = await call_next(ctx)
        finally:
            call_requests.reset(token)
        if isinstance(result, InputRequiredResult):  # not answered yet: the client is asking its user
            return result
        arguments = params.get("arguments")
        await self.call(
            str(params.get("name")),
            ctx.request_id,
            arguments if isinstance(arguments, dict) else {},
            *_answer(result),
            time.monotonic() - started,
            requests,
        )
        return result

    async def start(self, client: dict[str, Any] | None) -> None:
        """The session's first record, written before its first call: the client has said who it is
        (`initialize` itself does not pass through the server's middleware)."""
        if not self.started:
            self.started = True
            await self._append(records.session_start(self.session, self.settings, client))

    async def call(
        self,
        tool: str,
        request_id: str | int | None,
        arguments: dict[str, Any],
        text: str,
        error: bool,
        seconds: float,
        requests: list[dict[str, Any]],
    ) -> None:
        self.calls += 1
        record = records.call(
            session=self.session,
            request_id=request_id,
            tool=tool,
            arguments=arguments,
            redactor=self.redactor,
            text=text,
            error=error,
            seconds=seconds,
            requests=requests,
            full=self.settings.audit_responses,
            caller=_caller(),
        )
        await self._append(record)

    async def decision(self, request_id: str | int | None, tool: str, decided: str, rule: str) -> None:
        """A policy's decision, written before the call's own record."""
        await self._append(records.decision(self.session, request_id, tool, decided, rule))

    def end(self) -> None:
        """The session's last record (written at shutdown, when no call is waiting); a session that
        made no call still has its start."""
        if not self.started:
            self.started = True
            self.trail.append(records.session_start(self.session, self.settings, None))
        self.trail.append(records.session_end(self.session, self.calls))

    async def _append(self, record: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(self.trail.append, record)


def _caller() -> str | None:
    """Who made the call over HTTP: the identity its bearer token proved (None under stdio)."""
    token = get_access_token()
    if token is None:
        return None
    from dd_mcp_server.auth import identity_of  # HTTP only: no token under stdio

    return identity_of(token)


def _client(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any] | None:
    """The client's name and version, as `initialize` gave them."""
    params = ctx.session.client_params
    info = params.client_info if params else None
    return {"name": info.name, "version": info.version} if info else None


def _answer(result: Any) -> tuple[str, bool]:
    """The text the model reads in a call's answer, and whether it is an error: the answer comes as
    the handler's wire form (a dict) or, refused before the handler, as a CallToolResult."""
    if isinstance(result, CallToolResult):
        result = result.model_dump(by_alias=True, mode="json")
    content = result.get("content") if isinstance(result, dict) else None
    text = "".join(block.get("text", "") for block in content or [] if isinstance(block, dict))
    return text, isinstance(result, dict) and bool(result.get("isError"))
