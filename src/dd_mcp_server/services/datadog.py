"""The only code that speaks HTTP to Datadog.

One `DatadogClient` per server process wraps one `httpx.AsyncClient`. Each public method is one
published endpoint: it names the path, sends the parameters under the names Datadog's spec gives
them, and returns the decoded JSON. Every failure (HTTP status, timeout, connection, a body that is
not JSON) becomes a `DatadogError` whose message tells the model what happened and what to do.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import anyio
import anyio.to_thread
import httpx
from opentelemetry.trace import SpanKind, StatusCode, get_tracer

from dd_mcp_server import __version__
from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.common.text import clean_text, clip, map_json
from dd_mcp_server.config import Settings

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | bool | None]


class DatadogError(Exception):
    """A Datadog call failed; the message is written for the model and never contains a key.

    `status` is Datadog's HTTP status (None when no answer came) and `scope` the one the request
    needed, so a caller (the doctor) can tell a rejected key from a missing scope without parsing text.
    """

    def __init__(self, message: str, *, status: int | None = None, scope: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.scope = scope


class DatadogClient:
    """Datadog's REST API, one method per endpoint this server reads."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        api_key_only: bool = False,
    ) -> None:
        """`api_key_only` sends no DD-APPLICATION-KEY: for the doctor's GET /api/v1/validate on a site
        the keys may not belong to, which needs the API key alone.
        """
        # Errors name where the request went: the site, or the DD_API_URL override when one is set.
        default_url = f"https://api.{settings.site}"
        self.site = settings.site if settings.base_url == default_url else settings.base_url
        self._retry = retry or RetryPolicy()
        self._max_bytes = settings.max_response_bytes
        # Everything Datadog answers is masked as it arrives, before any code can cut it.
        self.redactor = Redactor((settings.api_key, settings.app_key), detect=settings.redact)
        headers = {
            "DD-API-KEY": settings.api_key,
            "DD-APPLICATION-KEY": settings.app_key,
            "User-Agent": f"dd-mcp-server/{__version__}",
            "Accept": "application/json",
        }
        if api_key_only:
            del headers["DD-APPLICATION-KEY"]
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            headers=headers,
            timeout=settings.timeout,
            # An explicit transport: httpx would otherwise pick proxies from the environment itself,
            # plain-http loopback URLs included. settings.proxy is the one proxy that may be used.
            transport=transport or httpx.AsyncHTTPTransport(proxy=settings.proxy, limits=LIMITS),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- keys --------------------------------------------------------------------------------------

    async def validate(self) -> Validation:
        """GET /api/v1/validate: whether Datadog takes the API key (the application key is not read)."""
        return await self._validation("/api/v1/validate", "valid", True)

    async def validate_keys(self) -> Validation:
        """GET /api/v2/validate_keys: whether Datadog takes the API key and the application key together."""
        return await self._validation("/api/v2/validate_keys", "status", "ok")

    async def _validation(self, path: str, member: str, valid: object) -> Validation:
        """A rejected key (401 or 403) is an answer here, not an error; the answer's Date header comes
        along, Datadog's clock, so the caller can measure how far its own is off."""
        seen: list[httpx.Response] = []
        try:
            # No scope: a 403 here means the key itself was refused, and never reaches a message.
            payload = await self._request("GET", path, params={}, scope="", what=None, answered=seen.append)
        except DatadogError as exc:
            if exc.status not in (401, 403):
                raise
            payload = {}
        return Validation(payload.get(member) == valid, seen[-1].headers.get("date") if seen else None)

    # -- metrics -----------------------------------------------------------------------------------

    async def query_metrics(self, query: str, start: int, end: int) -> Any:
        return await self._get("/api/v1/query", {"from": start, "to": end, "query": query}, scope="timeseries_query")

    async def list_metrics(self, start: int, host: str | None = None, tag_filter: str | None = None) -> Any:
        """Datadog combines `tag_filter` with no other filter: with both, the host becomes one of its terms."""
        if host and tag_filter:
            host, tag_filter = None, f"({tag_filter}) AND host:{host}"
        params: Params = {"from": start, "host": host, "tag_filter": tag_filter}
        return await self._get("/api/v1/metrics", params, scope="metrics_read")

    async def get_metric_metadata(self, metric_name: str) -> Any:
        return await self._get(
            f"/api/v1/metrics/{_segment(metric_name, 'metric name', METRIC_NAME)}",
            {},
            scope="metrics_read",
            what=f"metric {metric_name!r}",
        )

    async def get_metric_tags(self, metric_name: str, window_seconds: int) -> Any:
        return await self._get(
            f"/api/v2/metrics/{_segment(metric_name, 'metric name', METRIC_NAME)}/all-tags",
            {"window[seconds]": window_seconds},
            scope="metrics_read",
            what=f"metric {metric_name!r}",
        )

    # -- logs --------------------------------------------------------------------------------------

    async def search_logs(
        self,
        query: str,
        start: str,
        end: str,
        limit: int,
        cursor: str | None,
        indexes: list[str] | None = None,
    ) -> Any:
        body: dict[str, Any] = {
            "filter": _search_filter(query, start, end, indexes),
            "page": _page(limit, cursor),
            "sort": "-timestamp",
            "options": {"timezone": "UTC"},
        }
        return await self._post("/api/v2/logs/events/search", body, scope="logs_read_data")

    async def aggregate_logs(
        self,
        query: str,
        start: str,
        end: str,
        aggregation: str,
        metric: str | None,
        group_by: list[str],
        group_limit: int,
        indexes: list[str] | None = None,
    ) -> Any:
        body = {
            "compute": [_compute(aggregation, metric)],
            "filter": _search_filter(query, start, end, indexes),
            "group_by": [_group_by(facet, group_limit, aggregation, metric) for facet in group_by],
            "options": {"timezone": "UTC"},
        }
        return await self._post("/api/v2/logs/analytics/aggregate", body, scope="logs_read_data")

    # -- monitors ----------------------------------------------------------------------------------

    async def list_monitors(
        self,
        name: str | None,
        tags: str | None,
        monitor_tags: str | None,
        group_states: str | None,
        page: int,
        page_size: int,
    ) -> Any:
        params: Params = {
            "name": name,
            "tags": tags,
            "monitor_tags": monitor_tags,
            "group_states": group_states,
            "with_downtimes": False,
            "page": page,
            "page_size": page_size,
        }
        return await self._get("/api/v1/monitor", params, scope="monitors_read", expect=list)

    async def get_monitor(self, monitor_id: int) -> Any:
        return await self._get(
            f"/api/v1/monitor/{monitor_id}",
            {"group_states": "all"},
            scope="monitors_read",
            what=f"monitor {monitor_id}",
        )

    # -- dashboards --------------------------------------------------------------------------------

    async def list_dashboards(self, count: int | None = None, start: int | None = None) -> Any:
        params: Params = {"filter[deleted]": False, "count": count, "start": start}
        return await self._get("/api/v1/dashboard", params, scope="dashboards_read")

    async def get_dashboard(self, dashboard_id: str) -> Any:
        return await self._get(
            f"/api/v1/dashboard/{_segment(dashboard_id, 'dashboard id')}",
            {},
            scope="dashboards_read",
            what=f"dashboard {dashboard_id!r}",
        )

    # -- hosts -------------------------------------------------------------------------------------

    async def list_hosts(
        self,
        filter: str | None,
        sort_field: str | None,
        sort_dir: str | None,
        start: int,
        count: int,
        since: int,
    ) -> Any:
        params: Params = {
            "filter": filter,
            "sort_field": sort_field,
            "sort_dir": sort_dir,
            "start": start,
            "count": count,
            "from": since,
        }
        return await self._get("/api/v1/hosts", params, scope="hosts_read")

    # -- events ------------------------------------------------------------------------------------

    async def list_events(self, query: str, start_ms: int, end_ms: int, limit: int, cursor: str | None) -> Any:
        params: Params = {
            "filter[query]": query or "*",
            "filter[from]": start_ms,
            "filter[to]": end_ms,
            "sort": "-timestamp",
            "page[limit]": limit,
            "page[cursor]": cursor or None,
        }
        return await self._get("/api/v2/events", params, scope="events_read")

    # -- incidents ---------------------------------------------------------------------------------

    async def search_incidents(self, query: str, page_size: int, page_offset: int) -> Any:
        params: Params = {"query": query, "sort": "-created", "page[size]": page_size, "page[offset]": page_offset}
        return await self._get("/api/v2/incidents/search", params, scope="incident_read")

    async def get_incident(self, incident_id: str) -> Any:
        return await self._get(
            f"/api/v2/incidents/{_segment(incident_id, 'incident id')}",
            {"include": "users"},
            scope="incident_read",
            what=f"incident {incident_id!r}",
        )

    # -- apm ---------------------------------------------------------------------------------------

    async def search_spans(self, query: str, start: str, end: str, limit: int, cursor: str | None, sort: str) -> Any:
        attributes = {
            "filter": _search_filter(query, start, end, None),
            "page": _page(limit, cursor),
            "sort": sort,
            "options": {"timezone": "UTC"},
        }
        body = {"data": {"type": "search_request", "attributes": attributes}}
        return await self._post("/api/v2/spans/events/search", body, scope="apm_read")

    async def aggregate_spans(
        self,
        query: str,
        start: str,
        end: str,
        aggregation: str,
        metric: str | None,
        group_by: list[str],
        limit: int,
        also: Sequence[tuple[str, str | None]] = (),
    ) -> Any:
        """Groups sorted by the first aggregation; `also` computes more in the same request (c1, c2...)."""
        attributes = {
            "compute": [_compute(aggregation, metric), *(_compute(*more) for more in also)],
            "filter": _search_filter(query, start, end, None),
            "group_by": [_group_by(facet, limit, aggregation, metric) for facet in group_by],
            "options": {"timezone": "UTC"},
        }
        body = {"data": {"type": "aggregate_request", "attributes": attributes}}
        return await self._post("/api/v2/spans/analytics/aggregate", body, scope="apm_read")

    async def list_service_definitions(self, page_size: int, page_number: int) -> Any:
        params: Params = {"page[size]": page_size, "page[number]": page_number, "schema_version": "v2.2"}
        return await self._get("/api/v2/services/definitions", params, scope="apm_service_catalog_read")

    # -- synthetics --------------------------------------------------------------------------------

    async def list_synthetics_tests(self, page_size: int, page_number: int) -> Any:
        params: Params = {"page_size": page_size, "page_number": page_number}
        return await self._get("/api/v1/synthetics/tests", params, scope="synthetics_read")

    async def get_synthetics_results(self, public_id: str, browser: bool) -> Any:
        kind = "browser/" if browser else ""
        return await self._get(
            f"/api/v1/synthetics/tests/{kind}{_segment(public_id, 'synthetic test id')}/results",
            {},
            scope="synthetics_read",
            what=f"synthetic test {public_id!r}",
        )

    # -- rum ---------------------------------------------------------------------------------------

    async def search_rum_events(self, query: str, start: str, end: str, limit: int, cursor: str | None) -> Any:
        body = {
            "filter": _search_filter(query, start, end, None),
            "page": _page(limit, cursor),
            "sort": "-timestamp",
            "options": {"timezone": "UTC"},
        }
        return await self._post("/api/v2/rum/events/search", body, scope="rum_apps_read")

    # -- slos --------------------------------------------------------------------------------------

    async def list_slos(
        self, ids: str | None, query: str | None, tags_query: str | None, limit: int, offset: int
    ) -> Any:
        params: Params = {"ids": ids, "query": query, "tags_query": tags_query, "limit": limit, "offset": offset}
        return await self._get("/api/v1/slo", params, scope="slos_read")

    # -- downtimes ---------------------------------------------------------------------------------

    async def list_downtimes(self, current_only: bool, limit: int, offset: int) -> Any:
        params: Params = {"current_only": current_only, "page[limit]": limit, "page[offset]": offset}
        return await self._get("/api/v2/downtime", params, scope="monitors_downtime")

    # -- notebooks ---------------------------------------------------------------------------------

    async def list_notebooks(self, query: str | None, author_handle: str | None, count: int, start: int) -> Any:
        params: Params = {
            "query": query,
            "author_handle": author_handle,
            "count": count,
            "start": start,
            "sort_field": "modified",
            "sort_dir": "desc",
            "include_cells": False,
        }
        return await self._get("/api/v1/notebooks", params, scope="notebooks_read")

    async def get_notebook(self, notebook_id: int) -> Any:
        return await self._get(
            f"/api/v1/notebooks/{notebook_id}", {}, scope="notebooks_read", what=f"notebook {notebook_id}"
        )

    # -- transport ---------------------------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: Params,
        *,
        scope: str,
        what: str | None = None,
        expect: type[dict[str, Any]] | type[list[Any]] = dict,
    ) -> Any:
        return await self._request("GET", path, params=_query(params), scope=scope, what=what, expect=expect)

    async def _post(self, path: str, body: Mapping[str, Any], *, scope: str) -> Any:
        return await self._request("POST", path, body=body, scope=scope, what=None)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        what: str | None,
        params: dict[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        expect: type[dict[str, Any]] | type[list[Any]] = dict,
        answered: Callable[[httpx.Response], None] | None = None,
    ) -> Any:
        """Send a request, retrying what is safe to retry, and decode its answer.

        Every call this server makes is a read (the POSTs are searches), so repeating one is safe.
        429 waits for the reset Datadog announces (capped); 502/503/504, connection failures and
        timeouts back off exponentially with jitter. Other statuses are final at once. `answered`
        sees each response (its headers) as it arrives.
        """
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            final = attempt == self._retry.attempts
            try:
                answer = await self._exchange(method, path, params, body)
            except httpx.TransportError as exc:
                _sent(method, path, None, None, 0, type(exc).__name__)
                if final:
                    raise transport_error(exc, method, path, self.site, attempt, waited) from None
                delay, reason = self._retry.backoff_delay(attempt), f"a {type(exc).__name__}"
            else:
                status = answer.response.status_code
                _sent(method, path, status, answer.response.headers.get("x-request-id"), len(answer.content))
                if answered:
                    answered(answer.response)
                if status == 429 and not final:
                    delay = self._retry.rate_limit_delay(rate_limit_reset(answer.response.headers), attempt)
                    reason = RATE_LIMITED
                elif status in RETRY_STATUSES and not final:
                    delay, reason = self._retry.backoff_delay(attempt), f"status {status}"
                elif status >= 400:
                    said = datadog_said(answer.content, self.redactor)
                    error = error_for(answer.response, said, site=self.site, scope=scope, what=what)
                    raise DatadogError(
                        str(error) + _attempts_note(attempt, waited), status=status, scope=scope
                    ) from None
                else:
                    payload = await self._payload(answer, expect)
                    watcher = call_watcher.get()
                    if watcher:
                        await watcher.answered(method, path, len(answer.content))
                    return payload
            log.info("retrying %s %s in %.2f s (attempt %d failed)", method, path, delay, attempt)
            watcher = call_watcher.get()
            if watcher:
                await watcher.retrying(f"{method} {path} met {reason}; retrying in {delay:.1f} s")
            await self._retry.sleep(delay)
            waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _exchange(
        self, method: str, path: str, params: dict[str, str] | None, body: Mapping[str, Any] | None
    ) -> Answer:
        """One request and its body, read as a stream so that no answer can outgrow the byte cap.

        A success larger than DD_MCP_MAX_RESPONSE_BYTES is refused (the cap counts decoded bytes,
        so a compressed bomb stops there too); an error body is only read far enough to quote it.
        Each attempt is an OpenTelemetry client span (a no-op unless otel.py installed an exporter),
        named by method and path: no query, no body, no header goes into it.
        """
        attributes = {"http.request.method": method, "url.path": path, "server.address": self._http.base_url.host}
        with _tracer.start_as_current_span(f"{method} {path}", kind=SpanKind.CLIENT, attributes=attributes) as span:
            try:
                answer = await self._read(method, path, params, body)
            except httpx.TransportError as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(StatusCode.ERROR)
                raise
            span.set_attribute("http.response.status_code", answer.response.status_code)
            if answer.response.status_code >= 400:
                span.set_attribute("error.type", str(answer.response.status_code))
                span.set_status(StatusCode.ERROR)
            return answer

    async def _read(
        self, method: str, path: str, params: dict[str, str] | None, body: Mapping[str, Any] | None
    ) -> Answer:
        try:
            async with self._http.stream(method, path, params=params, json=body) as response:
                success = response.is_success
                limit = self._max_bytes if success else ERROR_BODY_BYTES
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > limit:
                        if success:
                            raise too_large(method, path, self._max_bytes)
                        del content[limit:]
                        break
                return Answer(response, bytes(content))
        except httpx.DecodingError:
            raise DatadogError(
                f"Datadog's answer to {method} {path} could not be decoded: its body does not match the "
                "Content-Encoding it declares. This is a Datadog or proxy fault, not a problem with the request."
            ) from None

    async def _payload(self, answer: Answer, expect: type[dict[str, Any]] | type[list[Any]]) -> Any:
        """The decoded, cleaned and redacted body, checked to be the JSON type the endpoint documents.

        Decoding runs in a worker thread: a body of many megabytes must not stall other calls.
        """
        response = answer.response
        call = f"{response.request.method} {response.request.url.path}"
        if response.is_redirect or 300 <= response.status_code < 400:
            raise redirect_error(response, call)
        if not answer.content.strip():
            raise DatadogError(
                f"Datadog answered {call} with {response.status_code} and no body, where the API always answers "
                "JSON. This is a Datadog or proxy fault, not a problem with the request; try again."
            )
        read = functools.partial(
            self._read_json, answer.content, call, response.headers.get("content-type", "unknown type")
        )
        # A small body reads in well under a millisecond: handing it to a worker thread and back would
        # cost more than reading it here.
        small = len(answer.content) <= INLINE_BYTES
        payload, fixes = read() if small else await anyio.to_thread.run_sync(read, abandon_on_cancel=True)
        found = call_fixes.get()
        if found is not None:
            found.update(fixes)
        if not isinstance(payload, expect):
            raise DatadogError(
                f"Datadog answered {call} with JSON of an unexpected shape ({type(payload).__name__}, expected "
                f"{expect.__name__}). This is a Datadog or proxy fault, not a problem with the request."
            )
        return payload

    def _read_json(self, content: bytes, call: str, kind: str) -> tuple[Any, Counter[str]]:
        """Parse a body and make every string in it safe: encodable, visible, secrets masked."""
        try:
            # The check per integer costs a Python call each (a metric answer holds thousands); it is
            # needed only when some run of digits is absurdly long, which two passes in C find.
            absurd = _LONG_DIGIT_RUN in content.translate(_DIGITS_AS_D)
            payload = json.loads(content, parse_int=_integer) if absurd else json.loads(content)
        except RecursionError:
            raise DatadogError(
                f"Datadog answered {call} with JSON nested too deeply to read. This is a Datadog or proxy fault, "
                "not a problem with the request."
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise DatadogError(
                f"Datadog answered {call} with a body that is not JSON ({clean_text(kind)[:100]}). This is a "
                "Datadog or proxy fault, not a problem with the request; try again."
            ) from None
        redactor = self.redactor
        return map_json(
            payload,
            lambda text: redactor.text(clean_text(text)),
            member=lambda name, value: redactor.field(name, clean_text(value)),
        )


@dataclass(frozen=True)
class Validation:
    """Datadog's word on a key, and its clock: the Date header of its answer (None when there was none)."""

    valid: bool
    date: str | None


@dataclass(frozen=True)
class Answer:
    """A response whose body has been read (within its cap)."""

    response: httpx.Response
    content: bytes


# What Datadog's answers in one tool call had to have fixed (numbers that are not numbers, values
# nested too deeply), so the result can say so. The tool layer sets a fresh Counter per call.
call_fixes: ContextVar[Counter[str] | None] = ContextVar("call_fixes", default=None)
# The OpenTelemetry API comes with the MCP SDK; its spans cost nothing until an exporter is set (otel.py).
_tracer = get_tracer("dd_mcp_server")

RATE_LIMITED = "Datadog's rate limit (429)"


class Watcher(Protocol):
    """Who hears, while one tool call runs, how its Datadog requests go (tools/base tells the MCP client)."""

    async def answered(self, method: str, path: str, size: int) -> None:
        """A request was answered and read: `size` bytes of body."""

    async def retrying(self, text: str) -> None:
        """A request failed in a way worth retrying, and will be retried: `text` says which and when."""


call_watcher: ContextVar[Watcher | None] = ContextVar("call_watcher", default=None)
# Every request one tool call made, for the recording (DD_MCP_AUDIT_LOG): set per call by the tool layer.
call_requests: ContextVar[list[dict[str, Any]] | None] = ContextVar("call_requests", default=None)


def _sent(method: str, path: str, status: int | None, request_id: str | None, size: int, error: str = "") -> None:
    """Note one request of the current tool call: method, path, status, Datadog's x-request-id, bytes."""
    requests = call_requests.get()
    if requests is not None:
        sent = {"method": method, "path": path, "status": status, "request_id": request_id, "bytes": size}
        requests.append({k: v for k, v in {**sent, "error": error}.items() if v not in (None, "")})


# An error body is read this far: enough for any message Datadog writes.
ERROR_BODY_BYTES = 64 * 1024
# Longer integers become infinity (then null, with a note): beyond about 308 digits no float holds
# one, and the arithmetic of a summary would fail on it (OverflowError); Python refuses 4,300 anyway.
_MAX_INTEGER_DIGITS = 300
# Every ASCII digit as `d`, every other byte as a space: a run of digits becomes a run of `d`.
_DIGITS_AS_D = bytes(b"d"[0] if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"d" * (_MAX_INTEGER_DIGITS + 1)
# Connections kept to Datadog: a team's HTTP server runs many calls at once, and each new connection
# is a TLS handshake (httpx keeps 20 by default).
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=64)
# Bodies up to this size are decoded on the event loop; larger ones in a worker thread.
INLINE_BYTES = 32 * 1024


def _integer(text: str) -> int | float:
    """A JSON integer; an absurdly long one becomes infinity, which cleaning turns into null."""
    return int(text) if len(text) <= _MAX_INTEGER_DIGITS else math.inf


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, the backoff base, and the cap on a rate-limit wait."""

    attempts: int = 3
    backoff: float = 0.5
    max_rate_limit_wait: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: base * 2^(attempt-1), scaled by a random 0.5-1.0."""
        return self.backoff * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0)

    def rate_limit_delay(self, reset: float | None, attempt: int) -> float:
        """The announced reset, or backoff when none is given, never more than the cap."""
        wanted = reset if reset is not None else self.backoff_delay(attempt)
        return min(wanted, self.max_rate_limit_wait)


