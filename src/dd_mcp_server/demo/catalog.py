"""The demo's configured objects: hosts, monitors, dashboards, incidents, SLOs, downtimes, notebooks,
synthetic tests and service definitions, shaped as Datadog's API returns them (noise included)."""

from __future__ import annotations

from typing import Any

from dd_mcp_server.demo.org import (
    ALERTS,
    DAY,
    DECLARED_AFTER,
    ENDPOINT,
    FAIL_SHARE,
    HOSTS,
    INCIDENT_AFTER,
    PAYMENTS_AFTER,
    SERVICES,
    SYNTHETIC_LIMIT_MS,
    USERS,
    Org,
    iso,
    noise,
    percentile,
)
from dd_mcp_server.demo.search import parse_time

CREATOR = {"email": "ana.lima@shop.example", "handle": "ana.lima@shop.example", "name": "Ana Lima", "id": 1001}
FAILOVER_MINUTES = 31  # IR-40, five days ago: checkout (and payments) down while postgres failed over
GOHAI = (
    '{"cpu":{"cpu_cores":"4","family":"6","mhz":"2500","model_name":"Intel(R) Xeon(R) Platinum"},'
    + ('"filesystem":[' + ",".join('{"kb_size":"8123456","mounted_on":"/","name":"/dev/nvme0n1p1"}' for _ in range(40)))
    + '],"platform":{"os":"GNU/Linux","kernel_release":"6.1.0-18-cloud-amd64"}}'
)


def hosts(org: Org) -> list[dict[str, Any]]:
    found = []
    for index, (name, (service, instance)) in enumerate(HOSTS.items()):
        found.append(
            {
                "id": 4_200_000 + index,
                "name": name,
                "host_name": name,
                "aliases": [name, instance],
                "apps": ["agent", "ntp", SERVICES[service]["language"], service],
                "aws_name": instance,
                "up": True,
                "is_muted": name == "worker-2",
                "mute_timeout": None,
                "last_reported_time": int(org.now) - 30 - index,
                "sources": ["agent", "aws"],
                "tags_by_source": {
                    "Datadog": [f"host:{name}"],
                    "Amazon Web Services": ["region:eu-west-1", f"availability-zone:eu-west-1{'abc'[index % 3]}"],
                    "Users": ["env:prod", f"service:{service}", f"team:{SERVICES[service]['team']}"],
                },
                "metrics": {
                    "cpu": round(org.metric_value("system.cpu.user", {"host": name}, org.now) or 0, 1),
                    "iowait": round(org.metric_value("system.cpu.iowait", {"host": name}, org.now) or 0, 2),
                    "load": round(org.metric_value("system.load.1", {"host": name}, org.now) or 0, 2),
                },
                "meta": {
                    "agent_version": "7.58.2",
                    "cpuCores": 4,
                    "platform": "linux",
                    "processor": "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
                    "gohai": GOHAI,
                    "socket-hostname": name,
                    "socket-fqdn": f"{name}.eu-west-1.compute.internal",
                },
            }
        )
    return found


# A monitor's state groups: {group: (status, seconds ago it entered that status)}.
Groups = dict[str, tuple[str, float]]
_WORST = ("Alert", "Warn", "No Data", "OK")


