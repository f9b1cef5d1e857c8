"""Settings from the environment: keys and their aliases, site routing, the URL override, the proxy,
limits and their bounds, and every refusal with its one-line message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.config import (
    SITES,
    ConfigError,
    Settings,
    load_http_settings,
    load_settings,
    normalise_site,
    proxy_for,
)
from dd_mcp_server.services.datadog import DatadogClient
from tests.conftest import API_KEY, APP_KEY

KEYS = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
DEFAULT_TOOLSETS = (
    "metrics",
    "logs",
    "monitors",
    "dashboards",
    "hosts",
    "events",
    "incidents",
    "apm",
    "synthetics",
    "rum",
    "slos",
    "downtimes",
    "notebooks",
)
ALL_TOOLSETS = (*DEFAULT_TOOLSETS, "investigations")
# Written out by hand, not read from the module: a typo in the module's table must fail here.
SITE_HOSTS = {
    "datadoghq.com": "https://api.datadoghq.com",
    "us3.datadoghq.com": "https://api.us3.datadoghq.com",
    "us5.datadoghq.com": "https://api.us5.datadoghq.com",
    "datadoghq.eu": "https://api.datadoghq.eu",
    "ap1.datadoghq.com": "https://api.ap1.datadoghq.com",
    "ap2.datadoghq.com": "https://api.ap2.datadoghq.com",
    "uk1.datadoghq.com": "https://api.uk1.datadoghq.com",
    "ddog-gov.com": "https://api.ddog-gov.com",
    "us2.ddog-gov.com": "https://api.us2.ddog-gov.com",
}
PROXY = "http://proxy.corp.example:3128"


def refused(env: dict[str, str], *, demo: bool = False) -> str:
    """The message of the ConfigError `env` raises, checked to be one line."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env, demo=demo)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


def proxy(**env: str) -> str | None:
    return load_settings({**KEYS, **env}).proxy


# -- sites -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("site", "base_url"), SITE_HOSTS.items())
def test_each_site_routes_to_its_api_host(site: str, base_url: str) -> None:
    settings = load_settings({**KEYS, "DD_SITE": site})
    assert settings.site == site
    assert settings.base_url == base_url
    assert settings.warnings == ()


def test_the_nine_sites_are_known() -> None:
    assert sorted(SITES) == sorted(SITE_HOSTS)


def test_default_site_is_the_us1_site() -> None:
    assert load_settings(KEYS).base_url == "https://api.datadoghq.com"
    assert load_settings({**KEYS, "DD_SITE": "  "}).base_url == "https://api.datadoghq.com"


