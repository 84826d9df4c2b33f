"""Replicas behind a load balancer: docker-compose.yml's `lb` service and deploy/nginx/nginx.conf.

No Docker engine is needed. The static tests parse the nginx config and check it against the compose
file and the service's settings (the upstream is the `api` service on its container port, the body
limit is LEXIFLOW_MAX_BODY_BYTES' default, the read timeout outlasts the api's own request timeout).

The slow tests run the committed config for real with Debian's nginx (installed when missing and this
user may, like the browser tests' Chromium; skipped with the reason otherwise): a copy is rendered that
differs only in the lines the config marks "rendered by tests/test_lb.py" (two loopback backends
instead of `server api:8000 resolve`, a loopback listen port, the pid file and temp folders in a
temporary folder), in front of two real `python -m lexiflow serve` processes. One backend is killed
with SIGKILL in the middle of a stream of requests from several client threads: no client request may
fail, and afterwards only the survivor answers.

An oversized body (over 2 MiB, `client_max_body_size`) is refused by nginx itself with a 413 in the
api's problem+json format (`/problems/body-too-large`, `limit`, `request_id`); no replica sees it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from service.settings import Limits, Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
CONTAINER_PORT = 8000
MARK = "# rendered by tests/test_lb.py"
PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
READY_S = 180      # two servers starting at once on a busy 2-core machine


# ----- a small nginx config parser -------------------------------------------------------------------
@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None


def _tokens(text: str):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c, False
            i += 1
        elif c in "\"'":
            j, out = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            assert j < n, f"unterminated quote at offset {i}"
            yield "".join(out), True
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};\"'":
                j += 1
            yield text[i:j], False
            i = j


def parse_nginx(text: str) -> list[Directive]:
    """nginx's configuration grammar: `name args;` or `name args { ... }`, # comments, quoted strings."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token, quoted in _tokens(text):
        if not quoted and token == ";":
            assert words, "an empty directive (stray ';')"
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif not quoted and token == "{":
            assert words, "a block without a name"
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block))
            stack.append(block)
            words = []
        elif not quoted and token == "}":
            assert not words, f"directive {words} is missing its ';'"
            assert len(stack) > 1, "unbalanced '}'"
            stack.pop()
        else:
            words.append(token)
    assert not words, f"directive {words} is missing its ';'"
    assert len(stack) == 1, "unclosed '{'"
    return stack[0]


def children(block: list[Directive], name: str, *args: str) -> list[Directive]:
    return [d for d in block if d.name == name and d.args[:len(args)] == list(args)]


def only(block: list[Directive], name: str, *args: str) -> Directive:
    found = children(block, name, *args)
    assert len(found) == 1, f"expected one `{name} {' '.join(args)}`, found {len(found)}"
    return found[0]


def walk(block: list[Directive]):
    for d in block:
        yield d
        if d.block is not None:
            yield from walk(d.block)


