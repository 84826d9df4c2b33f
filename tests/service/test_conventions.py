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