def monitors(org: Org) -> list[dict[str, Any]]:
    """The monitors, their states where the story puts them; one per synthetic test, under its monitor_id."""
    every_host: Groups = {f"host:{h}": ("OK", 20 * DAY) for h in HOSTS}
    plans: list[tuple[int, str, str, int, str, Groups, float, list[str]]] = [
        (
            1000001,
            "Payments error rate above 5%",
            "query alert",
            1,
            "sum(last_5m):sum:trace.http.request.errors{service:payments,env:prod}.as_count() / "
            "sum:trace.http.request.hits{service:payments,env:prod}.as_count() > 0.05",
            {"*": ("Alert", ALERTS[1000001])},
            0.03,
            ["team:payments", "service:payments"],
        ),
        (
            1000002,
            "Checkout p95 latency above 1s",
            "query alert",
            2,
            "avg(last_10m):p95:trace.http.request.duration{service:checkout,env:prod} by {resource_name} > 1",
            {
                "resource_name:post_/api/checkout": ("Alert", ALERTS[1000002]),
                "resource_name:get_/api/cart": ("OK", 9 * DAY),
            },
            0.5,
            ["team:payments", "service:checkout"],
        ),
        (
            1000003,
            "Postgres connection usage high on {{host.name}}",
            "metric alert",
            2,
            "avg(last_5m):avg:postgresql.percent_usage_connections{env:prod} by {host} > 0.9",
            {"host:db-1": ("OK", 5 * DAY)},
            0.8,
            ["team:platform", "service:postgres"],
        ),
        (
            1000004,
            "CPU high on {{host.name}}",
            "metric alert",
            3,
            "avg(last_15m):avg:system.cpu.user{env:prod} by {host} > 90",
            every_host,
            80,
            ["team:platform"],
        ),
        (
            1000005,
            "Disk almost full on {{host.name}}",
            "metric alert",
            3,
            "max(last_30m):max:system.disk.in_use{env:prod} by {host} > 0.9",
            {**every_host, "host:worker-2": ("Warn", 2 * DAY)},
            0.8,
            ["team:platform"],
        ),
        (
            1000006,
            "Email queue backlog",
            "query alert",
            4,
            "avg(last_30m):avg:email.queue.depth{service:email-worker} > 500",
            {"*": ("No Data", 5 * DAY)},
            300,
            ["team:growth", "service:email-worker"],
        ),
    ]
    for test in synthetics_tests():
        kind = "browser" if test["type"] == "browser" else "http"
        runs = synthetics_results(org, test["public_id"])
        groups: Groups = {}
        for location in test["locations"]:
            latest = max((r for r in runs if r["probe_dc"] == location), key=lambda r: r["check_time"])
            failed = not latest["result"]["passed"]
            since = ALERTS.get(test["monitor_id"], 3 * DAY) if failed else 3 * DAY
            groups[f"location:{location}"] = ("Alert" if failed else "OK", since)
        query = f'"{kind}".over("{test["public_id"]}").by("*").last(3).count_by_status()'
        plans.append(
            (test["monitor_id"], f"[Synthetics] {test['name']}", "synthetics alert", 1, query, groups, 1, test["tags"])
        )
    silences = [d for d in downtimes(org) if d["attributes"]["status"] == "active"]
    return [_monitor(org, *plan, silences) for plan in plans]


def _monitor(
    org: Org,
    monitor_id: int,
    name: str,
    kind: str,
    priority: int,
    query: str,
    groups: Groups,
    warning: float,
    tags: list[str],
    silences: list[dict[str, Any]],
) -> dict[str, Any]:
    state = min((status for status, _ in groups.values()), key=_WORST.index)
    changed = min(ago for status, ago in groups.values() if status == state)
    critical = float(query.rsplit(">", 1)[1]) if ">" in query else 1.0
    tags = [*tags, "env:prod"] if "env:prod" not in tags else tags
    return {
        "id": monitor_id,
        "name": name,
        "type": kind,
        "query": query,
        "message": f"{{{{#is_alert}}}}{name} is firing.{{{{/is_alert}}}} Runbook: https://wiki.shop.example/"
        f"runbooks/{monitor_id}\nNotify @slack-{tags[0].split(':')[1]}-oncall @pagerduty-shop",
        "tags": tags,
        "overall_state": state,
        "overall_state_modified": iso(org.now - changed),
        "priority": priority,
        "multi": len(groups) > 1,
        "options": {
            "thresholds": {"critical": critical, "warning": min(warning, critical)},
            "notify_no_data": False,
            "renotify_interval": 30,
            "evaluation_delay": 60,
            "include_tags": True,
            "new_group_delay": 60,
            "silenced": {},
        },
        "created": "2025-03-02T10:11:12.000000+00:00",
        "modified": "2026-10-01T08:00:00.000000+00:00",
        "deleted": None,
        "creator": CREATOR,
        "org_id": 321654,
        "restricted_roles": None,
        "matching_downtimes": [_downtime_v1(d) for d in silences if _silences(d, monitor_id, tags)],
        "state": {
            "groups": {
                group: {
                    "name": group,
                    "status": status,
                    "last_triggered_ts": int(org.now - ago) if status in ("Alert", "Warn") else None,
                    "last_nodata_ts": int(org.now - ago) if status == "No Data" else None,
                    "last_resolved_ts": int(org.now - ago) if status == "OK" else None,
                }
                for group, (status, ago) in groups.items()
            }
        },
    }