def size_bytes(value: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert m, value
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert m, value
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


@dataclass
class Conf:
    tree: list[Directive]

    @property
    def http(self) -> list[Directive]:
        return only(self.tree, "http").block or []

    def upstream(self, name: str) -> list[Directive]:
        return only(self.http, "upstream", name).block or []

    @property
    def server(self) -> list[Directive]:
        return only(self.http, "server").block or []

    def location(self, *args: str) -> list[Directive]:
        return only(self.server, "location", *args).block or []


# ----- rendering the committed config for a local run --------------------------------------------------
def render(template: str, backends: list[int], listen_port: int, workdir: Path) -> str:
    """The committed config with only its marked lines changed: loopback backends and listen port, and the
    writable paths (pid file, temp folders) under ``workdir``. Every other line is kept byte for byte."""
    out: list[str] = []
    for line in template.splitlines(keepends=True):
        if MARK not in line:
            out.append(line)
            continue
        code = line.split("#", 1)[0]
        indent = code[:len(code) - len(code.lstrip())]
        name, *args = code.strip().rstrip(";").split()
        if name == "pid":
            out.append(f"{indent}pid {workdir / 'nginx.pid'};\n")
        elif name.endswith("_temp_path"):
            out.append(f"{indent}{name} {workdir / 'cache' / Path(args[0]).name};\n")
        elif name == "listen":
            out.append(f"{indent}listen 127.0.0.1:{listen_port} {' '.join(args[1:])};\n".replace(" ;", ";"))
        elif name == "server":
            # `resolve` is for names; loopback addresses need none (and Debian's nginx 1.22 predates it).
            params = [a for a in args[1:] if a != "resolve"]
            out.extend(f"{indent}server 127.0.0.1:{port} {' '.join(params)};\n" for port in backends)
        else:
            raise AssertionError(f"no rendering rule for the marked line {line.strip()!r}")
    return "".join(out)


# ----- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lb(compose: dict) -> dict:
    return compose["services"]["lb"]


@pytest.fixture(scope="module")
def conf() -> Conf:
    return Conf(parse_nginx(NGINX_CONF.read_text(encoding="utf-8")))


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def _install_nginx() -> str:
    """Try apt-get (as root) once; return why it could not be done, or "" when it was."""
    if not shutil.which("apt-get"):
        return "apt-get is not available"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    found = _nginx()
    if found is None:
        why = _install_nginx()
        found = _nginx()
        if found is None:
            pytest.skip(f"nginx is not installed and could not be installed ({why or 'the package installed no nginx'}); "
                        "`apt-get install nginx-light` (as `make test` does) to run the load-balancer tests")
    return found


@pytest.fixture
def workdir():
    """A folder nginx's worker processes can enter when the master runs as root (they drop to `nobody`,
    and pytest's tmp_path is private to this user)."""
    path = Path(tempfile.mkdtemp(prefix="lexiflow-nginx-"))
    path.chmod(0o755)
    (path / "cache").mkdir(mode=0o755)  # the compose service's tmpfs /var/cache/nginx: nginx makes the folders in it
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXIFLOW_") and k.lower() not in PROXY_VARS}
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for(url: str, proc: subprocess.Popen, log: Path, deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    last: object = None
    with httpx.Client(trust_env=False, timeout=3) as client:
        while True:
            assert proc.poll() is None, f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            try:
                last = client.get(url).status_code
                if last == 200:
                    return
            except httpx.TransportError as exc:
                last = exc
            assert time.monotonic() < deadline, \
                f"{what} not ready in {deadline_s:.0f} s (last: {last!r}):\n{log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.3)


@dataclass
class Backend:
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    """Two real `python -m lexiflow serve` processes (lemmatize and tokenize only, to start fast)."""
    folder = tmp_path_factory.mktemp("lb-backends")
    env = _env(LEXIFLOW_TASKS='["lemmatize","tokenize"]', LEXIFLOW_WORKERS="1", LEXIFLOW_LOG_LEVEL="warning",
               PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    started: list[Backend] = []
    try:
        for i in range(2):
            port = free_port()
            log = folder / f"server{i}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve", "--host", "127.0.0.1",
                                         "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            started.append(Backend(port, proc, log))
        for b in started:
            _wait_for(f"http://{b.addr}/readyz", b.proc, b.log, READY_S, f"the server on port {b.port}")
        yield started
    finally:
        for b in started:
            _stop(b.proc)


@dataclass
class Balancer:
    url: str
    proc: subprocess.Popen
    log: Path


def _nginx_cmd(nginx_bin: str, workdir: Path, conf: Path, *extra: str) -> list[str]:
    # -e: the startup error log before the config's own `error_log stderr` is read (the compiled-in
    # path may not be writable); -g: run in the foreground under this test's control.
    return [nginx_bin, *extra, "-p", str(workdir), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]


@pytest.fixture
def balancer(nginx_bin: str, backends: list[Backend], workdir: Path):
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(render(NGINX_CONF.read_text(encoding="utf-8"), [b.port for b in backends], port, workdir),
                    encoding="utf-8")
    log = workdir / "nginx.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(_nginx_cmd(nginx_bin, workdir, conf), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/nginx-health", proc, log, 30, "nginx")
        yield Balancer(f"http://127.0.0.1:{port}", proc, log)
    finally:
        _stop(proc, signal.SIGQUIT, timeout=15)


# ----- (a) the compose file: `api` scales, `lb` in front --------------------------------------------
def test_api_has_no_host_port_so_it_scales(compose: dict):
    api = compose["services"]["api"]
    assert "ports" not in api, "a fixed host port on `api` makes `--scale api=N` fail (port already allocated)"
    assert "container_name" not in api, "a fixed container_name makes `--scale api=N` fail"
    assert str(CONTAINER_PORT) in [str(p).split("/")[0] for p in api["expose"]]
    published = {name: s["ports"] for name, s in compose["services"].items() if s.get("ports")}
    assert list(published) == ["lb"], f"only the load balancer publishes a host port: {published}"


def test_lb_service_shape(lb: dict):
    image, _, tag = lb["image"].partition(":")
    assert image == "nginx", lb["image"]
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)-alpine", tag)
    assert m, f"pin an exact nginx alpine tag, not {tag!r}"
    assert tuple(map(int, m.groups())) >= (1, 27, 3), "`server ... resolve` needs open-source nginx >= 1.27.3"
    assert "8000:80" in [str(p) for p in lb["ports"]]
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"
    assert lb["read_only"] is True
    assert lb["restart"] == "unless-stopped"


def test_lb_mounts_the_committed_config_read_only(lb: dict):
    mounts = [v.split(":") for v in lb["volumes"]]
    configs = [m for m in mounts if m[1] == "/etc/nginx/nginx.conf"]
    assert len(configs) == 1, lb["volumes"]
    source, _, mode = configs[0]
    assert (COMPOSE.parent / source).resolve() == NGINX_CONF and NGINX_CONF.is_file()
    assert mode == "ro"


def test_lb_healthcheck_hits_the_nginx_health_location(lb: dict, conf: Conf):
    test = lb["healthcheck"]["test"]
    assert test[0] == "CMD", test
    urls = [a for a in test if a.startswith("http://")]
    assert len(urls) == 1, test
    m = re.fullmatch(r"http://127\.0\.0\.1(?::(\d+))?(/\S*)", urls[0])
    assert m, urls[0]
    listen = only(conf.server, "listen").args[0]
    assert int(m.group(1) or 80) == int(listen), f"the healthcheck port is not the listen port {listen}"
    health = conf.location("=", m.group(2))
    assert only(health, "return").args[0] == "200"
    assert f"8000:{listen}" in [str(p) for p in lb["ports"]], "host port 8000 goes to nginx's listen port"


def test_every_path_nginx_writes_is_on_a_tmpfs(lb: dict, conf: Conf):
    tmpfs = [str(t).split(":")[0] for t in ([lb["tmpfs"]] if isinstance(lb["tmpfs"], str) else lb["tmpfs"])]
    written = [only(conf.tree, "pid").args[0]]
    written += [d.args[0] for d in conf.http if d.name.endswith("_temp_path")]
    assert len(written) == 6, written
    for path in written:
        assert any(path.startswith(t.rstrip("/") + "/") for t in tmpfs), f"{path} is on the read-only root ({tmpfs})"
    logs = [d.args[0] for d in walk(conf.tree) if d.name in ("error_log", "access_log") and d.args[0] != "off"]
    assert set(logs) <= {"stderr", "/dev/stdout", "/dev/stderr"}, f"logs must go to docker logs: {logs}"


# ----- (b) the nginx config: upstream, retries, limits --------------------------------------------------
def test_upstream_is_the_api_service_on_its_container_port(conf: Conf, compose: dict):
    name = only(conf.location("/"), "proxy_pass").args[0].removeprefix("http://")
    upstream = conf.upstream(name)
    servers = children(upstream, "server")
    assert len(servers) == 1, "one `server` line: the `api` service name, resolved to every replica"
    host, _, port = servers[0].args[0].partition(":")
    assert host in compose["services"] and compose["services"][host].get("build"), f"{host} is not the api service"
    assert int(port) == CONTAINER_PORT
    params = dict(a.partition("=")[::2] for a in servers[0].args[1:])
    assert "resolve" in params, "without `resolve` nginx resolves `api` once, at start, and misses new replicas"
    assert int(params["max_fails"]) >= 1 and seconds(params["fail_timeout"]) > 0, "passive health checks"
    assert only(upstream, "zone").args[0], "`resolve` and shared failure state need a zone"
    assert only(conf.http, "resolver").args[0] == "127.0.0.11", "Docker's embedded DNS"
    assert any(a.startswith("valid=") for a in only(conf.http, "resolver").args)


def test_upstream_keepalive_is_usable(conf: Conf):
    upstream = conf.upstream("lexiflow_api")
    assert int(only(upstream, "keepalive").args[0]) > 0
    import uvicorn

    # nginx must drop an idle upstream connection before uvicorn does, or it may reuse a closing one
    assert seconds(only(upstream, "keepalive_timeout").args[0]) < uvicorn.Config("x:y").timeout_keep_alive
    loc = conf.location("/")
    assert only(loc, "proxy_http_version").args == ["1.1"]
    assert only(loc, "proxy_set_header", "Connection").args == ["Connection", ""]


def test_retries_go_to_another_replica_for_post_too(conf: Conf):
    loc = conf.location("/")
    conditions = set(only(loc, "proxy_next_upstream").args)
    assert {"error", "timeout", "http_502", "http_503", "non_idempotent"} <= conditions
    assert not conditions & {"http_504", "http_429", "http_500", "off"}, "never retry an overloaded or failing request"
    assert int(only(loc, "proxy_next_upstream_tries").args[0]) >= 2
    assert seconds(only(loc, "proxy_next_upstream_timeout").args[0]) > 0
    assert only(loc, "proxy_request_buffering").args == ["on"], "a POST can only be retried from a buffered body"
    text = NGINX_CONF.read_text(encoding="utf-8")
    assert "pure function" in text, "say why retrying a POST is safe"


def test_limits_and_timeouts_match_the_service(conf: Conf):
    assert size_bytes(only(conf.http, "client_max_body_size").args[0]) == Limits().max_body_bytes
    loc = conf.location("/")
    request_timeout = Settings().request_timeout_s
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        assert seconds(only(loc, name).args[0]) > request_timeout, f"{name}: the api answers 504 itself first"
    assert seconds(only(loc, "proxy_connect_timeout").args[0]) <= 5, "a dead replica should be abandoned fast"
    too_large = conf.location("@body_too_large")
    status, body = only(too_large, "return").args
    assert status == "413"
    assert json.loads(body.replace("$lexiflow_request_id", "x"))["limit"] == Limits().max_body_bytes


def test_request_id_and_forwarding_headers(conf: Conf):
    loc = conf.location("/")
    headers = {d.args[0].lower(): d.args[1] for d in children(loc, "proxy_set_header")}
    assert headers["x-request-id"] == "$lexiflow_request_id"
    assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
    assert headers["x-forwarded-proto"] == "$scheme"
    rid_map = only(conf.http, "map", "$http_x_request_id", "$lexiflow_request_id").block or []
    assert only(rid_map, "default").args == ["$request_id"]
    from service.middleware import _VALID_ID

    # the same well-formedness rule as the api's, so the api keeps the id nginx passes on
    patterns = [d.name for d in rid_map if d.name.startswith("~")]
    assert len(patterns) == 1, patterns
    nginx_rule = re.compile(patterns[0].removeprefix("~"))
    for rid in ("abc", "client-id.42", "a:b_c", "a" * 128, "a" * 129, "", "bad id", 'x"y', "\u00e9t\u00e9", "a/b"):
        assert bool(nginx_rule.match(rid)) == bool(_VALID_ID.match(rid.encode())), rid
    added = {d.args[0]: d.args[1:] for d in children(conf.server, "add_header")}
    assert added["X-Upstream"] == ["$upstream_addr", "always"]
    assert added["X-Request-ID"] == ["$lexiflow_request_id", "always"]


def test_rendering_changes_only_the_marked_lines(tmp_path: Path):
    template = NGINX_CONF.read_text(encoding="utf-8")
    rendered = render(template, [1111, 2222], 3333, tmp_path)
    kept = [line for line in template.splitlines() if MARK not in line]
    assert [line for line in rendered.splitlines() if line in kept] == kept
    marked = [line for line in template.splitlines() if MARK in line]
    assert len(marked) == 8, marked   # pid, 5 temp paths, the upstream server, listen
    tree = Conf(parse_nginx(rendered))
    assert [d.args[0] for d in children(tree.upstream("lexiflow_api"), "server")] == ["127.0.0.1:1111", "127.0.0.1:2222"]
    assert only(tree.server, "listen").args == ["127.0.0.1:3333", "default_server"]
    assert only(tree.tree, "pid").args == [str(tmp_path / "nginx.pid")]
    assert not [d for d in walk(tree.tree) if any(a.startswith("/var/") for a in d.args)], "a path left outside"


def test_parser_catches_a_missing_semicolon():
    with pytest.raises(AssertionError, match="missing its ';'"):
        parse_nginx("http { server { listen 80 } }")


# ----- (c) the real thing: nginx in front of two lexiflow servers ---------------------------------------
@pytest.mark.slow
def test_nginx_accepts_the_rendered_config(nginx_bin: str, workdir: Path):
    conf = workdir / "nginx.conf"
    conf.write_text(render(NGINX_CONF.read_text(encoding="utf-8"), [free_port(), free_port()], free_port(), workdir),
                    encoding="utf-8")
    done = subprocess.run(_nginx_cmd(nginx_bin, workdir, conf, "-t"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr, done.stderr


def _problem(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    return response.json()


@pytest.mark.slow
def test_oversized_body_gets_a_413_problem_from_nginx(balancer: Balancer):
    limit = Limits().max_body_bytes
    body = b'{"text": "' + b"a" * (limit + 1) + b'"}'
    with httpx.Client(base_url=balancer.url, trust_env=False, timeout=30) as client:
        response = client.post("/v1/lemmatize", content=body, headers={"content-type": "application/json",
                                                                       "x-request-id": "too-big-1"})
    assert response.status_code == 413, response.text[:500]
    problem = _problem(response)
    assert problem["type"] == "/problems/body-too-large" and problem["status"] == 413
    assert problem["limit"] == limit and problem["request_id"] == "too-big-1"
    assert response.headers["x-request-id"] == "too-big-1"
    assert "x-upstream" not in response.headers, "nginx answered itself: no replica was asked"


@pytest.mark.slow
def test_request_ids_pass_through_to_the_replica(balancer: Balancer):
    with httpx.Client(base_url=balancer.url, trust_env=False, timeout=30) as client:
        # no id: nginx makes one, the replica uses it (its problem body), the client sees it once
        response = client.post("/v1/lemmatize", json={})
        assert response.status_code == 422, response.text
        rid = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid) and response.headers.get_list("x-request-id") == [rid]
        assert _problem(response)["request_id"] == rid
        assert response.headers["x-upstream"]
        # a well-formed id from the client is kept end to end; a malformed one is replaced
        response = client.post("/v1/lemmatize", json={}, headers={"x-request-id": "client-id.42"})
        assert response.headers["x-request-id"] == "client-id.42" == _problem(response)["request_id"]
        response = client.post("/v1/lemmatize", json={}, headers={"x-request-id": 'bad id "quoted"'})
        rid = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid) and _problem(response)["request_id"] == rid


REQUESTS = [
    ("/v1/lemmatize", {"text": "The striped bats were hanging on their feet and ate best fishes."}),
    ("/v1/tokenize", {"text": "The kids were playing.", "text_pair": "Who plays?"}),
]


@dataclass
class Outcome:
    started: float
    ended: float
    ok: bool
    upstream: str
    error: str = ""


@pytest.mark.slow
def test_killing_a_replica_mid_load_fails_no_request(balancer: Balancer, backends: list[Backend]):
    victim, survivor = backends
    # the expected answers, straight from one replica
    with httpx.Client(trust_env=False, timeout=30) as direct:
        expected = [direct.post(f"http://{survivor.addr}{path}", json=body).json() for path, body in REQUESTS]

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(seed: int) -> None:
        i = seed
        with httpx.Client(base_url=balancer.url, trust_env=False, timeout=30) as client:
            while not stop.is_set():
                path, body = REQUESTS[i % len(REQUESTS)]
                started = time.monotonic()
                try:
                    r = client.post(path, json=body)
                    ok = r.status_code == 200 and r.json() == expected[i % len(REQUESTS)]
                    outcome = Outcome(started, time.monotonic(), ok, r.headers.get("x-upstream", ""),
                                      "" if ok else f"{r.status_code} {r.text[:300]}")
                except Exception as exc:  # noqa: BLE001 - every failure is recorded and fails the test
                    outcome = Outcome(started, time.monotonic(), False, "", repr(exc))
                with lock:
                    outcomes.append(outcome)
                i += 1

    def served_by(addr: str, after: float = 0.0, before: float = float("inf")) -> int:
        with lock:
            return sum(1 for o in outcomes if o.ok and o.upstream.split(", ")[-1] == addr
                       and o.started >= after and o.ended <= before)

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while (served_by(victim.addr) < 10 or served_by(survivor.addr) < 10) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        kill_sent = time.monotonic()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=10)
        killed = time.monotonic()  # requests started after this cannot reach the victim
        deadline = killed + 60
        while time.monotonic() < killed + 4 or (served_by(survivor.addr, after=killed) < 20
                                                and time.monotonic() < deadline):
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=40)
    assert not any(t.is_alive() for t in threads), "a client thread hung"

    failed = [o for o in outcomes if not o.ok]
    assert not failed, f"{len(failed)} of {len(outcomes)} requests failed, e.g. {failed[:3]}"
    before = [o for o in outcomes if o.ended < killed]
    after = [o for o in outcomes if o.started > killed]
    assert served_by(victim.addr, before=killed) >= 10 and served_by(survivor.addr, before=killed) >= 10, \
        "both replicas served requests before the kill"
    assert len(after) >= 20, f"only {len(after)} requests after the kill"
    finals = {o.upstream.split(", ")[-1] for o in after}
    assert finals == {survivor.addr}, f"after the kill only the survivor may answer: {finals}"
    retried = [o for o in outcomes if o.ended > kill_sent and o.upstream == f"{victim.addr}, {survivor.addr}"]
    assert retried, "no request was retried on the survivor: the failover path was not exercised"
    print(f"{len(outcomes)} requests, {len(before)} before the kill, {len(after)} after, "
          f"{len(retried)} retried on the survivor")


@pytest.mark.slow
def test_no_replica_left_gives_a_502_problem(nginx_bin: str, workdir: Path):
    """Every replica unreachable: nginx tries them all, then answers 502 in problem+json itself."""
    port, dead = free_port(), [free_port(), free_port()]
    conf = workdir / "nginx.conf"
    conf.write_text(render(NGINX_CONF.read_text(encoding="utf-8"), dead, port, workdir), encoding="utf-8")
    log = workdir / "nginx.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(_nginx_cmd(nginx_bin, workdir, conf), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/nginx-health", proc, log, 30, "nginx")
        with httpx.Client(trust_env=False, timeout=30) as client:
            response = client.post(f"http://127.0.0.1:{port}/v1/lemmatize", json={"text": "x"},
                                   headers={"x-request-id": "nobody-home"})
        assert response.status_code == 502, response.text
        problem = _problem(response)
        assert problem["status"] == 502 and problem["request_id"] == "nobody-home"
        assert response.headers["x-upstream"] == ", ".join(f"127.0.0.1:{p}" for p in dead), "both were tried"
    finally:
        _stop(proc, signal.SIGQUIT, timeout=15)
