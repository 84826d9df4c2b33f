"""The deployment files (Dockerfile, .dockerignore, docker-compose.yml) checked against the code they deploy.

No Docker engine is needed: the compose file is validated against the compose-spec JSON schema,
names and paths in both files are checked against the real app, settings and pyproject.toml, and
the slow test runs the image's command (and its healthcheck) the way the container would.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Limits, Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
PYPROJECT = ROOT / "pyproject.toml"

TORCH_PIN = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CONTAINER_PORT = 8000


# ----- Dockerfile parsing ----------------------------------------------------------------------
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments and directives dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # comments (and `# syntax=`) are dropped, even mid-continuation
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a line continuation"
    return out


def build_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """Defaults of the ARGs declared before the first FROM (the ones FROM lines may use)."""
    args = {}
    for word, rest in instructions:
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip().strip('"')
    return args


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    assert starts, "no FROM in the Dockerfile"
    return instructions[starts[-1]:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for item in shlex.split(rest):
                assert "=" in item, f"use ENV KEY=VALUE (got {item!r})"
                key, _, value = item.partition("=")
                env[key] = value
    return env


def exec_form(rest: str) -> list[str]:
    try:
        value = json.loads(rest)
    except ValueError:
        pytest.fail(f"not the exec (JSON array) form: {rest!r}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), rest
    return value


def one(stage: list[tuple[str, str]], word: str) -> str:
    found = [rest for w, rest in stage if w == word]
    assert len(found) == 1, f"expected exactly one {word} in the final stage, found {len(found)}"
    return found[0]


def healthcheck_command(stage: list[tuple[str, str]]) -> list[str]:
    rest = one(stage, "HEALTHCHECK")
    m = re.fullmatch(r"(?:--[a-z-]+=\S+\s+)*CMD\s+(.+)", rest, re.S)
    assert m, f"HEALTHCHECK should be `HEALTHCHECK [--option=value ...] CMD [...]`: {rest!r}"
    return exec_form(m.group(1))


@pytest.fixture(scope="module")
def docker() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(docker: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return final_stage(docker)


# ----- compose parsing -------------------------------------------------------------------------
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


def interpolate_defaults(value: str) -> str:
    """Compose's `${VAR:-default}` with nothing set in the environment: the default, or an error."""

    def repl(m: re.Match[str]) -> str:
        if m.group("op") in (":-", "-"):
            return m.group("arg")
        pytest.fail(f"${{{m.group('name')}}} has no default: `docker compose up` would fail without it")

    return _INTERPOLATION.sub(repl, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def api() -> dict:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert "api" in data.get("services", {}), "docker-compose.yml has no `api` service"
    return data["services"]["api"]


def compose_environment(api: dict) -> dict[str, str]:
    env = api.get("environment", {})
    if isinstance(env, list):  # the `- KEY=VALUE` form
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate_defaults(str(value)) for key, value in env.items()}


def compose_healthcheck(api: dict) -> list[str]:
    test = api["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), test
    assert test[0] == "CMD", "use the CMD form: the image has no need for a shell"
    return test[1:]


def url_in(code: str) -> str:
    urls = re.findall(r"https?://[^\s'\"]+", code)
    assert len(urls) == 1, f"expected one URL in the healthcheck, found {urls}"
    return urls[0]


def get_routes(routes, prefix: str = "") -> set[str]:
    """GET paths of ``app.routes``, descending into included routers.

    FastAPI 0.16x keeps an included router as one lazy ``_IncludedRouter`` entry of ``app.routes``
    (with ``original_router`` and the ``include_context`` prefix) instead of copying its routes.
    """
    paths: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            paths |= get_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif "GET" in (getattr(route, "methods", None) or ()):
            # as OpenAPI writes it: a path converter ({name:path}) is not part of the template
            paths.add(re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path))
    return paths


def settings_env_names() -> set[str]:
    names = {f"{Settings.model_config['env_prefix']}{n.upper()}" for n in Settings.model_fields if n != "limits"}
    names |= {f"{Limits.model_config['env_prefix']}{n.upper()}" for n in Limits.model_fields}
    return names


# ----- (a) the compose file against the compose specification ------------------------------------
def check_jsonschema() -> str:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.is_file():
        pytest.fail("check-jsonschema is not installed in this environment (pip install -e '.[test]')")
    return str(exe)


def validate_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_compose_file_validates_against_the_compose_spec_schema():
    result = validate_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_catches_a_misspelt_key(tmp_path: Path):
    """The validator really checks this kind of file: one misspelt service key makes it fail."""
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    data["services"]["api"]["helthcheck"] = data["services"]["api"].pop("healthcheck")
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = validate_compose(broken)
    assert result.returncode != 0
    assert "helthcheck" in result.stdout + result.stderr