def _silences(downtime: dict[str, Any], monitor_id: int, tags: list[str]) -> bool:
    """Whether `downtime` covers the monitor: by its id, or by monitor tags it all carries (`*`: every one)."""
    identifier = downtime["attributes"]["monitor_identifier"]
    if "monitor_id" in identifier:
        return bool(identifier["monitor_id"] == monitor_id)
    return all(t == "*" or t in tags for t in identifier.get("monitor_tags") or [])


def _downtime_v1(downtime: dict[str, Any]) -> dict[str, Any]:
    """A downtime as a v1 monitor lists it in `matching_downtimes`."""
    attributes = downtime["attributes"]
    schedule = attributes["schedule"]
    return {
        "id": downtime["id"],
        "active": attributes["status"] == "active",
        "start": int(parse_time(schedule["start"], 0)),
        "end": int(parse_time(schedule["end"], 0)),
        "scope": attributes["scope"].split(),
    }


def _timeseries(title: str, *queries: str) -> dict[str, Any]:
    return {
        "definition": {
            "title": title,
            "type": "timeseries",
            "show_legend": True,
            "requests": [
                {
                    "queries": [
                        {"name": f"query{n + 1}", "data_source": "metrics", "query": q} for n, q in enumerate(queries)
                    ],
                    "formulas": [{"formula": "query1"}],
                    "response_format": "timeseries",
                    "display_type": "line",
                    "style": {"palette": "dog_classic", "line_type": "solid", "line_width": "normal"},
                }
            ],
        },
        "layout": {"x": 0, "y": 0, "width": 4, "height": 2},
    }


def _rum_counts(title: str, *searches: str) -> dict[str, Any]:
    names = [f"query{n + 1}" for n in range(len(searches))]
    queries = [
        {"name": name, "data_source": "rum", "search": {"query": search}, "compute": {"aggregation": "count"}}
        for name, search in zip(names, searches, strict=True)
    ]
    request = {"queries": queries, "formulas": [{"formula": n} for n in names], "response_format": "timeseries"}
    return {"definition": {"title": title, "type": "timeseries", "requests": [request]}}


