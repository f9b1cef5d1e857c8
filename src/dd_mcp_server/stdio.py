"""Serving over stdio: this project's own line transport in front of the SDK's server loop.

The SDK's `stdio_server` cannot be configured for what a server facing any client needs, and
offers no hook to add it, so this module replaces it and feeds the SDK's `lowlevel.run` the same
two streams. What it adds:

- Every line gets its answer. The SDK drops a line it cannot parse; it takes a request whose id
  is an object, an array, a boolean or `1e400` for a notification and never answers it; and it
  answers a request nested deeper than its parser reads (about 200 levels) with a null id, so the
  caller's request never gets its answer. Here: -32700 for text that is not JSON, -32600 for
  JSON that is not a valid message, with the request's own id whenever it can be read.
- A line longer than MAX_LINE is skipped to its newline without being held whole (the SDK
  buffers it without bound) and answered with -32600.
- Writing never kills the process: text that cannot be encoded (a lone UTF-16 surrogate) is
  replaced, an answer that cannot be serialised becomes an error for its id, and a client that
  goes away (stdout closed, stdin at EOF) ends the session quietly.

Kept from the SDK: stdout carries nothing but JSON-RPC (fd 0 and 1 point elsewhere while serving,
Python's `sys.stdout` goes to `sys.stderr`), and the wire is UTF-8 whatever the locale.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp.server.mcpserver import MCPServer
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

log = logging.getLogger(__name__)

MAX_LINE = 4 * 1024 * 1024
CHUNK = 64 * 1024

RequestId = str | int


class TooLong:
    """What `Lines.read` returns for a line longer than its limit: nothing of it is kept."""


TOO_LONG = TooLong()


def error(code: int, message: str, request_id: RequestId | None = None) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


NOT_JSON = "Parse error: the line is not valid JSON"
NOT_A_MESSAGE = "Invalid Request: the line is JSON but not a JSON-RPC 2.0 message"
BAD_ID = "Invalid Request: a request id must be a string or an integer"
TOO_DEEP = "Invalid Request: the message is nested too deeply to read; send a flatter value"
LINE_TOO_LONG = f"Invalid Request: the line exceeded {MAX_LINE // (1024 * 1024)} MiB and was skipped"


# Reading -----------------------------------------------------------------------------------------


class Lines:
    """The lines of a byte stream, read in chunks; a line longer than `limit` is never held whole.

    Once a line passes `limit`, what was kept of it is dropped and the rest is skipped up to its
    newline, so memory stays within `limit` plus one chunk whatever the client sends.
    """

    def __init__(self, fd: int, limit: int = MAX_LINE) -> None:
        self.fd = fd
        self.limit = limit
        self.buffer = b""
        self.offset = 0

    def read(self) -> bytes | TooLong | None:
        """The next line without its newline, TOO_LONG, or None at the end of the stream."""
        parts: list[bytes] = []
        size = 0
        while True:
            if self.offset >= len(self.buffer) and not self._fill():
                return None if size == 0 else self._line(parts, size)
            end = self.buffer.find(b"\n", self.offset)
            stop = len(self.buffer) if end < 0 else end
            size += stop - self.offset
            if size <= self.limit:
                parts.append(self.buffer[self.offset : stop])
            else:
                parts.clear()
            self.offset = stop + 1 if end >= 0 else stop
            if end >= 0:
                return self._line(parts, size)

    def _fill(self) -> bool:
        """Read the next chunk; False at the end of the stream (a read error ends it too)."""
        try:
            self.buffer = os.read(self.fd, CHUNK)
        except OSError:
            self.buffer = b""
        self.offset = 0
        return bool(self.buffer)

    def _line(self, parts: list[bytes], size: int) -> bytes | TooLong:
        return TOO_LONG if size > self.limit else b"".join(parts)


def read_message(line: bytes) -> SessionMessage | JSONRPCError:
    """The message on one line, or the error that answers it.

    The SDK's own parser reads almost every line; what it refuses, and every notification (a
    request with an unusable id passes as one), is read again by `read_carefully`.
    """
    text = line.decode("utf-8", "replace")
    with suppress(ValidationError):
        message = jsonrpc_message_adapter.validate_json(text, by_name=False)
        if not isinstance(message, JSONRPCNotification):
            return SessionMessage(message)
    return read_carefully(text)


def read_carefully(text: str) -> SessionMessage | JSONRPCError:
    """Python's JSON parser reads what the SDK's refuses (lone surrogates, depth up to ~1000).

    Like the SDK's parser it reads NaN and Infinity: the tools refuse them as arguments.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        return error(INVALID_REQUEST, TOO_DEEP, top_level_id(text))
    except ValueError:
        return error(PARSE_ERROR, NOT_JSON)
    if isinstance(value, dict) and "method" in value and "id" in value and not is_request_id(value["id"]):
        return error(INVALID_REQUEST, BAD_ID)
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_python(value, by_name=False))
    except ValidationError:
        own = value.get("id") if isinstance(value, dict) and "method" in value else None
        return error(INVALID_REQUEST, NOT_A_MESSAGE, own if is_request_id(own) else None)


