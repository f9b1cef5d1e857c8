"""The demo organisation: a small shop whose payments deploy went wrong about 45 minutes ago.

The story, consistent across every product: `payments` v2.14.0 was deployed at now-45m; from
now-40m its database connection pool is exhausted, payments answer 5xx and `checkout` slows down
(p95 from ~120 ms to ~2.5 s). An incident is open, monitors are in Alert and Warn, the synthetic
checkout test fails, users see errors in RUM. Everything is generated deterministically from a
seed, anchored on the time the organisation was created, so relative windows always hold data.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DAY = 86400
INCIDENT_AFTER = 40 * 60  # the incident began this many seconds before "now"
DEPLOY_AFTER = 45 * 60

HOSTS = {
    "web-1": ("web-frontend", "i-0a1b2c3d4e5f60001"),
    "web-2": ("web-frontend", "i-0a1b2c3d4e5f60002"),
    "web-3": ("web-frontend", "i-0a1b2c3d4e5f60003"),
    "api-1": ("checkout", "i-0a1b2c3d4e5f60004"),
    "api-2": ("payments", "i-0a1b2c3d4e5f60005"),
    "db-1": ("postgres", "i-0a1b2c3d4e5f60006"),
    "worker-1": ("email-worker", "i-0a1b2c3d4e5f60007"),
    "worker-2": ("inventory", "i-0a1b2c3d4e5f60008"),
}
SERVICES = {
    "web-frontend": {"team": "storefront", "language": "javascript", "tier": "1", "host": "web-1"},
    "checkout": {"team": "payments", "language": "python", "tier": "1", "host": "api-1"},
    "payments": {"team": "payments", "language": "go", "tier": "1", "host": "api-2"},
    "inventory": {"team": "catalog", "language": "java", "tier": "2", "host": "worker-2"},
    "postgres": {"team": "platform", "language": "sql", "tier": "1", "host": "db-1"},
    "email-worker": {"team": "growth", "language": "python", "tier": "3", "host": "worker-1"},
}
USERS = {
    "7d3c5b1e-0000-4000-8000-000000000001": ("Ana Lima", "ana.lima@shop.example"),
    "7d3c5b1e-0000-4000-8000-000000000002": ("Ben Okafor", "ben.okafor@shop.example"),
    "7d3c5b1e-0000-4000-8000-000000000003": ("Chen Wei", "chen.wei@shop.example"),
}


def iso(epoch: float, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def noise(*parts: object) -> float:
    """A repeatable number in [0, 1) for the given parts: the same input always gives the same value."""
    return (zlib.crc32(repr(parts).encode()) % 100_000) / 100_000


@dataclass
class Org:
    """Everything the demo serves, generated once."""

    now: float = field(default_factory=lambda: float(int(time.time()) // 60 * 60))
    logs: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    rum: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(20261124)
        self.incident_start = self.now - INCIDENT_AFTER
        self.deploy_time = self.now - DEPLOY_AFTER
        self.logs = self._make_logs(rng)
        self.spans = self._make_spans(rng)
        self.rum = self._make_rum(rng)
        self.events = self._make_events()

    def in_incident(self, epoch: float) -> bool:
        return epoch >= self.incident_start

    # -- metrics -------------------------------------------------------------------------------

    def metric_value(self, metric: str, tags: dict[str, str], epoch: float) -> float | None:
        """The value of `metric` for one tag combination at one time."""
        if metric not in METRICS:
            return None
        base, swing, family = METRICS[metric]
        key = tuple(sorted(tags.items()))
        phase = noise(metric, key) * 2 * math.pi
        daily = math.sin(2 * math.pi * (epoch % DAY) / DAY + phase)
        jitter = noise(metric, key, int(epoch // 60)) - 0.5
        value = base * (1 + swing * daily + 0.2 * jitter)
        service = tags.get("service") or HOSTS.get(tags.get("host", ""), ("", ""))[0]
        if self.in_incident(epoch):
            value *= _incident_factor(metric, service)
        if family == "percent":
            value = min(value, 100.0)
        return max(0.0, value)

    # -- logs ----------------------------------------------------------------------------------

    def _make_logs(self, rng: random.Random) -> list[dict[str, Any]]:
        logs = []
        # ~450 lines in the last two hours (dense around the incident), ~150 over the rest of the day.
        moments = [self.now - rng.uniform(0, 7200) for _ in range(450)]
        moments += [self.now - rng.uniform(7200, DAY) for _ in range(150)]
        for n, moment in enumerate(sorted(moments, reverse=True)):
            logs.append(self._log(n, moment, rng))
        return logs

    def _log(self, n: int, moment: float, rng: random.Random) -> dict[str, Any]:
        service = rng.choice(list(SERVICES))
        host = SERVICES[service]["host"]
        status, message, extra = "info", "", {}
        trace_id = str(rng.randrange(10**18, 9 * 10**18))
        incident = self.in_incident(moment) and service in ("payments", "checkout") and rng.random() < 0.7
        if incident and service == "payments":
            status = "error"
            message = "charge failed: pq: remaining connection slots are reserved (pool exhausted, 50/50 in use)"
            extra = {"error": {"kind": "PoolExhausted", "message": "connection pool exhausted"}}
            code = 503
        elif incident:
            status = "warn" if rng.random() < 0.5 else "error"
            message = "POST /api/checkout upstream payments timed out after 2000 ms"
            extra = {"error": {"kind": "UpstreamTimeout", "message": "payments timed out"}}
            code = 504
        else:
            code = rng.choice([200, 200, 200, 201, 204, 304, 404])
            status = "warn" if code == 404 else rng.choice(["info", "info", "info", "debug"])
            message = rng.choice(_ROUTINE[service])
        duration = int(rng.uniform(5, 60) * 1e6) if not incident else int(rng.uniform(1500, 2600) * 1e6)
        attributes = {
            "http": {"method": "POST" if service in ("checkout", "payments") else "GET", "status_code": code},
            "duration": duration,
            "usr": {"id": f"u-{rng.randrange(1000, 9999)}"},
            "dd": {"trace_id": trace_id},
            **extra,
        }
        return {
            "id": f"AQAAAZ{n:010d}demoLog",
            "type": "log",
            "attributes": {
                "timestamp": iso(moment, millis=True),
                "host": host,
                "service": service,
                "status": status,
                "message": message,
                "tags": ["env:prod", f"service:{service}", f"host:{host}", "source:" + SERVICES[service]["language"]],
                "attributes": attributes,
            },
        }

    # -- spans ---------------------------------------------------------------------------------

    def _make_spans(self, rng: random.Random) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        for n in range(60):
            start = self.now - rng.uniform(60, 7200)
            spans.extend(self._trace(rng, start, failing=self.in_incident(start) and n % 3 == 0))
        # The showcase: one recent request of ~30 spans whose payment failed.
        spans.extend(self._trace(rng, self.now - 300, failing=True, fanout=6))
        return spans

    def _trace(self, rng: random.Random, start: float, failing: bool, fanout: int = 2) -> list[dict[str, Any]]:
        trace_id = str(rng.randrange(10**18, 9 * 10**18))
        spans: list[dict[str, Any]] = []
        slow = self.in_incident(start)

        def span(service: str, resource: str, parent: str, begin: float, millis: float, error: Any = None) -> str:
            span_id = str(rng.randrange(10**18, 9 * 10**18))
            custom: dict[str, Any] = {"duration": int(millis * 1e6), "env": "prod"}
            if service in ("web-frontend", "checkout", "payments"):
                custom["http"] = {"method": "POST", "status_code": 500 if error else 200, "url": f"/{resource}"}
            if error:
                custom["error"] = error
            spans.append(
                {
                    "id": f"span-{span_id}",
                    "type": "spans",
                    "attributes": {
                        "service": service,
                        "resource_name": resource,
                        "operation_name": "postgres.query" if service == "postgres" else f"{service}.request",
                        "trace_id": trace_id,
                        "span_id": span_id,
                        "parent_id": parent,
                        "start_timestamp": iso(begin, millis=True),
                        "end_timestamp": iso(begin + millis / 1000, millis=True),
                        "env": "prod",
                        "host": SERVICES[service]["host"],
                        "type": "db" if service == "postgres" else "web",
                        "status": "error" if error else "ok",
                        "tags": [f"service:{service}", "env:prod"]
                        + (["version:2.14.0"] if service == "payments" else []),
                        "custom": custom,
                    },
                }
            )
            return span_id

        pay_ms = rng.uniform(1900, 2100) if slow else rng.uniform(40, 90)
        total = pay_ms + rng.uniform(30, 80)
        root = span("web-frontend", "POST /checkout", "0", start, total + 20)
        checkout = span("checkout", "POST /api/checkout", root, start + 0.005, total)
        cursor = start + 0.01
        for index in range(fanout):
            span("inventory", "GET /api/stock/{sku}", checkout, cursor, rng.uniform(3, 9))
            span("postgres", "SELECT stock FROM items WHERE sku = ?", checkout, cursor + 0.001, rng.uniform(1, 3))
            cursor += 0.01 + index * 0.001
        error = {"type": "PoolExhausted", "message": "pq: remaining connection slots are reserved"} if failing else None
        payments = span("payments", "POST /api/charge", checkout, cursor, pay_ms, error)
        span("postgres", "INSERT INTO charges VALUES (?)", payments, cursor + 0.002, pay_ms - 5 if slow else 4)
        if not failing:
            span("email-worker", "send_receipt", checkout, cursor + pay_ms / 1000, rng.uniform(10, 30))
        return spans

    # -- rum -----------------------------------------------------------------------------------

    def _make_rum(self, rng: random.Random) -> list[dict[str, Any]]:
        events = []
        pages = [("/", "home"), ("/products/{id}", "product"), ("/cart", "cart"), ("/checkout", "checkout")]
        for n in range(220):
            moment = self.now - rng.uniform(0, 7200)
            url_path, name = rng.choice(pages)
            session = f"5e55{n // 4:04d}-demo-session"
            failing = self.in_incident(moment) and name == "checkout" and rng.random() < 0.6
            kind = "error" if failing else rng.choice(["view", "view", "action", "resource", "session"])
            inner: dict[str, Any] = {
                "type": kind,
                "application": {"id": "0b5e7a2c-demo-app", "name": "shop-web"},
                "session": {"id": session, "type": "user"},
                "view": {"name": name, "url": f"https://shop.example{url_path}", "url_path": url_path},
                "usr": {"id": f"u-{rng.randrange(1000, 9999)}"},
                "geo": {"country": rng.choice(["France", "Germany", "United States", "Brazil", "Japan"])},
                "browser": {"name": rng.choice(["Chrome", "Safari", "Firefox"])},
                "os": {"name": rng.choice(["Windows", "macOS", "iOS", "Android"])},
            }
            if kind == "view":
                inner["view"]["loading_time"] = int(rng.uniform(300, 1500) * 1e6)
            if kind == "error":
                inner["error"] = {"type": "HTTPError", "message": "POST /api/checkout 504", "source": "network"}
            if kind == "action":
                inner["action"] = {"type": "click", "target": {"name": rng.choice(["Add to cart", "Pay now"])}}
            if kind == "resource":
                inner["resource"] = {"url": "https://shop.example/api/cart", "status_code": 200, "duration": 80e6}
            events.append(
                {
                    "id": f"AgAAAZ{n:08d}demoRum",
                    "type": "rum",
                    "attributes": {
                        "service": "web-frontend",
                        "timestamp": iso(moment, millis=True),
                        "tags": ["env:prod", "service:web-frontend"],
                        "attributes": inner,
                    },
                }
            )
        return sorted(events, key=lambda e: e["attributes"]["timestamp"], reverse=True)

    # -- events --------------------------------------------------------------------------------

    def _make_events(self) -> list[dict[str, Any]]:
        happened = [
            (
                DEPLOY_AFTER,
                "Deployed payments v2.14.0 to prod",
                "payments",
                "github",
                "normal",
                "info",
                "Release v2.14.0: connection pool settings moved to config service (pool size 50).",
            ),
            (
                INCIDENT_AFTER - 60,
                "[Triggered] Payments error rate above 5%",
                "payments",
                "datadog",
                "normal",
                "error",
                "Error rate 23.4% on service:payments env:prod.",
            ),
            (
                INCIDENT_AFTER - 120,
                "[Triggered] Checkout p95 latency above 1s",
                "checkout",
                "datadog",
                "normal",
                "error",
                "p95 latency 2.48 s on service:checkout.",
            ),
            (
                INCIDENT_AFTER - 300,
                "Incident IR-42 declared: Checkout latency and payment failures",
                "checkout",
                "incidents",
                "normal",
                "warning",
                "Declared by Ana Lima. Severity SEV-2.",
            ),
            (
                3 * 3600,
                "Scaled deployment checkout from 3 to 4 replicas",
                "checkout",
                "kubernetes",
                "low",
                "info",
                "HorizontalPodAutoscaler raised replicas on CPU.",
            ),
            (
                20 * 3600,
                "Deployed checkout v5.2.1 to prod",
                "checkout",
                "github",
                "normal",
                "info",
                "Release v5.2.1: coupon validation.",
            ),
            (
                26 * 3600,
                "Postgres minor version upgrade on db-1",
                "postgres",
                "chef",
                "low",
                "info",
                "15.6 -> 15.7, rolling restart.",
            ),
        ]
        events = []
        for n, (ago, title, service, source, priority, alert_type, text) in enumerate(happened):
            moment = self.now - ago
            events.append(
                {
                    "id": f"AAAAAZ{n:06d}demoEvent",
                    "type": "event",
                    "attributes": {
                        "timestamp": iso(moment),
                        "message": text,
                        "tags": [f"service:{service}", "env:prod", f"source:{source}"],
                        "attributes": {
                            "title": title,
                            "priority": priority,
                            "service": service,
                            "status": alert_type,
                            "alert_type": alert_type,
                            "source_type_name": source,
                            "evt": {"id": str(7_400_000_000_000_000_000 + n), "source_id": n + 1, "type": source},
                            "timestamp": int(moment * 1000),
                        },
                    },
                }
            )
        return events


# metric -> (base value, daily swing as a fraction, unit family)
METRICS: dict[str, tuple[float, float, str]] = {
    "system.cpu.user": (35.0, 0.3, "percent"),
    "system.cpu.iowait": (2.0, 0.4, "percent"),
    "system.load.1": (1.2, 0.3, "system"),
    "system.mem.used": (6.2e9, 0.05, "bytes"),
    "system.disk.in_use": (0.55, 0.01, "fraction"),
    "trace.http.request.duration": (0.12, 0.1, "time"),
    "trace.http.request.hits": (45.0, 0.4, "rate"),
    "trace.http.request.errors": (0.2, 0.3, "rate"),
    "postgresql.connections": (18.0, 0.2, "connections"),
    "postgresql.percent_usage_connections": (0.36, 0.2, "fraction"),
    "aws.elb.request_count": (1200.0, 0.4, "count"),
}
UNITS = {
    "percent": {"family": "percentage", "name": "percent", "plural": "percent", "scale_factor": 1.0, "short_name": "%"},
    "bytes": {"family": "bytes", "name": "byte", "plural": "bytes", "scale_factor": 1.0, "short_name": "B"},
    "time": {"family": "time", "name": "second", "plural": "seconds", "scale_factor": 1.0, "short_name": "s"},
    "rate": {"family": "general", "name": "request", "plural": "requests", "scale_factor": 1.0, "short_name": "req"},
    "connections": {
        "family": "db",
        "name": "connection",
        "plural": "connections",
        "scale_factor": 1.0,
        "short_name": "conn",
    },
    "fraction": {
        "family": "percentage",
        "name": "fraction",
        "plural": "fractions",
        "scale_factor": 100.0,
        "short_name": "",
    },
}


def _incident_factor(metric: str, service: str) -> float:
    if metric == "trace.http.request.duration" and service in ("checkout", "payments"):
        return 20.0
    if metric == "trace.http.request.errors" and service in ("checkout", "payments"):
        return 60.0
    if metric.startswith("postgresql.") and service == "postgres":
        return 2.7
    if metric == "system.cpu.user" and service in ("payments", "postgres"):
        return 1.8
    return 1.0


_ROUTINE = {
    "web-frontend": ["GET /products/4411 200", "GET /cart 200", "served static bundle app.7f3a.js", "GET / 200"],
    "checkout": ["POST /api/checkout 201 order created", "applied coupon SPRING10", "cart validated"],
    "payments": ["charge authorized", "POST /api/charge 200", "refund processed"],
    "inventory": ["stock level updated for sku 4411", "GET /api/stock/4411 200", "nightly reindex progress 40%"],
    "postgres": ["checkpoint complete", "autovacuum: table items", "connection authorized: user=app"],
    "email-worker": ["sent receipt to customer", "queue depth 3", "template rendered: receipt_v2"],
}
