"""The demo's HTTP surface: Datadog's endpoints, answered from the generated organisation.

Each handler reads the request the way Datadog documents it (same paths, parameter names and body
shapes) and answers in Datadog's response shapes, including its error bodies, so the real
service layer runs unchanged against it.
"""

from __future__ import annotations

import fnmatch
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import httpx

from dd_mcp_server.demo import catalog
from dd_mcp_server.demo.org import METRICS, UNITS, Org
from dd_mcp_server.demo.search import Record, aggregate, dig, matcher, parse_time, tag_matcher

Handler = Callable[[httpx.Request, re.Match[str]], httpx.Response]
LOG_INDEX = "main"  # the demo's one log index


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
        self._indexes: dict[int, tuple[list[Record], list[float], list[Record]]] = {}
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/api/v1/validate"), lambda r, m: ok({"valid": True})),
            ("GET", re.compile(r"/api/v2/validate_keys"), lambda r, m: ok({"status": "ok"})),
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
        """The answer of the endpoint `request` names, dated like every answer of Datadog's (the doctor
        reads the Date header as Datadog's clock; the demo's clock is this machine's)."""
        response = self._answer(request)
        response.headers["Date"] = formatdate(usegmt=True)
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
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
            groups = _group_members(self.org, metric, scope, by, start, end)
            for group_tags, members in groups.items():
                points = []
                for moment in range(start - start % step, end + 1, step):
                    values = [
                        v for m in members if (v := self.org.metric_value(metric, m, moment, aggregator)) is not None
                    ]
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
        """Metrics reporting since `from`: with `host`, those tagged with that host; with `tag_filter`, those
        submitted with tags matching the expression (Datadog documents it as not to be combined with the
        other filters: here both apply)."""
        params = request.url.params
        since = _int(params, "from")
        host = params.get("host")
        wanted = tag_matcher(params.get("tag_filter") or "*")
        names = sorted(
            metric
            for metric in METRICS
            if any(
                (not host or tags.get("host") == host) and wanted(tags) and self.org.reports(tags, since, self.org.now)
                for tags in self.org.members(metric)
            )
        )
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
        window = _int(request.url.params, "window[seconds]", 14400)
        since = self.org.now - window
        members = [m for m in self.org.members(name) if self.org.reports(m, since, self.org.now)]
        tags = sorted({f"{k}:{v}" for member in members for k, v in member.items()})
        return ok({"data": {"type": "metrics", "id": name, "attributes": {"tags": tags}}})

    # -- logs ----------------------------------------------------------------------------------

    def search_logs(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _json(request)
        found = self._logs(body.get("filter") or {})
        return self._page(found, body.get("page") or {}, body.get("sort") or "-timestamp", request, 1000)

    def aggregate_logs(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        body = _json(request)
        found = self._logs(body.get("filter") or {})
        buckets = _buckets(found, body, _log_field)
        return ok(
            {
                "data": {"buckets": [{"by": by, "computes": values} for by, values in buckets]},
                "meta": {"status": "done", "elapsed": 4, "request_id": "demo"},
            }
        )

    def _logs(self, search: dict[str, Any]) -> list[Record]:
        """Logs matching a search filter, in the indexes it names (`*` or none: all). Every demo log is in
        the one index, `main`."""
        indexes = search.get("indexes") or ["*"]
        if not isinstance(indexes, list) or not all(isinstance(i, str) for i in indexes):
            raise DemoError("filter.indexes must be a list of index names")
        if not any(fnmatch.fnmatchcase(LOG_INDEX, index) for index in indexes):
            return []
        return self._filtered(self.org.logs, search, _log_field, _log_text)

    # -- monitors ------------------------------------------------------------------------------

    def list_monitors(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        found = catalog.monitors(self.org)
        name = params.get("name")
        if name:
            found = [m for m in found if name.lower() in m["name"].lower()]
        scope = _listed(params.get("tags"))
        found = [m for m in found if all(t in _scope(m) for t in scope)]
        monitor_tags = _listed(params.get("monitor_tags"))
        found = [m for m in found if all(t in m["tags"] for t in monitor_tags)]
        found = [_monitor_view(m, params) for m in found]
        size = _int(params, "page_size", 100)
        if size > 1000:
            raise DemoError("page_size must be at most 1000")
        if params.get("page") is None:
            return ok(found)  # without `page`, every monitor at once
        page = _int(params, "page")
        return ok(found[page * size : (page + 1) * size])

    def get_monitor(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for monitor in catalog.monitors(self.org):
            if str(monitor["id"]) == match["id"]:
                return ok(_monitor_view(monitor, request.url.params))
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
        if _flag(params, "filter[deleted]") or _flag(params, "filter[shared]"):
            summaries = []  # the demo's dashboards are neither deleted nor shared
        start = _int(params, "start", 0)
        count = _int(params, "count", 100)
        return ok({"dashboards": summaries[start : start + count]})

    def get_dashboard(self, request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        for dashboard in catalog.dashboards(self.org):
            if dashboard["id"] == match["id"]:
                return ok(dashboard)
        return v1_error(404, "Dashboard not found")

    # -- hosts ---------------------------------------------------------------------------------

    def list_hosts(self, request: httpx.Request, _: re.Match[str]) -> httpx.Response:
        params = request.url.params
        since = _int(params, "from", 0)
        found = [h for h in catalog.hosts(self.org) if h["last_reported_time"] >= since]
        words = params.get("filter", "").lower().split()
        found = [h for h in found if all(any(w in text.lower() for text in _host_texts(h)) for w in words)]
        field = params.get("sort_field")
        if field in ("cpu", "iowait", "load"):
            found.sort(key=lambda h: float(h["metrics"][field]), reverse=params.get("sort_dir") != "asc")
        elif field in ("status", "apps"):
            found.sort(
                key=lambda h: (not h["up"] if field == "status" else ",".join(h["apps"]), h["name"]),
                reverse=params.get("sort_dir") == "desc",
            )
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
                    {"type": "bucket", "id": f"b{n}", "attributes": {"by": by, "compute": values}}
                    for n, (by, values) in enumerate(buckets)
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
        browser = request.url.path.startswith("/api/v1/synthetics/tests/browser/")
        kinds = {t["public_id"]: t["type"] for t in catalog.synthetics_tests()}
        if kinds.get(match["id"]) != ("browser" if browser else "api"):
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
        text = params.get("query", "").lower()
        if text:
            found = [
                n for n in found if text in f"{n['attributes']['name']} {n['attributes']['author']['handle']}".lower()
            ]
        if params.get("author_handle"):
            found = [n for n in found if n["attributes"]["author"]["handle"] == params["author_handle"]]
        field = params.get("sort_field", "modified")
        if field not in ("modified", "name", "created"):
            raise DemoError("sort_field must be one of modified, name, created")
        found.sort(key=lambda n: n["attributes"][field], reverse=params.get("sort_dir", "desc") == "desc")
        if params.get("include_cells") == "false":
            found = [
                {**n, "attributes": {k: v for k, v in n["attributes"].items() if k not in ("cells", "time")}}
                for n in found
            ]
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
        return [r for r in self._between(records, start, end) if test(r)]

    def _between(self, records: list[Record], start: float, end: float) -> list[Record]:
        """The records stamped from `start` to `end`, found in an index of each list made on its first search."""
        index = self._indexes.get(id(records))
        if index is None or index[0] is not records:
            ordered = sorted(records, key=_timestamp)
            index = self._indexes[id(records)] = (records, [_timestamp(r) for r in ordered], ordered)
        _, stamps, ordered = index
        return ordered[bisect_left(stamps, start) : bisect_right(stamps, end)]

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


def _group_members(
    org: Org, metric: str, scope: str, by: str | None, start: float, end: float
) -> dict[tuple[tuple[str, str], ...], list[dict[str, str]]]:
    """The tag combinations reporting `metric` in the window that `scope` selects, grouped by the `by` keys."""
    wanted = tag_matcher(scope)
    keys = [k.strip() for k in (by or "").split(",") if k.strip()]
    groups: dict[tuple[tuple[str, str], ...], list[dict[str, str]]] = {}
    for member in org.members(metric):
        if wanted(member) and org.reports(member, start, end):
            group = tuple((k, member.get(k, "N/A")) for k in keys)
            groups.setdefault(group, []).append(member)
    return groups


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


# -- monitors, hosts ----------------------------------------------------------------------------------


def _listed(value: str | None) -> list[str]:
    """The items of a comma-separated parameter."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _flag(params: httpx.QueryParams, name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"


def _scope(monitor: dict[str, Any]) -> set[str]:
    """The `key:value` tags a monitor watches: its query's scopes and its groups (what `tags` filters on)."""
    parts = {p.strip() for scope in re.findall(r"\{([^}]*)\}", monitor["query"]) for p in scope.split(",")}
    parts |= {p for group in monitor["state"]["groups"] for p in group.split(",")}
    return {p for p in parts if ":" in p}


def _monitor_view(monitor: dict[str, Any], params: httpx.QueryParams) -> dict[str, Any]:
    """A monitor as Datadog answers it: the state of the groups in the `group_states` asked for (`all`:
    every group; none asked: no state), and the active downtimes matching it unless `with_downtimes=false`."""
    wanted = [state.lower() for state in _listed(params.get("group_states"))]
    groups = {k: g for k, g in monitor["state"]["groups"].items() if "all" in wanted or g["status"].lower() in wanted}
    view = {**monitor, "state": {"groups": groups} if wanted else {}}
    if params.get("with_downtimes") == "false":
        del view["matching_downtimes"]
    return view


def _host_texts(host: dict[str, Any]) -> list[str]:
    """What a host search reads: the host's name, aliases, tags and apps."""
    tags = [tag for source in host["tags_by_source"].values() for tag in source]
    return [host["name"], *host["aliases"], *tags, *host["apps"]]


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
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Aggregation buckets, each with every `compute` over its records (`c0`, `c1`...), split by each
    `group_by` facet in turn. At each level the values of the facet are ranked by the group's `sort` (a
    measure, largest first unless `order` is `asc`; or `alphabetical`) and the first `limit` (default 10)
    are kept."""
    computes = [c for c in request.get("compute") or [] if isinstance(c, dict)] or [{"aggregation": "count"}]
    compute = computes[0]
    facets = [g for g in request.get("group_by") or [] if isinstance(g, dict) and g.get("facet")]
    if not records:
        return []

    def split(members: list[Record], level: int, by: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        if level == len(facets):
            return [(by, {f"c{n}": _measure(members, c, field) for n, c in enumerate(computes)})]
        group = facets[level]
        parts: dict[Any, list[Record]] = {}
        for record in members:
            key = _first(field(record, group["facet"]))
            if key is not None:
                parts.setdefault(key, []).append(record)
        sort: dict[str, Any] = group["sort"] if isinstance(group.get("sort"), dict) else {}
        if sort.get("type") == "alphabetical":
            ranked = sorted(parts, key=str, reverse=sort.get("order") == "desc")
        else:
            measure = (
                {"aggregation": sort["aggregation"], "metric": sort.get("metric")} if "aggregation" in sort else compute
            )
            value = {key: _measure(part, measure, field) for key, part in parts.items()}
            known = [key for key in parts if isinstance(value[key], int | float)]
            ranked = sorted(known, key=lambda k: value[k], reverse=sort.get("order", "desc") != "asc")
            ranked += [key for key in parts if key not in known]
        chosen = ranked[: max(1, int(group.get("limit") or 10))]
        return [bucket for key in chosen for bucket in split(parts[key], level + 1, {**by, group["facet"]: key})]

    return split(records, 0, {})


def _measure(records: list[Record], compute: dict[str, Any], field: Callable[[Record, str], Any]) -> Any:
    """One aggregation (`{"aggregation": ..., "metric": ...}`) over `records`."""
    aggregation, metric = compute.get("aggregation", "count"), compute.get("metric")
    raw = [field(r, metric) for r in records] if metric else []
    if aggregation == "cardinality":
        return len({json.dumps(_first(v)) for v in raw if v is not None})
    if aggregation == "count" and not metric:
        return len(records)
    numbers = [float(v) for v in raw if isinstance(v, int | float) and not isinstance(v, bool)]
    return aggregate(numbers, aggregation) if aggregation != "count" else len(numbers)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
