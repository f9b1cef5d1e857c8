"""`dd-mcp-server doctor`: check a setup before an MCP host finds it broken, one line per check.

First the configuration (a ConfigError is a failed check that names the variable, and then nothing
is sent). Then, against the configured site: the API key (GET /api/v1/validate; when Datadog refuses
it, the other sites are asked at once, so that a key of another site is named with its DD_SITE), the
clock (the Date of that answer), the application key (GET /api/v2/validate_keys) and, per enabled
toolset, the smallest read of each scope its tools need. Information lines say what the server would
run with. Exit status 0 only when no check failed, else 1. A key never appears: only its fingerprint.

cli imports this module to register the subcommand, so the HTTP stack (services.datadog, httpx) is
imported only inside the checks that speak to Datadog: `--version` and the server's start stay light.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import timezone
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TYPE_CHECKING, TextIO, TypeAlias
from urllib.parse import urlsplit

import anyio

from dd_mcp_server import __version__
from dd_mcp_server.audit.records import fingerprint
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.config import SITES, ConfigError, Settings, load_settings, proxy_for

if TYPE_CHECKING:
    import httpx

    from dd_mcp_server.services.datadog import DatadogClient, DatadogError, RetryPolicy

OK, FAIL, WARN, INFO, SKIP = "ok", "fail", "warn", "info", "skip"
# On a terminal a mark; in a pipe or a log, a word that grep finds.
MARKS = {OK: "✓", FAIL: "✗", WARN: "!", INFO: "·", SKIP: "-"}
WORDS = {OK: "ok", FAIL: "FAIL", WARN: "warn", INFO: "info", SKIP: "skip"}

# Beyond a minute, relative windows (now-15m) ask Datadog for the wrong minutes.
MAX_CLOCK_OFFSET = 60.0
# Seconds in the window of every doctor read: little for Datadog to search, and the scope is still needed.
WINDOW = 60
# Asking the other sites: one attempt each, and no longer than this, since most will refuse.
OTHER_SITE_TIMEOUT = 10.0

Read: TypeAlias = "Callable[[DatadogClient, int], Awaitable[object]]"

# One cheap read per scope, through the client method the tools call (which names the scope it needs):
# the smallest page, the shortest window ending at `now`.
READS: dict[str, Read] = {
    "query_metrics": lambda dd, now: dd.query_metrics("avg:datadog.estimated_usage.hosts{*}", now - WINDOW, now),
    "list_metrics": lambda dd, now: dd.list_metrics(now - WINDOW),
    "search_logs": lambda dd, now: dd.search_logs("*", iso(now - WINDOW), iso(now), 1, None),
    "list_monitors": lambda dd, now: dd.list_monitors(None, None, None, None, 0, 1),
    "list_dashboards": lambda dd, now: dd.list_dashboards(count=1, start=0),
    "list_hosts": lambda dd, now: dd.list_hosts(None, None, None, 0, 1, now - WINDOW),
    "list_events": lambda dd, now: dd.list_events("*", (now - WINDOW) * 1000, now * 1000, 1, None),
    "search_incidents": lambda dd, now: dd.search_incidents("state:active", 1, 0),
    "search_spans": lambda dd, now: dd.search_spans("*", iso(now - WINDOW), iso(now), 1, None, "-timestamp"),
    "list_service_definitions": lambda dd, now: dd.list_service_definitions(1, 0),
    "list_synthetics_tests": lambda dd, now: dd.list_synthetics_tests(1, 0),
    "search_rum_events": lambda dd, now: dd.search_rum_events("*", iso(now - WINDOW), iso(now), 1, None),
    "list_slos": lambda dd, now: dd.list_slos(None, None, None, 1, 0),
    "list_downtimes": lambda dd, now: dd.list_downtimes(True, 1, 0),
    "list_notebooks": lambda dd, now: dd.list_notebooks(None, None, 1, 0),
}
# The reads each toolset needs to work: one per scope its tools use (the investigations compose the others').
TOOLSET_READS: dict[str, tuple[str, ...]] = {
    "metrics": ("query_metrics", "list_metrics"),
    "logs": ("search_logs",),
    "monitors": ("list_monitors",),
    "dashboards": ("list_dashboards",),
    "hosts": ("list_hosts",),
    "events": ("list_events",),
    "incidents": ("search_incidents",),
    "apm": ("search_spans", "list_service_definitions"),
    "synthetics": ("list_synthetics_tests",),
    "rum": ("search_rum_events",),
    "slos": ("list_slos",),
    "downtimes": ("list_downtimes",),
    "notebooks": ("list_notebooks",),
    "investigations": (
        "query_metrics",
        "list_metrics",
        "search_logs",
        "list_monitors",
        "list_events",
        "search_incidents",
        "search_spans",
        "list_service_definitions",
    ),
}


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do about it."""

    name: str
    status: str
    detail: str


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="check keys, site, scopes per toolset and the clock; exit 1 when a check fails"
    )
    doctor.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    # SUPPRESS: without the flag here, a `--demo` given before `doctor` still counts.
    doctor.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="check against the built-in sample organisation"
    )