RETRY_STATUSES = frozenset({502, 503, 504})
# Datadog's own error text is quoted up to this length.
ERROR_TEXT_CHARS = 1000


def _attempts_note(attempts: int, waited: float) -> str:
    return f" (gave up after {attempts} attempts and {waited:.1f} s of waiting)" if attempts > 1 else ""


def transport_error(
    exc: httpx.TransportError, method: str, path: str, site: str, attempts: int, waited: float
) -> DatadogError:
    """A timeout or connection failure, said so that the model knows the request itself was fine."""
    note = _attempts_note(attempts, waited)
    if isinstance(exc, httpx.TimeoutException):
        return DatadogError(
            f"Datadog did not answer {method} {path} within the timeout ({type(exc).__name__}) on {site}{note}. "
            "Nothing is wrong with the request: try again, or a smaller time window or limit."
        )
    return DatadogError(
        f"The connection to Datadog on {site} failed ({type(exc).__name__}){note}. Nothing is wrong with the "
        "request: check the network or DD_SITE / DD_API_URL, then try again."
    )


def error_for(response: httpx.Response, said: str, *, site: str, scope: str, what: str | None) -> DatadogError:
    """Map an HTTP failure to a message that says what happened and what the model should do next.

    `said` is Datadog's own error text, already cleaned and redacted.
    """
    status = response.status_code
    call = f"{response.request.method} {response.request.url.path}"
    if status == 400:
        return DatadogError(
            f"Datadog rejected the request (400 Bad Request): {said or 'no reason given'}. "
            "Fix the argument it names and call again."
        )
    if status == 401:
        return DatadogError(
            f"Datadog rejected the API key (401 Unauthorized) on {site}: DD_API_KEY is invalid or revoked, "
            "or belongs to another site (set DD_SITE). The user must fix the key; retrying will not help."
        )
    if status == 403:
        return DatadogError(
            f"Datadog refused {call} (403 Forbidden) on {site}: the application key (DD_APP_KEY) lacks the "
            f"'{scope}' scope this tool needs, or the keys belong to another site (set DD_SITE)."
            + (f" Datadog said: {said}" if said else "")
        )
    if status == 404:
        thing = what or f"the resource at {call}"
        return DatadogError(f"Datadog says {thing} does not exist on {site} (404 Not Found). Check the identifier.")
    if status == 429:
        reset = rate_limit_reset(response.headers)
        wait = f" The limit resets in {reset:g} s." if reset is not None else ""
        return DatadogError(
            f"Datadog rate-limited {call} (429 Too Many Requests) on {site}.{wait} Wait before calling again, "
            "or ask for fewer, larger pages."
        )
    return DatadogError(
        f"Datadog failed on {call} ({status} {response.reason_phrase}) on {site}. Nothing is wrong with the "
        "request: Datadog is failing or unreachable; try again shortly."
    )