@pytest.mark.parametrize(
    ("pasted", "site"),
    [
        ("https://app.datadoghq.eu/", "datadoghq.eu"),
        ("app.datadoghq.eu", "datadoghq.eu"),
        ("datadoghq.eu/", "datadoghq.eu"),
        ("https://app.datadoghq.eu/dashboard/lists", "datadoghq.eu"),
        ("https://app.datadoghq.eu/apm/home?env=prod#top", "datadoghq.eu"),
        ("api.us5.datadoghq.com", "us5.datadoghq.com"),
        ("  US3.DATADOGHQ.COM  ", "us3.datadoghq.com"),
        ("https://us2.ddog-gov.com", "us2.ddog-gov.com"),
        ("HTTPS://APP.DDOG-GOV.COM/", "ddog-gov.com"),
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
    "site",
    ["datadoghq.com@127.0.0.1:8080", "datadoghq.com@evil.example", "https://datadoghq.com@evil.example/", "u:p@x.com"],
)
def test_site_with_userinfo_is_refused(site: str) -> None:
    message = refused({**KEYS, "DD_SITE": site})
    assert "DD_SITE" in message
    assert "'@'" in message


@pytest.mark.parametrize("site", ["datadoghq.com:8443", "https://app.datadoghq.eu:443/", "datadoghq.com:"])
def test_site_with_a_port_is_refused(site: str) -> None:
    assert "port" in refused({**KEYS, "DD_SITE": site})


@pytest.mark.parametrize("site", ["datadoghq.com/evil", "datadoghq.com?x=1", "datadoghq.com#x", "datadoghq.com//"])
def test_bare_site_with_a_path_or_query_is_refused(site: str) -> None:
    assert "is not a host name" in refused({**KEYS, "DD_SITE": site})


@pytest.mark.parametrize(
    "site",
    [
        "datadoghq.com\n",
        "datadoghq.com\nX-Evil: 1",
        "datadog hq.com",
        "datadoghq.com\t",
        "\x00datadoghq.com",
        "datadoghq.com\u2028x",
        "datadoghq.c\u00f6m",
        "d\u0430tadoghq.com",  # Cyrillic a
    ],
)
def test_site_with_whitespace_control_or_non_ascii_characters_is_refused_on_one_line(site: str) -> None:
    message = refused({**KEYS, "DD_SITE": site})
    assert message.startswith("DD_SITE=")
    assert "non-ASCII" in message
    assert not any(char in message for char in "\n\r\t\x00\u2028")


@pytest.mark.parametrize(
    "site",
    [
        "127.0.0.1",
        "localhost",
        "-datadoghq.com",
        "datadoghq-.com",
        "datadoghq..com",
        "datadoghq.com..",
        "data_dog.com",
        "[::1]",
        "https://",
        "ftp://datadoghq.com",
        "a" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
    ],
)
def test_site_that_is_not_a_host_name_is_refused(site: str) -> None:
    assert refused({**KEYS, "DD_SITE": site}).startswith("DD_SITE=")


def test_a_long_site_is_shown_cut_short() -> None:
    assert len(refused({**KEYS, "DD_SITE": "x" * 10_000})) < 400


SITE_PIECES = st.sampled_from(
    [
        *("datadoghq.com", "app.", "api.", ".", "-", "@", ":", "443", "/", "?", "#", "https://", "http://", "A", "1"),
        *("\n", " ", "\t", "\x00", "\u00f6", "\u2028", "[", "]", "\\", "127.0.0.1", "evil.example", "%40"),
    ]
)


def outcome(env: dict[str, str]) -> Settings | str:
    """The settings `env` gives, or the message of the ConfigError it raises."""
    try:
        return load_settings(env)
    except ConfigError as error:
        return str(error)


@given(st.one_of(st.text(), st.lists(SITE_PIECES, max_size=8).map("".join)))
def test_any_site_text_gives_a_plain_api_host_or_a_one_line_error(site: str) -> None:
    settings = outcome({**KEYS, "DD_SITE": site})
    if isinstance(settings, str):
        assert len(settings.splitlines()) == 1, settings
        return
    assert settings.base_url.startswith("https://api.")
    host = settings.base_url.removeprefix("https://api.")
    assert host == settings.site
    assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host), host
    parts = urlsplit(settings.base_url)
    assert (parts.hostname, parts.port, parts.username, parts.path) == (f"api.{host}", None, None, "")


# -- the DD_API_URL override -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://proxy.internal:8443/datadog",
        "https://dd_proxy",
        "http://127.0.0.1:8126",
        "http://localhost:9000",
        "http://[::1]:80",
    ],
)
def test_api_url_override_accepts_https_and_loopback_http(url: str) -> None:
    assert load_settings({**KEYS, "DD_API_URL": url + "/"}).base_url == url


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:80", "ftp://127.0.0.1", "https://", "nonsense"])
def test_api_url_override_rejects_plain_http_off_loopback(url: str) -> None:
    assert refused({**KEYS, "DD_API_URL": url}).startswith("DD_API_URL=")


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cretpw@proxy.internal/dd",
        "https://s3cretpw@proxy.internal",
        "http://user:s3cretpw@127.0.0.1:8126",
        "https://user:s3cret/pw@proxy.internal",
        "https://user:123/s3cretpw@proxy.internal",
    ],
)
def test_api_url_with_credentials_is_refused_without_quoting_them(url: str) -> None:
    message = refused({**KEYS, "DD_API_URL": url})
    assert "credentials" in message
    assert "s3cret" not in message
    assert "user" not in message


@pytest.mark.parametrize("url", ["https://proxy.internal/dd?site=eu", "https://proxy.internal/#x", "https://p/?"])
def test_api_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    assert "query or fragment" in refused({**KEYS, "DD_API_URL": url})


@pytest.mark.parametrize(
    "url", ["https://proxy.internal/\nx", "https://proxy.internal/a b", "https://pr\u00f6xy.internal", "https://p\x00"]
)
def test_api_url_with_whitespace_control_or_non_ascii_characters_is_refused_on_one_line(url: str) -> None:
    message = refused({**KEYS, "DD_API_URL": url})
    assert "non-ASCII" in message
    assert not any(char in message for char in "\n\x00")


