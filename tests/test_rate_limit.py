"""The HTTP server's pure parts: the token bucket per identity, the readiness cache, reading the
JSON-RPC method and tool a request names for the access log."""

from __future__ import annotations

import anyio
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from dd_mcp_server.http import READY_SECONDS, RateLimit, Readiness, rpc_of
from tests.conftest import BASE, make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@given(
    rate=st.integers(min_value=1, max_value=120),
    gaps=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=300),
)
def test_no_identity_gets_more_than_its_burst_plus_the_refill(rate: int, gaps: list[float]) -> None:
    clock = Clock()
    limit = RateLimit(rate, clock)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += limit.wait("alice") == 0
    assert allowed <= rate + sum(gaps) * rate / 60 + 1e-6


@given(rate=st.integers(min_value=1, max_value=120), count=st.integers(min_value=1, max_value=200))
def test_requests_spaced_at_the_rate_are_never_refused(rate: int, count: int) -> None:
    clock = Clock()
    limit = RateLimit(rate, clock)
    for _ in range(count):
        assert limit.wait("alice") == 0
        clock.now += 60 / rate


def test_a_refusal_says_how_long_until_the_next_request_may_go() -> None:
    clock = Clock()
    limit = RateLimit(6, clock)  # one every 10 s
    assert [limit.wait("alice") for _ in range(6)] == [0.0] * 6
    assert limit.wait("alice") == pytest.approx(10.0)
    assert limit.wait("bob") == 0.0  # another identity, another bucket
    clock.now += 4
    assert limit.wait("alice") == pytest.approx(6.0)
    clock.now += 6
    assert limit.wait("alice") == 0.0


def test_no_rate_is_no_limit() -> None:
    limit = RateLimit(0, Clock())
    assert all(limit.wait("alice") == 0 for _ in range(10_000))


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_monitor","arguments":{}}}',
            ("tools/call", "get_monitor"),
        ),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', ("tools/list", None)),
        (b'{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"x"}}', ("prompts/get", None)),
        (b"not json", (None, None)),
        (b'[{"method":"ping"}]', (None, None)),
        (b'{"method":7}', (None, None)),
        (b'{"method":"tools/call","params":{"name":["odd"]}}', ("tools/call", None)),
    ],
)
def test_the_access_log_reads_the_method_and_tool_or_nothing(body: bytes, read: tuple[str | None, str | None]) -> None:
    assert rpc_of(body) == read


@pytest.mark.anyio
async def test_readiness_looks_at_datadog_at_most_every_30_seconds_and_probes_arriving_together_share_a_look() -> None:
    clock = Clock()
    ready = Readiness(make_settings(), None, clock)
    probe = Request({"type": "http", "method": "GET", "path": "/readyz", "headers": []})
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v2/validate_keys").respond(200, json={"status": "ok"})
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(ready.answer, probe)
        assert route.call_count == 1
        clock.now += READY_SECONDS - 1
        assert (await ready.answer(probe)).status_code == 200
        assert route.call_count == 1
        route.respond(403, json={"errors": ["Forbidden"]})
        clock.now += 1
        refused = await ready.answer(probe)
    assert route.call_count == 2
    assert (refused.status_code, refused.body) == (503, b'{"ready":false}')
