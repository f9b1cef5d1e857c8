"""The only code that speaks HTTP to Datadog.

One `DatadogClient` per server process wraps one `httpx.AsyncClient`. Each public method is one
published endpoint: it names the path, sends the parameters under the names Datadog's spec gives
them, and returns the decoded JSON. Every failure (HTTP status, timeout, connection, a body that is
not JSON) becomes a `DatadogError` whose message tells the model what happened and what to do.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from dd_mcp_server import __version__
from dd_mcp_server.config import Settings

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | bool | None]


class DatadogError(Exception):
    """A Datadog call failed; the message is written for the model and never contains a key."""


class DatadogClient:
    """Datadog's REST API, one method per endpoint this server reads."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        # Errors name where the request went: the site, or the DD_API_URL override when one is set.
        default_url = f"https://api.{settings.site}"
        self.site = settings.site if settings.base_url == default_url else settings.base_url
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={
                "DD-API-KEY": settings.api_key,
                "DD-APPLICATION-KEY": settings.app_key,
                "User-Agent": f"dd-mcp-server/{__version__}",
                "Accept": "application/json",
            },
            timeout=settings.timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- metrics -----------------------------------------------------------------------------------

    async def query_metrics(self, query: str, start: int, end: int) -> Any:
        return await self._get("/api/v1/query", {"from": start, "to": end, "query": query}, scope="timeseries_query")

    async def list_metrics(self, start: int, host: str | None = None, tag_filter: str | None = None) -> Any:
        params: Params = {"from": start, "host": host, "tag_filter": tag_filter}
        return await self._get("/api/v1/metrics", params, scope="metrics_read")

    async def get_metric_metadata(self, metric_name: str) -> Any:
        return await self._get(
            f"/api/v1/metrics/{_segment(metric_name)}",
            {},
            scope="metrics_read",
            what=f"metric {metric_name!r}",
        )

    async def get_metric_tags(self, metric_name: str, window_seconds: int) -> Any:
        return await self._get(
            f"/api/v2/metrics/{_segment(metric_name)}/all-tags",
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
            f"/api/v1/dashboard/{_segment(dashboard_id)}",
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
            f"/api/v2/incidents/{_segment(incident_id)}",
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
        self, query: str, start: str, end: str, aggregation: str, metric: str | None, group_by: list[str], limit: int
    ) -> Any:
        attributes = {
            "compute": [_compute(aggregation, metric)],
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
            f"/api/v1/synthetics/tests/{kind}{_segment(public_id)}/results",
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
    ) -> Any:
        """Send a request, retrying what is safe to retry, and decode its answer.

        Every call this server makes is a read (the POSTs are searches), so repeating one is safe.
        429 waits for the reset Datadog announces (capped); 502/503/504, connection failures and
        timeouts back off exponentially with jitter. Other statuses are final at once.
        """
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            final = attempt == self._retry.attempts
            try:
                response = await self._http.request(method, path, params=params, json=body)
            except httpx.TransportError as exc:
                if final:
                    raise transport_error(exc, method, path, self.site, attempt, waited) from None
                delay = self._retry.backoff_delay(attempt)
            else:
                if response.status_code == 429 and not final:
                    delay = self._retry.rate_limit_delay(rate_limit_reset(response.headers), attempt)
                elif response.status_code in RETRY_STATUSES and not final:
                    delay = self._retry.backoff_delay(attempt)
                elif response.status_code >= 400:
                    error = error_for(response, site=self.site, scope=scope, what=what)
                    raise DatadogError(str(error) + _attempts_note(attempt, waited)) from None
                else:
                    return _payload(response, expect)
            log.info("retrying %s %s in %.2f s (attempt %d failed)", method, path, delay, attempt)
            await self._retry.sleep(delay)
            waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")


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


def _payload(response: httpx.Response, expect: type[dict[str, Any]] | type[list[Any]]) -> Any:
    """The decoded body, checked to be the JSON type the endpoint documents (empty means empty)."""
    payload = _decode(response)
    if payload is None:
        return expect()
    if not isinstance(payload, expect):
        raise DatadogError(
            f"Datadog answered {response.request.method} {response.request.url.path} with JSON of an unexpected "
            f"shape ({type(payload).__name__}, expected {expect.__name__}). This is a Datadog or proxy fault, "
            "not a problem with the request."
        )
    return payload


def error_for(response: httpx.Response, *, site: str, scope: str, what: str | None) -> DatadogError:
    """Map an HTTP failure to a message that says what happened and what the model should do next."""
    status = response.status_code
    said = datadog_said(response)
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


def datadog_said(response: httpx.Response) -> str:
    """Read Datadog's error text from a body that may be v1 JSON, v2 JSON:API, HTML or empty."""
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return ""
    messages = []
    for item in errors:
        if isinstance(item, dict):
            parts = [str(item[k]) for k in ("title", "detail") if item.get(k)]
            messages.append(": ".join(parts))
        else:
            messages.append(str(item))
    return "; ".join(m for m in messages if m)[:1000]


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


def _decode(response: httpx.Response) -> Any:
    """The JSON body, None when the body is empty; a DatadogError when it is not JSON."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "unknown type")
        raise DatadogError(
            f"Datadog answered {response.request.method} {response.request.url.path} with a body that is not "
            f"JSON ({kind}). This is a Datadog or proxy fault, not a problem with the request; try again."
        ) from None


def _query(params: Params) -> dict[str, str]:
    """Drop unset parameters and spell booleans the way Datadog expects."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _segment(value: str) -> str:
    """Quote an identifier for use as one path segment, so it can never change the path."""
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