def dashboards(org: Org) -> list[dict[str, Any]]:
    checkout_widgets = [
        {
            "id": 11,
            "definition": {
                "title": "Golden signals",
                "type": "group",
                "layout_type": "ordered",
                "widgets": [
                    _timeseries("Requests", "sum:trace.http.request.hits{service:checkout}.as_count()"),
                    _timeseries("p95 latency", "p95:trace.http.request.duration{service:checkout} by {resource_name}"),
                    {
                        "id": 12,
                        "definition": {
                            "title": "Errors, % of requests",
                            "type": "timeseries",
                            "requests": [
                                {
                                    "queries": [
                                        {
                                            "name": "query1",
                                            "data_source": "metrics",
                                            "query": "sum:trace.http.request.errors{service:checkout}.as_count()",
                                        },
                                        {
                                            "name": "query2",
                                            "data_source": "metrics",
                                            "query": "sum:trace.http.request.hits{service:checkout}.as_count()",
                                        },
                                    ],
                                    "formulas": [{"formula": "query1 / query2 * 100", "alias": "error %"}],
                                    "response_format": "timeseries",
                                    "display_type": "line",
                                }
                            ],
                        },
                    },
                    {
                        "id": 13,
                        "definition": {
                            "title": "Error rate",
                            "type": "query_value",
                            "precision": 2,
                            "requests": [{"q": "sum:trace.http.request.errors{service:checkout}", "aggregator": "avg"}],
                        },
                    },
                ],
            },
        },
        _timeseries(
            "Payments p95 latency by version", "p95:trace.http.request.duration{service:payments} by {version}"
        ),
        {
            "id": 14,
            "definition": {
                "title": "Payments monitor",
                "type": "alert_graph",
                "alert_id": "1000001",
                "viz_type": "timeseries",
            },
        },
        {
            "id": 15,
            "definition": {
                "title": "Top endpoints by latency",
                "type": "toplist",
                "requests": [
                    {"q": "top(avg:trace.http.request.duration{env:prod} by {resource_name}, 10, 'mean', 'desc')"}
                ],
            },
        },
        {
            "id": 18,
            "definition": {
                "title": "Payment failures, % of payment logs",
                "type": "query_value",
                "precision": 1,
                "requests": [
                    {
                        "queries": [
                            {
                                "name": "failed",
                                "data_source": "logs",
                                "search": {"query": "service:payments status:error"},
                                "compute": {"aggregation": "count"},
                                "indexes": ["*"],
                                "group_by": [],
                            },
                            {
                                "name": "all",
                                "data_source": "logs",
                                "search": {"query": "service:payments"},
                                "compute": {"aggregation": "count"},
                                "indexes": ["*"],
                                "group_by": [],
                            },
                        ],
                        "formulas": [{"formula": "100 * failed / all"}],
                        "response_format": "scalar",
                    }
                ],
            },
        },
        {
            "id": 16,
            "definition": {
                "type": "note",
                "content": "On-call: #payments-oncall. Runbook: https://wiki.shop.example/runbooks/checkout"
                "\n\nIf payments fail, check the DB pool first.",
                "background_color": "yellow",
                "font_size": "14",
            },
        },
        {
            "id": 17,
            "definition": {
                "title": "Errors in logs",
                "type": "log_stream",
                "query": "service:checkout status:error",
                "columns": ["host", "service"],
            },
        },
    ]
    infra_widgets = [
        _timeseries("CPU by host", "avg:system.cpu.user{env:prod} by {host}"),
        _timeseries("Memory used", "avg:system.mem.used{env:prod} by {host}"),
        {
            "id": 22,
            "definition": {
                "title": "Disk",
                "type": "group",
                "layout_type": "ordered",
                "widgets": [
                    _timeseries("Disk in use", "max:system.disk.in_use{env:prod} by {host}"),
                    {
                        "id": 23,
                        "definition": {
                            "title": "Postgres connections",
                            "type": "query_value",
                            "requests": [{"q": "avg:postgresql.connections{host:db-1}"}],
                        },
                    },
                ],
            },
        },
    ]
    plans = [
        ("abc-def-ghi", "Checkout service overview", "Golden signals for checkout and payments", checkout_widgets),
        ("jkl-mno-pqr", "Infrastructure overview", "Hosts, CPU, memory and disk", infra_widgets),
        (
            "stu-vwx-yz1",
            "Storefront RUM",
            "Real user experience of shop-web",
            [_rum_counts("Page views and errors", "@type:view", "@type:error")],
        ),
    ]
    return [
        {
            "id": dashboard_id,
            "title": title,
            "description": description,
            "layout_type": "ordered",
            "url": f"/dashboard/{dashboard_id}/{title.lower().replace(' ', '-')}",
            "author_handle": "ana.lima@shop.example",
            "author_name": "Ana Lima",
            "created_at": "2025-05-01T09:00:00.000000+00:00",
            "modified_at": iso(org.now - 3 * 86400),
            "is_read_only": False,
            "notify_list": [],
            "reflow_type": "auto",
            "restricted_roles": [],
            "template_variables": [{"name": "env", "prefix": "env", "available_values": [], "default": "prod"}],
            "widgets": widgets,
        }
        for dashboard_id, title, description, widgets in plans
    ]