@pytest.mark.parametrize(
    "url", ["https://proxy.internal:99999", "https://proxy.internal:port", "http://[::1", "https://a%20b"]
)
def test_api_url_with_a_bad_host_or_port_is_refused(url: str) -> None:
    assert "host name and a valid port" in refused({**KEYS, "DD_API_URL": url})


@pytest.mark.parametrize("site", [*SITE_HOSTS, "override"])
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


# -- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_var", "app_var"),
    [("DD_API_KEY", "DD_APP_KEY"), ("DATADOG_API_KEY", "DD_APPLICATION_KEY"), ("DATADOG_API_KEY", "DATADOG_APP_KEY")],
)
def test_key_aliases(api_var: str, app_var: str) -> None:
    settings = load_settings({api_var: API_KEY, app_var: APP_KEY})
    assert (settings.api_key, settings.app_key) == (API_KEY, APP_KEY)


def test_dd_api_key_wins_over_its_alias() -> None:
    settings = load_settings({"DATADOG_API_KEY": "b" * 32, "DD_API_KEY": "a" * 32, "DD_APP_KEY": APP_KEY})
    assert settings.api_key == "a" * 32


@pytest.mark.parametrize(
    ("env", "winner"),
    [
        ({"DATADOG_APP_KEY": "c", "DD_APPLICATION_KEY": "b", "DD_APP_KEY": "a"}, "a"),
        ({"DATADOG_APP_KEY": "c", "DD_APP_KEY": "a"}, "a"),
        ({"DATADOG_APP_KEY": "c", "DD_APPLICATION_KEY": "b"}, "b"),
        ({"DATADOG_APP_KEY": "c", "DD_APPLICATION_KEY": " ", "DD_APP_KEY": ""}, "c"),
    ],
)
def test_app_key_precedence_is_dd_app_key_then_dd_application_key_then_datadog_app_key(
    env: dict[str, str], winner: str
) -> None:
    assert load_settings({"DD_API_KEY": API_KEY, **env}).app_key == winner


@pytest.mark.parametrize(
    "env", [{}, {"DD_API_KEY": API_KEY}, {"DD_APP_KEY": APP_KEY}, {"DD_API_KEY": "  ", "DD_APP_KEY": APP_KEY}]
)
def test_missing_keys_are_named(env: dict[str, str]) -> None:
    message = refused(env)
    assert "DD_API_KEY" in message
    assert "DD_APP_KEY" in message


@pytest.mark.parametrize(
    "var", ["DD_API_KEY", "DATADOG_API_KEY", "DD_APP_KEY", "DD_APPLICATION_KEY", "DATADOG_APP_KEY"]
)
@pytest.mark.parametrize("odd", ["\u00e9", "\u200b", " ", "\n", "\x00", "\x7f", "\ud83d"])
def test_key_with_whitespace_control_or_non_ascii_characters_is_refused_without_showing_it(var: str, odd: str) -> None:
    key = f"fakekey0123{odd}456789abcdef"
    other = {"DD_APP_KEY": APP_KEY} if "API" in var else {"DD_API_KEY": API_KEY}
    message = refused({var: key, **other})
    assert message.startswith(var)
    assert "fakekey" not in message
    assert "456789" not in message


def test_keys_are_trimmed() -> None:
    settings = load_settings({"DD_API_KEY": f" {API_KEY}\n", "DD_APP_KEY": f"\t{APP_KEY} "})
    assert (settings.api_key, settings.app_key) == (API_KEY, APP_KEY)


def test_demo_needs_no_keys_and_no_network() -> None:
    settings = load_settings({}, demo=True)
    assert settings.base_url == "https://demo.invalid"


def test_keys_and_proxy_credentials_never_appear_in_the_settings_repr() -> None:
    text = repr(load_settings({**KEYS, "HTTPS_PROXY": "https://puser:ppassword@proxy.corp.example"}))
    assert API_KEY not in text
    assert APP_KEY not in text
    assert "ppassword" not in text


# -- limits and switches ---------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(KEYS)
    assert settings.timeout == 30
    assert settings.deadline == 60
    assert settings.max_result_chars == 40_000
    assert settings.max_response_bytes == 33_554_432
    assert settings.toolsets == DEFAULT_TOOLSETS
    assert settings.redact is True
    assert settings.log_level == "WARNING"
    assert settings.proxy is None


