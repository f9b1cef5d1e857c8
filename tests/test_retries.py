"""Retries in the service layer: what is retried, how long it waits, and what the model reads at the end."""

from __future__ import annotations

import httpx
import pytest
import respx

from dd_mcp_server.services.datadog import DatadogClient, DatadogError, RetryPolicy
from tests.conftest import BASE, make_settings


class Waits:
    """Records the waits instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def client_with(waits: Waits, **policy: float) -> DatadogClient:
    return DatadogClient(make_settings(), retry=RetryPolicy(sleep=waits, **policy))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_429_waits_for_the_announced_reset_then_succeeds() -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").mock(
            side_effect=[
                httpx.Response(429, headers={"X-RateLimit-Reset": "3, 3"}),
                httpx.Response(200, json={"type": "gauge"}),
            ]
        )
        answer = await client_with(waits).get_metric_metadata("m")
    assert answer == {"type": "gauge"}
    assert route.call_count == 2
    assert waits.delays == [3.0]


@pytest.mark.anyio
async def test_429_wait_is_capped_and_retry_after_is_read() -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/metrics/m").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200, json={})]
        )
        await client_with(waits, max_rate_limit_wait=10.0).get_metric_metadata("m")
    assert waits.delays == [10.0]


@pytest.mark.anyio
async def test_429_forever_gives_up_after_the_attempts_and_says_how_long_it_waited() -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").respond(429, headers={"X-RateLimit-Reset": "2"})
        with pytest.raises(DatadogError) as caught:
            await client_with(waits).get_metric_metadata("m")
    assert route.call_count == 3
    assert waits.delays == [2.0, 2.0]
    message = str(caught.value)
    assert "429" in message
    assert "gave up after 3 attempts and 4.0 s of waiting" in message
    assert "resets in 2 s" in message


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.anyio
async def test_gateway_errors_back_off_exponentially_then_succeed(status: int) -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").mock(
            side_effect=[httpx.Response(status), httpx.Response(status), httpx.Response(200, json={"unit": "byte"})]
        )
        answer = await client_with(waits, backoff=1.0).get_metric_metadata("m")
    assert answer == {"unit": "byte"}
    assert route.call_count == 3
    first, second = waits.delays
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("reset")]
)
@pytest.mark.anyio
async def test_network_failures_are_retried_and_then_explained(failure: Exception) -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").mock(side_effect=failure)
        with pytest.raises(DatadogError) as caught:
            await client_with(waits).get_metric_metadata("m")
    assert route.call_count == 3
    assert len(waits.delays) == 2
    assert "gave up after 3 attempts" in str(caught.value)
    assert "Nothing is wrong with the request" in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
@pytest.mark.anyio
async def test_final_statuses_are_never_retried(status: int) -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").respond(status, json={"errors": ["no"]})
        with pytest.raises(DatadogError) as caught:
            await client_with(waits).get_metric_metadata("m")
    assert route.call_count == 1
    assert waits.delays == []
    assert "gave up" not in str(caught.value)


@pytest.mark.anyio
async def test_post_searches_are_retried_with_the_same_body() -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/api/v2/logs/events/search").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"data": []})]
        )
        await client_with(waits).search_logs("status:error", "2026-11-24T11:00:00Z", "2026-11-24T12:00:00Z", 10, None)
    bodies = [call.request.content for call in route.calls]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(
    ("headers", "waited"),
    [
        ({"X-RateLimit-Reset": "0"}, [0.0]),  # the window has already reset: retry at once
        ({"X-RateLimit-Reset": "soon", "Retry-After": "4"}, [4.0]),  # an unreadable reset: the next header counts
    ],
    ids=["reset 0", "unreadable reset"],
)
@pytest.mark.anyio
async def test_429_waits_exactly_what_the_headers_announce(headers: dict[str, str], waited: list[float]) -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/v1/metrics/m").mock(
            side_effect=[httpx.Response(429, headers=headers), httpx.Response(200, json={})]
        )
        await client_with(waits).get_metric_metadata("m")
    assert waits.delays == waited


@pytest.mark.anyio
async def test_429_without_a_reset_backs_off_like_a_gateway_error() -> None:
    waits = Waits()
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/v1/metrics/m").mock(side_effect=[httpx.Response(429), httpx.Response(200, json={})])
        await client_with(waits, backoff=2.0).get_metric_metadata("m")
    assert route.call_count == 2
    (delay,) = waits.delays
    assert 1.0 <= delay <= 2.0  # the first backoff, base 2 s, scaled by a random 0.5-1.0