def incidents(org: Org) -> list[dict[str, Any]]:
    ids = list(USERS)
    # (id, public id, title, severity, state, seconds ago: declared, detected, impact began, resolved;
    #  customers impacted, scope, services, commander)
    plans: list[
        tuple[str, int, str, str, str, tuple[float, float, float | None, float | None], str | None, list[str], str]
    ] = [
        (
            "9a0c1e2f-0000-4000-9000-000000000042",
            42,
            "Checkout latency and payment failures",
            "SEV-2",
            "active",
            (DECLARED_AFTER, ALERTS[1000001], INCIDENT_AFTER, None),
            f"Customers cannot complete checkout; ~{FAIL_SHARE:.0%} of payments fail.",
            ["checkout", "payments"],
            ids[0],
        ),
        (
            "9a0c1e2f-0000-4000-9000-000000000041",
            41,
            "Receipt emails delayed",
            "SEV-3",
            "stable",
            (26 * 3600, 26 * 3600 + 240, None, None),
            None,
            ["email-worker"],
            ids[1],
        ),
        (
            "9a0c1e2f-0000-4000-9000-000000000040",
            40,
            "Postgres primary failover",
            "SEV-1",
            "resolved",
            (5 * DAY, 5 * DAY + 240, 5 * DAY + 120, 5 * DAY + 120 - FAILOVER_MINUTES * 60),
            f"Checkout unavailable for {FAILOVER_MINUTES} minutes.",
            ["postgres", "checkout"],
            ids[2],
        ),
        (
            "9a0c1e2f-0000-4000-9000-000000000039",
            39,
            "Stale product images on CDN",
            "SEV-4",
            "resolved",
            (12 * DAY, 12 * DAY + 240, None, 12 * DAY - 7200),
            None,
            ["web-frontend"],
            ids[1],
        ),
    ]
    found = []
    for uuid, public_id, title, severity, state, times, scope, services, commander in plans:
        declared_ago, detected_ago, impact_ago, resolved_ago = times
        created, detected = org.now - declared_ago, org.now - detected_ago
        impact_start = org.now - impact_ago if impact_ago is not None else None
        resolved = org.now - resolved_ago if resolved_ago is not None else None
        impact_end = resolved if impact_start else None
        found.append(
            {
                "id": uuid,
                "type": "incidents",
                "attributes": {
                    "public_id": public_id,
                    "title": title,
                    "severity": severity,
                    "state": state,
                    "customer_impacted": impact_start is not None,
                    "customer_impact_scope": scope,
                    "customer_impact_start": iso(impact_start) if impact_start else None,
                    "customer_impact_end": iso(impact_end) if impact_end else None,
                    "customer_impact_duration": int((impact_end or org.now) - impact_start) if impact_start else 0,
                    "created": iso(created),
                    "declared": iso(created),
                    "detected": iso(detected),
                    "modified": iso(org.now - 60),
                    "resolved": iso(resolved) if resolved else None,
                    "time_to_detect": int(detected - impact_start) if impact_start else 240,
                    "time_to_internal_response": 120,
                    "time_to_repair": int(resolved - created) if resolved else None,
                    "time_to_resolve": int(resolved - created) if resolved else None,
                    "visibility": "organization",
                    "fields": {
                        "severity": {"type": "dropdown", "value": severity},
                        "state": {"type": "dropdown", "value": state},
                        "services": {"type": "autocomplete", "value": services},
                        "teams": {"type": "autocomplete", "value": [SERVICES[services[0]]["team"]]},
                        "root_cause": {
                            "type": "textbox",
                            "value": f"payments {PAYMENTS_AFTER} reads its DB pool size from the config service, "
                            "where it is unset: 5 connections instead of 50"
                            if public_id == 42
                            else None,
                        },
                        "detection_method": {"type": "dropdown", "value": "monitor"},
                    },
                    "notification_handles": [{"display_name": "#payments-oncall", "handle": "@slack-payments-oncall"}],
                },
                "relationships": {
                    "commander_user": {"data": {"id": commander, "type": "users"}},
                    "created_by_user": {"data": {"id": ids[0], "type": "users"}},
                },
            }
        )
    return found


def users() -> list[dict[str, Any]]:
    return [
        {"id": uid, "type": "users", "attributes": {"name": name, "handle": email, "email": email}}
        for uid, (name, email) in USERS.items()
    ]


