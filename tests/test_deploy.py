"""The deployment files, checked where no Docker engine, cluster or nginx runs: the Dockerfile and its
.dockerignore statically, then the image's own command line (ENTRYPOINT + CMD and ENV, parsed from the
Dockerfile) run with the local console script, its HEALTHCHECK command run against it;
deploy/kubernetes.yaml's structure; deploy/nginx.conf's upstream and locations.

The image's command binds 0.0.0.0, and the test keeps it so (only the port changes, through the
DD_MCP_PORT the image sets): it proves that the image's default refuses to start without a way to
identify callers, and serves once given a tokens file. It is spoken to on 127.0.0.1 only.

PyYAML is not a dependency: kubernetes.yaml is read by `read_yaml` below, which knows the subset of
YAML the file uses and refuses anything else; where PyYAML happens to be installed, the two readings
must agree.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dd_mcp_server.config import DEFAULT_HTTP_PORT, HTTP_BODY_BYTES, TOOLSETS
from tests.conftest import clean_env, console_script, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
KUBERNETES = ROOT / "deploy" / "kubernetes.yaml"
NGINX = ROOT / "deploy" / "nginx.conf"

TOKEN = "ddmcp_deploy-test-token-0123456789abcdef"
# Never given a literal value in the manifest: they come from the Secret.
SECRET_VARIABLES = ("DD_API_KEY", "DD_APP_KEY", "DD_MCP_OIDC_ISSUER", "DD_MCP_OIDC_AUDIENCE", "DD_MCP_STATE_KEYS")
SERVE_HTTP_ON_ALL = ("--transport", "http", "--host", "0.0.0.0")
DEADLINE_DEFAULT = 60  # DD_MCP_DEADLINE's default, seconds: a tool call may take this long


# -- the Dockerfile, read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    text: str  # the rest of the instruction, continuation lines joined
    stage: int  # which FROM it follows, from 0


@cache
def dockerfile() -> tuple[Instruction, ...]:
    """The Dockerfile's instructions: comments dropped, lines ending in a backslash joined."""
    found: list[Instruction] = []
    stage, pending = -1, ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, text = (pending + line).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(keyword.upper(), text.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return tuple(found)


def final_stage() -> list[Instruction]:
    last = max(instruction.stage for instruction in dockerfile())
    return [instruction for instruction in dockerfile() if instruction.stage == last]


def only(keyword: str) -> Instruction:
    """The one `keyword` instruction in the final stage (the last one, which is the one in force)."""
    found = [instruction for instruction in final_stage() if instruction.keyword == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


def exec_form(text: str) -> list[str]:
    """An instruction's JSON exec form; a shell form would run under /bin/sh, not as PID 1."""
    argv = json.loads(text)
    assert isinstance(argv, list), text
    assert all(isinstance(arg, str) for arg in argv), text
    return argv


def image_argv() -> list[str]:
    return exec_form(only("ENTRYPOINT").text) + exec_form(only("CMD").text)


def image_env() -> dict[str, str]:
    """The final stage's ENV, as the container starts with it (PATH aside: here the venv's is used)."""
    env: dict[str, str] = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.text):
                name, equals, value = word.partition("=")
                assert equals, f"ENV {word}: use the NAME=value form"
                env[name] = value
    env.pop("PATH", None)
    return env


def healthcheck_argv() -> list[str]:
    options, command, argv = only("HEALTHCHECK").text.partition("CMD ")
    assert command, "HEALTHCHECK without a CMD"
    assert all(option.startswith("--") for option in options.split()), options
    return exec_form(argv)


# -- the Dockerfile, checked ------------------------------------------------------------------------


def test_every_base_image_is_a_slim_python_pinned_to_a_minor_version() -> None:
    stages = [instruction.text.split() for instruction in dockerfile() if instruction.keyword == "FROM"]
    assert stages
    names = {words[2] for words in stages if len(words) == 3 and words[1].upper() == "AS"}
    for words in stages:
        if words[0] in names:
            continue  # FROM an earlier stage
        assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", words[0]), words[0]


def test_the_image_runs_as_a_numeric_user_that_is_not_root() -> None:
    user = only("USER").text
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user}: numeric, so that runAsNonRoot can check it"
    assert all(int(part) != 0 for part in user.split(":")), f"USER {user} is root"
    stage = final_stage()
    position = stage.index(only("USER"))
    assert position < stage.index(only("CMD"))
    assert position < stage.index(only("ENTRYPOINT"))
    # Nothing after USER switches back.
    assert all(instruction.keyword != "USER" for instruction in stage[position + 1 :])


