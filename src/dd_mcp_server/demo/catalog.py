"""The demo's configured objects: hosts, monitors, dashboards, incidents, SLOs, downtimes, notebooks,
synthetic tests and service definitions, shaped as Datadog's API returns them (noise included)."""

from __future__ import annotations

from typing import Any

from dd_mcp_server.demo.org import HOSTS, INCIDENT_AFTER, SERVICES, USERS, Org, iso

CREATOR = {"email": "ana.lima@shop.example", "handle": "ana.lima@shop.example", "name": "Ana Lima", "id": 1001}
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


def monitors(org: Org) -> list[dict[str, Any]]:
    started = int(org.now - INCIDENT_AFTER + 60)
    plans = [
        (
            1000001,
            "Payments error rate above 5%",
            "query alert",
            "Alert",
            1,
            "sum(last_5m):sum:trace.http.request.errors{service:payments} / "
            "sum:trace.http.request.hits{service:payments} > 0.05",
            {"env:prod": "Alert"},
            ["team:payments", "service:payments"],
        ),
        (
            1000002,
            "Checkout p95 latency above 1s",
            "query alert",
            "Alert",
            2,
            "avg(last_10m):p95:trace.http.request.duration{service:checkout} > 1",
            {"resource_name:post_/api/checkout": "Alert", "resource_name:get_/api/cart": "OK"},
            ["team:payments", "service:checkout"],
        ),
        (
            1000003,
            "Postgres connection usage high on {{host.name}}",
            "metric alert",
            "Warn",
            2,
            "avg(last_5m):avg:postgresql.percent_usage_connections{env:prod} by {host} > 0.9",
            {"host:db-1": "Warn"},
            ["team:platform", "service:postgres"],
        ),
        (
            1000004,
            "CPU high on {{host.name}}",
            "metric alert",
            "OK",
            3,
            "avg(last_15m):avg:system.cpu.user{env:prod} by {host} > 90",
            {f"host:{h}": "OK" for h in HOSTS},
            ["team:platform"],
        ),
        (
            1000005,
            "Disk almost full on {{host.name}}",
            "metric alert",
            "OK",
            3,
            "max(last_30m):max:system.disk.in_use{env:prod} by {host} > 0.9",
            {f"host:{h}": "OK" for h in HOSTS},
            ["team:platform"],
        ),
        (
            1000006,
            "Email queue backlog",
            "query alert",
            "No Data",
            4,
            "avg(last_30m):avg:email.queue.depth{service:email-worker} > 500",
            {"env:prod": "No Data"},
            ["team:growth", "service:email-worker"],
        ),
        (
            1000007,
            "[Synthetics] Checkout API",
            "synthetics alert",
            "Alert",
            1,
            '"http".over("abc-123-xyz").by("*").last(3).count_by_status()',
            {"location:aws:eu-west-1": "Alert"},
            ["team:payments", "service:checkout"],
        ),
    ]
    found = []
    for monitor_id, name, kind, state, priority, query, groups, tags in plans:
        found.append(
            {
                "id": monitor_id,
                "name": name,
                "type": kind,
                "query": query,
                "message": f"{{{{#is_alert}}}}{name} is firing.{{{{/is_alert}}}} Runbook: https://wiki.shop.example/"
                f"runbooks/{monitor_id}\nNotify @slack-{tags[0].split(':')[1]}-oncall @pagerduty-shop",
                "tags": [*tags, "env:prod"],
                "overall_state": state,
                "overall_state_modified": iso(started if state in ("Alert", "Warn") else org.now - 86400),
                "priority": priority,
                "multi": len(groups) > 1,
                "options": {
                    "thresholds": {"critical": 0.05 if monitor_id == 1000001 else 1.0, "warning": 0.03},
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
                "matching_downtimes": [
                    {"id": "dt-2", "start": int(org.now) + 3600, "end": None, "scope": ["host:worker-2"]}
                ]
                if monitor_id in (1000004, 1000005)
                else [],
                "state": {
                    "groups": {
                        group: {
                            "name": group,
                            "status": status,
                            "last_triggered_ts": started if status in ("Alert", "Warn") else None,
                            "last_nodata_ts": started if status == "No Data" else None,
                            "last_resolved_ts": int(org.now) - 86400 if status == "OK" else None,
                        }
                        for group, status in groups.items()
                    }
                },
            }
        )
    return found


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
            [_timeseries("Page views", "sum:rum.views{service:web-frontend}.as_count()")],
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
    plans = [
        (
            "9a0c1e2f-0000-4000-9000-000000000042",
            42,
            "Checkout latency and payment failures",
            "SEV-2",
            "active",
            INCIDENT_AFTER - 300,
            None,
            True,
            "Customers cannot complete checkout; ~25% of payments fail.",
            ["checkout", "payments"],
            ids[0],
        ),
        (
            "9a0c1e2f-0000-4000-9000-000000000041",
            41,
            "Receipt emails delayed",
            "SEV-3",
            "stable",
            26 * 3600,
            None,
            False,
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
            5 * 86400,
            5 * 86400 - 2700,
            True,
            "Checkout unavailable for 31 minutes.",
            ["postgres", "checkout"],
            ids[2],
        ),
        (
            "9a0c1e2f-0000-4000-9000-000000000039",
            39,
            "Stale product images on CDN",
            "SEV-4",
            "resolved",
            12 * 86400,
            12 * 86400 - 7200,
            False,
            None,
            ["web-frontend"],
            ids[1],
        ),
    ]
    found = []
    for uuid, public_id, title, severity, state, ago, resolved_ago, impacted, scope, services, commander in plans:
        created = org.now - ago
        resolved = org.now - resolved_ago if resolved_ago is not None else None
        found.append(
            {
                "id": uuid,
                "type": "incidents",
                "attributes": {
                    "public_id": public_id,
                    "title": title,
                    "severity": severity,
                    "state": state,
                    "customer_impacted": impacted,
                    "customer_impact_scope": scope,
                    "customer_impact_start": iso(created - 120) if impacted else None,
                    "customer_impact_end": iso(resolved) if impacted and resolved else None,
                    "customer_impact_duration": int((resolved or org.now) - created) if impacted else 0,
                    "created": iso(created),
                    "declared": iso(created),
                    "detected": iso(created - 240),
                    "modified": iso(org.now - 60),
                    "resolved": iso(resolved) if resolved else None,
                    "time_to_detect": 240,
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
                            "value": "payments v2.14.0 shrank the DB pool" if public_id == 42 else None,
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


def slos(org: Org) -> list[dict[str, Any]]:
    plans = [
        (
            "5a1b0000000000000000000000000001",
            "Checkout availability",
            "metric",
            99.9,
            "30d",
            98.71,
            -1190.0,
            ["service:checkout", "team:payments"],
        ),
        (
            "5a1b0000000000000000000000000002",
            "Payments success rate",
            "metric",
            99.5,
            "7d",
            97.9,
            -320.0,
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
                    "numerator": f"sum:trace.http.request.hits{{service:{service},!http.status_class:5xx}}.as_count()",
                    "denominator": f"sum:trace.http.request.hits{{service:{service}}}.as_count()",
                }
                if kind == "metric"
                else None,
                "monitor_ids": [1000007] if kind == "monitor" else [],
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
    plans = [
        (7001, "Postmortem: Postgres primary failover (IR-40)", "postmortem", 5 * 86400 - 7200, postmortem_cells),
        (7002, "Investigation: checkout latency", "investigation", 1200, postmortem_cells[1:2]),
        (7003, "Runbook: payments on-call", "runbook", 30 * 86400, postmortem_cells[2:3]),
    ]
    return [
        {
            "id": notebook_id,
            "type": "notebooks",
            "attributes": {
                "name": name,
                "author": {"handle": "ana.lima@shop.example", "name": "Ana Lima", "email": "ana.lima@shop.example"},
                "metadata": {"type": kind, "is_template": False, "take_snapshots": False},
                "created": iso(org.now - ago - 3600),
                "modified": iso(org.now - ago),
                "status": "published",
                "time": {"live_span": "1d"},
                "cells": cells,
            },
        }
        for notebook_id, name, kind, ago, cells in plans
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
                "config": {"request": request, "assertions": [{"type": "statusCode", "operator": "is", "target": 200}]},
                "options": {"tick_every": 300, "min_failure_duration": 0, "min_location_failed": 1},
                "creator": CREATOR,
            }
        )
    return found


def synthetics_results(org: Org, public_id: str) -> list[dict[str, Any]]:
    """The latest results of one test: the checkout API fails since the incident, the rest pass."""
    failing = public_id == "abc-123-xyz"
    results = []
    for n in range(6):
        checked = org.now - n * 300 - 30
        passed = not (failing and org.in_incident(checked))
        results.append(
            {
                "result_id": f"{public_id}-{n}",
                "check_time": checked * 1000,
                "probe_dc": ["aws:eu-west-1", "aws:us-east-1", "aws:ap-northeast-1"][n % 3],
                "status": 0 if passed else 1,
                "result": {"passed": passed, "timings": {"total": 180.0 if passed else 2050.0}},
            }
        )
    return results


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
