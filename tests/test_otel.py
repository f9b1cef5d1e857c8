"""OpenTelemetry: a server span per MCP request (the SDK's) with a client span per Datadog request
inside it (ours), exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing secret in them."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import respx
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from dd_mcp_server.otel import configure_tracing
from tests.conftest import API_KEY, APP_KEY, BASE, clean_env, connect, console_script

MONITOR = "/api/v1/monitor/42"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process ends, in memory. The global provider can be set once per process."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    exporter.shutdown()  # the provider stays (it cannot be unset): later spans in this process are dropped


@pytest.mark.anyio
async def test_a_tool_call_is_a_server_span_holding_a_client_span_per_datadog_request(
    spans: InMemorySpanExporter,
) -> None:
    spans.clear()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).respond(200, json={"id": 42, "name": "disk"})
        async with connect() as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 42})
    assert not answer.is_error
    ended: tuple[ReadableSpan, ...] = spans.get_finished_spans()
    (call,) = [s for s in ended if s.name == "tools/call get_monitor"]
    (request,) = [s for s in ended if s.name == f"GET {MONITOR}"]
    assert call.kind == SpanKind.SERVER
    assert request.kind == SpanKind.CLIENT
    assert request.parent is not None
    assert request.parent.span_id == call.context.span_id
    assert dict(request.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": MONITOR,
        "server.address": "api.datadoghq.com",
        "http.response.status_code": 200,
    }
    every = json.dumps([dict(s.attributes or {}) for s in ended] + [s.name for s in ended])
    assert API_KEY not in every
    assert APP_KEY not in every


@pytest.mark.anyio
async def test_a_failed_datadog_request_is_an_error_span(spans: InMemorySpanExporter) -> None:
    spans.clear()
    with respx.mock(base_url=BASE) as mock:
        mock.get(MONITOR).respond(403, json={"errors": ["Forbidden"]})
        async with connect() as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 42})
    assert answer.is_error
    (request,) = [s for s in spans.get_finished_spans() if s.name == f"GET {MONITOR}"]
    assert request.status.status_code == trace.StatusCode.ERROR
    assert (request.attributes or {})["error.type"] == "403"


def test_no_endpoint_no_tracing() -> None:
    assert configure_tracing({}) is False
    assert (
        configure_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"})
        is False
    )


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP receiver on loopback: keeps every body posted to /v1/traces."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.bodies: list[bytes] = []


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/traces":
            self.server.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.stdio
def test_the_console_script_exports_its_spans_to_the_otlp_endpoint() -> None:
    collector = Collector()
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    lines = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_hosts", "arguments": {}}},
    ]
    env = clean_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_address[1]}", OTEL_SERVICE_NAME="mcp-test"
    )
    process = subprocess.Popen(
        [console_script(), "--demo"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        for line in lines:
            process.stdin.write(json.dumps(line).encode() + b"\n")
            process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in range(2)]
        process.stdin.close()
        process.wait(timeout=30)  # the exporter flushes at exit
    finally:
        process.kill()
        collector.shutdown()
    assert "error" not in answers[1]
    sent = b"".join(collector.bodies)
    assert b"tools/call list_hosts" in sent
    assert b"mcp-test" in sent
