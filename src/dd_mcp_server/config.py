"""Settings read from the environment: keys, the API base URL, its proxy, limits and the toolsets to expose.

Everything here is pure: `load_settings` takes a mapping (normally `os.environ`) so tests can feed
it any environment without touching the process. A value that cannot produce a working, safe server
is a `ConfigError` whose one-line message names the variable and the fix; a message never shows a
key, never shows credentials written inside a URL, and escapes control characters.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "ddog-gov.com",
    "us2.ddog-gov.com",
)
DEFAULT_SITE = "datadoghq.com"

TOOLSETS = (
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
    "investigations",
)
# Unset DD_MCP_TOOLSETS: every product toolset. The investigations (issue 15) are asked for by name or
# with `all` until the tool list has room for them within its byte budget (issue 13).
DEFAULT_TOOLSETS = tuple(name for name in TOOLSETS if name != "investigations")

API_KEY_VARS = ("DD_API_KEY", "DATADOG_API_KEY")
APP_KEY_VARS = ("DD_APP_KEY", "DD_APPLICATION_KEY", "DATADOG_APP_KEY")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "WARNING"

# Seconds: one HTTP request (timeout) and one whole tool call (deadline).
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 60.0
MIN_SECONDS = 0.1
MAX_SECONDS = 600.0
# Characters of one tool result: below the minimum nothing useful fits; above the maximum no model reads it.
DEFAULT_MAX_RESULT_CHARS = 40_000
MIN_MAX_RESULT_CHARS = 1_000
MAX_MAX_RESULT_CHARS = 1_000_000
RESULT_CHARS = (DEFAULT_MAX_RESULT_CHARS, MIN_MAX_RESULT_CHARS, MAX_MAX_RESULT_CHARS)
# Decoded bytes of one Datadog answer: room for any real page; the maximum keeps one answer under a gigabyte.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MIN_MAX_RESPONSE_BYTES = 1024 * 1024
MAX_MAX_RESPONSE_BYTES = 1024 * 1024 * 1024
RESPONSE_BYTES = (DEFAULT_MAX_RESPONSE_BYTES, MIN_MAX_RESPONSE_BYTES, MAX_MAX_RESPONSE_BYTES)
# One recording file before it rotates.
AUDIT_BYTES = (50 * 1024 * 1024, 64 * 1024, 10 * 1024 * 1024 * 1024)

# One DNS label: letters, digits and inner hyphens, at most 63 characters (lower case: callers lower first).
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_SITE_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
# A host inside DD_API_URL may be a single label (`localhost`, a compose service such as `dd_proxy`).
_URL_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
_SECONDS = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?|\.[0-9]{1,6}")
_WHOLE = re.compile(r"[0-9]{1,15}")
_SHOWN_CHARS = 80


class ConfigError(Exception):
    """The environment cannot produce a working server; the message says which variable to fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to run.

    Keys and the proxy URL (which may carry the proxy's password) are kept out of `repr` so they
    never reach a log.
    """

    api_key: str = field(repr=False)
    app_key: str = field(repr=False)
    site: str
    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    toolsets: tuple[str, ...] = DEFAULT_TOOLSETS
    redact: bool = True
    output: str = "table"
    audit_log: str | None = None  # DD_MCP_AUDIT_LOG: where every call is recorded; None: nothing is
    audit_max_bytes: int = AUDIT_BYTES[0]
    audit_responses: bool = False  # DD_MCP_AUDIT_RESPONSES=full: the returned text too, not only its digest
    audit_sink: str | None = None  # DD_MCP_AUDIT_SINK=datadog-logs: the Logs intake URL every record also goes to
    audit_sink_proxy: str | None = field(default=None, repr=False)
    deny_tools: tuple[str, ...] = ()  # DD_MCP_DENY_TOOLS: tools the policy refuses
    deny_query: tuple[str, ...] = ()  # DD_MCP_DENY_QUERY: regular expressions no text argument may match
    ask_tools: tuple[str, ...] = ()  # DD_MCP_ASK_TOOLS: tools called only once the user approves
    ask_query: tuple[str, ...] = ()  # DD_MCP_ASK_QUERY: text arguments matching these need the user's approval
    log_level: str = DEFAULT_LOG_LEVEL
    proxy: str | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()


def load_settings(env: Mapping[str, str], *, demo: bool = False) -> Settings:
    """Read settings from `env`; raise ConfigError naming the variable at fault.

    With `demo`, keys are not required, the base URL points at the built-in demo organisation and
    no proxy is used (there is no network).
    """
    api_key = _key(env, API_KEY_VARS)
    app_key = _key(env, APP_KEY_VARS)
    if demo:
        api_key, app_key = api_key or "demo", app_key or "demo"
    elif not api_key or not app_key:
        missing = [names[0] for names, value in ((API_KEY_VARS, api_key), (APP_KEY_VARS, app_key)) if not value]
        raise ConfigError(
            f"missing {' and '.join(missing)}: set DD_API_KEY and DD_APP_KEY to an API key and an "
            "application key of your Datadog organisation (or run with --demo to try the sample organisation)"
        )

    site, site_warning = normalise_site(env.get("DD_SITE", ""))
    base_url = f"https://api.{site}"
    override = env.get("DD_API_URL", "").strip()
    if demo:
        base_url = "https://demo.invalid"
    elif override:
        base_url = validate_api_url(override)

    audit_log = env.get("DD_MCP_AUDIT_LOG", "").strip() or None
    audit_sink = _audit_sink(env, site, audit_log, demo)
    return Settings(
        api_key=api_key,
        app_key=app_key,
        site=site,
        base_url=base_url,
        timeout=_seconds(env, "DD_MCP_TIMEOUT", DEFAULT_TIMEOUT),
        deadline=_seconds(env, "DD_MCP_DEADLINE", DEFAULT_DEADLINE),
        max_result_chars=_whole(env, "DD_MCP_MAX_RESULT_CHARS", "characters", RESULT_CHARS),
        max_response_bytes=_whole(env, "DD_MCP_MAX_RESPONSE_BYTES", "bytes", RESPONSE_BYTES),
        toolsets=_toolsets(env),
        redact=_on_off(env, "DD_MCP_REDACT", default=True),
        output=_output(env),
        audit_log=audit_log,
        audit_sink=audit_sink,
        audit_sink_proxy=proxy_for(audit_sink, env) if audit_sink else None,
        audit_max_bytes=_whole(env, "DD_MCP_AUDIT_MAX_BYTES", "bytes", AUDIT_BYTES),
        audit_responses=_audit_responses(env),
        deny_tools=_tool_names(env, "DD_MCP_DENY_TOOLS"),
        deny_query=_patterns(env, "DD_MCP_DENY_QUERY"),
        ask_tools=_tool_names(env, "DD_MCP_ASK_TOOLS"),
        ask_query=_patterns(env, "DD_MCP_ASK_QUERY"),
        log_level=_log_level(env),
        proxy=None if demo else proxy_for(base_url, env),
        warnings=(site_warning,) if site_warning else (),
    )


# -- keys ------------------------------------------------------------------------------------------


def _key(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The first non-blank of `names` (the DD_ name before its aliases).

    A key is sent as an HTTP header, so anything but visible ASCII would crash the client later with
    a traceback; refuse it here, naming the variable and never showing the key.
    """
    for name in names:
        value = env.get(name, "").strip()
        if value:
            if not _visible_ascii(value):
                raise ConfigError(
                    f"{name} contains whitespace, control or non-ASCII characters (the key is not shown): "
                    "copy the key again from Datadog's Organization Settings"
                )
            return value
    return ""


# -- site and base URL -----------------------------------------------------------------------------


def normalise_site(raw: str) -> tuple[str, str | None]:
    """Turn what a user put in DD_SITE into a site name, with a warning when it is not one of the nine.

    Accepts `datadoghq.eu`, `app.datadoghq.eu`, `https://app.datadoghq.eu/`, `api.us5.datadoghq.com`,
    upper case and a trailing dot. The base URL is built as `https://api.<site>`, so the site must be
    a bare host name: anything that could move the request elsewhere (`user@`, `:port`) is refused.
    """
    text = raw.strip(" ")
    if not text:
        return DEFAULT_SITE, None
    host = _site_host(text)
    for prefix in ("app.", "api."):
        if host.startswith(prefix) and host[len(prefix) :] in SITES:
            host = host[len(prefix) :]
    if host in SITES:
        return host, None
    return host, f"DD_SITE={host!r} is not a known Datadog site ({', '.join(SITES)}); using it as given"


def _site_host(text: str) -> str:
    """The host name in DD_SITE: a bare host, or the host of a URL pasted from the browser.

    Of a pasted `http(s)://` URL only the host counts (the page, query and fragment after it are
    what the user was looking at); a bare value must be the host alone.
    """
    shown = f"DD_SITE={_shown(text)}"
    fix = "set DD_SITE to a site name such as datadoghq.eu, or unset it for datadoghq.com"
    if not _visible_ascii(text):
        raise ConfigError(f"{shown} contains whitespace, control or non-ASCII characters; {fix}")
    lowered = text.lower()
    scheme, sep, rest = lowered.partition("://")
    if sep and scheme not in ("https", "http"):
        raise ConfigError(f"{shown} is neither a site name nor an https:// URL; {fix}")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else lowered.removesuffix("/")
    if "@" in authority:
        raise ConfigError(f"{shown} holds an '@' (a user name would send requests to the host after it); {fix}")
    if ":" in authority:
        raise ConfigError(f"{shown} holds a port; {fix} (a full URL with a port goes in DD_API_URL)")
    host = authority.removesuffix(".")
    if len(host) > 253 or not _SITE_HOST.fullmatch(host) or host.rsplit(".", 1)[-1].isdigit():
        raise ConfigError(f"{shown} is not a host name (letters, digits, hyphens and dots); {fix}")
    return host


def validate_api_url(raw: str, variable: str = "DD_API_URL", fix: str = "unset it to use DD_SITE") -> str:
    """Check a DD_API_URL (or DD_MCP_AUDIT_INTAKE_URL) override: https, or plain http only to a
    loopback host (tests, local proxies).

    A key goes to this URL in headers, so it must name its host plainly: no credentials (which
    would also end up in messages), no query or fragment that the client would mangle.
    """
    shown = f"{variable}={_shown(raw)}"
    if not _visible_ascii(raw):
        raise ConfigError(f"{shown} contains whitespace, control or non-ASCII characters; {fix}")
    if "@" in raw:
        raise ConfigError(f"{shown} carries credentials before '@': the keys travel in headers, put none in the URL")
    if "?" in raw or "#" in raw:
        raise ConfigError(
            f"{shown} has a query or fragment: give the base URL only, e.g. https://proxy.internal:8443/dd"
        )
    parts = _split_url(raw)
    host = parts.hostname if parts else None
    if parts is None or not host or not _is_url_host(host):
        raise ConfigError(f"{shown} is not a URL with a host name and a valid port; {fix}")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return raw.rstrip("/")
    raise ConfigError(
        f"{shown} must be an https:// URL (plain http:// is allowed only for 127.0.0.1, ::1 or localhost); {fix}"
    )


# -- proxy -----------------------------------------------------------------------------------------


def proxy_for(base_url: str, env: Mapping[str, str]) -> str | None:
    """The proxy URL the HTTP client must use to reach `base_url`, or None to connect directly.

    Only https goes through a proxy: the proxy then sees a CONNECT to the host, never the keys. A
    plain-http base URL (allowed only to loopback) and loopback hosts always connect directly, so a
    proxy can never read the keys in clear. HTTPS_PROXY comes before ALL_PROXY, NO_PROXY is
    honoured, and HTTP_PROXY never applies.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").removesuffix(".")
    if parts.scheme != "https" or _is_loopback(host):
        return None
    chosen = _proxy_variable(env, "https_proxy") or _proxy_variable(env, "all_proxy")
    if chosen is None:
        return None
    no_proxy = _proxy_variable(env, "no_proxy")
    if no_proxy and _bypassed(host, parts.port or 443, no_proxy[1]):
        return None
    return _checked_proxy(*chosen)


def _proxy_variable(env: Mapping[str, str], lower: str) -> tuple[str, str] | None:
    """The (name, value) of a proxy variable, either case, as urllib and curl read them.

    The lower-case name wins when both are set, and a lower-case name set to nothing switches the
    variable off (urllib.request.getproxies_environment does the same).
    """
    for name in (lower, lower.upper()):
        if name in env:
            value = env[name].strip()
            return (name, value) if value else None
    return None


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY sends `host` direct, with curl's rules.

    A comma list of `*` (every host), host or domain names (a leading dot is ignored; a name matches
    itself and its subdomains), IP addresses or CIDR ranges, each with an optional `:port`.
    """
    for raw_entry in no_proxy.lower().split(","):
        entry = raw_entry.strip()
        if entry == "*":
            return True
        name, entry_port = _split_port(entry.lstrip("."))
        if not name or (entry_port is not None and entry_port != str(port)):
            continue
        if "/" in name:
            if _in_network(host, name):
                return True
        elif host == name.removesuffix(".") or host.endswith("." + name.removesuffix(".")):
            return True
    return False


def _split_port(entry: str) -> tuple[str, str | None]:
    """`host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a name, as (host, port or None)."""
    if entry.startswith("["):
        inside, _, after = entry[1:].partition("]")
        return inside, after[1:] if after.startswith(":") else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, port
    return entry, None


def _in_network(host: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _checked_proxy(name: str, raw: str) -> str:
    """The proxy URL from variable `name`, refused when it is unsupported or would leak its password.

    A bare `host:port` means http, as curl and httpx read it. Socks needs an extra dependency, so
    only http:// and https:// proxies are taken; credentials are taken only over https, since over
    plain http anyone on the way to the proxy reads them.
    """
    shown = f"{name}={_shown(raw)}"
    if not _visible_ascii(raw):
        raise ConfigError(f"{shown} contains whitespace, control or non-ASCII characters; fix or unset {name}")
    url = raw if "://" in raw else f"http://{raw}"
    parts = _split_url(url)
    if parts is None or parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"{shown} is not an http:// or https:// proxy URL (socks and other schemes are not supported); "
            f"fix or unset {name}"
        )
    if not parts.hostname:
        raise ConfigError(f"{shown} names no proxy host; fix or unset {name}")
    if parts.scheme == "http" and "@" in url.partition("://")[2]:
        raise ConfigError(
            f"{shown} sends proxy credentials over plain http, where anyone on the way can read them; "
            f"use an https:// proxy URL or a proxy that needs no password"
        )
    return url


# -- limits and switches ---------------------------------------------------------------------------


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration in seconds between MIN_SECONDS and MAX_SECONDS, written in ASCII digits (`30`, `0.5`)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = float(raw) if _SECONDS.fullmatch(raw) else -1.0
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        raise ConfigError(
            f"{name}={_shown(raw)} must be a number of seconds, at least {MIN_SECONDS:g} and at most "
            f"{MAX_SECONDS:g}, e.g. {name}={default:g}"
        )
    return value


def _whole(env: Mapping[str, str], name: str, unit: str, limits: tuple[int, int, int]) -> int:
    """A whole number within `limits` (default, minimum, maximum), in ASCII digits only (`str.isdigit` takes `²`)."""
    default, low, high = limits
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = int(raw) if _WHOLE.fullmatch(raw) else -1
    if not low <= value <= high:
        raise ConfigError(
            f"{name}={_shown(raw)} must be a whole number of {unit}, at least {low} and at most {high}, "
            f"e.g. {name}={default}"
        )
    return value


def _toolsets(env: Mapping[str, str]) -> tuple[str, ...]:
    """The toolsets named in DD_MCP_TOOLSETS, in the server's order; unset means the default ones,
    `all` every one.

    A list that names none (`,`) is refused: a server with no tools looks like a broken one.
    """
    raw = _ascii_lower(env.get("DD_MCP_TOOLSETS", "").strip())
    if not raw:
        return DEFAULT_TOOLSETS
    if raw == "all":
        return TOOLSETS
    wanted = [part.strip() for part in raw.split(",") if part.strip()]
    choose = f"choose from {', '.join(TOOLSETS)}, or all, or unset it for the default ones"
    if not wanted:
        raise ConfigError(f"DD_MCP_TOOLSETS={_shown(raw)} names no toolset; {choose}")
    unknown = [name for name in wanted if name not in TOOLSETS]
    if unknown:
        raise ConfigError(f"DD_MCP_TOOLSETS names unknown toolsets {', '.join(map(_shown, unknown))}; {choose}")
    return tuple(name for name in TOOLSETS if name in wanted)


def _on_off(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _ascii_lower(env.get(name, "").strip())
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{name}={_shown(raw)} must be on or off")


def _output(env: Mapping[str, str]) -> str:
    """DD_MCP_OUTPUT: `table` (text only, lists as tables) or `json` (JSON text plus structured content)."""
    raw = _ascii_lower(env.get("DD_MCP_OUTPUT", "").strip())
    if raw in ("", "table"):
        return "table"
    if raw == "json":
        return "json"
    raise ConfigError(
        f"DD_MCP_OUTPUT={_shown(raw)} must be table (the default: text only, lists as tables) or json "
        "(compact JSON text plus structured content, for programmatic clients)"
    )


def _audit_responses(env: Mapping[str, str]) -> bool:
    """DD_MCP_AUDIT_RESPONSES: `digest` (default, the SHA-256 of each answer) or `full` (the answer itself)."""
    raw = _ascii_lower(env.get("DD_MCP_AUDIT_RESPONSES", "").strip())
    if raw in ("", "digest"):
        return False
    if raw == "full":
        return True
    raise ConfigError(f"DD_MCP_AUDIT_RESPONSES={_shown(raw)} must be digest (the default) or full")


def _audit_sink(env: Mapping[str, str], site: str, audit_log: str | None, demo: bool) -> str | None:
    """DD_MCP_AUDIT_SINK=datadog-logs: the URL of the site's Logs intake (or DD_MCP_AUDIT_INTAKE_URL,
    for a proxy or a test) to which every record of the trail is also sent; None when unset."""
    raw = env.get("DD_MCP_AUDIT_SINK", "").strip()
    if not raw:
        return None
    if raw.lower() != "datadog-logs":
        raise ConfigError(f"DD_MCP_AUDIT_SINK={_shown(raw)} is no sink; the one sink is datadog-logs")
    if not audit_log:
        raise ConfigError("DD_MCP_AUDIT_SINK ships the trail's records: set DD_MCP_AUDIT_LOG too")
    if demo:
        raise ConfigError("DD_MCP_AUDIT_SINK: the demo organisation has no Logs intake; unset it with --demo")
    override = env.get("DD_MCP_AUDIT_INTAKE_URL", "").strip()
    return (
        validate_api_url(override, "DD_MCP_AUDIT_INTAKE_URL")
        if override
        else f"https://http-intake.logs.{site}/api/v2/logs"
    )


def _tool_names(env: Mapping[str, str], variable: str) -> tuple[str, ...]:
    """DD_MCP_DENY_TOOLS, DD_MCP_ASK_TOOLS: tool names, comma-separated (checked against the tools when
    the server is built)."""
    names = tuple(name.strip() for name in env.get(variable, "").split(",") if name.strip())
    odd = [name for name in names if not re.fullmatch(r"[a-z_]{1,60}", name)]
    if odd:
        raise ConfigError(f"{variable}: {_shown(odd[0])} is not a tool name (tool names, comma-separated)")
    return names


def _patterns(env: Mapping[str, str], variable: str) -> tuple[str, ...]:
    """DD_MCP_DENY_QUERY, DD_MCP_ASK_QUERY: one regular expression, or a JSON list of them
    (`["password", "@usr\\.email"]`)."""
    raw = env.get(variable, "").strip()
    if not raw:
        return ()
    found: object = raw
    if raw.startswith("["):
        try:
            found = json.loads(raw)
        except ValueError:
            raise ConfigError(f"{variable} starts with '[' but is not a JSON list of strings") from None
    listed = found if isinstance(found, list) else [found]
    rules = [rule for rule in listed if isinstance(rule, str) and rule]
    if len(rules) != len(listed):
        raise ConfigError(f"{variable} must be a regular expression or a JSON list of non-empty strings")
    for rule in rules:
        try:
            re.compile(rule)
        except re.error as exc:
            raise ConfigError(f"{variable}: {_shown(rule)} is not a regular expression ({exc})") from None
    return tuple(rules)


def app_url(site: str) -> str:
    """The Datadog web app of `site`: app.datadoghq.com, app.datadoghq.eu, but us3.datadoghq.com."""
    return f"https://{site}" if site.count(".") >= 2 else f"https://app.{site}"


def _log_level(env: Mapping[str, str]) -> str:
    """DD_MCP_LOG_LEVEL as the logging module names it, upper case."""
    raw = env.get("DD_MCP_LOG_LEVEL", "").strip()
    if not raw:
        return DEFAULT_LOG_LEVEL
    if raw.isascii() and raw.upper() in LOG_LEVELS:
        return raw.upper()
    raise ConfigError(f"DD_MCP_LOG_LEVEL={_shown(raw)} must be one of {', '.join(LOG_LEVELS)}")


# -- helpers ---------------------------------------------------------------------------------------


def _shown(raw: str) -> str:
    """`raw` as it may appear in a one-line message: anything before an `@` masked (it may be a
    password), cut to a readable length, quoted with control characters escaped."""
    head, sep, rest = raw.partition("://")
    if not sep:
        head, rest = "", raw
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    masked = head + sep + rest
    if len(masked) > _SHOWN_CHARS:
        masked = masked[:_SHOWN_CHARS] + "..."
    return repr(masked)


def _ascii_lower(text: str) -> str:
    """`text` in lower case when it is ASCII; other text is left alone, so that no look-alike
    (the Kelvin sign lowers to `k`, a dotless i uppers to `I`) can pass for a keyword."""
    return text.lower() if text.isascii() else text


def _visible_ascii(text: str) -> bool:
    """Only printable ASCII, no space: what a host name, URL or HTTP header value may hold."""
    return all("!" <= char <= "~" for char in text)


def _split_url(url: str) -> SplitResult | None:
    """urlsplit, or None when the URL cannot be read (a bad port, an unclosed `[`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is what checks the port
    except ValueError:
        return None
    return parts


def _is_url_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_URL_HOST.fullmatch(host))
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- serving over HTTP (issue 17) ------------------------------------------------------------------

TRANSPORTS = ("stdio", "http")
DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8000
# Bytes of one HTTP request body: a JSON-RPC request is a few kilobytes; the SDK's default is 4 MiB.
HTTP_BODY_BYTES = (1024 * 1024, 1024, 64 * 1024 * 1024)
# Requests per minute per identity; 0: no limit.
HTTP_RATE = (0, 0, 1_000_000)
_IDENTITY_CLAIM = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,99}")


@dataclass(frozen=True)
class HttpSettings:
    """How the server is reached when it serves Streamable HTTP, and who may reach it."""

    transport: str = "stdio"
    host: str = DEFAULT_HTTP_HOST
    port: int = DEFAULT_HTTP_PORT
    tokens_file: str | None = None  # DD_MCP_HTTP_TOKENS_FILE: lines name:sha256-hex-of-token
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_identity_claim: str = "sub"
    oidc_groups_claim: str = "groups"  # the claim whose values the roles file's "groups" name
    roles_file: str | None = None  # DD_MCP_HTTP_ROLES_FILE: identity or group -> toolsets
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    rate: int = HTTP_RATE[0]
    max_body: int = HTTP_BODY_BYTES[0]
    public_url: str | None = None  # DD_MCP_PUBLIC_URL: where clients reach /mcp, for the auth metadata
    # DD_MCP_STATE_KEYS: the replicas' shared keys sealing an ask-first call's state (newest first).
    state_keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def authenticated(self) -> bool:
        return bool(self.tokens_file or self.oidc_issuer)


def load_http_settings(
    env: Mapping[str, str], *, transport: str | None = None, host: str | None = None, port: int | None = None
) -> HttpSettings:
    """HTTP settings from `env`, the command line's --transport, --host and --port winning.

    Binding beyond loopback without a way to tell callers apart is refused: the server would hand
    the organisation's Datadog data to anyone who can reach the port.
    """
    chosen = _ascii_lower(transport or env.get("DD_MCP_TRANSPORT", "").strip() or "stdio")
    if chosen not in TRANSPORTS:
        raise ConfigError(f"DD_MCP_TRANSPORT={_shown(chosen)} must be stdio (the default) or http")
    issuer = env.get("DD_MCP_OIDC_ISSUER", "").strip() or None
    audience = env.get("DD_MCP_OIDC_AUDIENCE", "").strip() or None
    if bool(issuer) != bool(audience):
        raise ConfigError("DD_MCP_OIDC_ISSUER and DD_MCP_OIDC_AUDIENCE go together: set both, or neither")
    if issuer:
        # Checked like a URL the keys go to, but kept as given: tokens carry it in `iss`, compared exactly
        # (Auth0's ends with a slash).
        validate_api_url(issuer, "DD_MCP_OIDC_ISSUER", "give the issuer URL its tokens carry in iss")
    claim = _claim(env, "DD_MCP_OIDC_IDENTITY_CLAIM", "sub", "sub or email")
    groups = _claim(env, "DD_MCP_OIDC_GROUPS_CLAIM", "groups", "groups or roles")
    public_url = env.get("DD_MCP_PUBLIC_URL", "").strip() or None
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} must be a TCP port, 1 to 65535")
    settings = HttpSettings(
        transport=chosen,
        host=host or env.get("DD_MCP_HOST", "").strip() or DEFAULT_HTTP_HOST,
        port=port or _port(env),
        tokens_file=env.get("DD_MCP_HTTP_TOKENS_FILE", "").strip() or None,
        oidc_issuer=issuer,
        oidc_audience=audience,
        oidc_identity_claim=claim,
        oidc_groups_claim=groups,
        roles_file=env.get("DD_MCP_HTTP_ROLES_FILE", "").strip() or None,
        allowed_hosts=_words(env, "DD_MCP_ALLOWED_HOSTS"),
        allowed_origins=_words(env, "DD_MCP_ALLOWED_ORIGINS"),
        rate=_whole(env, "DD_MCP_HTTP_RATE", "requests per minute", HTTP_RATE),
        max_body=_whole(env, "DD_MCP_HTTP_MAX_BODY", "bytes", HTTP_BODY_BYTES),
        state_keys=_state_keys(env),
        public_url=validate_api_url(public_url, "DD_MCP_PUBLIC_URL", "give the URL clients reach /mcp at")
        if public_url
        else None,
    )
    if settings.transport == "http" and not _is_loopback(settings.host) and not settings.authenticated:
        raise ConfigError(
            f"serving HTTP on {_shown(settings.host)}, beyond this machine, needs callers to be identified: set "
            "DD_MCP_HTTP_TOKENS_FILE (dd-mcp-server token new NAME) or DD_MCP_OIDC_ISSUER and DD_MCP_OIDC_AUDIENCE, "
            "or bind to 127.0.0.1"
        )
    if settings.roles_file and not settings.authenticated:
        raise ConfigError("DD_MCP_HTTP_ROLES_FILE gives toolsets to identities: set a token file or OIDC too")
    return settings


def _state_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    """The keys that seal the state of a call waiting for the user's approval (DD_MCP_ASK_*).

    The client sends that state back with its answer, maybe to another replica: every replica must
    hold the same keys (the first seals, all open; rotate by putting the new one first). Unset, each
    process makes its own, which is right for one replica only.
    """
    keys = tuple(key.strip() for key in env.get("DD_MCP_STATE_KEYS", "").split(",") if key.strip())
    if any(len(key) < 32 or not _visible_ascii(key) for key in keys):
        raise ConfigError(
            "DD_MCP_STATE_KEYS holds a key shorter than 32 characters or with odd characters (not shown): "
            "make each with `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return keys


def _port(env: Mapping[str, str]) -> int:
    raw = env.get("DD_MCP_PORT", "").strip()
    if not raw:
        return DEFAULT_HTTP_PORT
    if _WHOLE.fullmatch(raw) and 1 <= int(raw) <= 65535:
        return int(raw)
    raise ConfigError(f"DD_MCP_PORT={_shown(raw)} must be a TCP port, 1 to 65535, e.g. DD_MCP_PORT={DEFAULT_HTTP_PORT}")


def _claim(env: Mapping[str, str], name: str, default: str, example: str) -> str:
    claim = env.get(name, "").strip() or default
    if not _IDENTITY_CLAIM.fullmatch(claim):
        raise ConfigError(f"{name}={_shown(claim)} is not a claim name, e.g. {example}")
    return claim


def _words(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of visible ASCII words (host names, origins)."""
    raw = env.get(name, "").strip()
    words = tuple(word.strip() for word in raw.split(",") if word.strip())
    odd = [word for word in words if not _visible_ascii(word)]
    if odd:
        raise ConfigError(f"{name}: {_shown(odd[0])} is not a host or origin (comma-separated, no spaces)")
    return words
