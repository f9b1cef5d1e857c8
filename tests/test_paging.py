"""Paging: a cursor a page returned leads to exactly the next items, and the last page invents nothing.

Every offset-paged tool is walked twice: against a fake Datadog (respx) that honours the paging
parameters it is sent, so each request's offset can be checked, and against the demo organisation,
end to end. Walking every page with the cursors the tool returns must give the whole set, in
order, each item once, and the last page must carry no next_cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.demo import catalog
from dd_mcp_server.demo.api import DemoApi
from dd_mcp_server.demo.org import METRICS, Org
from dd_mcp_server.server import build_server
from tests.conftest import BASE, NOW, connect

Raw = dict[str, Any]
Serve = Callable[[httpx.QueryParams, list[Raw]], Any]


def _int(params: httpx.QueryParams, name: str) -> int:
    return int(params[name])


def by_offset(offset: str, size: str, wrap: Callable[[list[Raw], int], Any]) -> Serve:
    """A fake endpoint that pages by an item offset and a page size, as Datadog documents it."""

    def serve(params: httpx.QueryParams, items: list[Raw]) -> Any:
        start = _int(params, offset)
        return wrap(items[start : start + _int(params, size)], len(items))

    return serve


def by_number(number: str, size: str, wrap: Callable[[list[Raw], int], Any]) -> Serve:
    """A fake endpoint that pages by a page number (from 0) and a page size."""

    def serve(params: httpx.QueryParams, items: list[Raw]) -> Any:
        count = _int(params, size)
        start = _int(params, number) * count
        return wrap(items[start : start + count], len(items))

    return serve


@dataclass(frozen=True)
class Paged:
    """One offset-paged tool against a fake endpoint holding a list of raw items."""

    tool: str
    path: str
    key: str  # the list in the tool's result
    raw: Callable[[str], Raw]  # the raw item Datadog holds for a name
    name_of: Callable[[Any], str]  # the name back from the shaped item
    serve: Serve
    sent: Callable[[int, int], dict[str, str]]  # the paging parameters page (offset, limit) must send
    args: dict[str, Any] = field(default_factory=dict)
    # The tool knows the total (or holds every item), so a page ending exactly at the end has no cursor.
    knows_end: bool = False


def name(n: int) -> str:
    # Zero-padded: sorted names keep the order they were made in (list_metrics sorts).
    return f"item{n:02d}"


def nothing(offset: int, limit: int) -> dict[str, str]:
    return {}


PAGED = [
    Paged(
        "list_metrics",
        "/api/v1/metrics",
        "metrics",
        raw=lambda n: {"name": n},
        name_of=str,
        serve=lambda params, items: {"metrics": [i["name"] for i in reversed(items)]},
        sent=nothing,
        knows_end=True,
    ),
    Paged(
        "list_downtimes",
        "/api/v2/downtime",
        "downtimes",
        raw=lambda n: {"id": n, "attributes": {"status": "active", "scope": "env:prod"}},
        name_of=lambda d: d["id"],
        serve=by_offset("page[offset]", "page[limit]", lambda page, total: {"data": page}),
        sent=lambda offset, limit: {"page[offset]": str(offset), "page[limit]": str(limit)},
        args={"status": ["active"]},
    ),
    Paged(
        "list_incidents",
        "/api/v2/incidents/search",
        "incidents",
        raw=lambda n: {"data": {"id": n, "attributes": {"title": n, "state": "active"}}},
        name_of=lambda i: i["id"],
        serve=by_offset(
            "page[offset]",
            "page[size]",
            lambda page, total: {"data": {"attributes": {"incidents": page, "total": total}}},
        ),
        sent=lambda offset, limit: {"page[offset]": str(offset), "page[size]": str(limit)},
        knows_end=True,
    ),
    Paged(
        "list_hosts",
        "/api/v1/hosts",
        "hosts",
        raw=lambda n: {"name": n, "up": True},
        name_of=lambda h: h["name"],
        serve=by_offset("start", "count", lambda page, total: {"host_list": page, "total_matching": total}),
        sent=lambda offset, limit: {"start": str(offset), "count": str(limit)},
        knows_end=True,
    ),
    Paged(
        "list_slos",
        "/api/v1/slo",
        "slos",
        raw=lambda n: {"id": n, "name": n},
        name_of=lambda s: s["id"],
        serve=by_offset("offset", "limit", lambda page, total: {"data": page}),
        sent=lambda offset, limit: {"offset": str(offset), "limit": str(limit)},
    ),
    Paged(
        "list_notebooks",
        "/api/v1/notebooks",
        "notebooks",
        raw=lambda n: {"id": n, "attributes": {"name": n}},
        name_of=lambda b: b["id"],
        serve=by_offset("start", "count", lambda page, total: {"data": page}),
        sent=lambda offset, limit: {"start": str(offset), "count": str(limit)},
    ),
    Paged(
        "list_dashboards",
        "/api/v1/dashboard",
        "dashboards",
        raw=lambda n: {"id": n, "title": n},
        name_of=lambda d: d["id"],
        serve=by_offset("start", "count", lambda page, total: {"dashboards": page}),
        sent=lambda offset, limit: {"start": str(offset), "count": str(limit)},
    ),
    # With a query, dashboards are read whole and paged here.
    Paged(
        "list_dashboards",
        "/api/v1/dashboard",
        "dashboards",
        raw=lambda n: {"id": n, "title": f"Checkout {n}"},
        name_of=lambda d: d["id"],
        serve=lambda params, items: {"dashboards": items},
        sent=nothing,
        args={"query": "checkout"},
        knows_end=True,
    ),
    Paged(
        "list_services",
        "/api/v2/services/definitions",
        "services",
        raw=lambda n: {"attributes": {"schema": {"dd-service": n}}},
        name_of=lambda s: s["name"],
        serve=by_number("page[number]", "page[size]", lambda page, total: {"data": page}),
        sent=lambda offset, limit: {"page[number]": "0", "page[size]": "100"},
        knows_end=True,
    ),
    Paged(
        "get_synthetics_tests",
        "/api/v1/synthetics/tests",
        "tests",
        raw=lambda n: {"public_id": n, "name": n, "type": "api"},
        name_of=lambda t: t["public_id"],
        serve=by_number("page_number", "page_size", lambda page, total: {"tests": page}),
        sent=lambda offset, limit: {"page_number": "0", "page_size": "100"},
        args={"with_results": False},
        knows_end=True,
    ),
    # Monitors page by page number: the cursor is the next page's number.
    Paged(
        "get_monitors",
        "/api/v1/monitor",
        "monitors",
        raw=lambda n: {"id": int(n.removeprefix("item")), "name": n, "overall_state": "OK"},
        name_of=lambda m: name(m["id"]),
        serve=by_number("page", "page_size", lambda page, total: page),
        sent=lambda offset, limit: {"page": str(offset // limit), "page_size": str(limit)},
    ),
]
IDS = [f"{p.tool}{'-' + '-'.join(p.args) if 'query' in p.args else ''}" for p in PAGED]


@dataclass
class Walk:
    pages: list[dict[str, Any]]
    sent: list[dict[str, str]]

    def names(self, paged: Paged) -> list[list[str]]:
        return [[paged.name_of(item) for item in page[paged.key]] for page in self.pages]


async def walk(paged: Paged, total: int, limit: int, most: int = 20) -> Walk:
    """Call the tool from page 1, following next_cursor while there is one, against `total` items."""
    items = [paged.raw(name(n)) for n in range(total)]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=paged.serve(request.url.params, items))

    pages: list[dict[str, Any]] = []
    with respx.mock(base_url=BASE) as mock:
        route = mock.get(paged.path).mock(side_effect=answer)
        async with connect() as client:
            cursor: str | None = None
            for _ in range(most):
                args = {**paged.args, "limit": limit} | ({"cursor": cursor} if cursor is not None else {})
                result = await client.call_tool(paged.tool, args)
                assert not result.is_error, result.content
                assert isinstance(result.structured_content, dict)
                pages.append(result.structured_content)
                cursor = result.structured_content.get("next_cursor")
                if cursor is None:
                    break
        sent = [dict(call.request.url.params) for call in route.calls]
    return Walk(pages, sent)


def paging_params(sent: dict[str, str], paged: Paged) -> dict[str, str]:
    """The paging parameters of one request (what sent() names, plus any the tool added)."""
    names = set(paged.sent(0, 1)) | {"page", "page_size", "start", "count", "offset", "limit"}
    names |= {"page[offset]", "page[limit]", "page[size]", "page[number]", "page_number"}
    return {k: v for k, v in sent.items() if k in names}


@pytest.mark.parametrize("paged", PAGED, ids=IDS)
@pytest.mark.anyio
async def test_page_two_starts_exactly_where_page_one_ended(paged: Paged) -> None:
    done = await walk(paged, total=7, limit=3, most=2)
    first, second = done.names(paged)
    assert first == [name(n) for n in range(3)]
    assert second == [name(n) for n in range(3, 6)], "page 2 skipped or repeated items"
    assert [paging_params(s, paged) for s in done.sent[:2]] == [paged.sent(0, 3), paged.sent(3, 3)]


@pytest.mark.parametrize("paged", PAGED, ids=IDS)
@pytest.mark.anyio
async def test_the_last_page_has_no_cursor_and_invents_nothing(paged: Paged) -> None:
    done = await walk(paged, total=7, limit=3)
    assert done.names(paged) == [[name(n) for n in range(3)], [name(n) for n in range(3, 6)], [name(6)]]
    assert "next_cursor" not in done.pages[-1]
    assert [paging_params(s, paged) for s in done.sent] == [paged.sent(o, 3) for o in (0, 3, 6)]


@pytest.mark.parametrize("paged", PAGED, ids=IDS)
@pytest.mark.anyio
async def test_a_set_that_fills_its_last_page_exactly_ends_without_a_gap_or_an_invented_page(paged: Paged) -> None:
    done = await walk(paged, total=6, limit=3)
    pages = done.names(paged)
    # A tool that knows where the set ends stops there; one that cannot know (Datadog gives no
    # total) may ask once more and get an empty last page, but never anything else.
    assert pages[:2] == [[name(n) for n in range(3)], [name(n) for n in range(3, 6)]]
    assert pages[2:] == ([] if paged.knows_end else [[]])
    assert "next_cursor" not in done.pages[-1]


@pytest.mark.anyio
async def test_list_hosts_pages_by_the_hosts_it_got_when_datadog_sends_fewer_than_asked() -> None:
    hosts = [{"name": name(n)} for n in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        # Datadog caps a page below the count asked: two hosts at most.
        return httpx.Response(200, json={"host_list": hosts[start : start + 2], "total_matching": 5})

    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/hosts").mock(side_effect=answer)
        async with connect() as client:
            first = (await client.call_tool("list_hosts", {"limit": 3})).structured_content
            assert first is not None
            second = (
                await client.call_tool("list_hosts", {"limit": 3, "cursor": first["next_cursor"]})
            ).structured_content
        starts = [call.request.url.params["start"] for call in route.calls]
    assert second is not None
    assert starts == ["0", "2"]
    assert [h["name"] for h in first["hosts"] + second["hosts"]] == [name(n) for n in range(4)]


# -- the demo organisation, end to end ---------------------------------------------------------------


@asynccontextmanager
async def demo_at_now(env: dict[str, str] | None = None) -> AsyncIterator[tuple[Client, Org]]:
    """The demo organisation generated at NOW, behind a server whose clock reads NOW."""
    org = Org(now=float(NOW))
    server = build_server(
        load_settings({"DD_MCP_OUTPUT": "json", **(env or {})}, demo=True),
        transport=httpx.MockTransport(DemoApi(org).handle),
        clock=lambda: NOW,
    )
    async with Client(server) as client:
        yield client, org


@dataclass(frozen=True)
class DemoWalk:
    tool: str
    key: str
    ident: Callable[[Any], Any]
    expected: Callable[[Org], list[Any]]  # the whole set, in order, read from the demo's own records
    limit: int
    args: dict[str, Any] = field(default_factory=dict)


DEMO_WALKS = [
    DemoWalk("list_metrics", "metrics", str, lambda org: sorted(METRICS), 4),
    DemoWalk(
        "list_downtimes",
        "downtimes",
        lambda d: d["id"],
        lambda org: [d["id"] for d in catalog.downtimes(org) if d["attributes"]["status"] in ("active", "scheduled")],
        1,
    ),
    DemoWalk(
        "list_downtimes",
        "downtimes",
        lambda d: d["id"],
        lambda org: [d["id"] for d in catalog.downtimes(org)],
        2,
        {"status": ["active", "scheduled", "ended", "canceled"]},
    ),
    DemoWalk(
        "list_incidents",
        "incidents",
        lambda i: i["id"],
        lambda org: [i["id"] for i in sorted(catalog.incidents(org), key=lambda i: i["attributes"]["created"])][::-1],
        1,
    ),
    DemoWalk("list_hosts", "hosts", lambda h: h["name"], lambda org: [h["name"] for h in catalog.hosts(org)], 3),
    DemoWalk("list_slos", "slos", lambda s: s["id"], lambda org: [s["id"] for s in catalog.slos(org)], 3),
    DemoWalk(
        "list_notebooks",
        "notebooks",
        lambda n: n["id"],
        lambda org: [
            n["id"] for n in sorted(catalog.notebooks(org), key=lambda n: n["attributes"]["modified"], reverse=True)
        ],
        2,
    ),
    DemoWalk(
        "list_dashboards",
        "dashboards",
        lambda d: d["id"],
        lambda org: [d["id"] for d in catalog.dashboards(org)],
        2,
        {"fields": ["*"]},  # whole records: the summaries of all of them fit in the smallest budget
    ),
    DemoWalk(
        "list_services",
        "services",
        lambda s: s["name"],
        lambda org: [s["attributes"]["schema"]["dd-service"] for s in catalog.service_definitions()],
        4,
    ),
    DemoWalk(
        "get_synthetics_tests",
        "tests",
        lambda t: t["public_id"],
        lambda org: [t["public_id"] for t in catalog.synthetics_tests()],
        3,
        {"with_results": False},
    ),
    DemoWalk("get_monitors", "monitors", lambda m: m["id"], lambda org: [m["id"] for m in catalog.monitors(org)], 3),
]


@pytest.mark.parametrize("case", DEMO_WALKS, ids=[f"{w.tool}-{n}" for n, w in enumerate(DEMO_WALKS)])
@pytest.mark.anyio
async def test_walking_every_demo_page_gives_the_whole_set_in_order_once(case: DemoWalk) -> None:
    got: list[Any] = []
    pages = 0
    async with demo_at_now() as (client, org):
        cursor: str | None = None
        while True:
            args = {**case.args, "limit": case.limit} | ({"cursor": cursor} if cursor else {})
            result = await client.call_tool(case.tool, args)
            assert not result.is_error, result.content
            page = result.structured_content
            assert isinstance(page, dict)
            got.extend(case.ident(item) for item in page[case.key])
            pages += 1
            cursor = page.get("next_cursor")
            if cursor is None or pages > 20:
                break
    expected = case.expected(org)
    assert len(expected) > case.limit, "one page holds everything: the walk would prove nothing"
    assert got == expected
    assert cursor is None


# Each demo search (tool, the answer's key, arguments) whose matches span several pages.
SEARCHES = [
    ("search_logs", "logs", {"query": "service:payments"}),
    ("list_spans", "spans", {"query": "service:checkout"}),
    ("search_rum_events", "events", {}),
    ("get_events", "events", {"start": "now-1d"}),
]


@pytest.mark.parametrize(("tool", "key", "args"), SEARCHES)
@pytest.mark.anyio
async def test_walking_demo_search_pages_gives_every_match_newest_first_once(
    tool: str, key: str, args: dict[str, Any]
) -> None:
    got: list[Any] = []
    async with demo_at_now() as (client, _):
        whole = await client.call_tool(tool, {**args, "limit": 1000})
        assert isinstance(whole.structured_content, dict)
        assert "next_cursor" not in whole.structured_content
        everything = whole.structured_content[key]
        limit = max(1, len(everything) // 4)
        cursor: str | None = None
        for _ in range(10):
            result = await client.call_tool(tool, {**args, "limit": limit} | ({"cursor": cursor} if cursor else {}))
            assert isinstance(result.structured_content, dict)
            got.extend(result.structured_content[key])
            cursor = result.structured_content.get("next_cursor")
            if cursor is None:
                break
    assert len(everything) >= 4
    assert got == everything
    stamps = [item.get("timestamp") or item.get("start") for item in got]
    assert stamps == sorted(stamps, reverse=True)
    assert cursor is None


# The walks whose whole set is more than the smallest budget holds. (One SLO, thresholds and status
# lists included, does not fit in it yet.)
LARGE_WALKS = [w for w in DEMO_WALKS if w.tool not in ("list_metrics", "list_downtimes", "list_notebooks", "list_slos")]


@pytest.mark.parametrize("case", LARGE_WALKS, ids=[w.tool for w in LARGE_WALKS])
@pytest.mark.anyio
async def test_pages_cut_by_the_budget_resume_after_the_last_row_shown(case: DemoWalk) -> None:
    # Pages of up to 100 rows at a small budget: the budget, not the limit, ends each answer.
    got: list[Any] = []
    cut = 0
    async with demo_at_now({"DD_MCP_MAX_RESULT_CHARS": "1000"}) as (client, org):
        cursor: str | None = None
        for _ in range(40):
            args = {**case.args, "limit": 100} | ({"cursor": cursor} if cursor else {})
            result = await client.call_tool(case.tool, args)
            assert not result.is_error, result.content
            page = result.structured_content
            assert isinstance(page, dict)
            assert page[case.key], f"an answer with no row: {page}"
            got.extend(case.ident(item) for item in page[case.key])
            cut += "_truncated" in page
            cursor = page.get("next_cursor")
            if cursor is None:
                break
    assert cut, "no page was cut: the test would prove nothing"
    assert got == case.expected(org)


@pytest.mark.parametrize(("tool", "key", "args"), SEARCHES)
@pytest.mark.anyio
async def test_search_pages_cut_by_the_budget_resume_after_the_last_row_shown(
    tool: str, key: str, args: dict[str, Any]
) -> None:
    async with demo_at_now() as (client, _):
        whole = await client.call_tool(tool, {**args, "limit": 1000})
    assert isinstance(whole.structured_content, dict)
    everything = whole.structured_content[key]
    got: list[Any] = []
    cut = 0
    async with demo_at_now({"DD_MCP_MAX_RESULT_CHARS": "2000"}) as (client, _):
        cursor: str | None = None
        for _ in range(60):
            result = await client.call_tool(tool, {**args, "limit": 1000} | ({"cursor": cursor} if cursor else {}))
            page = result.structured_content
            assert isinstance(page, dict), result.content
            assert page[key], f"an answer with no row: {page}"
            got.extend(page[key])
            cut += "_truncated" in page
            cursor = page.get("next_cursor")
            if cursor is None:
                break
    assert cut, "no page was cut: the test would prove nothing"
    assert got == everything
