"""The demo organisation: a small shop whose payments deploy went wrong 45 minutes ago.

The story, in seconds before `now` (the minute the organisation was made); everything else is drawn from
a fixed seed, so two organisations made at the same `now` are equal and every relative window holds data:

- Before: payments 2.13.2 (deployed six days ago) serves with ordinary noise, cards declined (warn) and
  settlement reconciliations (info). The other services keep one version all day (web-frontend 8.3.0,
  checkout 5.2.1, inventory 3.7.4, email-worker 1.9.0) and ordinary noise before and after: web-frontend
  TypeErrors on a few product pages, inventory redis timeouts and unknown skus, email-worker SMTP 421
  retries, postgres checkpoints and vacuums.
- now-45m (DEPLOY_AFTER): payments 2.14.0 deployed (event: source github, tags service:payments,
  version:2.14.0). Its first log says its DB pool size is unset in the config service: 5 connections
  instead of 50. Payments spans carry version:2.13.2 before this moment and version:2.14.0 from it on.
- now-43m (INCIDENT_AFTER): the pool is exhausted. A payments request waits 0.8 s to 1.9 s for a
  connection, or gives up after 2 s to 2.6 s (FAIL_SHARE of them) with a 503 and the NEW error log
  "connection pool exhausted: waited <N>ms for a connection to payments-db" (the reconciliation job too).
  Payments p95 ~85 ms -> ~2.5 s, errors 0% -> ~35%. Checkout's call to payments times out at 2 s: checkout
  answers 504 (error span, http.status_code 504, error log "upstream payments timed out after 2000 ms"),
  web-frontend passes the 504 on and users see it in RUM (resource status 504, error
  "POST /api/checkout 504"). Checkout p95 ~110 ms -> ~2 s. Postgres connections drop (payments holds 5,
  not up to 50): the database is not the cause.
- ALERTS: now-41m "Payments error rate above 5%", now-40.5m the checkout synthetic test (it wants an
  answer under 800 ms), now-38m "Checkout p95 latency above 1s" on resource_name:post_/api/checkout;
  now-35m (DECLARED_AFTER) incident IR-42 declared, SEV-2, still active. Unrelated: a feature flag, a
  scale-up, a certificate renewal; worker-2's disk is at 85% (Warn) with a resize scheduled.

Every dd.trace_id of a log, _dd.trace_id of a RUM resource and trace_id of a span belongs to a trace the
span search finds; the metrics trace.http.request.{hits,errors,duration} per service, resource_name and
version follow the latency and error model the spans are drawn from (`Org.shares`).
"""

from __future__ import annotations

import math
import random
import re
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

Record = dict[str, Any]

DAY = 86400
DENSE = 2 * 3600  # the last two hours hold most of the traffic sampled
SEED = 20261124

# Moments of the story, in seconds before now.
DEPLOY_AFTER = 45 * 60  # payments 2.14.0 deployed
INCIDENT_AFTER = 43 * 60  # its DB pool is exhausted from here on
DECLARED_AFTER = 35 * 60  # incident IR-42 declared
ALERTS = {1000001: 41 * 60, 1000007: 40 * 60 + 30, 1000002: 38 * 60}  # monitor id: when it alerted

PAYMENTS_BEFORE, PAYMENTS_AFTER = "2.13.2", "2.14.0"
FAIL_SHARE = 0.35  # of payments requests once the pool is exhausted: they give up waiting, after 2 s
CHECKOUT_TIMEOUT_MS = 2000  # checkout's deadline on its call to payments
SYNTHETIC_LIMIT_MS = 800  # the checkout synthetic test asserts an answer within this

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
    "web-frontend": {"team": "storefront", "language": "javascript", "tier": "1"},
    "checkout": {"team": "payments", "language": "python", "tier": "1"},
    "payments": {"team": "payments", "language": "go", "tier": "1"},
    "inventory": {"team": "catalog", "language": "java", "tier": "2"},
    "postgres": {"team": "platform", "language": "sql", "tier": "1"},
    "email-worker": {"team": "growth", "language": "python", "tier": "3"},
}
SERVICE_HOSTS = {service: [h for h, (s, _) in HOSTS.items() if s == service] for service in SERVICES}
# One version all day; payments' changes at the deploy. Postgres spans come from the callers' tracers: none.
VERSIONS = {"web-frontend": "8.3.0", "checkout": "5.2.1", "inventory": "3.7.4", "email-worker": "1.9.0"}
USERS = {
    "7d3c5b1e-0000-4000-8000-000000000001": ("Ana Lima", "ana.lima@shop.example"),
    "7d3c5b1e-0000-4000-8000-000000000002": ("Ben Okafor", "ben.okafor@shop.example"),
    "7d3c5b1e-0000-4000-8000-000000000003": ("Chen Wei", "chen.wei@shop.example"),
}

# (share of requests, fastest ms, slowest ms, failed): how an endpoint answers at one moment.
Shares = tuple[tuple[float, float, float, bool], ...]


