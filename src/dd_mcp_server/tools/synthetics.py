"""Synthetics: the API and browser tests that probe the user's endpoints, with their state."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.strip import drop_empty
from dd_mcp_server.tools.base import Cursor, datadog, offset_cursor

PAGE = 100
MAX_PAGES = 10


async def get_synthetics_tests(
    ctx: Context,
    name: Annotated[str | None, Field(max_length=200, description="Only tests whose name contains this text.")] = None,
    tag: Annotated[str | None, Field(max_length=200, description="Only tests with this tag, e.g. 'env:prod'.")] = None,
    type: Annotated[Literal["api", "browser", "mobile"] | None, Field(description="Only tests of this type.")] = None,
    status: Annotated[
        Literal["live", "paused"] | None, Field(description="Only running ('live') or 'paused' tests.")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="How many tests to return (1-200).")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """List Synthetic tests (uptime, API and browser checks): what each probes, where from, and whether
    it is passing or failing when Datadog reports it.

    Use it to see if users are affected from the outside: a failing check on the checkout URL.
    Example: tag='service:checkout', status='live'.
    """
    offset = offset_cursor(cursor)
    client = datadog(ctx)
    tests: list[dict[str, Any]] = []
    for number in range(MAX_PAGES):
        payload = await client.list_synthetics_tests(PAGE, number)
        page = [t for t in payload.get("tests") or [] if isinstance(t, dict)]
        tests.extend(page)
        if len(page) < PAGE:
            break
    chosen = [
        t
        for t in tests
        if (not name or name.lower() in str(t.get("name") or "").lower())
        and (not tag or tag in (t.get("tags") or []))
        and (not type or t.get("type") == type)
        and (not status or t.get("status") == status)
    ]
    states: dict[str, int] = {}
    for test in chosen:
        state = str(test.get("overall_state") or test.get("monitor_status") or "unknown")
        states[state] = states.get(state, 0) + 1
    result: dict[str, Any] = {
        "tests": [_test(t) for t in chosen[offset : offset + limit]],
        "total": len(chosen),
        "states": states,
    }
    if offset + limit < len(chosen):
        result["next_cursor"] = str(offset + limit)
    return result


def _test(test: dict[str, Any]) -> dict[str, Any]:
    config = test.get("config") or {}
    request = config.get("request") or {}
    shaped = {
        "public_id": test.get("public_id"),
        "name": test.get("name"),
        "type": test.get("type"),
        "subtype": test.get("subtype"),
        "status": test.get("status"),
        "state": test.get("overall_state") or test.get("monitor_status"),
        "target": request.get("url") or request.get("host") or (test.get("config") or {}).get("startUrl"),
        "method": request.get("method"),
        "locations": len(test.get("locations") or []) or None,
        "tags": test.get("tags"),
        "monitor_id": test.get("monitor_id"),
        "last_result": test.get("last_result") or test.get("result"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (get_synthetics_tests,)
