"""Serving over stdio: the SDK's transport, plus an answer to lines that are not JSON-RPC.

The SDK drops a line it cannot parse without a word, so a client that sent it waits forever.
JSON-RPC 2.0 asks for an error with a null id instead: -32700 for text that is not JSON, -32600
for JSON that is not a JSON-RPC message. Everything else is the SDK's own stdio server.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError


def unreadable(error: Exception) -> ErrorData:
    """The JSON-RPC error for a line the transport could not read as a message."""
    kinds = {e.get("type") for e in error.errors()} if isinstance(error, ValidationError) else set()
    if "json_invalid" in kinds:
        return ErrorData(code=PARSE_ERROR, message="Parse error: the line is not valid JSON")
    return ErrorData(code=INVALID_REQUEST, message="Invalid Request: the line is JSON but not a JSON-RPC 2.0 message")


class AnswerUnreadable:
    """A read stream that answers unreadable lines on `write` and passes every message on."""

    def __init__(self, inner: Any, write: Any) -> None:
        self.inner = inner
        self.write = write

    async def receive(self) -> SessionMessage:
        while True:
            item = await self.inner.receive()
            if not isinstance(item, Exception):
                return item  # type: ignore[no-any-return]
            answer = JSONRPCError(jsonrpc="2.0", id=None, error=unreadable(item))
            await self.write.send(SessionMessage(answer))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __aiter__(self) -> AnswerUnreadable:
        return self

    async def __anext__(self) -> SessionMessage:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnswerUnreadable:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()


async def serve_stdio(server: MCPServer[Any]) -> None:
    """MCPServer.run_stdio_async with the read stream wrapped (the SDK offers no public hook for it)."""
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        options = lowlevel.create_initialization_options()
        await lowlevel.run(AnswerUnreadable(read_stream, write_stream), write_stream, options)