def test_the_project_is_installed_from_the_context_with_the_otel_extra_and_no_cache() -> None:
    installs = [i.text for i in dockerfile() if i.keyword == "RUN" and re.search(r"\bpip install\b", i.text)]
    assert len(installs) == 1, installs
    (install,) = installs
    assert "--no-cache-dir" in install
    assert re.search(r"[\"']?/\S*\[otel\][\"']?", install), install  # a path in the context, with the extra
    assert "[test]" not in install
    assert "-e " not in install  # an installed package, not an editable link to a source tree
    copied = [i.text for i in dockerfile() if i.keyword == "COPY" and not i.text.startswith("--from")]
    assert any(text.startswith("src ") for text in copied)
    assert any("pyproject.toml" in text for text in copied)


def test_the_final_image_gets_the_installed_environment_and_no_source_or_build_tools() -> None:
    copies = [i.text for i in final_stage() if i.keyword in ("COPY", "ADD")]
    assert copies
    assert all(text.startswith("--from=") for text in copies), copies  # nothing from the build context
    runs = " ".join(i.text for i in final_stage() if i.keyword == "RUN")
    for tool in ("gcc", "build-essential", "apt-get install", "curl", "wget", "pip install"):
        assert tool not in runs


def test_the_command_serves_http_on_all_interfaces_at_the_exposed_port() -> None:
    argv = image_argv()
    assert argv[0] == "dd-mcp-server"
    joined = " ".join(argv)
    assert " ".join(SERVE_HTTP_ON_ALL) in joined
    assert "--demo" not in argv
    port = image_env().get("DD_MCP_PORT", str(DEFAULT_HTTP_PORT))
    if "--port" in argv:
        port = argv[argv.index("--port") + 1]
    assert only("EXPOSE").text.split() == [port] == ["8000"]


