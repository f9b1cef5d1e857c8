"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set: the team sees its MCP server in the
Datadog it already uses (the Datadog Agent takes OTLP).

The spans themselves come from the OpenTelemetry API, which the MCP SDK already imports: its own
middleware opens a server span per MCP request (`tools/call get_monitor`), and services/datadog.py
a client span per Datadog request inside it. Without a tracer provider they cost nothing. This
module installs one that exports over OTLP/HTTP, configured by the standard OTEL_* variables
(endpoint, headers, OTEL_SERVICE_NAME, ...). It needs the optional packages of
`dd-mcp-server[otel]`; without them the server runs untraced and says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def configure_tracing(env: Mapping[str, str]) -> bool:
    """Export spans over OTLP/HTTP when the environment names a collector; True when it does."""
    if not env.get(ENDPOINT, "").strip() or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("%s is set, but tracing needs the otel extra: pip install 'dd-mcp-server[otel]'", ENDPOINT)
        return False
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over this default, as the SDK reads them.
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "dd-mcp-server"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True