@dataclass(frozen=True)
class Endpoint:
    """An HTTP resource of a service: its traffic for the trace metrics and its healthy behaviour."""

    service: str
    resource: str
    rate: float  # requests per second at the day's mean (the spans are a sample of them)
    fastest: float  # healthy latency range, milliseconds
    slowest: float
    errors: float  # healthy share of requests answered 5xx

    @property
    def tag(self) -> str:
        return tag_value(self.resource)


ENDPOINTS = (
    Endpoint("web-frontend", "GET /products/{id}", 24.0, 30, 80, 0.04),
    Endpoint("web-frontend", "GET /cart", 6.0, 16, 60, 0.0),
    Endpoint("web-frontend", "POST /api/checkout", 2.0, 58, 150, 0.0),
    Endpoint("checkout", "GET /api/cart", 6.0, 12, 50, 0.0),
    Endpoint("checkout", "POST /api/checkout", 2.0, 55, 140, 0.0),
    Endpoint("payments", "POST /api/charge", 2.0, 40, 90, 0.0),
    Endpoint("inventory", "GET /api/stock/{sku}", 30.0, 3, 9, 0.05),
)
# Once the pool is exhausted: what the payments wait does to each endpoint on the checkout path.
_OK = 1 - FAIL_SHARE
DEGRADED: dict[tuple[str, str], Shares] = {
    ("payments", "POST /api/charge"): ((_OK, 840, 1990, False), (FAIL_SHARE, 2001, 2601, True)),
    ("checkout", "POST /api/checkout"): ((_OK, 860, 2040, False), (FAIL_SHARE, 2002, 2040, True)),
    ("web-frontend", "POST /api/checkout"): ((_OK, 862, 2048, False), (FAIL_SHARE, 2004, 2048, True)),
}