def test_compose_service_shape(api: dict):
    assert api["image"] == "lexiflow:latest"
    build = api["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (COMPOSE.parent / context / dockerfile).resolve() == DOCKERFILE
    # no host port and no container_name: `docker compose up --scale api=N` (the `lb` service publishes 8000)
    assert "ports" not in api and "container_name" not in api
    assert str(CONTAINER_PORT) in [str(p).split("/")[0] for p in api["expose"]]
    assert api["read_only"] is True
    assert "/tmp" in [str(t).split(":")[0] for t in ([api["tmpfs"]] if isinstance(api["tmpfs"], str) else api["tmpfs"])]
    assert "./artifacts:/app/artifacts:ro" in api["volumes"]
    assert api["restart"] == "unless-stopped"
    hc = api["healthcheck"]
    assert (hc["interval"], hc["timeout"], hc["retries"], hc["start_period"]) == ("10s", "5s", 5, "120s")
    limits = api["deploy"]["resources"]["limits"]
    assert 0 < float(limits["cpus"]) <= 2, "sized for a 2-core host"
    assert re.fullmatch(r"\d+(\.\d+)?[kmg]b?", str(limits["memory"]).lower()), limits["memory"]


# ----- (b) the healthchecks hit a real route that turns 200 once models are loaded --------------
def test_healthcheck_urls_name_routes_of_the_app(runtime: list[tuple[str, str]], api: dict):
    app = create_app(Settings())
    paths = get_routes(app.routes)
    assert {"/livez", "/docs"} <= paths, f"route discovery is broken: {sorted(paths)}"
    assert paths - {"/docs", "/docs/oauth2-redirect", "/redoc", "/"} <= set(app.openapi()["paths"]) | {"/openapi.json"}
    for where, command in (("Dockerfile", healthcheck_command(runtime)), ("compose", compose_healthcheck(api))):
        assert command[:2] == ["python", "-c"], f"{where}: the slim image has no curl; use python -c"
        url = urlparse(url_in(command[2]))
        assert (url.hostname, url.port) == ("127.0.0.1", CONTAINER_PORT), f"{where}: {url.geturl()}"
        assert url.path in paths, f"{where}: {url.path} is not a GET route of the app ({sorted(paths)})"
        assert url.path == "/readyz", f"{where}: check readiness (models loaded), not just liveness"


def test_readyz_is_503_before_loading_and_200_once_loaded():
    not_started = create_app(Settings())  # lifespan not run: nothing loaded
    response = TestClient(not_started).get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")

    with TestClient(create_app(Settings(load_in_background=False))) as client:
        response = client.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ready"
        assert {m["task"] for m in body["models"]} >= {"lemmatize", "tokenize"}


# ----- (c) the image runs our console script and gets CPU torch -------------------------------------
def test_dockerfile_cmd_is_the_lexiflow_console_script(runtime: list[tuple[str, str]]):
    assert not [w for w, _ in runtime if w == "ENTRYPOINT"], "an ENTRYPOINT would turn CMD into its arguments"
    cmd = exec_form(one(runtime, "CMD"))
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    assert cmd[0] in scripts, f"CMD runs {cmd[0]!r}, not a console script of pyproject.toml ({sorted(scripts)})"
    module_name, _, attr = scripts[cmd[0]].partition(":")
    module = importlib.import_module(module_name)
    entry = getattr(module, attr)
    assert callable(entry)
    args = module.build_parser().parse_args(cmd[1:])
    assert args.command == "serve"


def test_dockerfile_installs_the_project_with_pinned_cpu_torch(docker: list[tuple[str, str]]):
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert TORCH_PIN in [d.replace(" ", "") for d in deps], "pyproject.toml and the Dockerfile must pin the same torch"
    runs = [rest for word, rest in docker if word == "RUN"]
    torch_runs = [r for r in runs if re.search(r"\btorch==", r)]
    assert torch_runs, "the Dockerfile does not install torch explicitly"
    for r in torch_runs:
        assert re.search(rf"\b{re.escape(TORCH_PIN)}(?![\d.])", r), f"torch is not pinned to {TORCH_PIN}: {r}"
        assert re.search(rf"--(extra-)?index-url[ =]{re.escape(CPU_INDEX)}\b", r), f"torch not from the CPU index: {r}"
    first_torch = runs.index(torch_runs[0])
    project = [i for i, r in enumerate(runs) if re.search(r"pip install\b[^&;]*\s\.(\s|$)", r)]
    assert project, "the Dockerfile never runs `pip install .`"
    assert first_torch < project[0], "install CPU torch before the project, or pip takes the CUDA build from PyPI"


def test_dockerfile_runtime_stage(docker: list[tuple[str, str]], runtime: list[tuple[str, str]]):
    args = build_args(docker)
    stages = set()
    for word, rest in docker:
        if word == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            assert image == "python:3.11-slim" or image in stages, f"base image {image!r}"
            if len(parts) == 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
    env = env_of(runtime)
    for key, value in {"LEXIFLOW_HOST": "0.0.0.0", "LEXIFLOW_PORT": str(CONTAINER_PORT), "HF_HUB_OFFLINE": "1",
                       "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}.items():
        assert env.get(key) == value, f"ENV {key}={env.get(key)!r}, want {value!r}"
    # the image's LEXIFLOW_* values must be valid settings too
    assert Settings(host=env["LEXIFLOW_HOST"], port=int(env["LEXIFLOW_PORT"])).port == CONTAINER_PORT
    user = one(runtime, "USER").split(":")[0]
    assert user not in ("root", "0"), "the image must run as a non-root user"
    assert one(runtime, "EXPOSE").split("/")[0] == str(CONTAINER_PORT)
    assert "curl" not in " ".join(healthcheck_command(runtime))


def test_dockerignore_keeps_the_context_small_but_complete():
    patterns = [p.strip() for p in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if p.strip() and not p.startswith("#")]
    for needed in (".venv", ".git", ".cache"):
        assert needed in patterns, f".dockerignore should exclude {needed}"
    assert any("__pycache__" in p for p in patterns)
    for kept in ("pyproject.toml", "lexiflow", "service", "pipelines", "models", "service/app.py"):
        hits = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(kept, p.removeprefix("**/"))]
        assert not hits, f".dockerignore drops {kept}, which the image needs ({hits})"


# ----- (d) compose environment = real settings, with valid defaults ----------------------------------
def test_compose_environment_names_are_settings_fields(api: dict):
    env = compose_environment(api)
    assert env, "the compose service sets no environment"
    known = settings_env_names()
    unknown = sorted(set(env) - known)
    assert not unknown, f"not Settings/Limits fields (silently ignored by the service): {unknown}"
    assert env["LEXIFLOW_WORKERS"] == "1"


def test_compose_environment_defaults_are_valid_settings(api: dict, monkeypatch: pytest.MonkeyPatch):
    env = compose_environment(api)
    for key in list(os.environ):
        if key.startswith("LEXIFLOW_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # raises on any invalid value
    for key, raw in env.items():
        field = key.removeprefix("LEXIFLOW_").lower()
        actual = getattr(settings, field) if field in Settings.model_fields else getattr(settings.limits, field)
        expected = json.loads(raw) if isinstance(actual, list) else raw
        assert (actual if isinstance(actual, list) else str(actual)) == expected, f"{key}: {raw!r} read as {actual!r}"


# ----- (e) the container's command, run without Docker ------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthcheck_on(command: list[str], port: int) -> list[str]:
    code = command[2]
    assert code.count(f"127.0.0.1:{CONTAINER_PORT}") == 1, code
    return [sys.executable, "-c", code.replace(f"127.0.0.1:{CONTAINER_PORT}", f"127.0.0.1:{port}")]


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def get_status(url: str) -> int | None:
    try:
        with _DIRECT.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.mark.slow
def test_container_command_serves_passes_its_healthcheck_and_stops_on_sigterm(
        runtime: list[tuple[str, str]], api: dict, tmp_path: Path):
    port = free_port()
    checks = {"Dockerfile": healthcheck_on(healthcheck_command(runtime), port),
              "compose": healthcheck_on(compose_healthcheck(api), port)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXIFLOW_") and k.lower() not in PROXY_VARS}
    for where, check in checks.items():  # nothing listens yet: the healthcheck must fail
        assert subprocess.run(check, env=env, capture_output=True, timeout=20).returncode != 0, where

    env.update({k: v for k, v in env_of(runtime).items() if k not in ("PATH", "HOME")})
    env.update(compose_environment(api))
    # the image's paths, mapped to this checkout: /app/artifacts is ./artifacts (the compose volume),
    # /opt/lexiflow-cache (GloVe converted at build) is this machine's default vectors cache
    assert env["LEXIFLOW_ARTIFACTS_DIR"] == "/app/artifacts"
    assert ("COPY", "artifacts /app/artifacts") in runtime, "the image should bake the shipped artifacts"
    env["LEXIFLOW_ARTIFACTS_DIR"] = str(ROOT / "artifacts")
    assert env["LEXIFLOW_CACHE_DIR"] == "/opt/lexiflow-cache"
    env["LEXIFLOW_CACHE_DIR"] = str(Settings.model_fields["cache_dir"].default)
    env.update({"LEXIFLOW_HOST": "127.0.0.1", "LEXIFLOW_PORT": str(port), "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    cmd = exec_form(one(runtime, "CMD"))
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        # `lexiflow serve` is the console script for lexiflow.cli:main, which `python -m lexiflow` runs.
        proc = subprocess.Popen([sys.executable, "-m", "lexiflow", *cmd[1:]], cwd=tmp_path, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            status = get_status(f"http://127.0.0.1:{port}/readyz")
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, f"/readyz never answered 200 within 90 s (last: {status}):\n{log_path.read_text()[-3000:]}"

        for where, check in checks.items():
            result = subprocess.run(check, env=env, capture_output=True, text=True, timeout=20)
            assert result.returncode == 0, f"{where} healthcheck failed: {result.stderr[-2000:]}"

        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not stop within 20 s of SIGTERM")
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        # uvicorn shuts down gracefully, then re-raises the signal it caught: exit 0 or "killed by SIGTERM".
        assert code in (0, -signal.SIGTERM), f"exit status {code}:\n{log_text[-3000:]}"
        assert "Application shutdown complete" in log_text, log_text[-3000:]
        assert "Traceback" not in log_text, log_text[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
