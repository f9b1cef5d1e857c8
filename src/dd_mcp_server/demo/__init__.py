"""The built-in demo organisation, served through an httpx transport behind the real service layer."""

from __future__ import annotations

import httpx

from dd_mcp_server.demo.api import DemoApi


def demo_transport() -> httpx.AsyncBaseTransport:
    """A transport that answers Datadog's endpoints from a generated sample organisation: no keys, no network."""
    return httpx.MockTransport(DemoApi().handle)