@pytest.mark.parametrize(
    ("var", "raw", "field", "value"),
    [
        ("DD_MCP_TIMEOUT", "12.5", "timeout", 12.5),
        ("DD_MCP_TIMEOUT", ".5", "timeout", 0.5),
        ("DD_MCP_DEADLINE", "90", "deadline", 90.0),
        ("DD_MCP_MAX_RESULT_CHARS", "5000", "max_result_chars", 5000),
        ("DD_MCP_MAX_RESPONSE_BYTES", "8388608", "max_response_bytes", 8_388_608),
        ("DD_MCP_REDACT", "off", "redact", False),
        ("DD_MCP_REDACT", "ON", "redact", True),
        ("DD_MCP_TOOLSETS", "logs, apm", "toolsets", ("logs", "apm")),
        ("DD_MCP_TOOLSETS", "apm,,logs,", "toolsets", ("logs", "apm")),
        ("DD_MCP_TOOLSETS", "all", "toolsets", ALL_TOOLSETS),
        ("DD_MCP_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("DD_MCP_LOG_LEVEL", "Info", "log_level", "INFO"),
        ("DD_MCP_LOG_LEVEL", "WARNING", "log_level", "WARNING"),
        ("DD_MCP_LOG_LEVEL", "error", "log_level", "ERROR"),
    ],
)
def test_limits_and_switches(var: str, raw: str, field: str, value: object) -> None:
    assert getattr(load_settings({**KEYS, var: raw}), field) == value


# (variable, minimum, one below it, maximum, one above it) as the README documents them.
BOUNDS = [
    ("DD_MCP_TIMEOUT", "0.1", "0.09", "600", "600.1"),
    ("DD_MCP_DEADLINE", "0.1", "0.09", "600", "600.1"),
    ("DD_MCP_MAX_RESULT_CHARS", "1000", "999", "1000000", "1000001"),
    ("DD_MCP_MAX_RESPONSE_BYTES", "1048576", "1048575", "1073741824", "1073741825"),
]


@pytest.mark.parametrize(("var", "low", "below", "high", "above"), BOUNDS)
def test_each_number_is_accepted_at_its_bounds_and_refused_past_them(
    var: str, low: str, below: str, high: str, above: str
) -> None:
    for raw in (low, high):
        load_settings({**KEYS, var: raw})
    for raw in (below, above):
        message = refused({**KEYS, var: raw})
        assert f"at least {low} and at most {high}" in message  # the message states the real rule


@pytest.mark.parametrize(("var", "low", "below", "high", "above"), BOUNDS)
@pytest.mark.parametrize(
    "raw", ["40000\u00b2", "\u0663\u0660", "1e3", "inf", "nan", "0x10", "1_000", "-5", "+5", "5 000", "9" * 5000]
)
def test_numbers_take_ascii_digits_only(var: str, low: str, below: str, high: str, above: str, raw: str) -> None:
    assert refused({**KEYS, var: raw}).startswith(f"{var}=")


def test_timeout_of_zero_is_refused_and_the_message_says_so() -> None:
    message = refused({**KEYS, "DD_MCP_TIMEOUT": "0"})
    assert "between 0 and" not in message
    assert "at least 0.1" in message


@pytest.mark.parametrize("raw", [",", " , ,", ",,,"])
def test_toolsets_naming_no_toolset_are_refused(raw: str) -> None:
    message = refused({**KEYS, "DD_MCP_TOOLSETS": raw})
    assert message.startswith("DD_MCP_TOOLSETS=")
    assert ", ".join(ALL_TOOLSETS) in message


@pytest.mark.parametrize("raw", ["logs,traces", "logs,\nfoo", "noteboo\u212as"])
def test_unknown_toolsets_are_refused_on_one_line(raw: str) -> None:
    message = refused({**KEYS, "DD_MCP_TOOLSETS": raw})
    assert "unknown toolsets" in message


@pytest.mark.parametrize("raw", ["verbose", "warn", "\u0131nfo", "critical", "0"])
def test_unknown_log_levels_are_refused(raw: str) -> None:
    assert "DEBUG, INFO, WARNING, ERROR" in refused({**KEYS, "DD_MCP_LOG_LEVEL": raw})


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("DD_MCP_TIMEOUT", "soon"),
        ("DD_MCP_DEADLINE", "-1"),
        ("DD_MCP_MAX_RESULT_CHARS", "lots"),
        ("DD_MCP_MAX_RESPONSE_BYTES", "32MB"),
        ("DD_MCP_REDACT", "maybe"),
        ("DD_MCP_REDACT", "o\nn"),
        ("DD_MCP_LOG_LEVEL", "loud"),
    ],
)
def test_bad_settings_are_one_line_errors_naming_the_variable(var: str, raw: str) -> None:
    assert refused({**KEYS, var: raw}).startswith(f"{var}=")


