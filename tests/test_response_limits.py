"""The HTTP edge against answers no API should give: too big, compressed bombs, endless, redirects,
empty, mislabelled, deeply nested, not numbers. Each is a clear DatadogError (or a valid value),
never a crash, a hang or memory without bound.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from dd_mcp_server.services.datadog import DatadogClient, DatadogError, call_fixes
from tests.conftest import API_KEY, APP_KEY, NO_WAIT_RETRY, make_settings

MIB = 1024 * 1024


class Chunks(httpx.AsyncByteStream):
    """A response body delivered chunk by chunk, as the network delivers it; `forever` never ends."""

    def __init__(self, chunk: bytes, count: int | None) -> None:
        self.chunk, self.count, self.sent = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.count is None or self.sent < self.count:
            self.sent += 1
            yield self.chunk


def client_for(handler: Callable[[httpx.Request], httpx.Response], **env: str) -> DatadogClient:
    settings = make_settings(DD_MCP_MAX_RESPONSE_BYTES=str(MIB), **env)
    return DatadogClient(settings, transport=httpx.MockTransport(handler), retry=NO_WAIT_RETRY)


async def fails(client: DatadogClient, expected: str) -> str:
    with pytest.raises(DatadogError) as caught:
        await client.get_metric_metadata("system.cpu.user")
    await client.aclose()
    message = str(caught.value)
    assert expected in message, message
    return message


@pytest.mark.anyio
async def test_a_body_larger_than_the_cap_is_refused_naming_the_cap() -> None:
    body = Chunks(b" " * 65536, count=40)  # 2.5 MiB of JSON whitespace
    client = client_for(lambda r: httpx.Response(200, stream=body))
    message = await fails(client, "larger than 1,048,576 bytes (DD_MCP_MAX_RESPONSE_BYTES)")
    assert "smaller limit, a narrower query or a shorter time window" in message
    assert body.sent <= 17, "read on past the cap"


@pytest.mark.anyio
async def test_an_endless_body_stops_at_the_cap() -> None:
    body = Chunks(b"[" + b"0," * 30000, count=None)
    await fails(client_for(lambda r: httpx.Response(200, stream=body)), "DD_MCP_MAX_RESPONSE_BYTES")
    assert body.sent <= 20


@pytest.mark.anyio
async def test_a_gzip_bomb_is_capped_on_its_decoded_size() -> None:
    # 16 KiB compressed chunks of zeros, each about 16 MiB decoded: the cap must count decoded bytes.
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = squeezer.compress(b"\0" * (16 * MIB))
    body = Chunks(head, count=None)
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    await fails(client_for(lambda r: httpx.Response(200, stream=body, headers=headers)), "DD_MCP_MAX_RESPONSE_BYTES")
    assert body.sent <= 2


@pytest.mark.anyio
async def test_a_body_labelled_gzip_that_is_not_gzip_is_a_clear_error() -> None:
    headers = {"content-encoding": "gzip"}
    client = client_for(lambda r: httpx.Response(200, content=b'{"type": "gauge"}', headers=headers))
    await fails(client, "does not match the Content-Encoding it declares")


@pytest.mark.anyio
async def test_real_gzip_is_read() -> None:
    headers = {"content-encoding": "gzip"}
    client = client_for(lambda r: httpx.Response(200, content=gzip.compress(b'{"type": "gauge"}'), headers=headers))
    assert await client.get_metric_metadata("system.cpu.user") == {"type": "gauge"}
    await client.aclose()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.anyio
async def test_a_redirect_is_an_error_and_never_followed(status: int) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"location": "https://collector.example/steal?x=1"})

    message = await fails(client_for(answer), f"a redirect ({status}) to collector.example")
    assert "not followed" in message
    assert [r.url.host for r in seen] == ["api.datadoghq.com"]


@pytest.mark.parametrize(
    ("status", "body"),
    [(204, b""), (200, b""), (200, b"  \n"), (202, b"")],
    ids=["204", "200 empty", "200 blank", "202"],
)
@pytest.mark.anyio
async def test_no_body_where_json_is_always_answered_is_an_error(status: int, body: bytes) -> None:
    client = client_for(lambda r: httpx.Response(status, content=body))
    await fails(client, f"with {status} and no body")


@pytest.mark.anyio
async def test_json_nested_beyond_any_parser_is_an_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    await fails(client_for(lambda r: httpx.Response(200, content=body)), "nested too deeply")


@pytest.mark.anyio
async def test_numbers_that_are_not_numbers_become_null_and_are_counted() -> None:
    body = b'{"a": NaN, "b": [Infinity, -Infinity, 1e999], "c": 1, "d": ' + b"9" * 5000 + b"}"
    client = client_for(lambda r: httpx.Response(200, content=body))
    counted: Counter[str] = Counter()
    fixes = call_fixes.set(counted)
    try:
        payload = await client.get_metric_metadata("system.cpu.user")
    finally:
        call_fixes.reset(fixes)
        await client.aclose()
    assert payload == {"a": None, "b": [None, None, None], "c": 1, "d": None}
    assert counted["non_finite"] == 5


@pytest.mark.anyio
async def test_datadogs_error_text_is_masked_before_it_is_cut() -> None:
    # The key straddles the 1000-character cut of Datadog's quoted text.
    said = "x" * 985 + f" {API_KEY} {APP_KEY}"
    client = client_for(lambda r: httpx.Response(400, json={"errors": [said]}))
    message = await fails(client, "400 Bad Request")
    for key in (API_KEY, APP_KEY):
        assert not any(key[i : i + 12] in message for i in range(len(key) - 11))
    assert not re.search(r"\[REDACT(?!ED:[a-z0-9_]+\])", message), "a mask was cut in half"


@pytest.mark.anyio
async def test_an_error_body_is_read_only_as_far_as_needed() -> None:
    body = Chunks(b'{"errors": ["' + b"x" * 65536, count=None)
    await fails(client_for(lambda r: httpx.Response(500, stream=body)), "500 Internal Server Error")
    assert body.sent <= 3


@pytest.mark.parametrize("public_id", ["..", ".", "", "a/b", "a?b", "\u00e9t\u00e9"])
@pytest.mark.anyio
async def test_an_identifier_outside_the_grammar_is_never_sent(public_id: str) -> None:
    seen: list[httpx.Request] = []
    client = client_for(lambda r: seen.append(r) or httpx.Response(200, json={}))  # type: ignore[func-returns-value]
    with pytest.raises(DatadogError, match="is not a valid identifier"):
        await client.get_synthetics_results(public_id, browser=False)
    await client.aclose()
    assert seen == []