def _availability(target: float, days: int) -> tuple[float, float]:
    """(SLI %, error budget left %) of a checkout-path SLO over `days`: the failover of IR-40 (every request
    failed) and the payments failures since the pool ran out."""
    bad_minutes = FAILOVER_MINUTES + FAIL_SHARE * INCIDENT_AFTER / 60
    sli = 100 * (1 - bad_minutes / (days * 1440))
    return round(sli, 3), round((sli - target) / (100 - target) * 100, 1)


def slos(org: Org) -> list[dict[str, Any]]:
    checkout, payments = (_availability(target, days) for target, days in ((99.9, 30), (99.5, 7)))
    plans = [
        (
            "5a1b0000000000000000000000000001",
            "Checkout availability",
            "metric",
            99.9,
            "30d",
            *checkout,
            ["service:checkout", "team:payments"],
        ),
        (
            "5a1b0000000000000000000000000002",
            "Payments success rate",
            "metric",
            99.5,
            "7d",
            *payments,
            ["service:payments", "team:payments"],
        ),
        (
            "5a1b0000000000000000000000000003",
            "Storefront page load under 2s",
            "monitor",
            95.0,
            "30d",
            97.2,
            44.0,
            ["service:web-frontend", "team:storefront"],
        ),
        (
            "5a1b0000000000000000000000000004",
            "Inventory API latency",
            "metric",
            99.0,
            "30d",
            99.6,
            60.0,
            ["service:inventory", "team:catalog"],
        ),
    ]
    found = []
    for slo_id, name, kind, target, timeframe, sli, budget, tags in plans:
        service = tags[0].split(":")[1]
        found.append(
            {
                "id": slo_id,
                "name": name,
                "type": kind,
                "description": f"{name} as seen by customers.",
                "tags": tags,
                "thresholds": [{"timeframe": timeframe, "target": target, "warning": target + 0.05}],
                "target_threshold": target,
                "timeframe": timeframe,
                "query": {
                    "numerator": f"sum:trace.http.request.hits{{service:{service},env:prod}}.as_count() - "
                    f"sum:trace.http.request.errors{{service:{service},env:prod}}.as_count()",
                    "denominator": f"sum:trace.http.request.hits{{service:{service},env:prod}}.as_count()",
                }
                if kind == "metric"
                else None,
                "monitor_ids": [1000008] if kind == "monitor" else [],
                "created_at": 1_740_000_000,
                "modified_at": int(org.now - 86400),
                "creator": CREATOR,
                "overall_status": [
                    {
                        "timeframe": timeframe,
                        "status": sli,
                        "error_budget_remaining": budget,
                        "state": "breached" if budget < 0 else "ok",
                        "target": target,
                        "indexed_at": int(org.now - 120),
                    }
                ],
            }
        )
    return found


def downtimes(org: Org) -> list[dict[str, Any]]:
    plans = [
        (
            "dt-1",
            "active",
            "service:email-worker env:prod",
            {"monitor_tags": ["team:growth"]},
            org.now - 1800,
            org.now + 5400,
            "Email provider maintenance window.",
        ),
        (
            "dt-2",
            "scheduled",
            "host:worker-2",
            {"monitor_id": 1000005},
            org.now + 3600,
            org.now + 7200,
            "Disk resize on worker-2.",
        ),
        (
            "dt-3",
            "ended",
            "host:web-3",
            {"monitor_tags": ["*"]},
            org.now - 3 * 86400,
            org.now - 3 * 86400 + 3600,
            "Kernel patching.",
        ),
    ]
    return [
        {
            "id": downtime_id,
            "type": "downtime",
            "attributes": {
                "status": status,
                "scope": scope,
                "monitor_identifier": identifier,
                "message": message,
                "display_timezone": "Europe/Paris",
                "mute_first_recovery_notification": False,
                "notify_end_states": ["alert", "warn"],
                "notify_end_types": ["expired"],
                "schedule": {"start": iso(start), "end": iso(end)},
                "created": iso(start - 86400),
                "modified": iso(start - 86400),
                "canceled": None,
            },
            "relationships": {"created_by": {"data": {"id": next(iter(USERS)), "type": "users"}}},
        }
        for downtime_id, status, scope, identifier, start, end, message in plans
    ]