def run(args: argparse.Namespace) -> int:
    demo = bool(getattr(args, "demo", False))
    transport = None
    if demo:
        from dd_mcp_server.demo import demo_transport

        transport = demo_transport()
    checks = anyio.run(partial(diagnose, os.environ, demo=demo, transport=transport))
    print(as_json(checks) if args.json else as_lines(checks, fancy=fancy(sys.stdout)))
    return 0 if passed(checks) else 1


def passed(checks: list[Check]) -> bool:
    """Warnings and information do not fail a setup; a failed check does (a skipped one follows a failure)."""
    return all(check.status != FAIL for check in checks)


def as_lines(checks: list[Check], *, fancy: bool) -> str:
    marks = MARKS if fancy else {status: f"{word:<4}" for status, word in WORDS.items()}
    return "\n".join(f"{marks[check.status]} {check.name}: {check.detail}" for check in checks)


def as_json(checks: list[Check]) -> str:
    return json.dumps({"ok": passed(checks), "checks": [asdict(check) for check in checks]}, indent=2)


def fancy(stream: TextIO) -> bool:
    """Marks only on a terminal that can show them."""
    if not stream.isatty():
        return False
    try:
        "".join(MARKS.values()).encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


async def diagnose(
    env: Mapping[str, str],
    *,
    demo: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Every check, in the order a user fixes them: configuration, keys, clock, scopes."""
    try:
        settings = load_settings(env, demo=demo)
    except ConfigError as exc:
        return [
            Check("version", INFO, f"dd-mcp-server {__version__}"),
            Check("configuration", FAIL, str(exc)),
            Check("Datadog", SKIP, "not contacted until the configuration is fixed"),
        ]
    checks = [*_report(settings, demo), _configuration(settings, demo)]
    checks += [Check("site", WARN, warning) for warning in settings.warnings]
    return checks + await _online(settings, env, transport, retry, clock)


def _report(settings: Settings, demo: bool) -> list[Check]:
    """What the server would run with: the information lines."""
    endpoint = f"site {settings.site} ({settings.base_url})"
    if demo:
        endpoint = "the demo organisation (no network)"
    elif settings.base_url != f"https://api.{settings.site}":
        endpoint = f"DD_API_URL {settings.base_url} (instead of DD_SITE={settings.site})"
    budgets = (
        f"results up to {settings.max_result_chars:,} characters, {settings.timeout:g} s per request, "
        f"{settings.deadline:g} s per tool call, answers up to {settings.max_response_bytes:,} bytes"
    )
    return [
        Check("version", INFO, f"dd-mcp-server {__version__}"),
        Check("endpoint", INFO, endpoint),
        Check("proxy", INFO, _proxy(settings.proxy)),
        Check("toolsets", INFO, ", ".join(settings.toolsets) + _unserved(settings.toolsets)),
        Check("redaction", INFO, "on" if settings.redact else "off (only this server's own keys are masked)"),
        Check("budgets", INFO, budgets),
    ]


def _unserved(toolsets: tuple[str, ...]) -> str:
    """How to add the one-call investigations, which the default toolsets leave out (issue 13's budget)."""
    if "investigations" in toolsets:
        return ""
    return " (the investigations, triage_service and the like, come with DD_MCP_TOOLSETS=all)"


def _proxy(proxy: str | None) -> str:
    """The proxy's scheme, host and port: a password written in its URL is never shown."""
    if not proxy:
        return "none: direct connection"
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _configuration(settings: Settings, demo: bool) -> Check:
    if demo:
        return Check("configuration", OK, "demo: no keys needed")
    keys = f"API key {fingerprint(settings.api_key)}, application key {fingerprint(settings.app_key)}"
    return Check("configuration", OK, f"keys set ({keys})")


async def _online(
    settings: Settings,
    env: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    retry: RetryPolicy | None,
    clock: Callable[[], float],
) -> list[Check]:
    """The checks that ask Datadog, through one client for the configured site."""
    from dd_mcp_server.services.datadog import DatadogClient

    client = DatadogClient(settings, transport=transport, retry=retry)
    try:
        return await _asked(client, settings, env, transport, clock)
    finally:
        await client.aclose()


async def _asked(
    client: DatadogClient,
    settings: Settings,
    env: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    clock: Callable[[], float],
) -> list[Check]:
    """API key, clock, application key, scopes: each asked only once the keys before it work."""
    from dd_mcp_server.services.datadog import DatadogError

    before = clock()
    try:
        api = await client.validate()
    except DatadogError as exc:
        return [Check("Datadog", FAIL, str(exc)), Check("keys and scopes", SKIP, "not checked until Datadog answers")]
    measured = _clock(api.date, (before + clock()) / 2)
    if not api.valid:
        return [
            await _refused(settings, env, transport),
            measured,
            Check("application key", SKIP, "not checked until the API key works"),
            Check("scopes", SKIP, "not checked until the keys work"),
        ]
    checks = [Check("API key", OK, f"valid on {client.site}"), measured, await _application_key(client)]
    if checks[-1].status == FAIL:
        return [*checks, Check("scopes", SKIP, "not checked until the keys work")]
    return checks + await _toolsets(client, settings.toolsets, int(clock()))


async def _refused(settings: Settings, env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None) -> Check:
    """The API key was refused: on another site, or nowhere?"""
    where = f"refused on {settings.site}"
    if settings.base_url != f"https://api.{settings.site}":
        return Check(
            "API key",
            FAIL,
            f"DD_API_KEY was refused by {settings.base_url} (DD_API_URL): check the key and that DD_API_URL leads to "
            "its site (other sites are not asked while DD_API_URL routes the requests)",
        )
    found = await _site_of(settings, env, transport)
    if found:
        return Check("API key", FAIL, f"{where}, valid on {found}: these keys belong to {found}; set DD_SITE={found}")
    return Check(
        "API key",
        FAIL,
        f"{where} and on every other Datadog site: DD_API_KEY is invalid or revoked; copy a valid one from "
        "Organization Settings > API Keys",
    )


async def _site_of(
    settings: Settings, env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None
) -> str | None:
    """The other site whose GET /api/v1/validate takes the API key, all asked at once with the API key
    alone (that endpoint reads no application key, so none is sent where it may not belong)."""
    from dd_mcp_server.services.datadog import DatadogClient, DatadogError, RetryPolicy

    valid: set[str] = set()

    async def ask(site: str) -> None:
        url = f"https://api.{site}"
        try:
            there = replace(
                settings,
                site=site,
                base_url=url,
                proxy=proxy_for(url, env),
                timeout=min(settings.timeout, OTHER_SITE_TIMEOUT),
            )
            client = DatadogClient(there, transport=transport, retry=RetryPolicy(attempts=1), api_key_only=True)
        except ConfigError:  # this site's proxy is unusable (NO_PROXY spared the configured site from it)
            return
        try:
            if (await client.validate()).valid:
                valid.add(site)
        except DatadogError:
            pass  # unreachable or failing: not where the key belongs, as far as can be told
        finally:
            await client.aclose()

    async with anyio.create_task_group() as group:
        for site in SITES:
            if site != settings.site:
                group.start_soon(ask, site)
    return next((site for site in SITES if site in valid), None)


def _clock(date: str | None, local: float) -> Check:
    """This machine's clock against Datadog's Date header, read at the middle of the request."""
    try:
        moment = parsedate_to_datetime(date or "")
    except ValueError:
        return Check("clock", WARN, f"not compared: Datadog's answer had no readable Date header ({date!r:.40})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    offset = local - (moment.timestamp() + 0.5)  # the Date counts whole seconds: the middle of its second
    said = f"{abs(offset):.0f} s {'ahead of' if offset > 0 else 'behind'} Datadog's"
    if abs(offset) > MAX_CLOCK_OFFSET:
        return Check(
            "clock",
            FAIL,
            f"this machine's clock is {said}: time windows such as now-15m would ask for the wrong minutes; "
            "synchronise the clock (NTP)",
        )
    return Check("clock", OK, f"{said} (within {MAX_CLOCK_OFFSET:g} s)")


async def _application_key(client: DatadogClient) -> Check:
    from dd_mcp_server.services.datadog import DatadogError

    try:
        keys = await client.validate_keys()
    except DatadogError as exc:
        if exc.status == 404:  # a site without the endpoint: the toolset reads still try the key
            return Check("application key", WARN, f"not checked alone on {client.site} (no GET /api/v2/validate_keys)")
        return Check("application key", FAIL, str(exc))
    if keys.valid:
        return Check("application key", OK, f"valid on {client.site}")
    return Check(
        "application key",
        FAIL,
        f"DD_APP_KEY was refused on {client.site} with a valid API key: it is invalid, revoked or of another "
        "organisation; copy a valid one from Organization Settings > Application Keys",
    )


async def _toolsets(client: DatadogClient, toolsets: tuple[str, ...], now: int) -> list[Check]:
    """One line per enabled toolset, from the reads they need (each read made once, all at once)."""
    from dd_mcp_server.services.datadog import DatadogError

    needed = {read for toolset in toolsets for read in TOOLSET_READS[toolset]}
    failed: dict[str, DatadogError] = {}

    async def attempt(read: str) -> None:
        try:
            await READS[read](client, now)
        except DatadogError as exc:
            failed[read] = exc

    async with anyio.create_task_group() as group:
        for read in sorted(needed):
            group.start_soon(attempt, read)
    return [_toolset(toolset, [failed[r] for r in TOOLSET_READS[toolset] if r in failed]) for toolset in toolsets]


def _toolset(toolset: str, errors: list[DatadogError]) -> Check:
    """Readable, or the scopes the application key lacks (named by the client, as in the tools' errors)."""
    name = f"toolset {toolset}"
    if not errors:
        return Check(name, OK, "readable")
    scopes = sorted({exc.scope for exc in errors if exc.status == 403 and exc.scope})
    others = [str(exc) for exc in errors if exc.status != 403 or not exc.scope]
    missing = (
        f"missing scope {', '.join(scopes)}: grant it to the application key in Organization Settings > "
        "Application Keys (its owner needs the permission too)"
    )
    return Check(name, FAIL, "; ".join(([missing] if scopes else []) + others[:1]))