def tag_value(text: str) -> str:
    """A value as Datadog writes it in a metric tag: `POST /api/checkout` -> `post_/api/checkout`."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_:./-]", "_", text.lower())).strip("_")


def iso(epoch: float, millis: bool = False) -> str:
    if millis:
        whole, thousandths = divmod(round(epoch * 1000), 1000)
        return f"{_second(whole)}.{thousandths:03d}Z"
    return f"{_second(math.floor(epoch))}Z"


@lru_cache(maxsize=4096)  # the spans of one request mostly share their second
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def noise(*parts: object) -> float:
    """A repeatable number in [0, 1) for the given parts: the same input always gives the same value."""
    return (zlib.crc32(repr(parts).encode()) % 100_000) / 100_000


@lru_cache(maxsize=256)
def percentile(shares: Shares, percent: float) -> float:
    """The latency below which `percent`% of requests answer, each share spread evenly over its range."""
    low, high = min(s[1] for s in shares), max(s[2] for s in shares)
    for _ in range(40):
        middle = (low + high) / 2
        below = sum(w * min(1.0, max(0.0, (middle - a) / (b - a))) for w, a, b, _ in shares)
        low, high = (middle, high) if below * 100 < percent else (low, middle)
    return (low + high) / 2


def mean(shares: Shares) -> float:
    return sum(w * (a + b) / 2 for w, a, b, _ in shares)


def failed_share(shares: Shares) -> float:
    return sum(w for w, _, _, failed in shares if failed)


class Org:
    """Everything the demo serves: the story's model, and the records drawn from it on first use."""

    def __init__(self, now: float | None = None) -> None:
        self.now = float(now if now is not None else int(time.time()) // 60 * 60)
        self.deploy_time = self.now - DEPLOY_AFTER
        self.incident_start = self.now - INCIDENT_AFTER

    def in_incident(self, epoch: float) -> bool:
        return epoch >= self.incident_start

    def version(self, service: str, epoch: float) -> str | None:
        """The version of `service` serving at `epoch`."""
        if service == "payments":
            return PAYMENTS_AFTER if epoch >= self.deploy_time else PAYMENTS_BEFORE
        return VERSIONS.get(service)

    def versions(self, service: str) -> list[tuple[str, float, float]]:
        """(version, since, until) of every version `service` ran today."""
        if service == "payments":
            return [(PAYMENTS_BEFORE, -math.inf, self.deploy_time), (PAYMENTS_AFTER, self.deploy_time, math.inf)]
        return [(VERSIONS[service], -math.inf, math.inf)] if service in VERSIONS else []

    def shares(self, endpoint: Endpoint, epoch: float) -> Shares:
        """How `endpoint` answers at `epoch`: the model both its spans and its metrics follow."""
        if self.in_incident(epoch) and (endpoint.service, endpoint.resource) in DEGRADED:
            return DEGRADED[endpoint.service, endpoint.resource]
        healthy = (1 - endpoint.errors, endpoint.fastest, endpoint.slowest, False)
        if not endpoint.errors:
            return (healthy,)
        return (healthy, (endpoint.errors, endpoint.fastest, endpoint.slowest, True))

    # -- metrics -------------------------------------------------------------------------------

    def metric_value(self, metric: str, tags: dict[str, str], epoch: float, aggregator: str = "avg") -> float | None:
        """The value of `metric` for one tag combination at one time (`aggregator` picks a percentile)."""
        if metric not in METRICS:
            return None
        if metric.startswith("trace."):
            return self._trace_metric(metric, tags, epoch, aggregator)
        base, swing, family = METRICS[metric]
        daily, jitter = _cycle(metric, tags, epoch)
        value = base * (1 + swing * daily + 0.2 * jitter)
        service = tags.get("service") or HOSTS.get(tags.get("host", ""), ("", ""))[0]
        value *= self._story_factor(metric, service, tags.get("host", ""), epoch)
        if family == "percent":
            value = min(value, 100.0)
        return max(0.0, value)

    def _trace_metric(self, metric: str, tags: dict[str, str], epoch: float, aggregator: str) -> float | None:
        endpoint = _ENDPOINT_BY_TAG.get((tags.get("service", ""), tags.get("resource_name", "")))
        if endpoint is None or tags.get("version") != self.version(endpoint.service, epoch):
            return None
        shares = self.shares(endpoint, epoch)
        if metric.endswith(".duration"):
            millis = percentile(shares, float(aggregator[1:])) if aggregator[1:].isdigit() else mean(shares)
            return millis / 1000 * (1 + 0.1 * _cycle(metric, tags, epoch)[1])
        daily, jitter = _cycle("trace.http.request.hits", tags, epoch)  # errors are a share of the hits
        hits = endpoint.rate * (1 + 0.4 * daily + 0.2 * jitter)
        return hits * failed_share(shares) if metric.endswith(".errors") else hits

    def _story_factor(self, metric: str, service: str, host: str, epoch: float) -> float:
        if metric.startswith("postgresql.") and epoch >= self.deploy_time:
            return 0.6  # payments 2.14.0 holds 5 connections, no longer up to 50
        if metric == "system.cpu.user" and service == "payments" and self.in_incident(epoch):
            return 1.4  # requests pile up waiting for the pool
        if metric == "system.disk.in_use" and host == "worker-2":
            return 1.55  # ~85% full: the Warn of the disk monitor, a resize is scheduled
        return 1.0

    def members(self, metric: str) -> list[dict[str, str]]:
        """Every tag combination that reports `metric` at some time today."""
        if metric.startswith("trace."):
            return [
                {"env": "prod", "service": e.service, "resource_name": e.tag, "version": version}
                for e in ENDPOINTS
                for version, _, _ in self.versions(e.service)
            ]
        if metric.startswith("postgresql."):
            return [{"host": "db-1", "service": "postgres", "env": "prod"}]
        if metric.startswith("aws."):
            return [{"region": "eu-west-1", "env": "prod"}]
        return [{"host": host, "service": service, "env": "prod"} for host, (service, _) in HOSTS.items()]

    def reports(self, tags: dict[str, str], start: float, end: float) -> bool:
        """Whether the tag combination `tags` reports between `start` and `end`."""
        if "version" not in tags:
            return True
        return any(
            version == tags["version"] and since <= end and until > start
            for version, since, until in self.versions(tags.get("service", ""))
        )

    # -- records -------------------------------------------------------------------------------

    @cached_property
    def _world(self) -> _World:
        return _World(self)

    @property
    def logs(self) -> list[Record]:
        return self._world.logs

    @property
    def spans(self) -> list[Record]:
        return self._world.spans

    @property
    def rum(self) -> list[Record]:
        return self._world.rum

    @cached_property
    def events(self) -> list[Record]:
        return _events(self)


def _cycle(metric: str, tags: dict[str, str], epoch: float) -> tuple[float, float]:
    """Where one series is in its daily cycle (-1 to 1) and its jitter this minute (-0.5 to 0.5)."""
    seed, phase = _series(metric, tuple(sorted(tags.items())))
    jitter = zlib.crc32(f"{seed}@{int(epoch // 60)}".encode()) % 100_000 / 100_000 - 0.5
    return math.sin(2 * math.pi * (epoch % DAY) / DAY + phase), jitter


@lru_cache(maxsize=1024)
def _series(metric: str, key: tuple[tuple[str, str], ...]) -> tuple[str, float]:
    """A series' seed for its jitter and its phase in the daily cycle, both fixed by its name and tags."""
    return f"{metric}{key}", noise(metric, key) * 2 * math.pi


_ENDPOINT_BY_TAG = {(e.service, e.tag): e for e in ENDPOINTS}
ENDPOINT = {(e.service, e.resource): e for e in ENDPOINTS}


# -- traces, and the logs and RUM events they leave ----------------------------------------------------


class _World:
    """Requests drawn from the model, each one trace, with the logs and RUM events it leaves behind."""

    def __init__(self, org: Org) -> None:
        self.org, self.rng = org, random.Random(SEED)
        self.spans: list[Record] = []
        self._logs: list[tuple[float, Record]] = []
        self._rum: list[tuple[float, Record]] = []
        self.orders = 51_000
        flows: list[tuple[Callable[[float], None], float, float]] = [
            (self.checkout, 60, 900),
            (self.browse, 90, 1200),
            (self.cart, 240, 2400),
            (self.reconcile, 120, 900),
            (self.database, 600, 2400),
            (self.home, 180, 1800),
        ]
        for flow, dense, sparse in flows:
            for moment in self.schedule(dense, sparse):
                flow(moment)
        self.checkout(org.now - 300, items=12, fail=True)  # a recent failed request of some 30 spans
        self.deploy(org.deploy_time)
        ordered = sorted(self._logs, key=lambda pair: pair[0], reverse=True)
        self.logs = [
            {"id": f"AQAAAZ{n:010d}demoLog", "type": "log", "attributes": a} for n, (_, a) in enumerate(ordered)
        ]
        ordered = sorted(self._rum, key=lambda pair: pair[0], reverse=True)
        self.rum = [{"id": f"AgAAAZ{n:08d}demoRum", "type": "rum", "attributes": a} for n, (_, a) in enumerate(ordered)]

    def schedule(self, dense: float, sparse: float) -> list[float]:
        """Moments about `dense` seconds apart over the last two hours, `sparse` apart over the rest of the day."""
        now, rng = self.org.now, self.rng
        moments, moment = [], now - rng.uniform(8, dense)
        while moment > now - DAY + 600:
            moments.append(moment)
            moment -= (dense if moment > now - DENSE else sparse) * rng.uniform(0.5, 1.5)
        return moments

    def new_id(self) -> str:
        return str(10**18 + self.rng.getrandbits(62))

    # -- flows ---------------------------------------------------------------------------------

    def checkout(self, start: float, items: int = 0, fail: bool = False) -> None:
        """The browser posts a checkout: web-frontend -> checkout -> inventory per item, payments, email."""
        rng = self.rng
        trace = Trace(self, start)
        order, items = self.next_order(), items or rng.randint(1, 3)
        front, own = trace.reserve(), trace.reserve()
        began = cursor = start + rng.uniform(0.001, 0.003)
        for _ in range(items):
            sku = rng.randrange(1000, 9999)
            code = 0
            while code in (0, 500):  # checkout retries a failed stock check
                took, code = self.stock(trace, own, cursor, sku, may_miss=False)
                cursor += took
        paid, answer = self.charge(trace, own, cursor, order, fail)
        error: dict[str, str] | None = None
        if answer == 503:  # the call outlived checkout's deadline
            ended = cursor + CHECKOUT_TIMEOUT_MS / 1000 + rng.uniform(0.0005, 0.003)
            code, status = 504, "error"
            message = f"POST /api/checkout upstream payments timed out after {CHECKOUT_TIMEOUT_MS} ms (order {order})"
            error = {"type": "UpstreamTimeout", "message": f"payments timed out after {CHECKOUT_TIMEOUT_MS} ms"}
        elif answer == 402:
            ended, code, status = cursor + paid + rng.uniform(0.002, 0.006), 402, "warn"
            message = f"payment declined for order {order}"
        else:
            stored, took = cursor + paid + 0.0005, rng.uniform(0.001, 0.003)
            trace.span("postgres", "INSERT INTO orders VALUES (?)", own, stored, took, db="shop-db")
            ended, code, status = stored + took + rng.uniform(0.003, 0.008), 201, "info"
            message = f"order {order} created: {items} items"
        trace.span("checkout", "POST /api/checkout", front, began, ended - began, span_id=own, code=code, error=error)
        self.log(ended, "checkout", status, message, trace, own, code=code, took=ended - began, error=error)
        finished = ended + rng.uniform(0.001, 0.004)
        passed_on = {"type": "HTTPError", "message": f"upstream checkout answered {code}"} if error else None
        trace.span(
            "web-frontend",
            "POST /api/checkout",
            "0",
            start,
            finished - start,
            span_id=front,
            code=code,
            error=passed_on,
        )
        if passed_on:
            line = f"POST /api/checkout {code} {int((finished - start) * 1000)}ms"
            self.log(
                finished, "web-frontend", "error", line, trace, front, code=code, took=finished - start, error=passed_on
            )
        if code == 201:
            self.receipt(trace, own, finished + rng.uniform(0.005, 0.05), order)
        if rng.random() < 0.5:  # RUM samples half of the sessions
            self.checkout_rum(trace, front, start, finished, code)

    def charge(self, trace: Trace, parent: str, start: float, order: int, fail: bool) -> tuple[float, int]:
        """Checkout's call to payments: (seconds it took, status code). Once the pool is exhausted, a charge
        waits for a connection, or gives up after more than checkout's deadline (503)."""
        org, rng = self.org, self.rng
        own, version = trace.reserve(), org.version("payments", start)
        if fail or (org.in_incident(start) and rng.random() < FAIL_SHARE):
            waited = rng.uniform(CHECKOUT_TIMEOUT_MS + 1, 2600)
            took = waited / 1000 + rng.uniform(0.0002, 0.001)
            problem = f"connection pool exhausted: waited {int(waited)}ms for a connection to payments-db"
            error = {"type": "PoolExhausted", "message": problem}
            trace.span("payments", "POST /api/charge", parent, start, took, span_id=own, code=503, error=error)
            self.log(
                start + took,
                "payments",
                "error",
                problem,
                trace,
                own,
                code=503,
                took=took,
                error=error,
                version=version,
            )
            return took, 503
        waited = rng.uniform(0.8, 1.9) if org.in_incident(start) else 0.0
        work = rng.uniform(0.040, 0.090)
        took = waited + work
        insert = start + waited + work * 0.7
        trace.span("postgres", "INSERT INTO charges VALUES (?)", own, insert, work * 0.08, db="payments-db")
        if rng.random() < 0.03:
            reason = rng.choice(["insufficient_funds", "do_not_honor", "expired_card"])
            message, code, status = f"charge declined by issuer: {reason} (order {order})", 402, "warn"
        else:
            amount = rng.randrange(1500, 40000) / 100
            message = f"charge ch_{rng.getrandbits(40):010x} authorized: {amount:.2f} EUR for order {order}"
            code, status = 200, "info"
        trace.span("payments", "POST /api/charge", parent, start, took, span_id=own, code=code)
        self.log(start + took, "payments", status, message, trace, own, code=code, took=took, version=version)
        return took, code

    def receipt(self, trace: Trace, parent: str, start: float, order: int) -> None:
        rng = self.rng
        took = rng.uniform(0.010, 0.030)
        span_id = trace.reserve()
        if rng.random() < 0.08:
            attempt = rng.randint(1, 3)
            message = f"SMTP 421 4.7.0 try again later: receipt for order {order} requeued (attempt {attempt})"
            error = {"type": "SMTPTemporaryError", "message": "421 4.7.0 try again later"}
            trace.span("email-worker", "send_receipt", parent, start, took, span_id=span_id, error=error, kind="worker")
            self.log(start + took, "email-worker", "error", message, trace, span_id, took=took, error=error)
            return
        trace.span("email-worker", "send_receipt", parent, start, took, span_id=span_id, kind="worker")
        if rng.random() < 0.3:
            self.log(start + took, "email-worker", "info", f"sent receipt for order {order}", trace, span_id, took=took)

    def browse(self, start: float) -> None:
        """A product page: web-frontend -> inventory -> postgres."""
        rng = self.rng
        trace = Trace(self, start)
        front = trace.reserve()
        product = rng.randrange(100, 999)
        self.stock(trace, front, start + 0.003, rng.randrange(1000, 9999), may_miss=True)
        took = rng.uniform(0.030, 0.080)
        url = f"/products/{product}"
        if rng.random() < ENDPOINT["web-frontend", "GET /products/{id}"].errors:
            at = rng.randrange(80, 120)
            error = {
                "type": "TypeError",
                "message": "Cannot read properties of undefined (reading 'price')",
                "stack": f"TypeError: Cannot read properties of undefined (reading 'price')\n"
                f"    at renderProduct (/app/server/product.js:{at}:17)",
            }
            trace.span(
                "web-frontend", "GET /products/{id}", "0", start, took, span_id=front, code=500, error=error, url=url
            )
            message = (
                f"TypeError: Cannot read properties of undefined (reading 'price') at renderProduct (product.js:{at})"
            )
            self.log(start + took, "web-frontend", "error", message, trace, front, code=500, took=took, error=error)
        else:
            trace.span("web-frontend", "GET /products/{id}", "0", start, took, span_id=front, code=200, url=url)
            if rng.random() < 0.2:
                self.log(
                    start + took,
                    "web-frontend",
                    "info",
                    f"GET {url} 200 {int(took * 1000)}ms",
                    trace,
                    front,
                    code=200,
                    took=took,
                )
        if rng.random() < 0.5:
            self.view(trace.user, start + took + rng.uniform(0.1, 0.5), "product", url)

    def stock(self, trace: Trace, parent: str, start: float, sku: int, may_miss: bool) -> tuple[float, int]:
        """Inventory's stock check of one sku (some fail on the redis cache, some skus are unknown): the
        seconds it took and its status code."""
        rng = self.rng
        own, took, roll = trace.reserve(), rng.uniform(0.003, 0.009), rng.random()
        trace.span("postgres", "SELECT stock FROM items WHERE sku = ?", own, start + 0.001, took * 0.4, db="shop-db")
        error, status = None, "info"
        if roll < ENDPOINT["inventory", "GET /api/stock/{sku}"].errors:
            error = {"type": "RedisTimeout", "message": "stock cache refresh failed: redis timeout after 50ms"}
            code, status, line = 500, "error", error["message"]
        elif may_miss and roll < 0.08:
            code, status, line = 404, "warn", f"sku {sku} not found"
        else:
            code, line = 200, f"stock level for sku {sku}: {rng.randrange(0, 400)} units"
        url = f"/api/stock/{sku}"
        trace.span(
            "inventory", "GET /api/stock/{sku}", parent, start, took, span_id=own, code=code, error=error, url=url
        )
        if code != 200 or rng.random() < 0.2:
            self.log(start + took, "inventory", status, line, trace, own, code=code, took=took, error=error)
        return took + rng.uniform(0.0005, 0.002), code

    def cart(self, start: float) -> None:
        """The cart page: web-frontend -> checkout -> postgres."""
        rng = self.rng
        trace = Trace(self, start)
        front, own = trace.reserve(), trace.reserve()
        took = rng.uniform(0.012, 0.045)
        trace.span("postgres", "SELECT * FROM carts WHERE id = ?", own, start + 0.003, took * 0.3, db="shop-db")
        trace.span("checkout", "GET /api/cart", front, start + 0.002, took, span_id=own, code=200)
        if rng.random() < 0.3:
            line = f"cart c-{rng.randrange(10000, 99999)} validated: {rng.randint(1, 4)} items"
            self.log(start + 0.002 + took, "checkout", "info", line, trace, own, code=200, took=took)
        trace.span("web-frontend", "GET /cart", "0", start, took + 0.004, span_id=front, code=200, url="/cart")
        if rng.random() < 0.5:
            self.view(trace.user, start + took + rng.uniform(0.1, 0.5), "cart", "/cart")

    def reconcile(self, start: float) -> None:
        """Payments' own job: settles the day's charges with the payment provider, through the same pool."""
        org, rng = self.org, self.rng
        trace = Trace(self, start)
        own = trace.reserve()
        version = org.version("payments", start)
        if org.in_incident(start) and rng.random() < 0.6:
            waited = rng.uniform(CHECKOUT_TIMEOUT_MS + 1, 2600)
            took = waited / 1000 + 0.001
            problem = f"connection pool exhausted: waited {int(waited)}ms for a connection to payments-db"
            error = {"type": "PoolExhausted", "message": problem}
            trace.span("payments", "reconcile_settlements", "0", start, took, span_id=own, error=error, kind="worker")
            self.log(start + took, "payments", "error", problem, trace, own, took=took, error=error, version=version)
            return
        waited = rng.uniform(0.8, 1.9) if org.in_incident(start) else 0.0
        work = rng.uniform(0.15, 0.4)
        trace.span(
            "postgres",
            "UPDATE settlements SET state = ? WHERE id = ANY(?)",
            own,
            start + waited + 0.01,
            work * 0.7,
            db="payments-db",
        )
        trace.span("payments", "reconcile_settlements", "0", start, waited + work, span_id=own, kind="worker")
        if rng.random() < 0.25:
            line = f"reconciled {rng.randrange(20, 300)} settlements in {int((waited + work) * 1000)}ms"
            self.log(start + waited + work, "payments", "info", line, trace, own, took=waited + work, version=version)

    def database(self, moment: float) -> None:
        """Postgres' own log lines: no request behind them, so no trace."""
        rng = self.rng
        line = rng.choice(
            [
                f"checkpoint complete: wrote {rng.randrange(100, 4000)} buffers ({rng.uniform(0.5, 9):.1f}%)",
                f'automatic vacuum of table "shop.public.{rng.choice(["items", "orders", "carts"])}": index scans: 1',
                "connection authorized: user=app database=shop",
            ]
        )
        self.log(moment, "postgres", "info", line)

    def home(self, moment: float) -> None:
        """A home page view: static, so only RUM sees it; now and then a benign browser error."""
        user = f"u-{self.rng.randrange(1000, 9999)}"
        session = self.view(user, moment, "home", "/")
        if self.rng.random() < 0.05:
            error = {
                "type": "Error",
                "message": "ResizeObserver loop completed with undelivered notifications",
                "source": "source",
            }
            self.rum_event(moment + 2, user, session, "home", "/", "error", {"error": error})

    def deploy(self, moment: float) -> None:
        """Payments restarts on 2.14.0: the old version drains its pool, the new one opens a smaller one."""
        drained = "shutting down: closing 50 connections to payments-db"
        self.log(moment - 2, "payments", "info", drained, version=PAYMENTS_BEFORE)
        started = (
            f"payments {PAYMENTS_AFTER} started: config key payments.db.pool_size is unset, "
            "using the default pool size of 5 connections to payments-db"
        )
        self.log(moment + 1, "payments", "info", started, version=PAYMENTS_AFTER)
        for n in range(5):
            line = "connection authorized: user=payments database=payments"
            self.log(moment + 1.2 + n * 0.01, "postgres", "info", line)

    def next_order(self) -> int:
        self.orders += 1
        return self.orders

    # -- records -------------------------------------------------------------------------------

    def log(
        self,
        moment: float,
        service: str,
        status: str,
        message: str,
        trace: Trace | None = None,
        span_id: str | None = None,
        *,
        code: int | None = None,
        took: float | None = None,
        error: dict[str, Any] | None = None,
        version: str | None = None,
    ) -> None:
        """One log line; with a trace, it carries the trace's ids, host and user as the tracer injects them."""
        version = version or self.org.version(service, moment)
        host = trace.hosts[service] if trace else SERVICE_HOSTS[service][0]
        language = SERVICES[service]["language"]
        tags = [
            "env:prod",
            f"service:{service}",
            f"host:{host}",
            f"source:{'postgresql' if language == 'sql' else language}",
        ]
        if version:
            tags.append(f"version:{version}")
        inner: dict[str, Any] = {}
        if code is not None:
            inner["http"] = {"method": "POST" if service in ("checkout", "payments") else "GET", "status_code": code}
        if took is not None:
            inner["duration"] = int(took * 1e9)
        if trace:
            inner["usr"] = {"id": trace.user}
            inner["dd"] = {"trace_id": trace.trace_id, "span_id": span_id, "service": service, "env": "prod"}
            if version:
                inner["dd"]["version"] = version
        if error:
            inner["error"] = {
                "kind": error["type"],
                "message": error["message"],
                **({"stack": error["stack"]} if "stack" in error else {}),
            }
        attributes = {
            "timestamp": iso(moment, millis=True),
            "host": host,
            "service": service,
            "status": status,
            "message": message,
            "tags": tags,
            "attributes": inner,
        }
        self._logs.append((moment, attributes))

    def view(self, user: str, moment: float, name: str, path: str) -> str:
        session = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        loading = {"loading_time": int(self.rng.uniform(300, 1500) * 1e6)}
        self.rum_event(moment, user, session, name, path, "view", {"view": loading})
        return session

    def checkout_rum(self, trace: Trace, front: str, start: float, finished: float, code: int) -> None:
        session = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        url = "https://shop.example/api/checkout"
        resource = {
            "url": url,
            "method": "POST",
            "status_code": code,
            "duration": int((finished - start) * 1e9),
            "type": "fetch",
        }
        linked = {"resource": resource, "_dd": {"trace_id": trace.trace_id, "span_id": front}}
        self.rum_event(start, trace.user, session, "checkout", "/checkout", "resource", linked)
        if code >= 500:
            error = {
                "type": "HTTPError",
                "message": f"POST /api/checkout {code}",
                "source": "network",
                "resource": {"url": url, "method": "POST", "status_code": code},
            }
            self.rum_event(finished + 0.01, trace.user, session, "checkout", "/checkout", "error", {"error": error})

    def rum_event(
        self, moment: float, user: str, session: str, name: str, path: str, kind: str, more: dict[str, Any]
    ) -> None:
        rng = self.rng
        inner: dict[str, Any] = {
            "type": kind,
            "application": {"id": "0b5e7a2c-demo-app", "name": "shop-web"},
            "session": {"id": session, "type": "user"},
            "view": {"name": name, "url": f"https://shop.example{path}", "url_path": path},
            "usr": {"id": user},
            "geo": {"country": rng.choice(["France", "Germany", "United States", "Brazil", "Japan"])},
            "browser": {"name": rng.choice(["Chrome", "Safari", "Firefox"])},
            "os": {"name": rng.choice(["Windows", "macOS", "iOS", "Android"])},
        }
        for key, value in more.items():
            inner[key] = {**inner.get(key, {}), **value}
        attributes = {
            "service": "web-frontend",
            "timestamp": iso(moment, millis=True),
            "tags": ["env:prod", "service:web-frontend", f"version:{VERSIONS['web-frontend']}"],
            "attributes": inner,
        }
        self._rum.append((moment, attributes))


class Trace:
    """One request's trace: its id, its user, the host of each service it crossed."""

    def __init__(self, world: _World, start: float) -> None:
        rng = world.rng
        self.world = world
        self.trace_id = world.new_id()
        self.user = f"u-{rng.randrange(1000, 9999)}"
        self.hosts = {
            service: hosts[0] if len(hosts) == 1 else rng.choice(hosts) for service, hosts in SERVICE_HOSTS.items()
        }

    def reserve(self) -> str:
        return self.world.new_id()

    def span(
        self,
        service: str,
        resource: str,
        parent: str,
        begin: float,
        took: float,
        *,
        span_id: str | None = None,
        code: int | None = None,
        error: dict[str, Any] | None = None,
        url: str | None = None,
        kind: str = "web",
        db: str | None = None,
    ) -> str:
        span_id = span_id or self.world.new_id()
        version = self.world.org.version(service, begin)
        custom: dict[str, Any] = {"duration": int(took * 1e9), "env": "prod"}
        if code is not None:
            method = resource.split(" ", 1)[0]
            custom["http"] = {"method": method, "status_code": code, "url": url or resource.split(" ", 1)[1]}
        if error:
            custom["error"] = error
        if db:
            custom["db"] = {"system": "postgresql", "instance": db}
        if service in ("web-frontend", "checkout"):
            custom["usr"] = {"id": self.user}
        tags = [f"service:{service}", "env:prod"] + ([f"version:{version}"] if version else [])
        operation = {
            "postgres": "postgresql.query",
            "email-worker": "email.send",
        }.get(service, "payments.reconcile" if kind == "worker" else "http.request")
        self.world.spans.append(
            {
                "id": f"span-{span_id}",
                "type": "spans",
                "attributes": {
                    "service": service,
                    "resource_name": resource,
                    "operation_name": operation,
                    "trace_id": self.trace_id,
                    "span_id": span_id,
                    "parent_id": parent,
                    "start_timestamp": iso(begin, millis=True),
                    "end_timestamp": iso(begin + took, millis=True),
                    "env": "prod",
                    "host": self.hosts[service],
                    "type": "db" if service == "postgres" else kind,
                    "status": "error" if error else "ok",
                    "tags": tags,
                    "custom": custom,
                },
            }
        )
        return span_id


# -- events ----------------------------------------------------------------------------------------


def _events(org: Org) -> list[Record]:
    """The event stream: the deploy, the alerts and the incident of the story, and unrelated changes."""
    happened: list[tuple[float, str, str, str, str, str, str, dict[str, Any]]] = [
        # (seconds ago, title, service, source, priority, alert type, text, more attributes)
        (
            DEPLOY_AFTER,
            f"Deployed payments v{PAYMENTS_AFTER} to prod",
            "payments",
            "github",
            "normal",
            "info",
            f"Release v{PAYMENTS_AFTER} by ben.okafor: DB pool settings read from the config service (#1412).",
            {"version": PAYMENTS_AFTER},
        ),
        (
            ALERTS[1000001],
            "[Triggered] Payments error rate above 5%",
            "payments",
            "datadog",
            "normal",
            "error",
            f"Error rate {FAIL_SHARE:.0%} on service:payments env:prod.",
            {"monitor_id": 1000001},
        ),
        (
            ALERTS[1000007],
            "[Triggered] [Synthetics] Checkout API",
            "checkout",
            "datadog",
            "normal",
            "error",
            f"Checkout API answered in more than {SYNTHETIC_LIMIT_MS} ms from aws:eu-west-1.",
            {"monitor_id": 1000007},
        ),
        (
            ALERTS[1000002],
            "[Triggered on {resource_name:post_/api/checkout}] Checkout p95 latency above 1s",
            "checkout",
            "datadog",
            "normal",
            "error",
            "p95 latency 2.0 s on service:checkout resource_name:post_/api/checkout.",
            {"monitor_id": 1000002},
        ),
        (
            DECLARED_AFTER,
            "Incident IR-42 declared: Checkout latency and payment failures",
            "checkout",
            "incidents",
            "normal",
            "warning",
            "Declared by Ana Lima. Severity SEV-2.",
            {},
        ),
        (
            90 * 60,
            "Feature flag checkout.new_address_form enabled for 10% of users",
            "web-frontend",
            "launchdarkly",
            "low",
            "info",
            "Targeting rule 'beta-10pc' added by chen.wei.",
            {},
        ),
        (
            3 * 3600,
            "Scaled deployment checkout from 3 to 4 replicas",
            "checkout",
            "kubernetes",
            "low",
            "info",
            "HorizontalPodAutoscaler raised replicas on CPU.",
            {},
        ),
        (
            7 * 3600,
            "Certificate for shop.example renewed",
            "web-frontend",
            "cert-manager",
            "low",
            "info",
            "New certificate valid for 90 days.",
            {},
        ),
        (
            26 * 3600,
            "Postgres minor version upgrade on db-1",
            "postgres",
            "chef",
            "low",
            "info",
            "15.6 -> 15.7, rolling restart.",
            {},
        ),
        (
            3 * DAY,
            f"Deployed checkout v{VERSIONS['checkout']} to prod",
            "checkout",
            "github",
            "normal",
            "info",
            f"Release v{VERSIONS['checkout']}: coupon validation.",
            {"version": VERSIONS["checkout"]},
        ),
        (
            6 * DAY,
            f"Deployed payments v{PAYMENTS_BEFORE} to prod",
            "payments",
            "github",
            "normal",
            "info",
            f"Release v{PAYMENTS_BEFORE}: retry budget for the payment provider.",
            {"version": PAYMENTS_BEFORE},
        ),
    ]
    events = []
    for n, (ago, title, service, source, priority, alert_type, text, more) in enumerate(happened):
        moment = org.now - ago
        tags = [f"service:{service}", "env:prod", f"source:{source}"]
        tags += [f"version:{more['version']}"] if "version" in more else []
        events.append(
            {
                "id": f"AAAAAZ{n:06d}demoEvent",
                "type": "event",
                "attributes": {
                    "timestamp": iso(moment),
                    "message": text,
                    "tags": tags,
                    "attributes": {
                        "title": title,
                        "priority": priority,
                        "service": service,
                        "status": alert_type,
                        "alert_type": alert_type,
                        "source_type_name": source,
                        "evt": {"id": str(7_400_000_000_000_000_000 + n), "source_id": n + 1, "type": source},
                        "timestamp": int(moment * 1000),
                        **more,
                    },
                },
            }
        )
    return events


# metric -> (base value, daily swing as a fraction, unit family); trace.* follow ENDPOINTS instead
METRICS: dict[str, tuple[float, float, str]] = {
    "system.cpu.user": (35.0, 0.3, "percent"),
    "system.cpu.iowait": (2.0, 0.4, "percent"),
    "system.load.1": (1.2, 0.3, "system"),
    "system.mem.used": (6.2e9, 0.05, "bytes"),
    "system.disk.in_use": (0.55, 0.01, "fraction"),
    "trace.http.request.duration": (0.0, 0.0, "time"),
    "trace.http.request.hits": (0.0, 0.4, "rate"),
    "trace.http.request.errors": (0.0, 0.4, "rate"),
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
