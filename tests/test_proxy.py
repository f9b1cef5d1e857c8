"""Proxies on the wire: the HTTP client uses exactly the proxy the settings chose, and no other.

httpx picks proxies from the environment by itself; a plain-http loopback DD_API_URL would then be
sent, keys and all, through HTTP_PROXY or ALL_PROXY. These tests run real sockets on 127.0.0.1.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dd_mcp_server.config import load_settings
from dd_mcp_server.services.datadog import DatadogClient, DatadogError
from tests.conftest import API_KEY, APP_KEY, NO_WAIT_RETRY
from tests.fault_server import answer, serving


@contextmanager
def recording_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A proxy that records the first line of every request it gets and answers 502."""
    lines: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            lines.append(self.rfile.readline().strip())
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", lines
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.anyio
async def test_plain_http_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_proxy() as (proxy, through_proxy), serving(answer(200, {"type": "gauge"})) as datadog:
        env = {"HTTP_PROXY": proxy, "http_proxy": proxy, "ALL_PROXY": proxy, "all_proxy": proxy}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_API_URL": datadog.url, **env})
        client = DatadogClient(settings, retry=NO_WAIT_RETRY)
        try:
            assert await client.get_metric_metadata("system.cpu.user") == {"type": "gauge"}
        finally:
            await client.aclose()
    assert through_proxy == []
    assert [r.path for r in datadog.received] == ["/api/v1/metrics/system.cpu.user"]


@pytest.mark.anyio
async def test_https_goes_through_the_configured_proxy_as_a_connect_only(monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_proxy() as (proxy, through_proxy):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        settings = load_settings({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "HTTPS_PROXY": proxy})
        assert settings.proxy == proxy
        client = DatadogClient(settings, retry=NO_WAIT_RETRY)
        try:
            with pytest.raises(DatadogError):
                await client.get_metric_metadata("system.cpu.user")
        finally:
            await client.aclose()
    assert through_proxy[0] == b"CONNECT api.datadoghq.com:443 HTTP/1.1"
    assert all(line.startswith(b"CONNECT ") for line in through_proxy)


@pytest.mark.anyio
async def test_no_proxy_setting_means_a_direct_connection_even_with_proxies_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with recording_proxy() as (proxy, through_proxy), serving(answer(200, {"type": "gauge"})) as datadog:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.setenv("ALL_PROXY", proxy)
        # The settings decided: no proxy (NO_PROXY named the host). The client must not second-guess it.
        settings = load_settings({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "DD_API_URL": datadog.url})
        assert settings.proxy is None
        client = DatadogClient(settings, retry=NO_WAIT_RETRY)
        try:
            await client.get_metric_metadata("system.cpu.user")
        finally:
            await client.aclose()
    assert through_proxy == []
