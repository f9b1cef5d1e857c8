"""Fixtures shared by the test modules: recognisable fake keys, settings, a fixed clock, an MCP client."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import settings as hypothesis_settings
from mcp import Client

from dd_mcp_server.audit.trail import Trail
from dd_mcp_server.config import Settings, load_settings
from dd_mcp_server.server import build_server
from dd_mcp_server.services.datadog import RetryPolicy

# The whole suite runs off UTC, at an offset that is not a whole hour (UTC+05:45, Nepal's), so that
# any time read or written in the machine's local zone instead of UTC fails a test
# (test_paging.py checks it is in effect). A POSIX rule, not a zone name: it needs no tz database
# on the CI machine. Subprocesses inherit it.
os.environ["TZ"] = "NPT-05:45"
time.tzset()

# Property tests check what is true, never how fast: a busy machine must not fail them by the clock.
hypothesis_settings.register_profile("no-deadline", deadline=None)
hypothesis_settings.load_profile("no-deadline")

# Recognisable fake keys: the leak tests search every output for them.
API_KEY = "fakeapikey0123456789abcdef01234567"
APP_KEY = "fakeappkey0123456789abcdef0123456789abcd"
BASE = "https://api.datadoghq.com"
# 2026-11-24T12:00:00Z: "now" for every in-process tool test, so request windows are exact.
NOW = 1_795_521_600
# The default attempts, without the waits, so retry paths run at full speed in tests.
NO_WAIT_RETRY = RetryPolicy(backoff=0.0, max_rate_limit_wait=0.0)


# Tables the robustness suites fill in (fuzz inputs per tool, fault cases, protocol abuse), printed
# at the end of the run so CI output shows what was exercised.
REPORTS: dict[str, list[str]] = {}


# The suite runs on every core (pytest-xdist): each worker leaves its tables in this folder, which
# the controlling process makes before the workers start and reads at the end.
REPORTS_DIR = "DDMCP_TEST_REPORTS"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        os.environ[REPORTS_DIR] = tempfile.mkdtemp(prefix="dd-mcp-reports-")


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", None)
    if worker and REPORTS:
        (Path(os.environ[REPORTS_DIR]) / f"{worker['workerid']}.json").write_text(json.dumps(REPORTS))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    merged = {title: list(lines) for title, lines in REPORTS.items()}
    for report in sorted(Path(os.environ[REPORTS_DIR]).glob("*.json")):
        for title, lines in json.loads(report.read_text()).items():
            merged.setdefault(title, []).extend(lines)
    for title, lines in sorted(merged.items()):
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


async def answered(
    tool: str, arguments: dict[str, Any], transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, Any]:
    """One call on a fresh server: its structured answer, which must not be an error."""
    async with connect(transport=transport) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    answer: dict[str, Any] | None = result.structured_content
    assert answer is not None
    return answer


def console_script() -> str:
    """The installed `dd-mcp-server`, beside this Python (tests run in the project's environment)."""
    beside = Path(sys.executable).with_name("dd-mcp-server")
    found = str(beside) if beside.exists() else shutil.which("dd-mcp-server")
    assert found, "dd-mcp-server is not installed in this environment"
    return found


def run_console(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed console script run to its end, in a clean environment plus `env`."""
    return subprocess.run(
        [console_script(), *args], input=stdin, capture_output=True, text=True, env=clean_env(**(env or {})), timeout=30
    )


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread, for a module whose tests drive one long-lived client from sync code."""
    with start_blocking_portal() as running:
        yield running


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at `host` now (a server started next may take it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[str], said: Callable[[], str]) -> None:
    """Until `url`/healthz answers 200, within 30 s; fails with what the process `said` if it ends first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            pytest.fail(f"the server exited {process.returncode} before answering /healthz: {said()}")
        assert time.monotonic() < deadline, f"nothing answered {url}/healthz within 30 s"
        time.sleep(0.05)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any Datadog or proxy settings, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "DATADOG_")) and not _is_proxy(k)}
    return {**kept, **extra}


def _is_proxy(name: str) -> bool:
    return name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(**env: str) -> Settings:
    """Settings from the fake keys plus any extra environment variables.

    Results come as JSON with structured content unless `DD_MCP_OUTPUT` says otherwise: most tests
    read the shaped data; the table form is tested against it (tests/test_tables.py). Every toolset
    is served, the investigations too (`DD_MCP_TOOLSETS=""` gives the default ones).
    """
    defaults = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_MCP_OUTPUT": "json", "DD_MCP_TOOLSETS": "all"}
    return load_settings({**defaults, **env})


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@asynccontextmanager
async def connect(
    settings: Settings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    trail: Trail | None = None,
    **options: Any,
) -> AsyncIterator[Client]:
    """An in-memory MCP client connected to a fresh server whose clock reads NOW.

    With no `transport`, requests go through httpx's default transport, which respx can mock;
    `trail` records the session; `options` are the Client's own (elicitation_callback, mode).
    """
    server = build_server(
        settings or make_settings(**(env or {})),
        transport=transport,
        clock=lambda: NOW,
        retry=NO_WAIT_RETRY,
        trail=trail,
    )
    async with Client(server, **options) as client:
        yield client