def is_request_id(value: object) -> bool:
    """JSON-RPC ids this server answers to: strings and integers (a boolean is not an integer)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


# A JSON token after optional whitespace: a string, a structural character, or a bare literal.
_TOKEN = re.compile(r'\s*("[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+)', re.DOTALL)
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,30})")


def top_level_id(text: str) -> RequestId | None:
    """The id of the request in `text` when no parser can read it whole (it is nested too deeply).

    A linear scan with a depth counter and no recursion. Answers only for an object with a
    top-level "method" (a response's id is never answered) and a string or integer "id".
    """
    if not text.lstrip().startswith("{"):
        return None
    depth, key, expect_key = 0, None, False
    found: dict[str, str] = {}
    position = 0
    while "id" not in found or "method" not in found:
        match = _TOKEN.match(text, position)
        if match is None:
            break
        token, position = match.group(1), match.end()
        if depth == 1 and expect_key and token.startswith('"'):
            key, expect_key = token, False
            continue
        if depth == 1 and token == ",":
            expect_key = True
            continue
        if depth == 1 and key is not None and token != ":":
            found.setdefault(_string(key) or "", token)
            key = None
        if token in ("{", "["):
            depth += 1
            expect_key = depth == 1 and token == "{"
        elif token in ("}", "]"):
            depth -= 1
            if depth <= 0:
                break
    return _scalar_id(found["id"]) if "id" in found and "method" in found else None


def _string(token: str) -> str | None:
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _scalar_id(token: str) -> RequestId | None:
    if token.startswith('"'):
        return _string(token)
    return int(token) if _INTEGER.fullmatch(token) else None


# Writing -----------------------------------------------------------------------------------------


def encode(message: JSONRPCMessage) -> bytes:
    """One line of UTF-8 for `message`, whatever it holds.

    Text that cannot be encoded (a lone surrogate) is replaced by U+FFFD. An answer that cannot be
    serialised at all (nested too deeply) becomes an internal error for its id; any other message
    that cannot is not sent (b"").
    """
    with suppress(ValueError):
        return message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
    try:
        value = message.model_dump(mode="json", by_alias=True, exclude_unset=True)
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        if not isinstance(message, JSONRPCResponse):
            log.warning("a %s could not be serialised and was not sent", type(message).__name__)
            return b""
        log.warning("the answer to request %r could not be serialised; answering an error instead", message.id)
        text = error(INTERNAL_ERROR, "Internal error: the answer could not be serialised", message.id).model_dump_json()
    replaced = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return replaced.encode() + b"\n"


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# The wire ----------------------------------------------------------------------------------------


@dataclass
class Wire:
    """The client's end of stdin and stdout, held on private descriptors while serving."""

    stdin: int
    stdout: int
    gone: bool = False  # stdout failed: the client went away


@contextmanager
def claimed_stdio() -> Iterator[Wire]:
    """Serve on private copies of fd 0 and 1 while fd 0 reads /dev/null and fd 1 writes to stderr.

    A handler, a library or a child process that reads stdin or prints can then never touch the
    wire; Python's own prints go to `sys.stderr`, where logs go. On the way out fd 1 points at the
    wire again, or at /dev/null when the client has gone, so nothing at interpreter exit writes
    to a broken pipe. The private stdin is never closed: the reader thread may still block on it.
    """
    sys.stdout.flush()
    wire = Wire(stdin=os.dup(0), stdout=os.dup(1))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        yield wire
    finally:
        sys.stdout = saved
        with suppress(OSError, ValueError):
            saved.flush()  # still to stderr: fd 1 is not restored yet
        os.dup2(null if wire.gone else wire.stdout, 1)
        os.dup2(wire.stdin, 0)
        os.close(wire.stdout)
        os.close(null)


# Serving -----------------------------------------------------------------------------------------

# Hands one line's outcome to the session: a message, the answer to a line that is not one, or None at the end.
Deliver = Callable[[SessionMessage | JSONRPCError | None], Awaitable[None]]


async def serve_stdio(server: MCPServer[Any]) -> None:
    """MCPServer.run_stdio_async on this module's transport (the SDK offers no hook for it)."""
    lowlevel = server._lowlevel_server
    options = lowlevel.create_initialization_options()
    with claimed_stdio() as wire:
        incoming, read_stream = create_context_streams[SessionMessage | Exception](0)
        write_stream, outgoing = anyio.create_memory_object_stream[SessionMessage](0)
        answers = write_stream.clone()  # the reader's own answers to lines that are not messages

        async def deliver(item: SessionMessage | JSONRPCError | None) -> None:
            if item is None:
                incoming.close()
            elif isinstance(item, SessionMessage):
                await incoming.send(item)
            else:
                await answers.send(SessionMessage(item))

        async with BlockingPortal() as portal:
            async with anyio.create_task_group() as group:
                group.start_soon(write_lines, outgoing, wire, group.cancel_scope.cancel)
                threading.Thread(target=pump, args=(Lines(wire.stdin), portal, deliver), daemon=True).start()
                async with answers:
                    await lowlevel.run(read_stream, write_stream, options)
            await portal.stop(cancel_remaining=True)


def pump(lines: Lines, portal: BlockingPortal, deliver: Deliver) -> None:
    """The reader thread: each line's message or answer into the session, then None at the end.

    A daemon thread, not an anyio worker: it blocks reading stdin, and when the session ends for
    another reason (stdout closed) the process must exit without waiting for it. Once the session
    is over, delivering fails and the thread ends.
    """
    with suppress(RuntimeError, CancelledError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        while (line := lines.read()) is not None:
            portal.call(
                deliver, read_message(line) if isinstance(line, bytes) else error(INVALID_REQUEST, LINE_TOO_LONG)
            )
        portal.call(deliver, None)


async def write_lines(
    outgoing: MemoryObjectReceiveStream[SessionMessage], wire: Wire, stop: Callable[[], None]
) -> None:
    """Write each message as one line; when stdout fails the client has gone: end the session."""
    async with outgoing:
        async for session_message in outgoing:
            try:
                await anyio.to_thread.run_sync(write_all, wire.stdout, encode(session_message.message))
            except OSError as failure:
                log.debug("stdout failed (%s): the client has gone", failure)
                wire.gone = True
                stop()
                return