# -- proxy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_https_and_all_proxy_are_used_for_an_https_base_url(var: str) -> None:
    assert proxy(**{var: PROXY}) == PROXY


def test_https_proxy_comes_before_all_proxy() -> None:
    assert proxy(ALL_PROXY="http://all.example:1", HTTPS_PROXY=PROXY) == PROXY


@pytest.mark.parametrize("name", ["https_proxy", "all_proxy", "no_proxy"])
def test_lower_case_proxy_variable_wins_over_upper_case(name: str) -> None:
    if name == "no_proxy":
        assert proxy(HTTPS_PROXY=PROXY, NO_PROXY="example.com", no_proxy="datadoghq.com") is None
    else:
        assert proxy(**{name.upper(): "http://upper.example:1", name: PROXY}) == PROXY


def test_an_empty_lower_case_proxy_variable_switches_it_off() -> None:
    assert proxy(HTTPS_PROXY=PROXY, https_proxy="") is None


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy"])
def test_http_proxy_never_applies(var: str) -> None:
    assert proxy(**{var: PROXY}) is None


def test_a_bare_proxy_host_means_http() -> None:
    assert proxy(HTTPS_PROXY="proxy.corp.example:3128") == PROXY


def test_proxy_credentials_over_https_are_accepted() -> None:
    assert proxy(HTTPS_PROXY="https://puser:ppw@proxy.corp.example:3129") == "https://puser:ppw@proxy.corp.example:3129"