def notebooks(org: Org) -> list[dict[str, Any]]:
    postmortem_cells = [
        {
            "id": "c1",
            "type": "notebook_cells",
            "attributes": {
                "definition": {
                    "type": "markdown",
                    "text": "# Postmortem: Postgres primary failover (IR-40)\n\n## Impact\n"
                    "Checkout unavailable for 31 minutes.",
                }
            },
        },
        {
            "id": "c2",
            "type": "notebook_cells",
            "attributes": {
                "definition": {
                    "type": "timeseries",
                    "title": "Connections",
                    "requests": [{"q": "avg:postgresql.connections{host:db-1}", "display_type": "line"}],
                }
            },
        },
        {
            "id": "c3",
            "type": "notebook_cells",
            "attributes": {
                "definition": {
                    "type": "markdown",
                    "text": "## Root cause\nThe primary ran out of disk for WAL; the replica was promoted.\n\n"
                    "## Actions\n"
                    "- Alert on WAL volume (done)\n- Pool size review for payments (open)",
                }
            },
        },
        {
            "id": "c4",
            "type": "notebook_cells",
            "attributes": {
                "definition": {"type": "log_stream", "query": "service:postgres status:error", "columns": ["host"]}
            },
        },
    ]
    investigation_cells = [
        {
            "id": "i1",
            "type": "notebook_cells",
            "attributes": {
                "definition": {
                    "type": "markdown",
                    "text": f"# Checkout latency\n\nCheckout p95 above 1 s since {iso(org.incident_start)}; payments "
                    "errors rose at the same minute. Deploys around then?",
                }
            },
        },
        {
            "id": "i2",
            "type": "notebook_cells",
            "attributes": {
                "definition": {
                    "type": "timeseries",
                    "title": "p95 latency by service",
                    "requests": [
                        {
                            "q": "p95:trace.http.request.duration{service:checkout OR service:payments} by {service}",
                            "display_type": "line",
                        }
                    ],
                }
            },
        },
        {
            "id": "i3",
            "type": "notebook_cells",
            "attributes": {
                "definition": {"type": "log_stream", "query": "service:payments status:error", "columns": ["host"]}
            },
        },
    ]
    ana, ben = (USERS[uid] for uid in list(USERS)[:2])
    # (id, name, type, seconds ago: created, modified; cells, author)
    plans = [
        (
            7001,
            "Postmortem: Postgres primary failover (IR-40)",
            "postmortem",
            5 * DAY - 3600,
            5 * DAY - 7200,
            postmortem_cells,
            ana,
        ),
        (
            7002,
            "Investigation: checkout latency",
            "investigation",
            DECLARED_AFTER - 300,
            1200,
            investigation_cells,
            ana,
        ),
        (7003, "Runbook: payments on-call", "runbook", 90 * DAY, 30 * DAY, postmortem_cells[2:3], ben),
    ]
    return [
        {
            "id": notebook_id,
            "type": "notebooks",
            "attributes": {
                "name": name,
                "author": {"handle": author[1], "name": author[0], "email": author[1]},
                "metadata": {"type": kind, "is_template": False, "take_snapshots": False},
                "created": iso(org.now - created),
                "modified": iso(org.now - modified),
                "status": "published",
                "time": {"live_span": "1d"},
                "cells": cells,
            },
        }
        for notebook_id, name, kind, created, modified, cells, author in plans
    ]


