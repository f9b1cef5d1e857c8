"""Settings from the environment: keys and their aliases, site routing, the URL override, limits."""

from __future__ import annotations

import pytest
import respx

from dd_mcp_server.config import SITES, TOOLSETS, ConfigError, load_settings, normalise_site
from dd_mcp_server.services.datadog import DatadogClient
from tests.conftest import API_KEY, APP_KEY

KEYS = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}


@pytest.mark.parametrize("site", SITES)
def test_each_site_routes_to_its_api_host(site: str) -> None:
    settings = load_settings({**KEYS, "DD_SITE": site})
    assert settings.site == site
    assert settings.base_url == f"https://api.{site}"
    assert settings.warnings == ()


def test_nine_sites_are_known() -> None:
    assert len(SITES) == 9
    assert {"ddog-gov.com", "us2.ddog-gov.com", "ap2.datadoghq.com", "uk1.datadoghq.com"} <= set(SITES)


def test_default_site_is_the_us1_site() -> None:
    assert load_settings(KEYS).base_url == "https://api.datadoghq.com"


@pytest.mark.parametrize(
    ("pasted", "site"),
    [
        ("https://app.datadoghq.eu/", "datadoghq.eu"),
        ("app.datadoghq.eu", "datadoghq.eu"),
        ("https://app.datadoghq.eu/dashboard/lists", "datadoghq.eu"),
        ("api.us5.datadoghq.com", "us5.datadoghq.com"),
        ("  US3.DATADOGHQ.COM  ", "us3.datadoghq.com"),
        ("https://us2.ddog-gov.com", "us2.ddog-gov.com"),
        ("datadoghq.com.", "datadoghq.com"),
    ],
)
def test_pasted_urls_are_normalised(pasted: str, site: str) -> None:
    assert normalise_site(pasted) == (site, None)


def test_an_unknown_site_is_warned_about_and_used_as_given() -> None:
    settings = load_settings({**KEYS, "DD_SITE": "datadoghq.example"})
    assert settings.base_url == "https://api.datadoghq.example"
    assert "not a known Datadog site" in settings.warnings[0]


@pytest.mark.parametrize(
    "url", ["https://proxy.internal:8443/datadog", "http://127.0.0.1:8126", "http://localhost:9000", "http://[::1]:80"]
)
def test_api_url_override_accepts_https_and_loopback_http(url: str) -> None:
    assert load_settings({**KEYS, "DD_API_URL": url + "/"}).base_url == url


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:80", "ftp://127.0.0.1", "https://", "nonsense"])
def test_api_url_override_rejects_plain_http_off_loopback(url: str) -> None:
    with pytest.raises(ConfigError, match="DD_API_URL"):
        load_settings({**KEYS, "DD_API_URL": url})


@pytest.mark.parametrize("site", [*SITES, "override"])
@pytest.mark.anyio
async def test_the_client_calls_the_configured_base_url(site: str) -> None:
    env = {**KEYS, "DD_API_URL": "https://dd.proxy.example/base"} if site == "override" else {**KEYS, "DD_SITE": site}
    settings = load_settings(env)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(url__regex=r".*").respond(200, json={"type": "gauge"})
        client = DatadogClient(settings)
        await client.get_metric_metadata("m")
        await client.aclose()
        url = route.calls.last.request.url
    if site == "override":
        assert (url.scheme, url.host, url.path) == ("https", "dd.proxy.example", "/base/api/v1/metrics/m")
    else:
        assert (url.scheme, url.host, url.path) == ("https", f"api.{site}", "/api/v1/metrics/m")


@pytest.mark.parametrize(
    ("api_var", "app_var"),
    [("DD_API_KEY", "DD_APP_KEY"), ("DATADOG_API_KEY", "DD_APPLICATION_KEY"), ("DATADOG_API_KEY", "DATADOG_APP_KEY")],
)
def test_key_aliases(api_var: str, app_var: str) -> None:
    settings = load_settings({api_var: API_KEY, app_var: APP_KEY})
    assert (settings.api_key, settings.app_key) == (API_KEY, APP_KEY)


def test_dd_names_win_over_aliases() -> None:
    settings = load_settings({"DD_API_KEY": "a" * 32, "DATADOG_API_KEY": "b" * 32, "DD_APP_KEY": "c" * 40})
    assert settings.api_key == "a" * 32


@pytest.mark.parametrize(
    "env", [{}, {"DD_API_KEY": API_KEY}, {"DD_APP_KEY": APP_KEY}, {"DD_API_KEY": "  ", "DD_APP_KEY": APP_KEY}]
)
def test_missing_keys_are_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert "DD_API_KEY" in str(caught.value)
    assert "DD_APP_KEY" in str(caught.value)


def test_demo_needs_no_keys_and_no_network() -> None:
    settings = load_settings({}, demo=True)
    assert settings.base_url == "https://demo.invalid"


def test_keys_never_appear_in_the_settings_repr() -> None:
    text = repr(load_settings(KEYS))
    assert API_KEY not in text
    assert APP_KEY not in text


@pytest.mark.parametrize(
    ("var", "raw", "field", "value"),
    [
        ("DD_MCP_TIMEOUT", "12.5", "timeout", 12.5),
        ("DD_MCP_DEADLINE", "90", "deadline", 90.0),
        ("DD_MCP_MAX_RESULT_CHARS", "5000", "max_result_chars", 5000),
        ("DD_MCP_REDACT", "off", "redact", False),
        ("DD_MCP_REDACT", "ON", "redact", True),
        ("DD_MCP_TOOLSETS", "logs, apm", "toolsets", ("logs", "apm")),
        ("DD_MCP_TOOLSETS", "all", "toolsets", TOOLSETS),
        ("DD_MCP_AUDIT_LOG", "/tmp/audit.jsonl", "audit_log", "/tmp/audit.jsonl"),
    ],
)
def test_limits_and_switches(var: str, raw: str, field: str, value: object) -> None:
    assert getattr(load_settings({**KEYS, var: raw}), field) == value


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("DD_MCP_TIMEOUT", "0"),
        ("DD_MCP_TIMEOUT", "soon"),
        ("DD_MCP_DEADLINE", "-1"),
        ("DD_MCP_MAX_RESULT_CHARS", "999"),
        ("DD_MCP_MAX_RESULT_CHARS", "lots"),
        ("DD_MCP_REDACT", "maybe"),
        ("DD_MCP_TOOLSETS", "logs,traces"),
    ],
)
def test_bad_settings_are_errors_naming_the_variable(var: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=var):
        load_settings({**KEYS, var: raw})
