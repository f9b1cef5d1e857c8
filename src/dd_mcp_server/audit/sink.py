"""Ships every audit record to the organisation's own Datadog Logs intake (DD_MCP_AUDIT_SINK=datadog-logs).

The trail file stays the record of truth; this copy is the one an auditor finds next to the
organisation's other logs, beyond the reach of whoever controls this host. Each record becomes one
log whose message is the very line the trail wrote, so Datadog parses it into attributes and the
chain (`prev`, `hash`) can still be checked from there.

Shipping must never slow or break a call: `put` only queues; a daemon thread batches, gzips and
posts, and retries what the intake calls transient (408, 429, 5xx, network faults) with the batch
kept, until it is accepted or `close` runs out of time. Nothing goes missing unsaid: records a full
queue turns away are counted by a `sink_gap` record, a record too large for one log (or not JSON)
is replaced by a `sink_stub` record naming its hash, and a payload the intake refuses (400, 401,
403, or 413 for a single record) is reported once on stderr. Reports name a status or an exception
type, never a header, so never the key.

The limits are those Datadog publishes for POST /api/v2/logs (schemas HTTPLog and HTTPLogItem).
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import httpx

from dd_mcp_server import __version__
from dd_mcp_server.audit.chain import encode

log = logging.getLogger("dd_mcp_server.audit")

# The intake's limits per request: entries in the array, uncompressed bytes of the payload and of
# one log. "5MB" and "1MB" are read as decimal, the smaller reading. Datadog would accept a longer
# log but cut it, leaving a message that no longer parses: it is replaced by a stub instead.
MAX_ITEMS = 1000
MAX_PAYLOAD_BYTES = 5_000_000
MAX_ITEM_BYTES = 1_000_000
# The longest wait between two attempts, whether the intake announced it (Retry-After) or not.
MAX_WAIT = 60.0
# An answer (202 carries "{}") is read up to this, so the connection is kept for the next batch.
ANSWER_BYTES = 64 * 1024
# Statuses the spec says to retry after some time; every 5xx is treated alike.
RETRY_STATUSES = frozenset({408, 429})
# Payloads are mostly repeated JSON keys: level 6 compresses them nearly as well as 9, much faster.
GZIP_LEVEL = 6
STUB_KEYS = ("time", "event", "session", "hash")
HINTS = {
    400: "Datadog found the payload malformed",
    401: "DD_API_KEY is missing or invalid",
    403: "DD_API_KEY may not send logs, or belongs to another site",
    413: "a single record is larger than the intake accepts",
}


class Entry(NamedTuple):
    """One log item, encoded as it is sent, and how many trail records are lost if it is."""

    data: bytes
    records: int


class LogsSink:
    """Ships audit records to Datadog's Logs intake in the background; `put` never blocks or raises.

    `url` is the full intake URL (https://http-intake.logs.<site>/api/v2/logs). The client takes
    only `proxy` as its proxy, never one from the environment, and follows no redirect, so the key
    goes nowhere else. A bad `url` or `proxy` raises here, when the server starts.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        service: str = "dd-mcp-server",
        source: str = "mcp-audit",
        hostname: str | None = None,
        tags: str | None = None,
        proxy: str | None = None,
        transport: httpx.BaseTransport | None = None,
        batch_records: int = MAX_ITEMS,
        flush_seconds: float = 2.0,
        queue_records: int = 10_000,
        queue_bytes: int = 64 * 1024 * 1024,
        retry_seconds: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._fields = {"ddsource": source, "service": service, "hostname": hostname or socket.gethostname()}
        if tags:
            self._fields["ddtags"] = tags
        self._batch = max(1, min(batch_records, MAX_ITEMS))
        self._flush = flush_seconds
        self._max_records = queue_records
        self._max_bytes = queue_bytes
        self._retry = retry_seconds
        self._timeout = timeout
        self._client = httpx.Client(
            headers={
                "DD-API-KEY": api_key,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"dd-mcp-server/{__version__}",
            },
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(proxy=proxy),
            follow_redirects=False,
        )
        self._cond = threading.Condition()
        self._queue: deque[Entry] = deque()
        self._queued_bytes = 0
        self._pending = 0  # records queued or in flight, neither delivered nor refused yet
        self._lost = 0  # records turned away and not yet counted by a queued gap record
        self._closing = False
        self._deadline: float | None = None
        self._wake = threading.Event()
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dd-mcp-audit-sink", daemon=True)
        self._thread.start()

    def put(self, record: Mapping[str, Any]) -> None:
        """Queue one record; if the queue is full (or closed) it is counted for the next gap record."""
        entry = self._entry(record)
        with self._cond:
            queued = not self._closing and self._admit(entry)
            if not queued:
                self._lost += 1
        if not queued:
            self._warn_once(
                "dropped",
                "audit sink: the queue to Datadog Logs is full or closed; records are dropped and a sink_gap "
                "record will count them (the trail file keeps them all)",
            )

    def close(self, timeout: float = 5.0) -> None:
        """Ship what is queued within `timeout` seconds, then stop; anything left is reported once."""
        with self._cond:
            self._closing = True
            if self._deadline is None:
                self._deadline = time.monotonic() + timeout
            deadline = self._deadline
            self._cond.notify_all()
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            unshipped = self._pending + self._lost
        if unshipped:
            self._warn_once(
                "exit",
                "audit sink: %d audit records were not shipped to Datadog Logs before exit (the trail file keeps them)",
                unshipped,
            )

    # -- the caller's side: encoding and queueing ---------------------------------------------------

    def _entry(self, record: Mapping[str, Any]) -> Entry:
        """The record as one log item: its trail line as the message, or a stub if that cannot be sent."""
        try:
            message = encode(record).decode()
        except (TypeError, ValueError, RecursionError) as exc:
            return self._stub(record, f"not JSON ({type(exc).__name__})", 0)
        data = self._item(message)
        if len(data) > MAX_ITEM_BYTES:
            return self._stub(record, f"larger than Datadog's {MAX_ITEM_BYTES} bytes per log", len(data))
        return Entry(data, 1)

    def _stub(self, record: Mapping[str, Any], reason: str, size: int) -> Entry:
        """A short log standing for a record that cannot be shipped whole: why, and which one (its hash)."""
        self._warn_once(
            "stub", "audit sink: a record could not be shipped whole (%s); a sink_stub record names its hash", reason
        )
        named = {key: value for key in STUB_KEYS if isinstance(value := record.get(key), str)}
        stub = {"event": "sink_stub", "reason": reason, "bytes": size, "record": named}
        return Entry(self._item(encode(stub).decode()), 1)

    def _item(self, message: str) -> bytes:
        return encode({**self._fields, "message": message})

    def _admit(self, entry: Entry) -> bool:
        """Under the lock: queue the gap record of earlier losses if any, then the entry, each if it fits.

        Nothing is queued while a loss is uncounted, so the gap record sits exactly where the loss was.
        """
        if self._lost:
            self._push_gap()
        if self._lost or not self._fits(entry):
            return False
        self._push(entry)
        return True

    def _push_gap(self) -> None:
        """Under the lock: a record counting those turned away, if it fits (else the next put or take retries)."""
        gap = Entry(self._item(encode({"event": "sink_gap", "lost": self._lost}).decode()), self._lost)
        if self._fits(gap):
            self._push(gap)
            self._lost = 0

    def _fits(self, entry: Entry) -> bool:
        return len(self._queue) < self._max_records and self._queued_bytes + len(entry.data) <= self._max_bytes

    def _push(self, entry: Entry) -> None:
        """Queue the entry; wake the thread when a batch starts (its flush clock) or fills."""
        self._queue.append(entry)
        self._queued_bytes += len(entry.data)
        self._pending += entry.records
        if len(self._queue) == 1 or len(self._queue) >= self._batch:
            self._cond.notify()

    # -- the thread's side: batching and sending ----------------------------------------------------

    def _run(self) -> None:
        """The thread: batches until close; should it ever fail, later records count as lost, not queue up."""
        try:
            with self._client:
                while (batch := self._take()) is not None:
                    if not all(self._ship(run) for run in payloads(batch)):
                        return
        except Exception as exc:  # a bug must not leave puts filling a queue nothing drains
            with self._cond:
                self._closing = True
            self._warn_once("stopped", "audit sink: stopped shipping to Datadog Logs (%s)", type(exc).__name__)

    def _take(self) -> list[Entry] | None:
        """The next batch, once batch_records wait or flush_seconds have passed; None when there is no more.

        There is no more once closing with an empty queue, or once close's time is up.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing)
            self._cond.wait_for(lambda: len(self._queue) >= self._batch or self._closing, self._flush)
            if not self._queue or self._expired():
                return None
            batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            self._queued_bytes -= sum(len(entry.data) for entry in batch)
            if self._lost:  # room has just returned, perhaps with no put to come
                self._push_gap()
            return batch

    def _ship(self, entries: list[Entry]) -> bool:
        """POST one payload until the intake accepts or refuses it; False if close's time ran out first."""
        body = gzip.compress(payload(entries), compresslevel=GZIP_LEVEL)
        attempt = 0
        while True:
            status, wait = self._send(body, attempt)
            if status is not None:
                return self._settle(entries, status)
            if not self._pause(wait):
                return False
            attempt += 1

    def _send(self, body: bytes, attempt: int) -> tuple[int | None, float]:
        """One POST: the status that ends the tries, or None and how long to wait before the next one.

        Only the answer's status and Retry-After matter; its body is read only to reuse the connection.
        """
        try:
            with self._client.stream("POST", self._url, content=body, timeout=self._request_timeout()) as response:
                status, announced = response.status_code, retry_after(response.headers)
                drain(response)
        except httpx.TransportError as exc:
            reason = type(exc).__name__
            self._warn_once(
                reason, "audit sink: Datadog Logs intake unreachable (%s); retrying, records are kept", reason
            )
            return None, self._backoff(attempt)
        if status not in RETRY_STATUSES and status < 500:
            return status, 0.0
        self._warn_once(str(status), "audit sink: Datadog Logs intake answered %d; retrying, records are kept", status)
        wait = self._backoff(attempt)
        if status == 429 and announced is not None:  # never sooner than announced, nor in a loop on "0"
            wait = min(max(announced, wait), MAX_WAIT)
        return None, wait

    def _settle(self, entries: list[Entry], status: int) -> bool:
        """Account for a final answer: delivered, split in halves (413), or refused and reported."""
        if status == 413 and len(entries) > 1:
            half = len(entries) // 2
            return self._ship(entries[:half]) and self._ship(entries[half:])
        records = sum(entry.records for entry in entries)
        with self._cond:
            self._pending -= records
        if not 200 <= status < 300:
            self._warn_once(
                f"refused {status}",
                "audit sink: Datadog Logs intake refused %d audit records (%d %s: %s); they are not retried",
                records,
                status,
                httpx.codes.get_reason_phrase(status),
                HINTS.get(status, "an answer the intake does not document"),
            )
        return True

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: retry_seconds * 2^attempt, capped, scaled by a random 0.5-1.0."""
        return min(MAX_WAIT, self._retry * 2.0 ** min(attempt, 32)) * random.uniform(0.5, 1.0)

    def _pause(self, seconds: float) -> bool:
        """Wait before a retry, no later than close's deadline; False once that has passed.

        close() cuts a long wait short so the batch gets one more try in the time it allows.
        """
        left = self._left()
        if self._wake.wait(seconds if left is None else min(seconds, max(0.0, left))):
            self._wake.clear()
        return not self._expired()

    def _request_timeout(self) -> float:
        """The configured timeout, cut to what close() leaves, so a hung intake cannot hold the exit."""
        left = self._left()
        return self._timeout if left is None else max(0.01, min(self._timeout, left))

    def _left(self) -> float | None:
        deadline = self._deadline
        return None if deadline is None else deadline - time.monotonic()

    def _expired(self) -> bool:
        left = self._left()
        return left is not None and left <= 0

    def _warn_once(self, kind: str, message: str, *args: object) -> None:
        """One stderr line per kind of failure for the life of the sink, so an outage cannot flood it."""
        with self._warn_lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        log.warning(message, *args)


def payloads(entries: list[Entry]) -> Iterator[list[Entry]]:
    """The entries in runs whose JSON array stays within the intake's bytes per payload."""
    run: list[Entry] = []
    size = 2  # the brackets; each item counts one byte more for its comma
    for entry in entries:
        if run and size + len(entry.data) + 1 > MAX_PAYLOAD_BYTES:
            yield run
            run, size = [], 2
        run.append(entry)
        size += len(entry.data) + 1
    if run:
        yield run


def payload(entries: list[Entry]) -> bytes:
    """The HTTPLog body: a JSON array of the already encoded items."""
    return b"[" + b",".join(entry.data for entry in entries) + b"]"


def drain(response: httpx.Response) -> None:
    """Read a short answer to its end so the connection can carry the next batch; a long one is dropped.

    The status is already known: failing to read what follows it changes nothing.
    """
    with contextlib.suppress(httpx.HTTPError, httpx.StreamError):
        read = 0
        for chunk in response.iter_bytes():
            read += len(chunk)
            if read > ANSWER_BYTES:
                return


def retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds; None when absent or an HTTP date (backoff then decides)."""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None
