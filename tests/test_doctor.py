"""`dd-mcp-server doctor`: each check against a fake Datadog at the HTTP edge (respx), and the exact
requests it sends; the demo end to end through the real command line. No key, nor any 12-character
piece of one, appears in any output of any scenario.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest
import respx

from dd_mcp_server import __version__, cli
from dd_mcp_server.audit.records import fingerprint
from dd_mcp_server.config import SITES, TOOLSETS
from dd_mcp_server.doctor import TOOLSET_READS, Check, as_json, as_lines, diagnose, fancy
from tests.conftest import API_KEY, APP_KEY, NO_WAIT_RETRY, NOW

ENV = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_MCP_TOOLSETS": "all"}
STARTED, ENDED = "2026-11-24T11:59:00Z", "2026-11-24T12:00:00Z"  # NOW - 60 s, NOW
SEARCH = {"filter": {"query": "*", "from": STARTED, "to": ENDED}, "page": {"limit": 1}, "sort": "-timestamp"}
SEARCH = {**SEARCH, "options": {"timezone": "UTC"}}
# Every request of a good setup with every toolset, each exactly once (the investigations reuse the others').
EXPECTED: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/api/v1/validate", {}, None),
    ("GET", "/api/v2/validate_keys", {}, None),
    (
        "GET",
        "/api/v1/query",
        {"from": str(NOW - 60), "to": str(NOW), "query": "avg:datadog.estimated_usage.hosts{*}"},
        None,
    ),
    ("GET", "/api/v1/metrics", {"from": str(NOW - 60)}, None),
    ("POST", "/api/v2/logs/events/search", {}, SEARCH),
    ("GET", "/api/v1/monitor", {"with_downtimes": "false", "page": "0", "page_size": "1"}, None),
    ("GET", "/api/v1/dashboard", {"filter[deleted]": "false", "count": "1", "start": "0"}, None),
    ("GET", "/api/v1/hosts", {"start": "0", "count": "1", "from": str(NOW - 60)}, None),
    (
        "GET",
        "/api/v2/events",
        {
            "filter[query]": "*",
            "filter[from]": str((NOW - 60) * 1000),
            "filter[to]": str(NOW * 1000),
            "sort": "-timestamp",
            "page[limit]": "1",
        },
        None,
    ),
    (
        "GET",
        "/api/v2/incidents/search",
        {"query": "state:active", "sort": "-created", "page[size]": "1", "page[offset]": "0"},
        None,
    ),
    ("POST", "/api/v2/spans/events/search", {}, {"data": {"type": "search_request", "attributes": SEARCH}}),
    ("GET", "/api/v2/services/definitions", {"page[size]": "1", "page[number]": "0", "schema_version": "v2.2"}, None),
    ("GET", "/api/v1/synthetics/tests", {"page_size": "1", "page_number": "0"}, None),
    ("POST", "/api/v2/rum/events/search", {}, SEARCH),
    ("GET", "/api/v1/slo", {"limit": "1", "offset": "0"}, None),
    ("GET", "/api/v2/downtime", {"current_only": "true", "page[limit]": "1", "page[offset]": "0"}, None),
    (
        "GET",
        "/api/v1/notebooks",
        {"count": "1", "start": "0", "sort_field": "modified", "sort_dir": "desc", "include_cells": "false"},
        None,
    ),
]
# Each toolset's reads, and the scope a 403 on it must name (the README's list).
SCOPES = [
    ("metrics", "/api/v1/query", "timeseries_query"),
    ("metrics", "/api/v1/metrics", "metrics_read"),
    ("logs", "/api/v2/logs/events/search", "logs_read_data"),
    ("monitors", "/api/v1/monitor", "monitors_read"),
    ("dashboards", "/api/v1/dashboard", "dashboards_read"),
    ("hosts", "/api/v1/hosts", "hosts_read"),
    ("events", "/api/v2/events", "events_read"),
    ("incidents", "/api/v2/incidents/search", "incident_read"),
    ("apm", "/api/v2/spans/events/search", "apm_read"),
    ("apm", "/api/v2/services/definitions", "apm_service_catalog_read"),
    ("synthetics", "/api/v1/synthetics/tests", "synthetics_read"),
    ("rum", "/api/v2/rum/events/search", "rum_apps_read"),
    ("slos", "/api/v1/slo", "slos_read"),
    ("downtimes", "/api/v2/downtime", "monitors_downtime"),
    ("notebooks", "/api/v1/notebooks", "notebooks_read"),
]
INVESTIGATED = {
    "/api/v1/query",
    "/api/v1/metrics",
    "/api/v2/logs/events/search",
    "/api/v1/monitor",
    "/api/v2/events",
    "/api/v2/incidents/search",
    "/api/v2/spans/events/search",
    "/api/v2/services/definitions",
}
FORBIDDEN = httpx.Response(403, json={"errors": ["Forbidden"]})


class FakeDatadog:
    """Datadog on every site, answering as it does when the keys are good on `valid_on`, with a Date
    `skew` seconds off `now()` (None: no Date); `answers` replace the answer to a path (a response, or
    an exception to raise)."""

    def __init__(
        self,
        valid_on: str = "datadoghq.com",
        answers: dict[str, httpx.Response | Exception] | None = None,
        skew: float | None = 0.0,
        now: Callable[[], float] = lambda: NOW,
    ) -> None:
        self.valid_on, self.answers, self.skew, self.now = valid_on, answers or {}, skew, now

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        answer = self.answers.get(path) or self._good(request.url.host, path)
        if isinstance(answer, Exception):
            raise answer
        if self.skew is not None:
            answer.headers["Date"] = formatdate(self.now() + self.skew, usegmt=True)
        return answer

    def _good(self, host: str, path: str) -> httpx.Response:
        if host != f"api.{self.valid_on}":
            return httpx.Response(403, json={"errors": ["Forbidden"]})
        if path == "/api/v1/validate":
            return httpx.Response(200, json={"valid": True})
        if path == "/api/v2/validate_keys":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(200, json=[] if path == "/api/v1/monitor" else {})


def assert_no_key(*outputs: str) -> None:
    everything = "\n".join(outputs)
    for key in (API_KEY, APP_KEY):
        pieces = [key[at : at + 12] for at in range(len(key) - 11)]
        assert not [piece for piece in pieces if piece in everything]


async def doctor(
    fake: FakeDatadog, env: dict[str, str] | None = None, **options: Any
) -> tuple[list[Check], list[httpx.Request]]:
    """The checks of `diagnose` against `fake`, and the requests it received; every rendering is key-free."""
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        checks = await diagnose(ENV if env is None else env, retry=NO_WAIT_RETRY, clock=lambda: NOW, **options)
        requests = [call.request for call in router.calls]
    assert_no_key(as_lines(checks, fancy=True), as_lines(checks, fancy=False), as_json(checks))
    return checks, requests


def named(checks: list[Check], name: str) -> Check:
    (check,) = [check for check in checks if check.name == name]
    return check


def sent(request: httpx.Request) -> tuple[str, str, dict[str, str], Any]:
    params = dict(request.url.params.multi_items())
    assert len(params) == len(request.url.params.multi_items())
    return request.method, request.url.path, params, json.loads(request.content) if request.content else None


@pytest.fixture(autouse=True)
def no_key_anywhere(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test leaves on stdout or stderr, and every log record down to DEBUG, holds no piece of a key."""
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capsys.readouterr()
    assert_no_key(out, err, *(record.getMessage() for record in caplog.get_records("call")))


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """This process's environment without Datadog or proxy settings; call it to set some."""
    for name in [*os.environ]:
        if name.startswith(("DD_", "DATADOG_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


# -- all good ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_good_setup_passes_every_check_with_the_exact_requests_each_once() -> None:
    checks, requests = await doctor(FakeDatadog())
    assert [check.status for check in checks if check.status not in ("ok", "info")] == []
    assert {check.name for check in checks if check.status == "ok"} == {
        "configuration",
        "API key",
        "clock",
        "application key",
        *(f"toolset {toolset}" for toolset in TOOLSETS),
    }
    assert sorted(map(sent, requests), key=repr) == sorted(EXPECTED, key=repr)
    for request in requests:
        assert request.url.host == "api.datadoghq.com"
        assert request.headers["DD-API-KEY"] == API_KEY
        assert request.headers["DD-APPLICATION-KEY"] == APP_KEY
        assert request.headers["User-Agent"] == f"dd-mcp-server/{__version__}"


@pytest.mark.anyio
async def test_the_toolsets_line_says_nothing_more_when_the_investigations_are_served() -> None:
    checks, _ = await doctor(FakeDatadog(), {**ENV, "DD_MCP_TOOLSETS": "logs,investigations"})
    assert named(checks, "toolsets").detail == "logs, investigations"


@pytest.mark.anyio
async def test_the_report_says_what_the_server_would_run_with_and_only_fingerprints_of_keys() -> None:
    env = {**ENV, "DD_MCP_TOOLSETS": "logs,apm", "DD_MCP_REDACT": "off", "DD_MCP_TIMEOUT": "12"}
    env |= {"HTTPS_PROXY": "https://someone:pr0xy-passw0rd@proxy.corp:8443"}
    checks, _ = await doctor(FakeDatadog(), env)
    info = {check.name: check.detail for check in checks if check.status == "info"}
    assert info["version"] == f"dd-mcp-server {__version__}"
    assert info["endpoint"] == "site datadoghq.com (https://api.datadoghq.com)"
    assert info["proxy"] == "https://proxy.corp:8443"
    assert (
        info["toolsets"] == "logs, apm (the investigations, triage_service and the like, come with DD_MCP_TOOLSETS=all)"
    )
    assert info["redaction"].startswith("off")
    assert "40,000 characters, 12 s per request, 60 s per tool call" in info["budgets"]
    assert named(checks, "configuration").detail == (
        f"keys set (API key {fingerprint(API_KEY)}, application key {fingerprint(APP_KEY)})"
    )
    assert "pr0xy-passw0rd" not in as_json(checks)
    assert [check.name for check in checks if check.name.startswith("toolset ")] == ["toolset logs", "toolset apm"]


def test_every_toolset_has_its_reads() -> None:
    assert set(TOOLSET_READS) == set(TOOLSETS)


# -- keys and site -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keys_of_another_site_name_it_and_its_dd_site_asking_each_site_once_with_the_api_key_only() -> None:
    checks, requests = await doctor(FakeDatadog(valid_on="datadoghq.eu"))
    assert named(checks, "API key") == Check(
        "API key",
        "fail",
        "refused on datadoghq.com, valid on datadoghq.eu: these keys belong to datadoghq.eu; set DD_SITE=datadoghq.eu",
    )
    assert sorted(str(request.url) for request in requests) == sorted(
        f"https://api.{site}/api/v1/validate" for site in SITES
    )
    for request in requests:
        assert request.method == "GET"
        assert request.headers["DD-API-KEY"] == API_KEY
        if request.url.host != "api.datadoghq.com":
            assert "DD-APPLICATION-KEY" not in request.headers
    assert named(checks, "application key").status == "skip"
    assert named(checks, "scopes").status == "skip"


@pytest.mark.anyio
async def test_both_keys_bad_says_the_api_key_is_invalid_and_the_application_key_is_not_tried() -> None:
    checks, requests = await doctor(FakeDatadog(valid_on="nowhere.invalid"))
    api = named(checks, "API key")
    assert api.status == "fail"
    assert "refused on datadoghq.com and on every other Datadog site: DD_API_KEY is invalid or revoked" in api.detail
    assert named(checks, "application key").status == "skip"
    assert {request.url.path for request in requests} == {"/api/v1/validate"}
    assert len(requests) == len(SITES)


@pytest.mark.anyio
async def test_a_key_refused_behind_dd_api_url_asks_no_other_site() -> None:
    env = {**ENV, "DD_API_URL": "https://dd-proxy.corp:8443/datadog"}
    checks, requests = await doctor(FakeDatadog(valid_on="nowhere.invalid"), env)
    assert (
        named(checks, "endpoint").detail
        == "DD_API_URL https://dd-proxy.corp:8443/datadog (instead of DD_SITE=datadoghq.com)"
    )
    assert "refused by https://dd-proxy.corp:8443/datadog (DD_API_URL)" in named(checks, "API key").detail
    assert [str(request.url) for request in requests] == ["https://dd-proxy.corp:8443/datadog/api/v1/validate"]


@pytest.mark.parametrize(
    ("answer", "status", "toolsets"),
    [
        (FORBIDDEN, "fail", "skip"),
        (httpx.Response(401, json={"errors": ["Unauthorized"]}), "fail", "skip"),
        (httpx.Response(404, json={"errors": ["Not found"]}), "warn", "ok"),
    ],
)
@pytest.mark.anyio
async def test_the_application_key_is_checked_with_a_valid_api_key(
    answer: httpx.Response, status: str, toolsets: str
) -> None:
    checks, requests = await doctor(FakeDatadog(answers={"/api/v2/validate_keys": answer}))
    assert named(checks, "API key").status == "ok"
    app = named(checks, "application key")
    assert app.status == status
    if status == "fail":
        assert "DD_APP_KEY was refused on datadoghq.com with a valid API key" in app.detail
        assert named(checks, "scopes").status == "skip"
        assert [request.url.path for request in requests] == ["/api/v1/validate", "/api/v2/validate_keys"]
    else:
        assert {check.status for check in checks if check.name.startswith("toolset ")} == {toolsets}
    assert json.loads(as_json(checks))["ok"] is (status != "fail")


# -- scopes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("toolset", "path", "scope"), SCOPES, ids=[f"{t}-{s}" for t, _, s in SCOPES])
@pytest.mark.anyio
async def test_a_403_on_a_toolsets_read_names_the_missing_scope(toolset: str, path: str, scope: str) -> None:
    checks, _ = await doctor(FakeDatadog(answers={path: FORBIDDEN}))
    failed = {check.name: check.detail for check in checks if check.status == "fail"}
    expected = {f"toolset {toolset}"} | ({"toolset investigations"} if path in INVESTIGATED else set())
    assert set(failed) == expected
    assert set(failed.values()) == {missing(scope)}


def missing(scope: str) -> str:
    return (
        f"missing scope {scope}: grant it to the application key in Organization Settings > Application Keys "
        "(its owner needs the permission too)"
    )


@pytest.mark.anyio
async def test_a_read_failing_otherwise_quotes_datadog_masked_after_the_missing_scope() -> None:
    echo = httpx.Response(400, json={"errors": [f"bad request for {API_KEY} and {APP_KEY}"]})
    answers: dict[str, httpx.Response | Exception] = {"/api/v1/query": FORBIDDEN, "/api/v1/metrics": echo}
    checks, _ = await doctor(FakeDatadog(answers=answers), {**ENV, "DD_MCP_TOOLSETS": "metrics"})
    metrics = named(checks, "toolset metrics")
    assert metrics.status == "fail"
    said, quoted = metrics.detail.split("; ", 1)
    assert said == missing("timeseries_query")
    assert quoted.startswith("Datadog rejected the request (400 Bad Request): bad request for [REDACTED")
    assert quoted.endswith("Fix the argument it names and call again.")
    assert quoted.count("Datadog rejected") == 1


# -- network, clock --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_unreachable_site_fails_clearly_and_quickly() -> None:
    began = time.monotonic()
    checks, requests = await doctor(FakeDatadog(answers={"/api/v1/validate": httpx.ConnectError("refused")}))
    assert time.monotonic() - began < 5
    failed = named(checks, "Datadog")
    assert failed.status == "fail"
    assert "The connection to Datadog on datadoghq.com failed (ConnectError)" in failed.detail
    assert "check the network or DD_SITE / DD_API_URL" in failed.detail
    assert named(checks, "keys and scopes").status == "skip"
    assert len(requests) == NO_WAIT_RETRY.attempts
    assert "Traceback" not in as_lines(checks, fancy=False)


@pytest.mark.parametrize(
    ("skew", "status", "said"),
    [
        (-300, "fail", "this machine's clock is 300 s ahead of Datadog's"),
        (300, "fail", "this machine's clock is 300 s behind Datadog's"),
        (-10, "ok", "10 s ahead of Datadog's (within 60 s)"),
        (10, "ok", "10 s behind Datadog's (within 60 s)"),
    ],
)
@pytest.mark.anyio
async def test_the_clock_is_compared_with_datadogs_date(skew: float, status: str, said: str) -> None:
    checks, _ = await doctor(FakeDatadog(skew=skew))
    clock = named(checks, "clock")
    assert clock.status == status
    assert clock.detail.startswith(said)
    assert [check.name for check in checks if check.status == "fail"] == (["clock"] if status == "fail" else [])


@pytest.mark.anyio
async def test_an_answer_without_a_date_warns_that_the_clock_was_not_compared_and_fails_nothing() -> None:
    checks, _ = await doctor(FakeDatadog(skew=None))
    assert named(checks, "clock") == Check(
        "clock", "warn", "not compared: Datadog's answer had no readable Date header (None)"
    )
    assert json.loads(as_json(checks))["ok"] is True


class Terminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("encoding", "marks"), [("utf-8", True), ("ascii", False)])
def test_marks_only_on_a_terminal_that_can_show_them(encoding: str, marks: bool) -> None:
    assert fancy(Terminal(io.BytesIO(), encoding=encoding)) is marks
    assert fancy(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) is False
    checks = [Check("API key", "ok", "valid"), Check("clock", "fail", "off"), Check("proxy", "info", "none")]
    assert as_lines(checks, fancy=True) == "✓ API key: valid\n✗ clock: off\n· proxy: none"
    assert as_lines(checks, fancy=False) == "ok   API key: valid\nFAIL clock: off\ninfo proxy: none"


# -- configuration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "missing DD_API_KEY and DD_APP_KEY: set DD_API_KEY and DD_APP_KEY"),
        ({"DD_API_KEY": API_KEY}, "missing DD_APP_KEY: "),
        ({"DD_APP_KEY": APP_KEY}, "missing DD_API_KEY: "),
        ({**ENV, "DD_MCP_TIMEOUT": "soon"}, "DD_MCP_TIMEOUT='soon' must be a number of seconds"),
    ],
)
@pytest.mark.anyio
async def test_a_configuration_error_fails_naming_the_variable_and_nothing_is_sent(
    env: dict[str, str], said: str
) -> None:
    checks, requests = await doctor(FakeDatadog(), env)
    assert requests == []
    assert [(check.name, check.status) for check in checks] == [
        ("version", "info"),
        ("configuration", "fail"),
        ("Datadog", "skip"),
    ]
    assert named(checks, "configuration").detail.startswith(said)


