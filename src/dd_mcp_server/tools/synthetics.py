"""Synthetics: the API and browser tests that probe the user's endpoints, with their state."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.services.datadog import DatadogError
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing

PAGE = 100
MAX_PAGES = 10
# Latest results are one request per test: read them for this many tests of the page at most.
RESULTS_FOR = 10
# A latest result's status, as Datadog's monitor status of the run.
RUN_STATUS = {0: "passed", 1: "failed", 2: "no data"}
# What a test probes and whether it passes; `fields` adds the rest (subtype, method, config.*...).
_SHOWN = ("public_id", "name", "type", "status", "target", "tags", "monitor_id")


@listing("tests", link="synthetics/details/{public_id}")
async def get_synthetics_tests(
    ctx: Context,
    name: Annotated[str | None, Field(max_length=200, description="Name contains")] = None,
    tag: Annotated[str | None, Field(max_length=200, description="Only this tag")] = None,
    type: Annotated[Literal["api", "browser", "mobile"] | None, Field(description="Only this type")] = None,
    status: Annotated[Literal["live", "paused"] | None, Field(description="Only this status")] = None,
    with_results: Annotated[
        bool,
        Field(description=f"Add latest runs (first {RESULTS_FOR} tests)"),
    ] = True,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=200, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Synthetic tests, latest runs: are users affected. Example: status='live'"""
    offset = offset_cursor(cursor)
    client = datadog(ctx)
    tests: list[dict[str, Any]] = []
    for number in range(MAX_PAGES):
        payload = await client.list_synthetics_tests(PAGE, number)
        batch = [t for t in payload.get("tests") or [] if isinstance(t, dict)]
        tests.extend(batch)
        if len(batch) < PAGE:
            break
    chosen = [
        t
        for t in tests
        if (not name or name.lower() in str(t.get("name") or "").lower())
        and (not tag or tag in (t.get("tags") or []))
        and (not type or t.get("type") == type)
        and (not status or t.get("status") == status)
    ]
    page = [select(_test(t), _SHOWN, strip_metadata(t), fields) for t in chosen[offset : offset + limit]]
    if with_results:
        for test in [t for t in page if t.get("public_id")][:RESULTS_FOR]:
            try:
                payload = await client.get_synthetics_results(test["public_id"], test.get("type") == "browser")
            except DatadogError as exc:
                # One test's runs being unreadable must not hide the others.
                test["latest"] = {"unavailable": str(exc)}
                continue
            test["latest"] = summarise_runs(payload.get("results") or [])
    result: dict[str, Any] = {"tests": page, "total": len(chosen), **resume_at(offset)}
    if offset + limit < len(chosen):
        result["next_cursor"] = str(offset + limit)
    return result


def summarise_runs(runs: list[Any]) -> dict[str, Any]:
    """Counts of passed and failed runs, the last run's time and outcome, and where runs failed."""
    outcomes = [(run, _outcome(run)) for run in runs if isinstance(run, dict)]
    if not outcomes:
        return {"runs": 0}
    latest_run, latest = max(outcomes, key=lambda pair: float(pair[0].get("check_time") or 0))
    checked = latest_run.get("check_time")
    summary = {
        "runs": len(outcomes),
        "passed": sum(1 for _, o in outcomes if o == "passed"),
        "failed": sum(1 for _, o in outcomes if o == "failed"),
        "last": latest,
        "last_checked": iso(float(checked) / 1000) if isinstance(checked, int | float) else None,
        "failing_locations": sorted({str(r.get("probe_dc")) for r, o in outcomes if o == "failed"}),
    }
    return drop_empty(summary)  # type: ignore[no-any-return]


def _outcome(run: dict[str, Any]) -> str:
    passed = (run.get("result") or {}).get("passed")
    if isinstance(passed, bool):
        return "passed" if passed else "failed"
    return RUN_STATUS.get(run.get("status"), "unknown")  # type: ignore[arg-type]


def _test(test: dict[str, Any]) -> dict[str, Any]:
    config = test.get("config") or {}
    request = config.get("request") or {}
    shaped = {
        "public_id": test.get("public_id"),
        "name": test.get("name"),
        "type": test.get("type"),
        "subtype": test.get("subtype"),
        "status": test.get("status"),
        "target": request.get("url") or request.get("host") or (test.get("config") or {}).get("startUrl"),
        "method": request.get("method"),
        "locations": len(test.get("locations") or []) or None,
        "tags": test.get("tags"),
        "monitor_id": test.get("monitor_id"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (get_synthetics_tests,)
