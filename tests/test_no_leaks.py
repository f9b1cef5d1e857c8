"""Neither key ever reaches the model or a log: every tool, through every kind of failure and success.

Datadog answers are built to echo the keys back (in error text, in log lines) to prove the server
masks what it did not write itself. All log records, at every level and from every logger, are
searched too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import API_KEY, APP_KEY, connect
from tests.test_requests import CASES

FIRST_CASE = {case.tool: case for case in reversed(CASES)}
ECHO = f"request with DD-API-KEY={API_KEY} DD-APPLICATION-KEY={APP_KEY}"


def answers() -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            raise exc

        return answer

    def echo_body(request: httpx.Request) -> httpx.Response:
        """A well-formed answer whose every text field carries the keys."""
        if request.url.path == "/api/v1/monitor":
            return httpx.Response(200, json=[{"id": 1, "name": ECHO, "message": ECHO, "overall_state": "Alert"}])
        item = {"id": ECHO, "attributes": {"message": ECHO, "title": ECHO, "service": ECHO, "attributes": {"k": ECHO}}}
        return httpx.Response(200, json={"data": [item], "errors": [ECHO], "title": ECHO, "description": ECHO})

    return {
        "400 echoing the keys": lambda r: httpx.Response(400, json={"errors": [ECHO]}),
        "401": lambda r: httpx.Response(401, json={"errors": ["Unauthorized"]}),
        "403 echoing the keys": lambda r: httpx.Response(403, json={"errors": [{"title": ECHO, "detail": ECHO}]}),
        "404": lambda r: httpx.Response(404, json={"errors": ["Not found"]}),
        "429": lambda r: httpx.Response(429, headers={"X-RateLimit-Reset": "1"}),
        "500 HTML": lambda r: httpx.Response(500, text=f"<html>{ECHO}</html>"),
        "503": lambda r: httpx.Response(503),
        "not JSON": lambda r: httpx.Response(200, text=ECHO),
        "timeout": raising(httpx.ReadTimeout(ECHO)),
        "connection": raising(httpx.ConnectError(ECHO)),
        "success echoing the keys": echo_body,
    }


@pytest.mark.parametrize("outcome", list(answers()))
@pytest.mark.anyio
async def test_no_key_in_any_answer_or_log_record(outcome: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    transport = httpx.MockTransport(answers()[outcome])
    seen: list[str] = []
    async with connect(transport=transport) as client:
        for tool, case in FIRST_CASE.items():
            result = await client.call_tool(tool, case.args)
            seen.extend(getattr(block, "text", "") for block in result.content)
            seen.append(json.dumps(result.structured_content))
    seen.extend(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    everything = "\n".join(seen)
    assert len(seen) > len(FIRST_CASE)
    for key in (API_KEY, APP_KEY):
        assert key not in everything
        assert key[-12:] not in everything
    if "echoing" in outcome:
        assert "[REDACTED:datadog_key]" in everything


@pytest.mark.parametrize("redact", ["on", "off"])
@pytest.mark.anyio
async def test_redaction_switch_masks_found_secrets_and_always_the_servers_own_keys(redact: str) -> None:
    line = f"deploy used AKIAIOSFODNN7EXAMPLE and {API_KEY}"
    log = {"attributes": {"message": line, "service": "web"}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"data": [log]}))
    async with connect(transport=transport, env={"DD_MCP_REDACT": redact}) as client:
        result = await client.call_tool("search_logs", {})
    answer = result.structured_content or {}
    message = answer["logs"][0]["message"]
    assert API_KEY not in message
    if redact == "on":
        assert message == "deploy used [REDACTED:aws_access_key] and [REDACTED:datadog_key]"
        assert answer["_redacted"] == {"aws_access_key": 1, "datadog_key": 1}
    else:
        assert message == "deploy used AKIAIOSFODNN7EXAMPLE and [REDACTED:datadog_key]"
        assert answer["_redacted"] == {"datadog_key": 1}
