"""Smoke test: the real server (uvicorn, via the `lexiflow` CLI) on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "LEXIFLOW_LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        seen_not_ready = False
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                r = httpx.get(f"{base}/readyz", timeout=2)
                if r.status_code == 200:
                    break
                assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
                seen_not_ready = True
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready in 90 s"
            time.sleep(0.2)
        yield base, proc, seen_not_ready
    finally:
        stop_process(proc)


def test_every_endpoint_over_real_http(server):
    base, proc, _ = server
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/livez").json() == {"status": "ok"}
        models = http.get("/readyz").json()["models"]
        assert {"lemmatize", "tokenize", "embeddings", "senses"} <= {m["task"] for m in models}
        lem = http.post("/v1/lemmatize", json={"text": ["The mice ran.", "She was singing."]},
                        headers={"X-Request-ID": "smoke-1"})
        assert lem.status_code == 200 and lem.headers["x-request-id"] == "smoke-1"
        assert [t["lemma"] for t in lem.json()["results"][0]["tokens"]] == ["the", "mouse", "run", "."]
        tok = http.post("/v1/tokenize", json={"text": "Hello there", "text_pair": "General Kenobi"})
        assert tok.json()["results"][0]["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1, 1]
        emb = http.post("/v1/embeddings", json={"input": ["one", "two"]})
        assert emb.status_code == 200 and len(emb.json()["data"]) == 2
        bad = http.post("/v1/tokenize", content=b'{"text": ', headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        huge = http.post("/v1/lemmatize", content=b"x" * (3 * 1024 * 1024),
                         headers={"content-type": "application/json"})
        assert huge.status_code == 413
        assert "lexiflow_http_requests_total" in http.get("/metrics").text
        assert http.get("/openapi.json").json()["info"]["title"] == "lexiflow"
    assert proc.poll() is None, "the server died while serving"


def test_clean_shutdown_on_sigterm(server):
    base, proc, _ = server
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit status -SIGTERM.
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    out = proc.stdout.read()
    assert "Application shutdown complete." in out, out
    assert "Traceback" not in out, out
