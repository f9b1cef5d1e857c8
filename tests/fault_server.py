"""A fake Datadog on 127.0.0.1 that answers each request with the next planned behaviour.

Used by the tests that run the real console script over stdio (through DD_API_URL): it records
every request it receives and can fail in the ways a real API or proxy fails.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def answer(status: int, payload: Any, **headers: str) -> Behaviour:
    """A JSON answer."""
    return lambda h: send(h, status, json.dumps(payload).encode(), "application/json", **headers)


def raw(status: int, body: bytes, content_type: str = "text/plain") -> Behaviour:
    """Any body with any content type: HTML error pages, text, nothing at all."""
    return lambda h: send(h, status, body, content_type)


def hang(seconds: float) -> Behaviour:
    """Read the request, then say nothing for `seconds` before answering."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        send(handler, 200, b"{}", "application/json")

    return behave


def reset_mid_body() -> Behaviour:
    """Promise a body, send part of it, then reset the connection."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(b'{"data": [')
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True

    return behave


def trickle(body: bytes, every: float) -> Behaviour:
    """Send the body one byte at a time, `every` seconds apart: no read ever times out."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client gave up, as it should

    return behave


def chunked(chunks: Callable[[], Iterator[bytes]], **headers: str) -> Behaviour:
    """A chunked body of unannounced length, from a fresh `chunks()`, until it ends or the client hangs up."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.close_connection = True
        try:
            for chunk in chunks():
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading, as it should

    return behave


def gzip_bomb(decoded_bytes: int) -> Callable[[], Iterator[bytes]]:
    """Gzip of `decoded_bytes` zeros, about a thousand times smaller, produced as it is sent."""
    block = 16 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
        first = squeezer.compress(b"\0" * block)
        yield first
        # Deflating more zeros from the same state gives the same bytes every time: compute them once.
        repeat = squeezer.compress(b"\0" * block)
        for _ in range(decoded_bytes // block - 1):
            yield repeat

    return chunks


def endless() -> Iterator[bytes]:
    """A JSON array that never closes."""
    yield b"["
    while True:
        yield b'{"id": "x", "attributes": {"message": "again"}},' * 1000


@dataclass
class FaultServer:
    """Plays `plan` in order, one behaviour per request, then `default` for every later request."""

    default: Behaviour
    plan: list[Behaviour] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_behaviour(self, request: Received) -> Behaviour:
        with self.lock:
            self.received.append(request)
            return self.plan.pop(0) if self.plan else self.default

    def expect(self, *behaviours: Behaviour) -> None:
        """Plan the next answers and forget what was received before."""
        with self.lock:
            self.plan = list(behaviours)
            self.received = []


@contextmanager
def serving(default: Behaviour) -> Iterator[FaultServer]:
    """A FaultServer listening on an ephemeral port of 127.0.0.1 for the duration of the block."""
    fault = FaultServer(default=default)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Received(self.command, self.path, dict(self.headers.items()), body)
            fault.next_behaviour(request)(self)

        do_GET = do_POST = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    fault.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fault
    finally:
        httpd.shutdown()
        httpd.server_close()
