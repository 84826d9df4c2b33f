"""Conventions users expect (issue 17): offline docs, CORS preflights, content types, gzip, HEAD
health checks, the body timeout. Real HTTP through the app; a real uvicorn process where the point
is the transport. The app here loads no model (its lifespan is not run) unless a test says so:
/v1/attention needs none."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings

PROBLEM = "application/problem+json"
ATTENTION = {"query": [10, 5, 10], "keys": [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]]}


@pytest.fixture(scope="module")
def bare():
    """The real app without loading models (no lifespan): routes that need none answer."""
    return TestClient(create_app(Settings()), raise_server_exceptions=False)


def assert_problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert body["status"] == status and body["type"] == f"/problems/{code}", body
    assert body["detail"]
    return body


# ----- (1) /docs and /redoc from local files --------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.refs.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_name_no_other_host_and_every_asset_answers(bare, page):
    r = bare.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    # no absolute URL at all (http://, https:// or protocol-relative //host) in the page
    assert not re.search(r"(https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]", html.replace("<!--", "").replace("-->", "")), html
    parser = _Refs()
    parser.feed(html)
    scripts = re.findall(r"url: '([^']+)'", html)  # Swagger UI's spec URL inside the inline script
    refs = parser.refs + scripts
    assert any(ref.endswith(".js") for ref in refs), refs
    assert "/openapi.json" in refs, refs
    for ref in refs:
        assert not urlsplit(ref).netloc, ref
        asset = bare.get(ref)
        assert asset.status_code == 200, (ref, asset.status_code)
        assert len(asset.content) > 100, ref


def test_docs_assets_are_the_bundles_not_placeholders(bare):
    js = bare.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert b"SwaggerUIBundle" in js.content
    assert b"redoc" in bare.get("/docs/assets/redoc.standalone.js").content.lower()
    assert bare.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_docs_need_no_api_key():
    secured = TestClient(create_app(Settings(api_keys=["s3cret-key-for-tests"])), raise_server_exceptions=False)
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js", "/openapi.json"):
        assert secured.get(path).status_code == 200, path
    assert secured.post("/v1/attention", json=ATTENTION).status_code == 401


# ----- (3) CORS preflights: problem+json refusals, the OpenAI JS SDK's headers allowed -------------
ORIGIN = "https://app.example.org"
# what openai-node (dangerouslyAllowBrowser) asks for before POST /v1/embeddings
SDK_HEADERS = ("authorization,content-type,accept,x-stainless-arch,x-stainless-lang,x-stainless-os,"
               "x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,"
               "x-stainless-runtime-version,x-stainless-timeout")


@pytest.fixture(scope="module")
def cors():
    return TestClient(create_app(Settings(cors_origins=[ORIGIN])), raise_server_exceptions=False)


def _preflight(c, origin=ORIGIN, method="POST", headers=SDK_HEADERS):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return c.options("/v1/embeddings", headers=h)


def test_preflight_of_the_openai_js_sdk_is_allowed(cors):
    r = _preflight(cors)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert set(SDK_HEADERS.split(",")) <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    # the actual request then carries the CORS answer headers
    r = cors.post("/v1/attention", json=ATTENTION, headers={"Origin": ORIGIN, "x-stainless-lang": "js"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("kwargs, says", [
    ({"origin": "https://evil.example.com"}, "origin 'https://evil.example.com' is not allowed"),
    ({"headers": "content-type,x-custom-thing"}, "x-custom-thing"),
    ({"method": "DELETE"}, "method 'DELETE'"),
])
def test_refused_preflight_is_problem_json(cors, kwargs, says):
    r = _preflight(cors, **kwargs)
    body = assert_problem(r, 400, "cors-preflight-rejected")
    assert says in body["detail"], body
    assert body["request_id"] == r.headers["x-request-id"]
    if "origin" in kwargs:
        assert "access-control-allow-origin" not in r.headers


# ----- (4) content types and encodings -------------------------------------------------------------
ATTENTION_BYTES = b'{"query": [10, 5, 10], "keys": [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]]}'


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_body_that_is_not_declared_json_is_415_with_a_hint(bare, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    r = bare.post("/v1/attention", content=ATTENTION_BYTES, headers=headers)
    body = assert_problem(r, 415, "unsupported-media-type")
    assert "Content-Type: application/json" in body["detail"] and "curl" in body["detail"]
    assert body["limit"] == "application/json"
    assert body.get("given") == (content_type.split(";")[0] if content_type else None)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/merge-patch+json"])
def test_json_media_types_are_accepted(bare, content_type):
    r = bare.post("/v1/attention", content=ATTENTION_BYTES, headers={"content-type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["scores"] == [[15.0, 60.0, 15.0, 35.0]]


def test_gzip_request_body_is_accepted(bare):
    r = bare.post("/v1/attention", content=gzip.compress(ATTENTION_BYTES),
                  headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 200, r.text
    plain = bare.post("/v1/attention", content=ATTENTION_BYTES, headers={"content-type": "application/json"})
    assert r.json() == plain.json()


def _bomb(inflated: int) -> bytes:
    """A gzip stream of ``inflated`` zero bytes, built in pieces (about 1000:1)."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    piece = b"\0" * (1 << 20)
    return b"".join(c.compress(piece) for _ in range(inflated >> 20)) + c.flush()


