# dd-mcp-server serving a team over Streamable HTTP (README: "Serving a team over HTTP").
#
#   docker build -t dd-mcp-server .
#   docker run --rm -p 8000:8000 -e DD_API_KEY -e DD_APP_KEY -e DD_SITE \
#     -e DD_MCP_HTTP_TOKENS_FILE=/etc/dd-mcp-server/tokens -v "$PWD/tokens:/etc/dd-mcp-server/tokens:ro" dd-mcp-server
#
# Bound to 0.0.0.0, the server refuses to start unless callers are identified: a tokens file
# (DD_MCP_HTTP_TOKENS_FILE) or OIDC (DD_MCP_OIDC_ISSUER and DD_MCP_OIDC_AUDIENCE).
# tests/test_deploy.py checks this file and runs its command line with the local console script.

# Build stage: the project and its dependencies (every one a wheel, or pure Python) into a venv.
FROM python:3.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md LICENSE /src/
COPY src /src/src
RUN /opt/venv/bin/pip install --no-cache-dir "/src[otel]"

# Runtime stage: the venv alone, no source tree, no build backend, no compiler.
FROM python:3.12-slim-bookworm
RUN groupadd --system --gid 10001 dd-mcp \
 && useradd --system --uid 10001 --gid dd-mcp --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin dd-mcp
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DD_MCP_PORT=8000
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# The process is up and answering HTTP: only Python's standard library (slim has no curl), no proxy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import http.client, os, sys; c = http.client.HTTPConnection('127.0.0.1', int(os.environ.get('DD_MCP_PORT') or 8000), timeout=4); c.request('GET', '/healthz'); sys.exit(c.getresponse().status != 200)"]
ENTRYPOINT ["dd-mcp-server"]
# The port comes from DD_MCP_PORT (above), so `-e DD_MCP_PORT=...` moves it and the health check with it.
CMD ["--transport", "http", "--host", "0.0.0.0"]
