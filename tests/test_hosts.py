"""The ways in: the README's host snippets against each host's documented format, server.json against
the MCP registry's schema, the README's two set-up commands, `python -m dd_mcp_server`, and the MCP
session .ci/packaging runs against the built wheel.

Where each format is documented (read when these tests were written):
- Claude Desktop: modelcontextprotocol.io, "Connect to local MCP servers": `claude_desktop_config.json`,
  `mcpServers`, each server a `command`, `args` and `env`.
- Claude Code: code.claude.com/docs/en/mcp: `claude mcp add [options] <name> -- <command> [args...]`,
  `--scope local|project|user`, `-e/--env KEY=value`, `--transport stdio`. `-e` takes several values,
  so a name after it is read as one more (anthropics/claude-code issues 23365, 46121, 62332): the
  name comes first.
- Cursor: cursor.com/docs (MCP): `~/.cursor/mcp.json` or `.cursor/mcp.json`, `mcpServers`, the same
  `command` / `args` / `env`.
- VS Code: code.visualstudio.com/docs/copilot/reference/mcp-configuration: `.vscode/mcp.json`,
  `servers` (a stdio server: `type` and `command` required, `args`, `env`, `envFile`) and `inputs`
  (`promptString`, `password: true`) referenced as `${input:<id>}`.
- Windsurf: docs.windsurf.com/windsurf/cascade/mcp: `~/.codeium/windsurf/mcp_config.json`,
  `mcpServers`, Claude Desktop's schema.
- MCP Inspector 2.x: github.com/modelcontextprotocol/inspector, docs/v1-to-v2-migration.md:
  `npx @modelcontextprotocol/inspector -e KEY=value -- <command> [args...]`.
- server.json: github.com/modelcontextprotocol/registry, docs/reference/server-json and
  docs/modelcontextprotocol-io/package-types.mdx (schema 2025-12-11).
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import dd_mcp_server.config
from dd_mcp_server import __version__
from tests.conftest import clean_env, console_script

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

HOSTS = ("Claude Desktop", "Claude Code", "Cursor", "VS Code", "Windsurf", "MCP Inspector")
# The JSON hosts: the key their servers go under, the fields a stdio server may have, those it must.
JSON_HOSTS: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    "Claude Desktop": ("mcpServers", frozenset({"command", "args", "env"}), frozenset({"command"})),
    "Cursor": ("mcpServers", frozenset({"type", "command", "args", "env", "envFile"}), frozenset({"command"})),
    "VS Code": ("servers", frozenset({"type", "command", "args", "env", "envFile"}), frozenset({"type", "command"})),
    "Windsurf": ("mcpServers", frozenset({"command", "args", "env", "disabled"}), frozenset({"command"})),
}
SERVER_NAME = "datadog"

# The checkout form, the one CI runs, and the package index's once released.
CHECKOUT_PATH = "/path/to/dd-mcp-server"
CHECKOUT = ["uvx", "--from", CHECKOUT_PATH, "dd-mcp-server"]
PACKAGE_INDEX = ["uvx", "dd-mcp-server"]
RELEASED_MARK = "once released"

KEYS = ("DD_API_KEY", "DD_APP_KEY")
# A key written into a snippet: Datadog's keys are 32 (API) and 40 (application) hex digits; anything
# long, unbroken and alphanumeric looks like one too.
KEY_LOOKING = re.compile(r"(?<![\w$-])(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[A-Za-z0-9]{32,})(?![\w-])")
INPUT_REF = re.compile(r"\$\{input:([^}]*)\}")

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
# The fields of the schema's ServerDetail, Package and KeyValueInput.
SERVER_FIELDS = {
    "$schema",
    "_meta",
    "name",
    "title",
    "description",
    "version",
    "websiteUrl",
    "repository",
    "icons",
    "packages",
    "remotes",
}
PACKAGE_FIELDS = {
    "registryType",
    "registryBaseUrl",
    "identifier",
    "version",
    "fileSha256",
    "runtimeHint",
    "transport",
    "runtimeArguments",
    "packageArguments",
    "environmentVariables",
}
INPUT_FIELDS = {
    "name",
    "description",
    "isRequired",
    "isSecret",
    "format",
    "value",
    "default",
    "placeholder",
    "choices",
    "variables",
}
SERVER_NAME_PATTERN = re.compile(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+")
VERSION_RANGE = re.compile(r"[\^~<>=*]|\.x\b|^latest$")


# The README ---------------------------------------------------------------------------------------


def section(title: str) -> str:
    """The text of the README's `## title` section, up to the next section."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, f"README has no section {title!r}"
    return found.group(1)


FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HOST_LABEL = re.compile(r"^\*\*(.+?)\*\*", re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    host: str
    language: str
    code: str
    lead: str  # the prose between the previous block (or the section's start) and this one


def snippets() -> list[Snippet]:
    """Every fenced block of "Use it from an MCP host", each under the host last named in bold."""
    text = section("Use it from an MCP host")
    found: list[Snippet] = []
    host = ""
    position = 0
    for block in FENCE.finditer(text):
        lead = text[position : block.start()]
        labels = HOST_LABEL.findall(lead)
        if labels:
            host = labels[-1]
        found.append(Snippet(host, block.group(1), block.group(2), lead))
        position = block.end()
    return found


def forms(host: str) -> tuple[Snippet, Snippet]:
    """The host's checkout form and its package-index form, in that order."""
    mine = [snippet for snippet in snippets() if snippet.host == host]
    assert len(mine) == 2, f"{host}: {len(mine)} snippets, expected the checkout form and the package index's"
    return mine[0], mine[1]


def json_entry(snippet: Snippet) -> dict[str, Any]:
    """The one server a JSON host's snippet configures."""
    key = JSON_HOSTS[snippet.host][0]
    config = json.loads(snippet.code)
    servers = config[key]
    assert list(servers) == [SERVER_NAME], f"{snippet.host}: servers {list(servers)}"
    entry: dict[str, Any] = servers[SERVER_NAME]
    return entry


def command_line(snippet: Snippet) -> tuple[list[str], list[str]]:
    """A shell snippet's one command, split as the shell would: the words before `--` and after."""
    lines = [line for line in snippet.code.splitlines() if line.strip()]
    assert len(lines) == 1, f"{snippet.host}: one command on one line, got {lines}"
    words = shlex.split(lines[0])
    assert words.count("--") == 1, f"{snippet.host}: one `--` before the server's command: {words}"
    split = words.index("--")
    return words[:split], words[split + 1 :]


def env_pairs(options: list[str], flags: tuple[str, ...]) -> dict[str, str]:
    """The KEY=VALUE of each `-e`-like option in `options`."""
    env: dict[str, str] = {}
    for flag, value in itertools.pairwise(options):
        if flag in flags:
            key, equals, rest = value.partition("=")
            assert equals, f"{flag} {value!r} is not KEY=VALUE"
            assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{flag} {value!r} is not KEY=VALUE"
            env[key] = rest
    return env


def launch(snippet: Snippet) -> tuple[list[str], dict[str, str]]:
    """The command a snippet makes its host run, and the environment it gives it."""
    if snippet.host in JSON_HOSTS:
        entry = json_entry(snippet)
        return [entry["command"], *entry.get("args", [])], dict(entry.get("env", {}))
    options, command = command_line(snippet)
    return command, env_pairs(options, ("-e", "--env"))


@cache
def config_names() -> frozenset[str]:
    """Every string constant of config.py: the environment variables it reads are among them."""
    source = Path(dd_mcp_server.config.__file__).read_text(encoding="utf-8")
    return frozenset(
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def test_every_host_has_a_checkout_form_then_a_package_index_form_marked_as_such() -> None:
    assert sorted({snippet.host for snippet in snippets()}) == sorted(HOSTS)
    for host in HOSTS:
        checkout, released = forms(host)
        assert RELEASED_MARK not in checkout.lead, f"{host}: the checkout form is introduced as the released one"
        assert RELEASED_MARK in released.lead, f"{host}: the package index's form does not say it waits for a release"
        assert checkout.language == released.language == ("sh" if host not in JSON_HOSTS else "json")


@pytest.mark.parametrize("host", HOSTS)
def test_the_checkout_form_runs_uvx_from_a_checkout_and_the_released_form_the_package(host: str) -> None:
    checkout, released = forms(host)
    checkout_command, checkout_env = launch(checkout)
    released_command, released_env = launch(released)
    assert checkout_command == CHECKOUT
    assert released_command == PACKAGE_INDEX
    assert checkout_env == released_env, f"{host}: the two forms differ in more than the command"


def test_the_checkout_form_is_the_one_the_section_explains_and_ci_runs() -> None:
    assert f"`{shlex.join(CHECKOUT)}`" in section("Use it from an MCP host")
    packaging = (ROOT / ".ci" / "packaging").read_text(encoding="utf-8")
    assert re.search(r"(?i)\buvx\"? --from \"\$ROOT\" dd-mcp-server", packaging), "CI does not run the checkout form"
    assert re.search(r"^\s*\.ci/packaging\b", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.MULTILINE)


@pytest.mark.parametrize("host", sorted(JSON_HOSTS))
def test_json_hosts_follow_their_documented_format(host: str) -> None:
    key, allowed, required = JSON_HOSTS[host]
    for snippet in forms(host):
        config = json.loads(snippet.code)
        assert set(config) == ({key, "inputs"} if host == "VS Code" else {key})
        entry = json_entry(snippet)
        assert required <= set(entry) <= allowed, f"{host}: fields {sorted(entry)}"
        assert entry.get("type", "stdio") == "stdio"
        assert isinstance(entry["command"], str)
        assert isinstance(entry["args"], list)
        assert all(isinstance(arg, str) for arg in entry["args"])
        assert isinstance(entry["env"], dict)
        assert all(isinstance(value, str) for value in entry["env"].values())


def test_vs_code_takes_both_keys_from_password_inputs() -> None:
    for snippet in forms("VS Code"):
        config = json.loads(snippet.code)
        inputs = config["inputs"]
        declared = [item["id"] for item in inputs]
        assert len(set(declared)) == len(declared), f"input ids repeat: {declared}"
        for item in inputs:
            assert item["type"] == "promptString"
            assert item["password"] is True, f"input {item['id']} would show the key as it is typed"
            assert isinstance(item["description"], str)
            assert item["description"]
        referenced = INPUT_REF.findall(snippet.code)
        assert set(referenced) <= set(declared), f"undeclared inputs: {set(referenced) - set(declared)}"
        assert set(declared) <= set(referenced), f"inputs never used: {set(declared) - set(referenced)}"
        env = json_entry(snippet)["env"]
        for name in KEYS:
            assert INPUT_REF.fullmatch(env[name]), f"{name} is not read from an input: {env[name]!r}"


@pytest.mark.parametrize("host", HOSTS)
def test_snippets_set_only_variables_the_server_reads_and_never_hold_a_key(host: str) -> None:
    for snippet in forms(host):
        assert not KEY_LOOKING.search(snippet.code), f"{host}: a key-looking value in plain text"
        _, env = launch(snippet)
        assert set(KEYS) <= set(env), f"{host}: sets {sorted(env)}"
        unknown = set(env) - config_names()
        assert not unknown, f"{host}: config.py reads no {sorted(unknown)}"
        for name in KEYS:
            value = env[name]
            placeholder = re.fullmatch(r"<[^<>]+>", value) or INPUT_REF.fullmatch(value) or value == f"${name}"
            assert placeholder, f"{host}: {name} is {value!r}, not a placeholder, an input or ${name}"


def test_claude_code_command_line_has_the_documented_shape() -> None:
    for snippet in forms("Claude Code"):
        options, _ = command_line(snippet)
        assert options[:3] == ["claude", "mcp", "add"]
        name = options[3]
        assert name == SERVER_NAME, f"the server's name must come right after `add`, got {name!r}"
        rest = options[4:]
        assert len(rest) % 2 == 0, f"an option without its value: {rest}"
        scopes = []
        for flag, value in zip(rest[::2], rest[1::2], strict=True):
            if flag in ("-s", "--scope"):
                assert value in ("local", "project", "user")
                scopes.append(value)
            elif flag in ("-t", "--transport"):
                assert value == "stdio"
            else:
                assert flag in ("-e", "--env"), f"{flag} is no option of `claude mcp add` for a stdio server"
        assert scopes == ["user"], f"scopes {scopes}"


def test_mcp_inspector_command_line_has_the_documented_shape() -> None:
    for snippet in forms("MCP Inspector"):
        options, _ = command_line(snippet)
        assert options[:2] == ["npx", "@modelcontextprotocol/inspector"]
        rest = options[2:]
        assert len(rest) % 2 == 0, f"an option without its value: {rest}"
        assert rest[::2] == ["-e"] * (len(rest) // 2), f"more than -e options: {rest}"
        assert set(env_pairs(rest, ("-e",))) >= set(KEYS)


def test_readme_names_the_registry_server() -> None:
    name = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))["name"]
    assert f"<!-- mcp-name: {name} -->" in section("Use it from an MCP host")


def test_set_up_has_exactly_two_commands_and_both_hold() -> None:
    blocks = FENCE.findall(section("Set up"))
    assert [language for language, _ in blocks] == ["sh", "sh"], "Set up: two sh commands"
    distribution = metadata.distribution("dd-mcp-server")
    scripts = {entry.name for entry in distribution.entry_points if entry.group == "console_scripts"}
    extras = set(distribution.metadata.get_all("Provides-Extra") or [])
    test_requirements = [
        requirement.split(";")[0]
        for requirement in distribution.requires or []
        if 'extra == "test"' in requirement.replace("'", '"')
    ]
    for (_, code), (install, run) in zip(blocks, [(".", "dd-mcp-server"), (".[test]", "pytest")], strict=True):
        steps = [shlex.split(step) for step in code.strip().split("&&")]
        assert steps[0] == ["python3", "-m", "venv", ".venv"]
        assert steps[1] == [".venv/bin/pip", "install", "-e", install]
        assert steps[2][0] == f".venv/bin/{run}"
        assert len(steps) == 3
        extra = re.fullmatch(r"\.\[(\w+)\]", install)
        if extra:
            assert extra.group(1) in extras
    assert "dd-mcp-server" in scripts
    assert any(re.match(r"pytest\b", requirement) for requirement in test_requirements)


# server.json ----------------------------------------------------------------------------------------


def registry_entry() -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return entry


def test_server_json_has_the_registry_fields_and_this_version() -> None:
    entry = registry_entry()
    assert entry["$schema"] == SCHEMA_URL
    assert set(entry) <= SERVER_FIELDS, f"fields the schema has not: {set(entry) - SERVER_FIELDS}"
    name = entry["name"]
    assert SERVER_NAME_PATTERN.fullmatch(name)
    assert 3 <= len(name) <= 200
    assert name.startswith("io.github."), "a GitHub namespace, as GitHub login publishes"
    distribution = metadata.metadata("dd-mcp-server")
    assert entry["description"] == distribution["Summary"]
    assert 1 <= len(entry["description"]) <= 100
    assert entry["version"] == __version__
    [package] = entry["packages"]
    assert set(package) <= PACKAGE_FIELDS, f"fields the schema has not: {set(package) - PACKAGE_FIELDS}"
    assert package["registryType"] == "pypi"
    assert package.get("registryBaseUrl", "https://pypi.org") == "https://pypi.org"
    assert package["identifier"] == distribution["Name"]
    assert package["version"] == __version__
    assert not VERSION_RANGE.search(package["version"])
    assert package["transport"] == {"type": "stdio"}


def test_server_json_environment_variables_are_the_ones_config_reads() -> None:
    [package] = registry_entry()["packages"]
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert list(variables) == ["DD_API_KEY", "DD_APP_KEY", "DD_SITE"]
    for name, variable in variables.items():
        assert set(variable) <= INPUT_FIELDS, f"{name}: fields the schema has not: {set(variable) - INPUT_FIELDS}"
        assert name in config_names(), f"config.py reads no {name}"
        assert isinstance(variable["description"], str)
        assert variable["description"]
    assert "DD_API_KEY" in dd_mcp_server.config.API_KEY_VARS
    assert "DD_APP_KEY" in dd_mcp_server.config.APP_KEY_VARS
    for name in KEYS:
        assert variables[name]["isRequired"] is True
        assert variables[name]["isSecret"] is True
    site = variables["DD_SITE"]
    assert site.get("isRequired", False) is False
    assert site.get("isSecret", False) is False
    assert site["default"] == dd_mcp_server.config.DEFAULT_SITE


# Running it -----------------------------------------------------------------------------------------


@pytest.mark.stdio
def test_python_m_prints_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dd_mcp_server", "--version"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"dd-mcp-server {__version__}")
    assert __version__ == metadata.version("dd-mcp-server")


@pytest.mark.stdio
def test_python_m_help_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dd_mcp_server", "--help"], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: dd-mcp-server")
    assert "--demo" in done.stdout


@pytest.mark.stdio
def test_the_smoke_session_ci_runs_on_the_wheel_passes_on_this_checkout() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "smoke_session.py"), console_script()],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"dd-mcp-server {__version__}: ")