def datadog_said(content: bytes, redactor: Redactor) -> str:
    """Datadog's error text from a body that may be v1 JSON, v2 JSON:API, HTML or empty.

    Masked before it is cut, so a secret Datadog echoes can never survive as a prefix.
    """
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return ""
    messages = []
    for item in errors[:20]:
        if isinstance(item, dict):
            parts = [str(item[k]) for k in ("title", "detail") if item.get(k)]
            messages.append(": ".join(parts))
        else:
            messages.append(str(item))
    said = "; ".join(m for m in messages if m)
    return clip(redactor.text(clean_text(said)), ERROR_TEXT_CHARS)


def too_large(method: str, path: str, cap: int) -> DatadogError:
    return DatadogError(
        f"Datadog's answer to {method} {path} is larger than {cap:,} bytes (DD_MCP_MAX_RESPONSE_BYTES), so it "
        "was not read. Ask for less: a smaller limit, a narrower query or a shorter time window."
    )


def redirect_error(response: httpx.Response, call: str) -> DatadogError:
    """A redirect is never followed: it would send both keys to wherever it points."""
    target = urlsplit(response.headers.get("location", "")).hostname or "an unnamed place"
    return DatadogError(
        f"Datadog answered {call} with a redirect ({response.status_code}) to {clean_text(target)[:100]}, which "
        "was not followed so the keys go nowhere else. Something other than Datadog's API answered: check "
        "DD_SITE or DD_API_URL, and any proxy."
    )