def synthetics_tests() -> list[dict[str, Any]]:
    plans = [
        (
            "abc-123-xyz",
            "Checkout API",
            "api",
            "http",
            "live",
            "POST",
            "https://shop.example/api/checkout",
            ["service:checkout", "env:prod"],
            1000007,
        ),
        (
            "def-456-uvw",
            "Storefront home page",
            "browser",
            None,
            "live",
            None,
            "https://shop.example/",
            ["service:web-frontend", "env:prod"],
            1000008,
        ),
        (
            "ghi-789-rst",
            "Inventory stock API",
            "api",
            "http",
            "live",
            "GET",
            "https://shop.example/api/stock/4411",
            ["service:inventory", "env:prod"],
            1000009,
        ),
        (
            "jkl-012-opq",
            "Legacy admin login",
            "browser",
            None,
            "paused",
            None,
            "https://admin.shop.example/login",
            ["team:platform"],
            1000010,
        ),
    ]
    found = []
    for public_id, name, kind, subtype, status, method, url, tags, monitor_id in plans:
        limit = SYNTHETIC_LIMIT_MS if public_id == "abc-123-xyz" else 2000
        request: dict[str, Any] = {"url": url}
        if method:
            request["method"] = method
        found.append(
            {
                "public_id": public_id,
                "name": name,
                "type": kind,
                "subtype": subtype,
                "status": status,
                "tags": tags,
                "locations": ["aws:eu-west-1", "aws:us-east-1", "aws:ap-northeast-1"],
                "monitor_id": monitor_id,
                "message": f"{name} failed @slack-oncall",
                "config": {
                    "request": request,
                    "assertions": [
                        {"type": "statusCode", "operator": "is", "target": 200},
                        {"type": "responseTime", "operator": "lessThan", "target": limit},
                    ],
                },
                "options": {"tick_every": 300, "min_failure_duration": 0, "min_location_failed": 1},
                "creator": CREATOR,
            }
        )
    return found


SYNTHETIC_RUNS = 12  # results kept per test: one run every five minutes, rotating over the locations
SYNTHETIC_TARGETS = {
    "abc-123-xyz": ("checkout", "POST /api/checkout"),
    "ghi-789-rst": ("inventory", "GET /api/stock/{sku}"),
}


def synthetics_results(org: Org, public_id: str) -> list[dict[str, Any]]:
    """The latest runs of one test, each a request its endpoint answered as the story's model says: the
    checkout API misses its 800 ms assertion since the pool ran out, the others pass (the paused test's
    runs are those before its pause)."""
    test = next(t for t in synthetics_tests() if t["public_id"] == public_id)
    target = SYNTHETIC_TARGETS.get(public_id)
    last = org.now - 30 - (10 * DAY if test["status"] == "paused" else 0)
    results = []
    for n in range(SYNTHETIC_RUNS):
        checked = last - n * 300
        if target:
            shares = org.shares(ENDPOINT[target], checked)
            took = percentile(shares, 100 * noise(public_id, n, int(checked)))
        else:
            took = 600 + 400 * noise(public_id, n, int(checked))  # a page load, well within its assertion
        passed = took < _limit(test)
        results.append(
            {
                "result_id": f"{public_id}-{int(checked)}",
                "check_time": checked * 1000,
                "probe_dc": test["locations"][n % len(test["locations"])],
                "status": 0 if passed else 1,
                "result": {"passed": passed, "timings": {"total": round(took, 1)}},
            }
        )
    return results


def _limit(test: dict[str, Any]) -> float:
    """The response time a test asserts, in milliseconds."""
    return float(next(a["target"] for a in test["config"]["assertions"] if a["type"] == "responseTime"))


def service_definitions() -> list[dict[str, Any]]:
    return [
        {
            "id": f"svc-{name}",
            "type": "service-definition",
            "attributes": {
                "meta": {"github-html-url": f"https://github.com/shop/{name}", "ingested-schema-version": "v2.2"},
                "schema": {
                    "schema-version": "v2.2",
                    "dd-service": name,
                    "team": info["team"],
                    "description": f"The {name} service of the shop.",
                    "application": "shop",
                    "tier": info["tier"],
                    "lifecycle": "production",
                    "type": "db" if name == "postgres" else "web",
                    "languages": [info["language"]],
                    "contacts": [
                        {
                            "name": f"{info['team']} on-call",
                            "type": "slack",
                            "contact": f"https://shop.slack.com/archives/{info['team']}-oncall",
                        }
                    ],
                    "links": [
                        {"name": "Runbook", "type": "runbook", "url": f"https://wiki.shop.example/runbooks/{name}"},
                        {"name": "Source", "type": "repo", "url": f"https://github.com/shop/{name}"},
                    ],
                    "tags": [f"team:{info['team']}"],
                },
            },
        }
        for name, info in SERVICES.items()
    ]
