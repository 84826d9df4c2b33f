"""Access control, CORS and file access, through a real (small) app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.security import ApiKeyMiddleware, is_open, read_keys
from service.settings import Settings

KEY_A = "k-" + "a" * 30
KEY_B = "k-" + "b" * 30
SMALL = {"tasks": ["tokenize"], "lemmatize_engines": ["lookup"], "load_in_background": False}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("keys") / "keys.txt"
    keyfile.write_text(f"# ops keys\n{KEY_B}\n\n")
    app = create_app(Settings(**SMALL, api_keys=[KEY_A], api_keys_file=keyfile,
                              open_paths=["/livez", "/readyz"], cors_origins=["https://app.example.org"]))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_missing_key_is_401_with_challenge(secured):
    r = secured.post("/v1/tokenize", json={"text": "hi"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "/problems/unauthorized" and r.json()["request_id"] == r.headers["x-request-id"]
    assert secured.post("/v1/tokenize", json={"text": "hi"}, headers={"Authorization": "Basic abc"}).status_code == 401


def test_wrong_key_is_403_and_right_keys_pass(secured):
    bad = secured.post("/v1/tokenize", json={"text": "hi"}, headers={"Authorization": "Bearer " + KEY_A[:-1] + "x"})
    assert bad.status_code == 403 and bad.json()["type"] == "/problems/forbidden"
    for key in (KEY_A, KEY_B):  # inline and from the file
        ok = secured.post("/v1/tokenize", json={"text": "hi"}, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200, ok.text


def test_open_paths_and_closed_metrics(secured):
    assert secured.get("/livez").status_code == 200
    assert secured.get("/readyz").status_code == 200
    assert secured.get("/metrics").status_code == 401  # not listed as open here
    assert secured.get("/openapi.json").status_code == 401


def test_cors_allowlist(secured):
    pre = secured.options("/v1/tokenize", headers={"Origin": "https://app.example.org",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://app.example.org"
    other = secured.options("/v1/tokenize", headers={"Origin": "https://evil.example.com",
                                                     "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers
    r = secured.post("/v1/tokenize", json={"text": "hi"},
                     headers={"Origin": "https://evil.example.com", "Authorization": f"Bearer {KEY_A}"})
    assert "access-control-allow-origin" not in r.headers


def test_open_by_default_without_keys():
    app = create_app(Settings(**SMALL))
    assert not any(m.cls is ApiKeyMiddleware and m.kwargs["keys"] for m in app.user_middleware)
    with TestClient(app) as c:
        assert c.post("/v1/tokenize", json={"text": "hi"}).status_code == 200


def test_key_configuration_is_checked_at_startup(tmp_path):
    with pytest.raises(ValueError, match="at least 16"):
        read_keys(["short"], None)
    with pytest.raises(ValueError, match="cannot read"):
        read_keys([], tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="not an origin"):
        Settings(cors_origins=["https://x.org/path"])


def test_open_path_patterns():
    assert is_open("/static/app.js", ["/static/*"]) and is_open("/static", ["/static/*"])
    assert not is_open("/staticx", ["/static/*"]) and not is_open("/v1/tokenize", ["/", "/livez"])


@pytest.mark.parametrize("path", ["/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml",
                                  "/static/..%2fservice%2fsettings.py", "/v1/models/..%2F..%2Fetc%2Fpasswd",
                                  "/static//etc/passwd"])
def test_no_file_outside_the_static_folder(secured, path):
    r = secured.get(path, headers={"Authorization": f"Bearer {KEY_A}"})
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "lexiflow" not in r.text.lower() or r.headers["content-type"].startswith("application/problem+json")