def rate_limit_reset(headers: httpx.Headers) -> float | None:
    """Seconds until the rate-limit window resets, from X-RateLimit-Reset or Retry-After.

    Datadog may repeat a header as "7, 7"; the first number counts.
    """
    for name in ("X-RateLimit-Reset", "Retry-After"):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw.split(",")[0].strip()))
            except ValueError:
                continue
    return None


def next_cursor(payload: Any) -> str | None:
    """The cursor of the next page of a v2 search, absent on the last page."""
    if not isinstance(payload, dict):
        return None
    after = ((payload.get("meta") or {}).get("page") or {}).get("after")
    return after if isinstance(after, str) and after else None


def _query(params: Params) -> dict[str, str]:
    """Drop unset parameters and spell booleans the way Datadog expects."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


# Identifiers as Datadog writes them (ids, public ids, UUIDs); metric names as Datadog allows them.
# Neither admits "." or "..", which a URL library would resolve as dot segments into another path.
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,199}")


def _segment(value: str, what: str, grammar: re.Pattern[str] = ID) -> str:
    """An identifier as one path segment: checked against its grammar, then quoted.

    Identifiers come from the caller and from Datadog's own answers (a test id read from a list
    and used in the next request), so both are checked here, where the path is built.
    """
    if not grammar.fullmatch(value):
        raise DatadogError(
            f"{what} {clean_text(value)[:80]!r} is not a valid identifier, so no request was sent. Use the id "
            "exactly as Datadog lists it."
        )
    return quote(value, safe="")


def _search_filter(query: str, start: str, end: str, indexes: list[str] | None) -> dict[str, Any]:
    search: dict[str, Any] = {"query": query or "*", "from": start, "to": end}
    if indexes:
        search["indexes"] = indexes
    return search


def _page(limit: int, cursor: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {"limit": limit}
    if cursor:
        page["cursor"] = cursor
    return page


def _compute(aggregation: str, metric: str | None) -> dict[str, Any]:
    compute: dict[str, Any] = {"aggregation": aggregation, "type": "total"}
    if metric:
        compute["metric"] = metric
    return compute


def _group_by(facet: str, limit: int, aggregation: str, metric: str | None) -> dict[str, Any]:
    sort: dict[str, Any] = {"type": "measure", "aggregation": aggregation, "order": "desc"}
    if metric:
        sort["metric"] = metric
    return {"facet": facet, "limit": limit, "sort": sort}
