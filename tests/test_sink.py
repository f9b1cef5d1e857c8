"""The audit sink as the organisation relies on it: every trail record reaches its own Datadog Logs
intake in the shape the published spec gives, in batches within the intake's limits, exactly once
through transient faults; refusals and losses are said once on stderr, never with the key; and
neither a failing nor a hanging intake can hold up a call or the server's exit.

The intake is a real HTTP server on 127.0.0.1 that answers from a script; a mock transport stands
in where the test must hold a request open at an exact moment.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from dd_mcp_server.audit.chain import line
from dd_mcp_server.audit.sink import MAX_ITEM_BYTES, MAX_ITEMS, MAX_PAYLOAD_BYTES, LogsSink
from dd_mcp_server.config import ConfigError, load_settings
from tests.conftest import API_KEY, APP_KEY, make_settings
from tests.test_cli import session as stdio_session

KEY = "fakeintakekey0123456789abcdef0123"
PATH = "/api/v2/logs"
# HTTPLogItem's properties in Datadog's v2 spec (.generator/schemas/v2/openapi.yaml of
# DataDog/datadog-api-client-python); `message` is the one it requires.
HTTPLOG_ITEM_PROPERTIES = {"ddsource", "ddtags", "hostname", "message", "service"}
# Knobs that keep every wait in these tests to milliseconds.
FAST: dict[str, Any] = {"flush_seconds": 0.05, "retry_seconds": 0.01, "timeout": 5.0}


class Reply(NamedTuple):
    status: int
    headers: tuple[tuple[str, str], ...] = ()


DROP = Reply(-1)  # read the request, then close the connection without a word
HANG = Reply(-2)  # read the request, then answer nothing until the test ends
ACCEPTED = Reply(202)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    items: list[dict[str, Any]]
    reply: Reply
    at: float


@dataclass
class FakeIntake:
    """Answers requests from `script` in order, then `then` forever; keeps every request it read."""

    script: list[Reply] = field(default_factory=list)
    then: Reply = ACCEPTED
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    hung_up: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
        with self.lock:
            reply = self.script.pop(0) if self.script else self.then
            self.seen.append(Seen(method, path, headers, raw, json.loads(body), reply, time.monotonic()))
        return reply

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The items of every request answered 2xx, in arrival order."""
        return [item for seen in self.seen if 200 <= seen.reply.status < 300 for item in seen.items]

    def wait_for_requests(self, count: int) -> None:
        wait_until(lambda: len(self.seen) >= count)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"waited {seconds} s in vain"
        time.sleep(0.005)


def handler_for(intake: FakeIntake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = intake.record(self.command, self.path, headers, raw)
            if reply == HANG:
                self.wait_out()
            if reply.status < 0:
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def wait_out(self) -> None:
            """Answer nothing until the test ends, noting when the client hangs up first."""
            self.connection.settimeout(0.02)
            while not intake.release.is_set():
                try:
                    if not self.connection.recv(1):
                        intake.hung_up.set()
                        return
                except TimeoutError:
                    continue

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[FakeIntake], str]]:
    """Starts an intake on 127.0.0.1 and gives its URL; every intake is stopped after the test."""
    servers: list[tuple[ThreadingHTTPServer, FakeIntake]] = []

    def start(intake: FakeIntake) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(intake))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append((server, intake))
        return f"http://127.0.0.1:{server.server_address[1]}{PATH}"

    yield start
    for server, intake in servers:
        intake.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def sinks() -> Iterator[Callable[..., LogsSink]]:
    """Makes sinks with the fast knobs (overridable); any the test left open is closed after it."""
    made: list[LogsSink] = []

    def make(url: str, **knobs: Any) -> LogsSink:
        sink = LogsSink(url, KEY, **{**FAST, **knobs})
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close(timeout=0.5)


def record(n: int, **extra: Any) -> dict[str, Any]:
    """A record shaped like the trail's, `n` telling it apart."""
    return {"time": "2026-11-24T12:00:00.000Z", "event": "call", "session": "s1", "n": n, **extra, "prev": "0" * 64}


def numbers(items: list[dict[str, Any]]) -> list[int]:
    return [json.loads(item["message"])["n"] for item in items]


def sink_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dd_mcp_server.audit" and r.levelno >= logging.WARNING]


