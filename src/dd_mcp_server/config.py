"""Settings read from the environment: keys, the API base URL, limits and the toolsets to expose.

Everything here is pure: `load_settings` takes a mapping (normally `os.environ`) so tests can feed
it any environment without touching the process.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
)

API_KEY_VARS = ("DD_API_KEY", "DATADOG_API_KEY")
APP_KEY_VARS = ("DD_APP_KEY", "DD_APPLICATION_KEY", "DATADOG_APP_KEY")

DEFAULT_MAX_RESULT_CHARS = 40_000
MIN_MAX_RESULT_CHARS = 1_000
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 60.0


class ConfigError(Exception):
    """The environment cannot produce a working server; the message says which variable to fix."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to run. Keys are kept out of `repr` so they never reach a log."""

    api_key: str = field(repr=False)
    app_key: str = field(repr=False)
    site: str
    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_result_chars: int = DEFAULT_MAX_RESULT_CHARS
    toolsets: tuple[str, ...] = TOOLSETS
    redact: bool = True
    audit_log: str | None = None
    warnings: tuple[str, ...] = ()


def load_settings(env: Mapping[str, str], *, demo: bool = False) -> Settings:
    """Read settings from `env`; raise ConfigError naming the variable at fault.

    With `demo`, keys are not required and the base URL points at the built-in demo organisation.
    """
    warnings: list[str] = []
    api_key = _first(env, API_KEY_VARS)
    app_key = _first(env, APP_KEY_VARS)
    if demo:
        api_key, app_key = api_key or "demo", app_key or "demo"
    elif not api_key or not app_key:
        missing = [names[0] for names, value in ((API_KEY_VARS, api_key), (APP_KEY_VARS, app_key)) if not value]
        raise ConfigError(
            f"missing {' and '.join(missing)}: set DD_API_KEY and DD_APP_KEY to an API key and an "
            "application key of your Datadog organisation (or run with --demo to try the sample organisation)"
        )

    site, site_warning = normalise_site(env.get("DD_SITE", ""))
    if site_warning:
        warnings.append(site_warning)
    base_url = f"https://api.{site}"
    override = env.get("DD_API_URL", "").strip()
    if demo:
        base_url = "https://demo.invalid"
    elif override:
        base_url = validate_api_url(override)

    return Settings(
        api_key=api_key,
        app_key=app_key,
        site=site,
        base_url=base_url,
        timeout=_positive_float(env, "DD_MCP_TIMEOUT", DEFAULT_TIMEOUT),
        deadline=_positive_float(env, "DD_MCP_DEADLINE", DEFAULT_DEADLINE),
        max_result_chars=_budget(env),
        toolsets=_toolsets(env),
        redact=_on_off(env, "DD_MCP_REDACT", default=True),
        audit_log=env.get("DD_MCP_AUDIT_LOG") or None,
        warnings=tuple(warnings),
    )


def normalise_site(raw: str) -> tuple[str, str | None]:
    """Turn what a user pasted into DD_SITE into a site name, with a warning when it is unknown.

    Accepts `datadoghq.eu`, `app.datadoghq.eu`, `https://app.datadoghq.eu/`, `api.us5.datadoghq.com`...
    """
    text = raw.strip().lower()
    if not text:
        return DEFAULT_SITE, None
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0].rstrip(".")
    for prefix in ("app.", "api."):
        if text.startswith(prefix) and text[len(prefix) :] in SITES:
            text = text[len(prefix) :]
    if text in SITES:
        return text, None
    if not text:
        return DEFAULT_SITE, f"DD_SITE={raw!r} is not a site name; using {DEFAULT_SITE}"
    return text, f"DD_SITE={text!r} is not a known Datadog site ({', '.join(SITES)}); using it as given"


def validate_api_url(raw: str) -> str:
    """Check a DD_API_URL override: https, or plain http only to a loopback host (tests, local proxies)."""
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return raw.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return raw.rstrip("/")
    raise ConfigError(
        f"DD_API_URL={raw!r} must be an https:// URL (plain http:// is allowed only for 127.0.0.1, ::1 "
        "or localhost); unset it to use DD_SITE"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise ConfigError(f"{name}={raw!r} must be a number of seconds between 0 and 600, e.g. {name}=30")
    return value


def _budget(env: Mapping[str, str]) -> int:
    raw = env.get("DD_MCP_MAX_RESULT_CHARS", "").strip()
    if not raw:
        return DEFAULT_MAX_RESULT_CHARS
    if not raw.isdigit() or int(raw) < MIN_MAX_RESULT_CHARS:
        raise ConfigError(
            f"DD_MCP_MAX_RESULT_CHARS={raw!r} must be a whole number of characters, at least "
            f"{MIN_MAX_RESULT_CHARS}, e.g. DD_MCP_MAX_RESULT_CHARS={DEFAULT_MAX_RESULT_CHARS}"
        )
    return int(raw)


def _toolsets(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("DD_MCP_TOOLSETS", "").strip()
    if not raw or raw.lower() == "all":
        return TOOLSETS
    wanted = [part.strip().lower() for part in raw.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in TOOLSETS]
    if unknown:
        raise ConfigError(
            f"DD_MCP_TOOLSETS names unknown toolsets {', '.join(unknown)}; choose from {', '.join(TOOLSETS)}"
        )
    return tuple(name for name in TOOLSETS if name in wanted)


def _on_off(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} must be on or off")
