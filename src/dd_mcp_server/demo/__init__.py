"""Placeholder: replaced by the demo organisation."""

import httpx


def demo_transport() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(lambda request: httpx.Response(404, json={"errors": ["not in demo"]}))