def test_a_record_is_posted_as_the_spec_gives_it(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake()
    sink = sinks(serve(intake), tags="env:test")
    sent = record(1, arguments={"query": "déjà vu ✓"}, hash="ab" * 32)
    sink.put(sent)
    sink.close(timeout=5)

    [seen] = intake.seen
    assert (seen.method, seen.path) == ("POST", PATH)  # no query string: the key never goes in a URL
    assert seen.headers["dd-api-key"] == KEY
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["content-encoding"] == "gzip"
    assert seen.raw[:2] == b"\x1f\x8b"
    [item] = seen.items
    assert set(item) == HTTPLOG_ITEM_PROPERTIES
    assert item["ddsource"] == "mcp-audit"
    assert item["service"] == "dd-mcp-server"
    assert item["hostname"] == socket.gethostname()
    assert item["ddtags"] == "env:test"
    assert json.loads(item["message"]) == sent
    assert item["message"].encode() + b"\n" == line(sent)  # the very line the trail wrote


def test_records_go_in_batches_of_at_most_1000_all_in_order(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake()
    sink = sinks(serve(intake), flush_seconds=30)  # only a full batch, or close, sends
    for n in range(2500):
        sink.put(record(n))
    sink.close(timeout=10)

    assert [len(seen.items) for seen in intake.seen] == [MAX_ITEMS, MAX_ITEMS, 500]
    assert numbers(intake.delivered) == list(range(2500))


def test_payloads_stay_within_the_intakes_bytes(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake()
    sink = sinks(serve(intake), flush_seconds=30)
    for n in range(30):  # 30 records of 400 kB: 12 MB, which no one payload may carry
        sink.put(record(n, text="x" * 400_000))
    sink.close(timeout=10)

    assert len(intake.seen) >= 3
    assert all(len(gzip.decompress(seen.raw)) <= MAX_PAYLOAD_BYTES for seen in intake.seen)
    assert numbers(intake.delivered) == list(range(30))


def test_transient_faults_lose_nothing_and_repeat_nothing(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = [
        Reply(429, (("Retry-After", "0"),)),
        Reply(500),
        Reply(503),
        DROP,
        Reply(408),
        Reply(502),
        DROP,
        Reply(503),
    ]
    intake = FakeIntake(script=list(faults))
    sink = sinks(serve(intake), batch_records=50, retry_seconds=0.001)
    for n in range(300):
        sink.put(record(n))
    sink.close(timeout=15)

    assert [seen.reply for seen in intake.seen[: len(faults)]] == faults
    assert numbers(intake.delivered) == list(range(300))
    warnings = sink_warnings(caplog)
    # Once per kind: 429, 500, 503, 408, 502, and the dropped connections (one or two exception types).
    assert 6 <= len(warnings) == len(set(warnings)) <= 7
    assert not any(KEY in r.getMessage() or KEY in str(r.args) for r in caplog.records)


def test_put_never_waits_for_a_failing_intake(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake(script=[HANG, Reply(503), Reply(503), DROP])
    sink = sinks(serve(intake), queue_records=20_000)
    sink.put(record(0))
    intake.wait_for_requests(1)  # the intake now holds the first batch and answers nothing

    started = time.monotonic()
    for n in range(1, 10_000):
        sink.put(record(n))
    assert time.monotonic() - started < 2.0

    intake.release.set()
    sink.close(timeout=15)
    assert numbers(intake.delivered) == list(range(10_000))


def test_retry_after_is_honoured(serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]) -> None:
    intake = FakeIntake(script=[Reply(429, (("Retry-After", "0.5"),))])
    sink = sinks(serve(intake), retry_seconds=0.001)  # backoff alone would retry within milliseconds
    sink.put(record(0))
    intake.wait_for_requests(2)
    sink.close(timeout=5)

    assert intake.seen[1].at - intake.seen[0].at >= 0.45
    assert numbers(intake.delivered) == [0]


@pytest.mark.parametrize("sent", ["before close", "by close"])
def test_close_returns_in_time_from_a_hanging_intake(
    sent: str, serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink], caplog: pytest.LogCaptureFixture
) -> None:
    intake = FakeIntake(then=HANG)
    sink = sinks(serve(intake), timeout=30, flush_seconds=0.05 if sent == "before close" else 30)
    sink.put(record(0))
    if sent == "before close":
        intake.wait_for_requests(1)

    started = time.monotonic()
    sink.close(timeout=1)
    assert time.monotonic() - started < 1.5
    assert any("1 audit records were not shipped" in message for message in sink_warnings(caplog))
    if sent == "by close":  # a request sent during close gives up at its deadline, not 30 s later
        assert intake.hung_up.wait(1)


def test_close_cuts_a_long_backoff_short_and_tries_once_more(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake(script=[Reply(503)])
    sink = sinks(serve(intake), retry_seconds=30)
    sink.put(record(0))
    intake.wait_for_requests(1)

    started = time.monotonic()
    sink.close(timeout=2)
    assert time.monotonic() - started < 1.5  # delivered on the retry close() triggered, long before 2 s
    assert numbers(intake.delivered) == [0]


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_a_refused_payload_is_lost_and_said_once_without_the_key(
    status: int,
    serve: Callable[[FakeIntake], str],
    sinks: Callable[..., LogsSink],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    intake = FakeIntake(then=Reply(status))
    sink = sinks(serve(intake), batch_records=1)
    for n in range(3):
        sink.put(record(n))
    sink.close(timeout=5)

    assert numbers([item for seen in intake.seen for item in seen.items]) == [0, 1, 2]  # each sent once, none retried
    [warning] = sink_warnings(caplog)
    assert f"refused 1 audit records ({status} " in warning
    assert not any(KEY in r.getMessage() or KEY in str(r.args) for r in caplog.records)
    assert capsys.readouterr().out == ""


def test_a_payload_too_large_is_split_in_halves(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake(script=[Reply(413)])
    sink = sinks(serve(intake), flush_seconds=30)
    for n in range(10):
        sink.put(record(n))
    sink.close(timeout=5)

    assert [len(seen.items) for seen in intake.seen] == [10, 5, 5]
    assert numbers(intake.delivered) == list(range(10))


def test_a_record_too_large_for_one_log_becomes_a_stub_naming_its_hash(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink], caplog: pytest.LogCaptureFixture
) -> None:
    intake = FakeIntake()
    sink = sinks(serve(intake))
    huge = record(1, response="x" * MAX_ITEM_BYTES, hash="cd" * 32)
    for sent in (record(0), huge, record(2)):
        sink.put(sent)
    sink.close(timeout=5)

    first, stub, last = (json.loads(item["message"]) for item in intake.delivered)
    assert (first["n"], last["n"]) == (0, 2)
    assert stub["event"] == "sink_stub"
    assert stub["record"] == {"time": huge["time"], "event": "call", "session": "s1", "hash": "cd" * 32}
    assert stub["bytes"] > MAX_ITEM_BYTES
    assert all(len(json.dumps(item).encode()) <= MAX_ITEM_BYTES for item in intake.delivered)
    assert len(sink_warnings(caplog)) == 1


def test_a_record_json_cannot_write_becomes_a_stub(
    serve: Callable[[FakeIntake], str], sinks: Callable[..., LogsSink]
) -> None:
    intake = FakeIntake()
    sink = sinks(serve(intake))
    sink.put(record(0, odd={1, 2}, hash="ef" * 32))
    sink.close(timeout=5)

    [stub] = (json.loads(item["message"]) for item in intake.delivered)
    assert stub["event"] == "sink_stub"
    assert stub["reason"] == "not JSON (TypeError)"
    assert stub["record"]["hash"] == "ef" * 32


class HeldIntake:
    """An intake (a mock transport) that holds the first request until let go, so the queue fills meanwhile."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.letting_go = threading.Event()
        self.bodies: list[list[dict[str, Any]]] = []
        self.transport = httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if not self.bodies:
            self.holding.set()
            self.letting_go.wait(5)
        self.bodies.append(json.loads(gzip.decompress(request.content)))
        return httpx.Response(202, json={})

    def sink(self, **knobs: Any) -> LogsSink:
        """A sink taking one record per batch, its first record held in flight."""
        sink = LogsSink(
            "https://intake.invalid" + PATH, KEY, transport=self.transport, batch_records=1, **FAST, **knobs
        )
        sink.put(record(0))
        assert self.holding.wait(5)
        return sink

    def messages(self) -> list[Any]:
        """What arrived: each record's number, or the whole message for the sink's own records."""
        shipped = [json.loads(item["message"]) for body in self.bodies for item in body]
        return [message.get("n", message) for message in shipped]


def test_a_full_queue_is_counted_by_a_gap_record_where_the_loss_was(caplog: pytest.LogCaptureFixture) -> None:
    intake = HeldIntake()
    sink = intake.sink(queue_records=5)
    try:
        for n in range(1, 9):
            sink.put(record(n))  # the queue takes 1 to 5; 6, 7 and 8 find it full
        intake.letting_go.set()
        wait_until(lambda: len(intake.bodies) >= 7)  # room returned: the gap was queued with no other put
        sink.put(record(9))
    finally:
        sink.close(timeout=5)

    assert intake.messages() == [0, 1, 2, 3, 4, 5, {"event": "sink_gap", "lost": 3}, 9]
    assert len(sink_warnings(caplog)) == 1


def test_a_record_over_the_queues_bytes_is_counted_before_what_follows() -> None:
    intake = HeldIntake()
    sink = intake.sink(queue_bytes=20_000)
    try:
        sink.put(record(1, text="x" * 30_000))  # more than the whole queue may hold
        sink.put(record(2))  # fits, but only behind the gap record counting 1
        intake.letting_go.set()
    finally:
        sink.close(timeout=5)

    assert intake.messages() == [0, {"event": "sink_gap", "lost": 1}, 2]


# -- the server's own trail, shipped (DD_MCP_AUDIT_SINK) ----------------------------------------------


@pytest.mark.stdio
def test_a_session_ships_every_trail_record_to_the_intake_through_a_failure(
    serve: Callable[[FakeIntake], str], tmp_path: Path
) -> None:
    intake = FakeIntake(script=[Reply(503)])
    path = tmp_path / "trail.jsonl"
    env = {
        "DD_API_KEY": API_KEY,
        "DD_APP_KEY": APP_KEY,
        "DD_MCP_AUDIT_LOG": str(path),
        "DD_MCP_AUDIT_SINK": "datadog-logs",
        "DD_MCP_AUDIT_INTAKE_URL": serve(intake),
    }
    answers, stderr = stdio_session(env=env)
    assert "result" in answers[1]
    lines = path.read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["chain", "session_start", "session_end"]
    assert [item["message"] for item in intake.delivered] == lines  # each line exactly, after one 503
    assert intake.seen[0].reply.status == 503
    assert {seen.headers["dd-api-key"] for seen in intake.seen} == {API_KEY}
    assert {(item["service"], item["ddsource"]) for item in intake.delivered} == {("dd-mcp-server", "mcp-audit")}
    assert API_KEY not in stderr


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DD_MCP_AUDIT_SINK": "splunk", "DD_MCP_AUDIT_LOG": "t"}, "the one sink is datadog-logs"),
        ({"DD_MCP_AUDIT_SINK": "datadog-logs"}, "set DD_MCP_AUDIT_LOG too"),
        (
            {"DD_MCP_AUDIT_SINK": "datadog-logs", "DD_MCP_AUDIT_LOG": "t", "DD_MCP_AUDIT_INTAKE_URL": "http://x.org"},
            "DD_MCP_AUDIT_INTAKE_URL='http://x.org' must be an https:// URL",
        ),
    ],
)
def test_a_sink_that_cannot_work_is_refused_naming_the_variable(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        make_settings(**env)


@pytest.mark.parametrize(
    ("site", "intake"),
    [
        ("datadoghq.com", "https://http-intake.logs.datadoghq.com/api/v2/logs"),
        ("us3.datadoghq.com", "https://http-intake.logs.us3.datadoghq.com/api/v2/logs"),
        ("datadoghq.eu", "https://http-intake.logs.datadoghq.eu/api/v2/logs"),
        ("ddog-gov.com", "https://http-intake.logs.ddog-gov.com/api/v2/logs"),
    ],
)
def test_the_sink_sends_to_the_sites_own_logs_intake(site: str, intake: str) -> None:
    settings = make_settings(DD_SITE=site, DD_MCP_AUDIT_LOG="t", DD_MCP_AUDIT_SINK="datadog-logs")
    assert settings.audit_sink == intake


def test_the_demo_has_no_intake_to_ship_to() -> None:
    with pytest.raises(ConfigError, match="the demo organisation has no Logs intake"):
        load_settings({"DD_MCP_AUDIT_LOG": "t", "DD_MCP_AUDIT_SINK": "datadog-logs"}, demo=True)