@pytest.mark.parametrize("var", ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"])
def test_plain_http_base_url_never_uses_a_proxy(var: str) -> None:
    env = {**KEYS, "DD_API_URL": "http://127.0.0.1:8126", var: PROXY}
    assert load_settings(env).proxy is None
    # Not only because loopback is direct: any plain-http URL is, should http ever reach further.
    assert proxy_for("http://dd.internal:8126", {var: PROXY}) is None


@pytest.mark.parametrize(
    "url", ["https://localhost:8443", "https://127.0.0.1", "https://127.1.2.3:9", "https://[::1]:8443"]
)
def test_loopback_hosts_always_connect_directly(url: str) -> None:
    assert load_settings({**KEYS, "DD_API_URL": url, "HTTPS_PROXY": PROXY, "ALL_PROXY": PROXY}).proxy is None


@pytest.mark.parametrize(
    ("no_proxy", "url"),
    [
        ("api.datadoghq.com", None),
        ("datadoghq.com", None),
        (".datadoghq.com", None),
        ("DATADOGHQ.COM", None),
        ("*", None),
        ("example.com, *", None),
        ("example.com, datadoghq.com", None),
        ("api.datadoghq.com:443", None),
        ("dd.internal:8443", "https://dd.internal:8443/x"),
        ("10.1.2.3", "https://10.1.2.3"),
        ("10.0.0.0/8", "https://10.1.2.3"),
        ("[2001:db8::1]:443", "https://[2001:db8::1]"),
        ("2001:db8::/32", "https://[2001:db8::1]"),
    ],
)
def test_no_proxy_is_honoured(no_proxy: str, url: str | None) -> None:
    env = {**KEYS, "HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy, **({"DD_API_URL": url} if url else {})}
    assert load_settings(env).proxy is None


@pytest.mark.parametrize(
    ("no_proxy", "url"),
    [
        ("example.com", None),
        ("oghq.com", None),
        ("api.datadoghq.com.example", None),
        ("api.datadoghq.com:8443", None),
        ("datadoghq.eu", None),
        ("10.0.0.0/8", None),
        ("10.0.0.0/8", "https://11.1.2.3"),
        ("", None),
        (",", None),
    ],
)
def test_no_proxy_that_does_not_match_keeps_the_proxy(no_proxy: str, url: str | None) -> None:
    env = {**KEYS, "HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy, **({"DD_API_URL": url} if url else {})}
    assert load_settings(env).proxy == PROXY


@pytest.mark.parametrize(
    "value", ["http://puser:ppw@proxy.corp.example:3128", "puser:ppw@proxy.corp.example:3128", "http://puser@proxy:1"]
)
@pytest.mark.parametrize("var", ["HTTPS_PROXY", "all_proxy"])
def test_proxy_credentials_over_plain_http_are_refused(var: str, value: str) -> None:
    message = refused({**KEYS, var: value})
    assert message.startswith(f"{var}=")
    assert "plain http" in message
    assert "puser" not in message
    assert "ppw" not in message


@pytest.mark.parametrize("value", ["socks5://proxy:1080", "socks5h://proxy:1080", "socks4://proxy:1080", "ftp://p:21"])
def test_socks_and_other_proxy_schemes_are_refused(value: str) -> None:
    message = refused({**KEYS, "HTTPS_PROXY": value})
    assert message.startswith("HTTPS_PROXY=")
    assert "socks" in message


@pytest.mark.parametrize("value", ["http://proxy\n:3128", "http://pr\u00f6xy:3128", "http://proxy:port", "http://"])
def test_unreadable_proxy_urls_are_refused_on_one_line(value: str) -> None:
    assert refused({**KEYS, "HTTPS_PROXY": value}).startswith("HTTPS_PROXY=")


def test_a_proxy_that_is_bypassed_is_not_checked() -> None:
    assert proxy(HTTPS_PROXY="socks5://proxy:1080", NO_PROXY="datadoghq.com") is None


def test_demo_uses_no_proxy() -> None:
    assert load_settings({"HTTPS_PROXY": "http://puser:ppw@proxy:3128"}, demo=True).proxy is None


# -- serving over HTTP ------------------------------------------------------------------------------


def test_http_settings_default_to_stdio_on_loopback() -> None:
    http = load_http_settings({})
    assert (http.transport, http.host, http.port, http.rate, http.authenticated) == (
        "stdio",
        "127.0.0.1",
        8000,
        0,
        False,
    )


def test_the_command_line_wins_over_the_environment() -> None:
    env = {"DD_MCP_TRANSPORT": "stdio", "DD_MCP_HOST": "::1", "DD_MCP_PORT": "9000"}
    http = load_http_settings(env, transport="http", host="127.0.0.2", port=9100)
    assert (http.transport, http.host, http.port) == ("http", "127.0.0.2", 9100)
    assert load_http_settings(env).port == 9000


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"DD_MCP_TRANSPORT": "sse"}, "DD_MCP_TRANSPORT='sse' must be stdio"),
        ({"DD_MCP_TRANSPORT": "http", "DD_MCP_HOST": "0.0.0.0"}, "DD_MCP_HTTP_TOKENS_FILE"),
        ({"DD_MCP_TRANSPORT": "http", "DD_MCP_HOST": "10.0.0.5"}, "or bind to 127.0.0.1"),
        ({"DD_MCP_OIDC_ISSUER": "https://idp.example.com"}, "DD_MCP_OIDC_ISSUER and DD_MCP_OIDC_AUDIENCE go together"),
        ({"DD_MCP_OIDC_ISSUER": "http://idp.example.com", "DD_MCP_OIDC_AUDIENCE": "mcp"}, "DD_MCP_OIDC_ISSUER="),
        ({"DD_MCP_HTTP_ROLES_FILE": "/etc/roles.json"}, "DD_MCP_HTTP_ROLES_FILE gives toolsets to identities"),
        ({"DD_MCP_PORT": "70000"}, "DD_MCP_PORT='70000' must be a TCP port, 1 to 65535"),
        ({"DD_MCP_HTTP_RATE": "-1"}, "DD_MCP_HTTP_RATE"),
        ({"DD_MCP_OIDC_IDENTITY_CLAIM": "e mail"}, "DD_MCP_OIDC_IDENTITY_CLAIM='e mail' is not a claim name"),
        ({"DD_MCP_ALLOWED_HOSTS": "mcp.example.com,caf\u00e9.example"}, "DD_MCP_ALLOWED_HOSTS"),
    ],
)
def test_an_http_setting_that_cannot_work_is_refused_naming_it(env: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_http_settings(env)


def test_beyond_loopback_with_identities_is_allowed() -> None:
    env = {"DD_MCP_TRANSPORT": "http", "DD_MCP_HOST": "0.0.0.0", "DD_MCP_HTTP_TOKENS_FILE": "/run/tokens"}
    http = load_http_settings(env)
    assert http.authenticated
    oidc = load_http_settings(
        {"DD_MCP_OIDC_ISSUER": "https://idp.example.com/", "DD_MCP_OIDC_AUDIENCE": "api://mcp"}, transport="http"
    )
    assert oidc.oidc_issuer == "https://idp.example.com/"  # kept as given: tokens carry it exactly


def test_a_port_from_the_command_line_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="--port 0 must be a TCP port"):
        load_http_settings({}, port=0)