def test_the_healthcheck_asks_healthz_with_the_python_in_the_image() -> None:
    argv = healthcheck_argv()
    assert argv[0] in ("python", "python3")
    assert argv[1] == "-c"
    code = argv[2]
    assert "/healthz" in code
    assert "DD_MCP_PORT" in code  # follows the port the server is given
    assert "127.0.0.1" in code
    compile(code, "HEALTHCHECK", "exec")
    options = dict(option.split("=", 1) for option in only("HEALTHCHECK").text.partition("CMD ")[0].split())
    assert set(options) >= {"--interval", "--timeout"}


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: the last pattern that matches it
    or one of its parent folders wins, `!` letting it back in (Docker's rule, for the patterns used)."""
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if glob.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(part, glob[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatchcase(prefix, glob) for prefix in prefixes)
        if hit:
            ignored = not negated
    return ignored


def test_the_build_context_holds_what_the_build_copies_and_no_secrets_or_environments() -> None:
    for instruction in dockerfile():
        if instruction.keyword == "COPY" and not instruction.text.startswith("--from"):
            *sources, _ = instruction.text.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert not dockerignored(source), f"{source} is copied but .dockerignore leaves it out"
    assert not dockerignored("src/dd_mcp_server/http.py")
    for kept_out in (
        ".git/config",
        ".venv/bin/python",
        ".env",
        "tokens",
        "deploy/tokens",
        "trail.jsonl",
        "tests/test_http.py",
        "src/dd_mcp_server/__pycache__/http.cpython-312.pyc",
    ):
        assert dockerignored(kept_out), kept_out


# -- the image's command line, run ------------------------------------------------------------------


def listening_on(port: int) -> set[str]:
    """The local addresses a socket of this machine listens on at `port` (IPv4, from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def container_env(port: int, **extra: str) -> dict[str, str]:
    """What the container's process sees: the image's ENV, the port moved to a free one here."""
    return clean_env(**{**image_env(), "DD_MCP_PORT": str(port), **extra})


def local(argv: list[str]) -> list[str]:
    """The image's argv with its programs replaced by this environment's."""
    programs = {"dd-mcp-server": console_script(), "python": sys.executable, "python3": sys.executable}
    return [programs.get(argv[0], argv[0]), *argv[1:]]


@contextmanager
def image_serving(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"deployer:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    port = free_port("0.0.0.0")
    env = container_env(port, DD_MCP_HTTP_TOKENS_FILE=str(tokens))
    process = subprocess.Popen(
        [*local(image_argv()), "--demo"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, lambda: process.communicate()[1])
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def healthcheck(port: int) -> int:
    return subprocess.run(
        local(healthcheck_argv()), env=container_env(port), capture_output=True, timeout=30
    ).returncode


@pytest.mark.stdio
def test_the_image_command_serves_mcp_on_all_interfaces_to_token_holders_and_passes_its_healthcheck(
    tmp_path: Path,
) -> None:
    listed = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with image_serving(tmp_path) as (port, _):
        assert "0.0.0.0" in listening_on(port)
        assert healthcheck(port) == 0
        url = f"http://127.0.0.1:{port}/mcp"
        anonymous = httpx.post(url, json=listed, headers=headers, timeout=30)
        answer = httpx.post(url, json=listed, headers={**headers, "Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert anonymous.status_code == 401
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert len(answer.json()["result"]["tools"]) > 10
    assert healthcheck(port) != 0  # nothing serves there any more


@pytest.mark.stdio
def test_the_image_command_without_a_way_to_identify_callers_refuses_to_start() -> None:
    done = subprocess.run(
        [*local(image_argv()), "--demo"],
        env=container_env(free_port("0.0.0.0")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "DD_MCP_HTTP_TOKENS_FILE" in done.stderr
    assert "DD_MCP_OIDC_ISSUER" in done.stderr


# -- deploy/kubernetes.yaml -------------------------------------------------------------------------


class YamlSubsetError(ValueError):
    """The manifest uses YAML this reader does not know: keep to its subset, or make PyYAML a test
    dependency and read it with that."""


@dataclass
class _Line:
    indent: int
    text: str
    number: int


_KEY = re.compile(r'(?P<key>"[^"]*"|[A-Za-z0-9_.$/-][^:#]*?):(?:\s+(?P<rest>.*))?$')


def read_yaml(text: str) -> list[Any]:
    """The documents of `text`, for the block YAML a Kubernetes manifest is usually written in:
    mappings, sequences (`- ` items, a mapping's first key on the dash's line), `|` literal blocks,
    flow sequences of JSON scalars, and scalars (quoted, numbers, true/false/null, plain text), with
    comments. Anything else raises YamlSubsetError naming the line."""
    documents: list[list[_Line]] = [[]]
    raw = text.splitlines()
    literal_until = -1  # while reading a literal block, its lines are kept whole
    for number, line in enumerate(raw, 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if "\t" in line[:indent]:
            raise YamlSubsetError(f"line {number}: a tab in the indentation")
        if literal_until >= 0:
            if stripped and indent <= literal_until:
                literal_until = -1
            else:
                documents[-1].append(_Line(indent, line, number))
                continue
        if stripped == "---":
            documents.append([])
        elif stripped and not stripped.startswith("#"):
            documents[-1].append(_Line(indent, stripped, number))
            if stripped.endswith(": |") or stripped == "- |":
                literal_until = indent
    return [_node(lines, 0, lines[0].indent)[0] for lines in documents if lines]


def _node(lines: list[_Line], i: int, indent: int) -> tuple[Any, int]:
    line = lines[i]
    if line.indent != indent:
        raise YamlSubsetError(f"line {line.number}: unexpected indentation")
    if line.text == "-" or line.text.startswith("- "):
        return _sequence(lines, i, indent)
    if _KEY.match(line.text):
        return _mapping(lines, i, indent)
    if i + 1 < len(lines) and lines[i + 1].indent > indent:
        raise YamlSubsetError(f"line {line.number}: a multi-line scalar")
    return _scalar(line.text, line.number), i + 1


def _sequence(lines: list[_Line], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(lines) and lines[i].indent == indent and (lines[i].text == "-" or lines[i].text.startswith("- ")):
        line = lines[i]
        rest = line.text[1:].lstrip()
        if not rest:
            item, i = _node(lines, i + 1, lines[i + 1].indent)
        else:
            # The item starts on the dash's line: read it as if it began there, indented past the dash.
            inner = indent + len(line.text) - len(rest)
            lines = [*lines[:i], _Line(inner, rest, line.number), *lines[i + 1 :]]
            item, i = _node(lines, i, inner)
        items.append(item)
    return items, i


def _mapping(lines: list[_Line], i: int, indent: int) -> tuple[dict[str, Any], int]:
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i].indent == indent:
        line = lines[i]
        match = _KEY.match(line.text)
        if not match:
            raise YamlSubsetError(f"line {line.number}: expected `key: value`")
        key = _scalar(match["key"], line.number)
        if not isinstance(key, str) or key in mapping:
            raise YamlSubsetError(f"line {line.number}: a key that is no text, or twice")
        rest = (match["rest"] or "").strip()
        i += 1
        if rest == "|":
            block = []
            while i < len(lines) and (lines[i].indent > indent or not lines[i].text.strip()):
                block.append(lines[i].text)
                i += 1
            margin = min(len(text) - len(text.lstrip(" ")) for text in block if text.strip())
            mapping[key] = "\n".join(text[margin:] for text in block).rstrip("\n") + "\n"
        elif rest:
            mapping[key] = _scalar(rest, line.number)
        elif i < len(lines) and lines[i].indent > indent:
            mapping[key], i = _node(lines, i, lines[i].indent)
        elif i < len(lines) and lines[i].indent == indent and lines[i].text.startswith("- "):
            mapping[key], i = _sequence(lines, i, indent)
        else:
            mapping[key] = None
    return mapping, i


def _scalar(text: str, number: int) -> Any:
    text = re.sub(r"\s+#.*$", "", text) if not text.startswith(('"', "'", "[")) else text
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise YamlSubsetError(f"line {number}: a flow sequence other than a JSON list") from None
        return value
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'"):
            raise YamlSubsetError(f"line {number}: an unclosed quote")
        return text[1:-1].replace("''", "'")
    if text.startswith(("{", "&", "*", "!", "|", ">", "%", "@", "`")):
        raise YamlSubsetError(f"line {number}: {text[0]} is beyond this reader")
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return {"true": True, "false": False, "null": None, "~": None}.get(text, text)


@cache
def manifests() -> tuple[dict[str, Any], ...]:
    documents = read_yaml(KUBERNETES.read_text())
    assert all(isinstance(document, dict) for document in documents)
    return tuple(documents)


def kind(name: str) -> list[dict[str, Any]]:
    return [document for document in manifests() if document.get("kind") == name]


def server_container() -> dict[str, Any]:
    (deployment,) = kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_the_yaml_reader_agrees_with_pyyaml() -> None:
    assert read_yaml('a: 1\nb:\n- x: \'y\'\n  z: ["q"]\n---\nc: |\n  {"d": 1}\n  e\n') == [
        {"a": 1, "b": [{"x": "y", "z": ["q"]}]},
        {"c": '{"d": 1}\ne\n'},
    ]
    with pytest.raises(YamlSubsetError):
        read_yaml("a: &anchor 1\n")
    theirs = [document for document in yaml.safe_load_all(KUBERNETES.read_text()) if document is not None]
    assert list(manifests()) == theirs


def test_the_deployment_runs_two_or_more_replicas_of_the_image_serving_http() -> None:
    (deployment,) = kind("Deployment")
    assert deployment["spec"]["replicas"] >= 2
    container = server_container()
    args = [*container.get("command", []), *container.get("args", [])]
    assert " ".join(SERVE_HTTP_ON_ALL) in " ".join(args)
    assert "--demo" not in args
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    (found,) = [entry["containerPort"] for entry in container["ports"] if entry.get("name") == port]
    assert isinstance(found, int)
    return found


def test_readiness_asks_readyz_and_liveness_healthz_on_the_port_the_server_listens_on() -> None:
    container = server_container()
    listening = int(env_of(container)["DD_MCP_PORT"]["value"]) if "DD_MCP_PORT" in env_of(container) else 8000
    assert [entry["containerPort"] for entry in container["ports"]] == [listening]
    readiness, liveness = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert liveness["path"] == "/healthz"
    assert container_port(container, readiness["port"]) == listening
    assert container_port(container, liveness["port"]) == listening


def test_the_pod_runs_as_the_image_s_non_root_user_on_a_read_only_root() -> None:
    (deployment,) = kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    container = server_container()["securityContext"]
    assert container.get("runAsNonRoot", pod.get("runAsNonRoot")) is True  # the container's wins
    uid = container.get("runAsUser", pod.get("runAsUser"))
    assert uid is None or str(uid) == only("USER").text.split(":")[0]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    assert "resources" in server_container()
    assert {"cpu", "memory"} <= server_container()["resources"]["requests"].keys()
    assert "memory" in server_container()["resources"]["limits"]


def test_keys_and_oidc_settings_come_from_the_secret_and_the_secret_holds_placeholders_only() -> None:
    (secret,) = kind("Secret")
    env = env_of(server_container())
    for name in SECRET_VARIABLES:
        assert name in env, name
        assert "value" not in env[name], f"{name} is inlined"
        reference = env[name]["valueFrom"]["secretKeyRef"]
        assert reference["name"] == secret["metadata"]["name"]
        assert reference["key"] in secret["stringData"]
    for name, entry in env.items():
        if re.search(r"KEY|TOKEN|SECRET|PASSWORD", name):
            assert "value" not in entry, f"{name} is inlined"
    assert all(re.search(r"<[^>]+>", value) for value in secret["stringData"].values())


def test_the_roles_file_named_is_mounted_and_names_known_toolsets() -> None:
    container = server_container()
    path = Path(env_of(container)["DD_MCP_HTTP_ROLES_FILE"]["value"])
    (mount,) = [mount for mount in container["volumeMounts"] if path.parent == Path(mount["mountPath"])]
    (deployment,) = kind("Deployment")
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    (config,) = [c for c in kind("ConfigMap") if c["metadata"]["name"] == volume["configMap"]["name"]]
    roles = json.loads(config["data"][path.name])
    for toolsets in [*roles.get("identities", {}).values(), *roles.get("groups", {}).values(), roles["default"]]:
        assert set(toolsets) <= {*TOOLSETS, "all"}


def test_the_service_reaches_the_pods_with_no_session_affinity() -> None:
    (service,) = kind("Service")
    (deployment,) = kind("Deployment")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"].get("sessionAffinity", "None") == "None"
    (port,) = service["spec"]["ports"]
    assert container_port(server_container(), port["targetPort"]) == server_container()["ports"][0]["containerPort"]


# -- deploy/nginx.conf ------------------------------------------------------------------------------


@cache
def nginx() -> str:
    """nginx.conf without its comments."""
    return "\n".join(line.split("#", 1)[0] for line in NGINX.read_text().splitlines())


def blocks(text: str, opening: str) -> list[str]:
    """The bodies of the `{ ... }` blocks whose opening (e.g. `upstream name`) matches the regex `opening`."""
    bodies = []
    for match in re.finditer(opening + r"\s*\{", text):
        depth, start = 1, match.end()
        for position in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            if depth == 0:
                bodies.append(text[start:position])
                break
        else:
            raise AssertionError(f"{opening}: unclosed block")
    return bodies


def block(text: str, opening: str) -> str:
    found = blocks(text, opening)
    assert len(found) == 1, f"{len(found)} blocks {opening}"
    return found[0]


def directives(text: str, name: str) -> list[str]:
    return [match.strip() for match in re.findall(rf"(?m)^\s*{name}\s+([^;]*);", text)]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)?", value)
    assert match, value
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[match[2]]


def test_nginx_balances_two_replicas_round_robin_with_nothing_sticky() -> None:
    name = re.search(r"upstream\s+(\S+)\s*\{", nginx())
    assert name
    upstream = block(nginx(), rf"upstream\s+{re.escape(name[1])}")
    assert len(directives(upstream, "server")) >= 2
    assert not re.search(r"(?m)^\s*(ip_hash|hash|sticky|least_conn|random)\b", upstream)
    assert not re.search(r"\b(ip_hash|sticky)\b", nginx())
    for path in ("/mcp", "/healthz"):
        location = block(nginx(), rf"location\s+=\s+{re.escape(path)}")
        assert directives(location, "proxy_pass") == [f"http://{name[1]}"], path


def test_nginx_passes_the_bearer_token_host_and_a_body_the_server_takes_within_its_timeouts() -> None:
    (server,) = [body for body in blocks(nginx(), r"\bserver") if re.search(r"listen\s+443\b", body)]
    assert "$http_authorization" in " ".join(directives(server, "proxy_set_header Authorization"))
    assert directives(server, "proxy_set_header Host") == ["$host"]
    assert directives(server, "proxy_http_version") == ["1.1"]
    (body,) = directives(server, "client_max_body_size")
    limit = int(body[:-1]) * {"k": 1024, "m": 1024 * 1024}[body[-1].lower()] if body[-1].isalpha() else int(body)
    assert limit >= HTTP_BODY_BYTES[0]  # the server's own limit answers 413 first
    (read,) = directives(server, "proxy_read_timeout")
    assert seconds(read) > DEADLINE_DEFAULT
    assert "ssl" in directives(server, "listen")[0]