# -- the command line ---------------------------------------------------------------------------------------


def test_json_prints_one_document_and_exits_0_on_a_good_setup(
    environ: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    environ(**ENV)
    with respx.mock() as router:
        router.route().mock(side_effect=FakeDatadog(now=time.time))
        status = cli.main(["doctor", "--json"])
    out, err = capsys.readouterr()
    assert_no_key(out, err)
    assert status == 0
    assert err == ""
    document = json.loads(out)
    assert set(document) == {"ok", "checks"}
    assert document["ok"] is True
    assert all(set(check) == {"name", "status", "detail"} for check in document["checks"])
    assert {check["status"] for check in document["checks"]} == {"ok", "info"}


def test_lines_say_ok_or_fail_in_plain_words_off_a_terminal_and_exit_1_on_a_failure(
    environ: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    environ(**ENV)
    with respx.mock() as router:
        router.route().mock(side_effect=FakeDatadog(now=time.time, answers={"/api/v2/downtime": FORBIDDEN}))
        status = cli.main(["doctor"])
    out, err = capsys.readouterr()
    assert_no_key(out, err)
    assert status == 1
    assert "ok   API key: valid on datadoghq.com" in out.splitlines()
    assert "FAIL toolset downtimes: missing scope monitors_downtime" in out
    assert not {"✓", "✗"} & set(out)


def test_missing_keys_fail_on_the_command_line_without_a_request(
    environ: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=FakeDatadog())
        status = cli.main(["doctor"])
    out, _ = capsys.readouterr()
    assert status == 1
    assert not router.calls
    assert "FAIL configuration: missing DD_API_KEY and DD_APP_KEY" in out


@pytest.mark.parametrize("argv", [["doctor", "--demo"], ["--demo", "doctor"]])
def test_the_demo_passes_every_check_through_the_command_line(
    argv: list[str], environ: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    environ(DD_MCP_TOOLSETS="all")
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert "ok   configuration: demo: no keys needed" in lines
    for name in ("API key", "clock", "application key", *(f"toolset {toolset}" for toolset in TOOLSETS)):
        assert [line for line in lines if line.startswith(f"ok   {name}: ")], name
    assert not [line for line in lines if line.startswith(("FAIL", "warn", "skip"))]
