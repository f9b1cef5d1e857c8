"""The demo's HTTP surface: Datadog's endpoints, answered from the generated organisation.

Each handler reads the request the way Datadog documents it (same paths, parameter names and body
shapes) and answers in Datadog's response shapes, including its error bodies, so the real
service layer runs unchanged against it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from dd_mcp_server.demo import catalog
from dd_mcp_server.demo.org import HOSTS, METRICS, SERVICES, UNITS, Org
from dd_mcp_server.demo.search import Record, aggregate, dig, matcher, parse_time

Handler = Callable[[httpx.Request, re.Match[str]], httpx.Response]


class DemoError(Exception):
    """A request the real API would reject; becomes a 400 with Datadog's error body."""


def ok(payload: Any) -> httpx.Response:
    return httpx.Response(200, json=payload)


def v1_error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [message]})


class DemoApi:
    """Routes a request to the handler of its endpoint; unknown paths answer 404 as Datadog does."""

    def __init__(self, org: Org | None = None) -> None:
        self._org = org
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/api/v1/validate"), lambda r, m: ok({"valid": True})),
            ("GET", re.compile(r"/api/v1/query"), self.query_metrics),
            ("GET", re.compile(r"/api/v1/metrics"), self.list_metrics),
            ("GET", re.compile(r"/api/v1/metrics/(?P<name>[^/]+)"), self.metric_metadata),
            ("GET", re.compile(r"/api/v2/metrics/(?P<name>[^/]+)/all-tags"), self.metric_tags),
            ("POST", re.compile(r"/api/v2/logs/events/search"), self.search_logs),
            ("POST", re.compile(r"/api/v2/logs/analytics/aggregate"), self.aggregate_logs),
            ("GET", re.compile(r"/api/v1/monitor"), self.list_monitors),
            ("GET", re.compile(r"/api/v1/monitor/(?P<id>[^/]+)"), self.get_monitor),
            ("GET", re.compile(r"/api/v1/dashboard"), self.list_dashboards),
            ("GET", re.compile(r"/api/v1/dashboard/(?P<id>[^/]+)"), self.get_dashboard),
            ("GET", re.compile(r"/api/v1/hosts"), self.list_hosts),
            ("GET", re.compile(r"/api/v2/events"), self.list_events),
            ("GET", re.compile(r"/api/v2/incidents/search"), self.search_incidents),
            ("GET", re.compile(r"/api/v2/incidents/(?P<id>[^/]+)"), self.get_incident),
            ("POST", re.compile(r"/api/v2/spans/events/search"), self.search_spans),
            ("POST", re.compile(r"/api/v2/spans/analytics/aggregate"), self.aggregate_spans),
            ("GET", re.compile(r"/api/v2/services/definitions"), self.service_definitions),
            ("GET", re.compile(r"/api/v1/synthetics/tests"), self.synthetics_tests),
            (
                "GET",
                re.compile(r"/api/v1/synthetics/tests(?:/browser)?/(?P<id>[^/]+)/results"),
                self.test_results,
            ),
            ("POST", re.compile(r"/api/v2/rum/events/search"), self.search_rum),
            ("GET", re.compile(r"/api/v1/slo"), self.list_slos),
            ("GET", re.compile(r"/api/v2/downtime"), self.list_downtimes),
            ("GET", re.compile(r"/api/v1/notebooks"), self.list_notebooks),
            ("GET", re.compile(r"/api/v1/notebooks/(?P<id>[^/]+)"), self.get_notebook),
        ]

    @property
    def org(self) -> Org:
        """Generated on the first request, so starting the server stays cheap."""
        if self._org is None:
            self._org = Org()
        return self._org

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                try:
                    return handler(request, match)
                except DemoError as exc:
                    return httpx.Response(
                        400, json={"errors": [{"status": "400", "title": "Bad Request", "detail": str(exc)}]}
                    )
            if match:
                return v1_error(405, f"Method {request.method} not allowed on {path}")
        return v1_error(404, "Not found")

    # -- metrics -------------------------------------------------------------------------------

    def query_metrics(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        start, end = _int(params, "from"), _int(params, "to")
        query = params.get("query", "")
        parsed = _METRIC_QUERY.search(query)
        if not parsed:
            return ok(
                {
                    "status": "error",
                    "res_type": "time_series",
                    "error": f"Error parsing query: {query!r}",
                    "series": [],
                    "query": query,
                }
            )
        aggregator, metric, scope, by = parsed.groups()
        aggregator = aggregator or "avg"
        step = max(60, -(-(end - start) // 1440 // 60) * 60)
        series: list[dict[str, Any]] = []
        if metric in METRICS:
            groups = _group_members(metric, scope, by)
            for group_tags, members in groups.items():
                points = []
                for moment in range(start - start % step, end + 1, step):
                    values = [v for m in members if (v := self.org.metric_value(metric, m, moment)) is not None]
                    points.append([moment * 1000.0, _combine(values, aggregator)])
                tag_set = [f"{k}:{v}" for k, v in group_tags]
                series.append(
                    {
                        "metric": metric,
                        "display_name": metric,
                        "expression": f"{aggregator}:{metric}{{{scope}}}",
                        "scope": ",".join(tag_set) or scope,
                        "tag_set": tag_set,
                        "aggr": aggregator,
                        "interval": step,
                        "length": len(points),
                        "start": points[0][0] if points else start * 1000,
                        "end": points[-1][0] if points else end * 1000,
                        "pointlist": points,
                        "unit": [UNITS.get(METRICS[metric][2]), None],
                        "query_index": 0,
                        "attributes": {},
                    }
                )
        return ok(
            {
                "status": "ok",
                "res_type": "time_series",
                "resp_version": 1,
                "query": query,
                "from_date": start * 1000,
                "to_date": end * 1000,
                "series": series,
                "group_by": [by] if by else [],
                "message": "",
            }
        )

    def list_metrics(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        since = _int(request.url.params, "from")
        host = request.url.params.get("host")
        names = sorted(m for m in METRICS if not host or not m.startswith("trace."))
        if host and host not in HOSTS:
            names = []
        return ok({"metrics": names, "from": str(since)})

    def metric_metadata(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        name = match["name"]
        if name not in METRICS:
            return v1_error(404, "Metric not found")
        _, _, family = METRICS[name]
        unit = UNITS.get(family, {}).get("name")
        kind = "count" if name.endswith(("hits", "errors", "count")) else "gauge"
        return ok(
            {
                "type": kind,
                "description": f"Demo metric {name}.",
                "short_name": name.split(".")[-1],
                "unit": unit,
                "per_unit": "second" if kind == "count" and name.startswith("trace.") else None,
                "statsd_interval": 10 if kind == "count" else None,
                "integration": name.split(".")[0],
            }
        )

    def metric_tags(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        name = match["name"]
        if name not in METRICS:
            return httpx.Response(404, json={"errors": [{"status": "404", "title": "Not Found"}]})
        tags = sorted({f"{k}:{v}" for member in _members(name) for k, v in member.items()})
        return ok({"data": {"type": "metrics", "id": name, "attributes": {"tags": tags}}})

    # -- logs ----------------------------------------------------------------------------------

    def search_logs(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _json(request)
        found = self._filtered(self.org.logs, body.get("filter") or {}, _log_field, _log_text)
        return self._page(found, body.get("page") or {}, body.get("sort") or "-timestamp", request, 1000)

    def aggregate_logs(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _json(request)
        found = self._filtered(self.org.logs, body.get("filter") or {}, _log_field, _log_text)
        buckets = _buckets(found, body, _log_field)
        return ok(
            {
                "data": {"buckets": [{"by": by, "computes": {"c0": value}} for by, value in buckets]},
                "meta": {"status": "done", "elapsed": 4, "request_id": "demo"},
            }
        )

    # -- monitors ------------------------------------------------------------------------------

    def list_monitors(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.monitors(self.org)
        name = params.get("name")
        if name:
            found = [m for m in found if name.lower() in m["name"].lower()]
        for key in ("monitor_tags", "tags"):
            wanted = [t.strip() for t in params.get(key, "").split(",") if t.strip()]
            found = [m for m in found if all(t in m["tags"] or t in m["query"] for t in wanted)]
        if not params.get("group_states"):
            found = [{**m, "state": {}} for m in found]
        page, size = _int(params, "page", 0), _int(params, "page_size", 100)
        if size > 1000:
            raise DemoError("page_size must be at most 1000")
        return ok(found[page * size : (page + 1) * size])

    def get_monitor(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for monitor in catalog.monitors(self.org):
            if str(monitor["id"]) == match["id"]:
                return ok(monitor)
        return v1_error(404, "Monitor not found")

    # -- dashboards ----------------------------------------------------------------------------

    def list_dashboards(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        summaries = [
            {
                k: v
                for k, v in d.items()
                if k not in ("widgets", "template_variables", "notify_list", "reflow_type", "restricted_roles")
            }
            for d in catalog.dashboards(self.org)
        ]
        start = _int(params, "start", 0)
        count = _int(params, "count", len(summaries))
        return ok({"dashboards": summaries[start : start + count]})

    def get_dashboard(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for dashboard in catalog.dashboards(self.org):
            if dashboard["id"] == match["id"]:
                return ok(dashboard)
        return v1_error(404, "Dashboard not found")

    # -- hosts ---------------------------------------------------------------------------------

    def list_hosts(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.hosts(self.org)
        text = params.get("filter", "").lower()
        if text:
            found = [h for h in found if text in json.dumps(h["tags_by_source"]).lower() or text in h["name"]]
        field = params.get("sort_field")
        if field in ("cpu", "iowait", "load"):
            found.sort(key=lambda h: float(h["metrics"][field]), reverse=params.get("sort_dir") != "asc")
        elif field:
            found.sort(key=lambda h: str(h.get("name")), reverse=params.get("sort_dir") == "desc")
        start, count = _int(params, "start", 0), _int(params, "count", 100)
        if count > 1000:
            raise DemoError("count must be at most 1000")
        page = found[start : start + count]
        return ok({"host_list": page, "total_matching": len(found), "total_returned": len(page)})

    # -- events --------------------------------------------------------------------------------

    def list_events(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        search = {
            "query": params.get("filter[query]", "*"),
            "from": params.get("filter[from]", "now-15m"),
            "to": params.get("filter[to]", "now"),
        }
        found = self._filtered(self.org.events, search, _event_field, _event_text)
        page = {"limit": _int(params, "page[limit]", 10), "cursor": params.get("page[cursor]")}
        return self._page(found, page, params.get("sort", "-timestamp"), request, 1000)

    # -- incidents -----------------------------------------------------------------------------

    def search_incidents(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        if not params.get("query"):
            raise DemoError("query is required")
        size, offset = _int(params, "page[size]", 10), _int(params, "page[offset]", 0)
        if size > 100:
            raise DemoError("page[size] must be at most 100")
        test = matcher(params["query"], _incident_field, lambda r: str(r["attributes"]["title"]))
        found = [i for i in catalog.incidents(self.org) if test(i)]
        found.sort(key=lambda i: i["attributes"]["created"], reverse=params.get("sort", "-created") != "created")
        page = found[offset : offset + size]
        return ok(
            {
                "data": {
                    "type": "incidents_search_results",
                    "attributes": {"incidents": [{"data": i} for i in page], "facets": {}, "total": len(found)},
                },
                "meta": {"pagination": {"offset": offset, "size": size, "next_offset": offset + size}},
            }
        )

    def get_incident(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for incident in catalog.incidents(self.org):
            if incident["id"] == match["id"]:
                included = catalog.users() if "users" in request.url.params.get("include", "") else []
                return ok({"data": incident, "included": included})
        return httpx.Response(
            404, json={"errors": [{"status": "404", "title": "Not Found", "detail": "incident not found"}]}
        )

    # -- apm -----------------------------------------------------------------------------------

    def search_spans(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        attributes = _wrapped(request, "search_request")
        found = self._filtered(self.org.spans, attributes.get("filter") or {}, _span_field, _span_text)
        return self._page(found, attributes.get("page") or {}, attributes.get("sort") or "-timestamp", request, 1000)

    def aggregate_spans(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        attributes = _wrapped(request, "aggregate_request")
        found = self._filtered(self.org.spans, attributes.get("filter") or {}, _span_field, _span_text)
        buckets = _buckets(found, attributes, _span_field)
        return ok(
            {
                "data": [
                    {"type": "bucket", "id": f"b{n}", "attributes": {"by": by, "compute": {"c0": value}}}
                    for n, (by, value) in enumerate(buckets)
                ],
                "meta": {"status": "done", "elapsed": 6},
            }
        )

    def service_definitions(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        size, number = _int(params, "page[size]", 10), _int(params, "page[number]", 0)
        if size > 100:
            raise DemoError("page[size] must be at most 100")
        found = catalog.service_definitions()
        return ok({"data": found[number * size : (number + 1) * size]})

    # -- synthetics ----------------------------------------------------------------------------

    def synthetics_tests(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        size, number = _int(params, "page_size", 100), _int(params, "page_number", 0)
        return ok({"tests": catalog.synthetics_tests()[number * size : (number + 1) * size]})

    def test_results(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        if match["id"] not in {t["public_id"] for t in catalog.synthetics_tests()}:
            return v1_error(404, "Synthetic test not found")
        results = catalog.synthetics_results(self.org, match["id"])
        return ok({"last_timestamp_fetched": self.org.now * 1000, "results": results})

    # -- rum -----------------------------------------------------------------------------------

    def search_rum(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _json(request)
        found = self._filtered(self.org.rum, body.get("filter") or {}, _rum_field, _rum_text)
        return self._page(found, body.get("page") or {}, body.get("sort") or "-timestamp", request, 1000)

    # -- slos, downtimes, notebooks ------------------------------------------------------------

    def list_slos(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.slos(self.org)
        if params.get("ids"):
            wanted = set(params["ids"].split(","))
            found = [s for s in found if s["id"] in wanted]
        if params.get("query"):
            found = [s for s in found if params["query"].lower() in s["name"].lower()]
        if params.get("tags_query"):
            found = [s for s in found if all(t in s["tags"] for t in params["tags_query"].split(","))]
        offset, limit = _int(params, "offset", 0), _int(params, "limit", 1000)
        return ok(
            {
                "data": found[offset : offset + limit],
                "errors": [],
                "metadata": {"page": {"total_count": len(found), "total_filtered_count": len(found)}},
            }
        )

    def list_downtimes(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.downtimes(self.org)
        if params.get("current_only") == "true":
            found = [d for d in found if d["attributes"]["status"] == "active"]
        offset, limit = _int(params, "page[offset]", 0), _int(params, "page[limit]", 30)
        return ok({"data": found[offset : offset + limit], "meta": {"page": {"total_filtered_count": len(found)}}})

    def list_notebooks(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.notebooks(self.org)
        if params.get("query"):
            words = params["query"].lower().split()
            found = [n for n in found if all(w in n["attributes"]["name"].lower() for w in words)]
        if params.get("author_handle"):
            found = [n for n in found if n["attributes"]["author"]["handle"] == params["author_handle"]]
        found.sort(key=lambda n: n["attributes"]["modified"], reverse=params.get("sort_dir", "desc") == "desc")
        if params.get("include_cells") == "false":
            found = [{**n, "attributes": {k: v for k, v in n["attributes"].items() if k != "cells"}} for n in found]
        start, count = _int(params, "start", 0), _int(params, "count", 100)
        return ok({"data": found[start : start + count], "meta": {"page": {"total_count": len(found)}}})

    def get_notebook(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for notebook in catalog.notebooks(self.org):
            if str(notebook["id"]) == match["id"]:
                return ok({"data": notebook})
        return v1_error(404, "Notebook not found")

    # -- shared --------------------------------------------------------------------------------

    def _filtered(
        self,
        records: list[Record],
        search: dict[str, Any],
        field: Callable[[Record, str], Any],
        text: Callable[[Record], str],
    ) -> list[Record]:
        """Records inside the search's time window that match its query."""
        try:
            start = parse_time(search.get("from", "now-15m"), self.org.now)
            end = parse_time(search.get("to", "now"), self.org.now)
        except ValueError as exc:
            raise DemoError(f"invalid time range: {exc}") from None
        test = matcher(str(search.get("query") or "*"), field, text)
        return [r for r in records if start <= _timestamp(r) <= end and test(r)]

    def _page(
        self, found: list[Record], page: dict[str, Any], sort: str, request: httpx.Request, maximum: int
    ) -> httpx.Response:
        """One cursor page of `found`, sorted; `meta.page.after` and `links.next` only when more exists."""
        found = sorted(found, key=_timestamp, reverse=not str(sort).lstrip("-") or str(sort).startswith("-"))
        limit = int(page.get("limit") or 10)
        if not 1 <= limit <= maximum:
            raise DemoError(f"page limit must be between 1 and {maximum}")
        cursor = page.get("cursor")
        offset = 0
        if cursor:
            if not str(cursor).startswith("demo-") or not str(cursor)[5:].isdigit():
                raise DemoError("invalid cursor")
            offset = int(str(cursor)[5:])
        chunk = found[offset : offset + limit]
        answer: dict[str, Any] = {"data": chunk, "meta": {"status": "done", "elapsed": 3, "request_id": "demo"}}
        if offset + limit < len(found):
            after = f"demo-{offset + limit}"
            answer["meta"]["page"] = {"after": after}
            answer["links"] = {"next": str(request.url.copy_with(query=None)) + f"?page[cursor]={after}"}
        return ok(answer)


# -- metric query helpers ----------------------------------------------------------------------

_METRIC_QUERY = re.compile(r"(?:(avg|sum|min|max|p\d\d):)?([a-z_][\w.]*)\{([^}]*)\}(?:\s*by\s*\{([^}]*)\})?")


def _members(metric: str) -> list[dict[str, str]]:
    """Every tag combination that reports `metric`."""
    if metric.startswith("trace."):
        return [
            {"service": service, "resource_name": resource, "env": "prod"}
            for service in SERVICES
            if service != "postgres"
            for resource in (f"post_/api/{service}", f"get_/api/{service}/status")
        ]
    if metric.startswith("postgresql."):
        return [{"host": "db-1", "service": "postgres", "env": "prod"}]
    if metric.startswith("aws."):
        return [{"region": "eu-west-1", "env": "prod"}]
    return [{"host": host, "service": service, "env": "prod"} for host, (service, _) in HOSTS.items()]


def _group_members(metric: str, scope: str, by: str | None) -> dict[tuple[tuple[str, str], ...], list[dict[str, str]]]:
    wanted = [s.strip() for s in scope.split(",") if s.strip() and s.strip() != "*"]
    keys = [k.strip() for k in (by or "").split(",") if k.strip()]
    groups: dict[tuple[tuple[str, str], ...], list[dict[str, str]]] = {}
    for member in _members(metric):
        if all(_scope_matches(member, s) for s in wanted):
            group = tuple((k, member.get(k, "N/A")) for k in keys)
            groups.setdefault(group, []).append(member)
    return groups


def _scope_matches(member: dict[str, str], item: str) -> bool:
    negate = item.startswith("!")
    key, _, value = item.lstrip("!").partition(":")
    hit = member.get(key) == value
    return not hit if negate else hit


def _combine(values: list[float], aggregator: str) -> float | None:
    if not values:
        return None
    if aggregator == "sum":
        return sum(values)
    if aggregator == "min":
        return min(values)
    if aggregator == "max" or aggregator.startswith("p"):
        return max(values)
    return sum(values) / len(values)


# -- record fields for the search matcher -------------------------------------------------------


def _tag_value(tags: list[str], key: str) -> list[str]:
    return [t.split(":", 1)[1] for t in tags if t.startswith(key + ":")]


def _log_field(record: Record, key: str) -> Any:
    attributes = record["attributes"]
    if key.startswith("@"):
        return dig(attributes.get("attributes"), key[1:])
    if key in ("service", "status", "host", "message"):
        return attributes.get(key)
    return _tag_value(attributes.get("tags") or [], key)


def _log_text(record: Record) -> str:
    return str(record["attributes"].get("message"))


def _span_field(record: Record, key: str) -> Any:
    attributes = record["attributes"]
    if key.startswith("@"):
        return dig(attributes.get("custom"), key[1:])
    if key == "resource":
        key = "resource_name"
    if key in attributes:
        return attributes[key]
    return _tag_value(attributes.get("tags") or [], key)


def _span_text(record: Record) -> str:
    return str(record["attributes"].get("resource_name"))


def _rum_field(record: Record, key: str) -> Any:
    if key.startswith("@"):
        return dig(record["attributes"].get("attributes"), key[1:])
    if key == "service":
        return record["attributes"].get("service")
    return _tag_value(record["attributes"].get("tags") or [], key)


def _rum_text(record: Record) -> str:
    inner = record["attributes"].get("attributes") or {}
    return f"{dig(inner, 'view.url')} {dig(inner, 'error.message') or ''}"


def _event_field(record: Record, key: str) -> Any:
    inner = record["attributes"].get("attributes") or {}
    if key.startswith("@"):
        return dig(inner, key[1:])
    if key == "source":
        return inner.get("source_type_name")
    if key in inner:
        return inner[key]
    return _tag_value(record["attributes"].get("tags") or [], key)


def _event_text(record: Record) -> str:
    inner = record["attributes"].get("attributes") or {}
    return f"{inner.get('title')} {record['attributes'].get('message')}"


def _incident_field(record: Record, key: str) -> Any:
    attributes = record["attributes"]
    if key in attributes:
        return attributes[key]
    return (attributes.get("fields", {}).get(key) or {}).get("value")


def _timestamp(record: Record) -> float:
    attributes = record["attributes"]
    stamp = attributes.get("timestamp") or attributes.get("start_timestamp")
    return parse_time(stamp, 0) if isinstance(stamp, str) else 0.0


# -- request helpers --------------------------------------------------------------------------------


def _json(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        raise DemoError("malformed JSON body") from None
    if not isinstance(body, dict):
        raise DemoError("the body must be a JSON object")
    return body


def _wrapped(request: httpx.Request, kind: str) -> dict[str, Any]:
    """The attributes of a JSON:API request body `{"data": {"type": kind, "attributes": {...}}}`."""
    data = _json(request).get("data")
    if not isinstance(data, dict) or data.get("type") != kind:
        raise DemoError(f"the body must be {{'data': {{'type': '{kind}', 'attributes': ...}}}}")
    attributes = data.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def _int(params: httpx.QueryParams, name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        if default is None:
            raise DemoError(f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise DemoError(f"{name} must be an integer") from None


def _buckets(
    records: list[Record], request: dict[str, Any], field: Callable[[Record, str], Any]
) -> list[tuple[dict[str, Any], Any]]:
    """Aggregation buckets: `compute[0]` over `records` grouped by each `group_by` facet (largest first)."""
    compute = (request.get("compute") or [{"aggregation": "count"}])[0]
    aggregation, metric = compute.get("aggregation", "count"), compute.get("metric")
    facets = [g for g in request.get("group_by") or [] if isinstance(g, dict) and g.get("facet")]
    groups: dict[tuple[Any, ...], list[Record]] = {}
    for record in records:
        key = tuple(_first(field(record, g["facet"])) for g in facets)
        if all(k is not None for k in key):
            groups.setdefault(key, []).append(record)
    buckets = []
    for key, members in groups.items():
        raw = [field(m, metric) for m in members] if metric else []
        if aggregation == "cardinality":
            value: Any = len({json.dumps(_first(v)) for v in raw if v is not None})
        elif aggregation == "count" and not metric:
            value = len(members)
        else:
            numbers = [float(v) for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
            value = aggregate(numbers, aggregation) if aggregation != "count" else len(numbers)
        buckets.append(({g["facet"]: k for g, k in zip(facets, key, strict=True)}, value))
    buckets.sort(key=lambda b: b[1] if isinstance(b[1], int | float) else -1, reverse=True)
    limit = min((int(g.get("limit") or 10) for g in facets), default=1)
    return buckets[: max(limit, 1)] if facets else buckets


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