def test_gzip_bomb_is_413_with_bounded_memory(bare):
    import tracemalloc

    from service.middleware import BodyTooLarge, gunzip_limited

    bomb = _bomb(256 << 20)  # 256 MiB inflated
    assert len(bomb) < 2 * 1024 * 1024  # under the body limit as sent
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            gunzip_limited(bomb, 2 * 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"inflating held {peak} bytes"
    r = bare.post("/v1/attention", content=bomb, headers={"content-type": "application/json",
                                                          "content-encoding": "gzip"})
    body = assert_problem(r, 413, "body-too-large")
    assert "inflates" in body["detail"] and body["limit"] == 2 * 1024 * 1024


def test_gunzip_limited_reads_concatenated_members_and_refuses_garbage():
    from service.middleware import gunzip_limited

    assert gunzip_limited(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"
    for bad in (b"not gzip at all", gzip.compress(b"truncated stream")[:-6]):
        with pytest.raises(ValueError):
            gunzip_limited(bad, 100)


def test_bad_gzip_and_unknown_encodings(bare):
    r = bare.post("/v1/attention", content=b"\x1f\x8bnot really", headers={"content-type": "application/json",
                                                                            "content-encoding": "gzip"})
    assert_problem(r, 400, "malformed-gzip")
    r = bare.post("/v1/attention", content=ATTENTION_BYTES, headers={"content-type": "application/json",
                                                                     "content-encoding": "br"})
    body = assert_problem(r, 415, "unsupported-content-encoding")
    assert body["given"] == "br" and "gzip" in body["detail"]


def test_gzip_response_only_over_the_threshold_and_when_accepted(bare):
    big = bare.get("/openapi.json", headers={"accept-encoding": "gzip"})
    assert big.status_code == 200 and big.headers["content-encoding"] == "gzip"
    assert big.json()["info"]["title"] == "lexiflow"  # httpx inflated it
    assert "content-encoding" not in bare.get("/openapi.json", headers={"accept-encoding": "identity"}).headers
    assert "content-encoding" not in bare.get("/livez", headers={"accept-encoding": "gzip"}).headers


# ----- (6) HEAD health checks ------------------------------------------------------------------------
def test_head_livez_and_readyz(client):
    for path in ("/livez", "/readyz"):
        r = client.head(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.content == b""
    assert TestClient(create_app(Settings())).head("/readyz").status_code == 503  # not loaded: same as GET


# ----- a real uvicorn process: the transport points (408, gzip both ways, HEAD) --------------------------
@pytest.fixture(scope="module")
def server():
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import free_port, stop_process

    port = free_port()
    env = {**os.environ, "LEXIFLOW_BODY_TIMEOUT_S": "1.5", "LEXIFLOW_TASKS": '["tokenize"]',
           "LEXIFLOW_LEMMATIZE_ENGINES": '["lookup"]', "LEXIFLOW_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                if httpx.get(f"{base}/livez", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not answer /livez in 60 s"
            time.sleep(0.2)
        yield port
    finally:
        stop_process(proc)


def _raw(port: int, request: bytes, wait: float) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes the connection; (answer, seconds to close)."""
    import socket
    import time

    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data, time.monotonic() - t0


@pytest.mark.slow
def test_body_that_never_arrives_is_408_and_the_connection_closes(server):
    head = (b"POST /v1/attention HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")
    for partial in (b"", b'{"query": [1'):  # nothing at all, or a body that stops part-way
        answer, took = _raw(server, head + partial, wait=15)
        status, _, rest = answer.partition(b"\r\n")
        assert status.startswith(b"HTTP/1.1 408"), answer[:300]
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"content-type: application/problem+json" in headers.lower()
        assert b"connection: close" in headers.lower()
        assert b"/problems/request-timeout" in body and b"LEXIFLOW_BODY_TIMEOUT_S" in body
        assert 1.4 < took < 10, took  # cut off at the configured 1.5 s, not held open


@pytest.mark.slow
def test_gzip_both_ways_over_real_http(server):
    import httpx

    base = f"http://127.0.0.1:{server}"
    with httpx.Client(base_url=base, timeout=10) as http:
        r = http.post("/v1/attention", content=gzip.compress(ATTENTION_BYTES),
                      headers={"content-type": "application/json", "content-encoding": "gzip"})
        assert r.status_code == 200 and r.json()["scores"] == [[15.0, 60.0, 15.0, 35.0]]
        docs = http.get("/openapi.json", headers={"accept-encoding": "gzip"})
        assert docs.headers["content-encoding"] == "gzip"
        assert int(docs.headers["content-length"]) < len(docs.content) / 3  # compressed on the wire
        assert http.head("/livez").status_code == 200
        r = http.post("/v1/attention", content=ATTENTION_BYTES)  # curl without -H: no JSON type
        assert r.status_code == 415 and r.headers["content-type"] == PROBLEM


def test_readme_attention_example_is_the_real_answer(bare):
    """The README's /v1/attention request and answer, replayed: the answer is the real 2-D one."""
    import json
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("`POST /v1/attention` is the computation itself"):]
    request = json.loads(re.search(r"-d '(\{.*?\})'", section).group(1))
    answer = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))
    r = bare.post("/v1/attention", json=request)
    assert r.status_code == 200
    assert r.json() == answer
    assert all(isinstance(row, list) for key in ("scores", "weights", "context") for row in answer[key])


# ----- (7) the full spaCy pipeline as an opt-in lemmatize engine ---------------------------------------
@pytest.mark.slow
def test_full_engine_over_http_when_loaded():
    settings = Settings(load_in_background=False, tasks=["lemmatize"], lemmatize_engines=["rule", "full"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        text = "She had a dog. They had eaten."
        rule = c.post("/v1/lemmatize", json={"text": text}).json()
        full = c.post("/v1/lemmatize", json={"text": text, "engine": "full"}).json()
        assert (rule["engine"], full["engine"]) == ("rule", "full")
        pos = lambda body: [t["pos"] for t in body["results"][0]["tokens"] if t["text"] == "had"]  # noqa: E731
        assert pos(full) == ["VERB", "AUX"] and pos(rule) == ["AUX", "AUX"]
        assert {"engine": "full"}.items() <= next(m for m in c.get("/v1/models").json()["models"]
                                                  if m.get("engine") == "full").items()
    without = Settings(load_in_background=False, tasks=["lemmatize"], lemmatize_engines=["lookup"])
    with TestClient(create_app(without), raise_server_exceptions=False) as c:  # opt-in: absent unless loaded
        r = c.post("/v1/lemmatize", json={"text": "x", "engine": "full"})
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert "'full' is not loaded" in r.json()["detail"]
