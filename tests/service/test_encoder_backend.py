"""LEXIFLOW_ENCODER_BACKEND picks what runs the encoder for every endpoint; both give the same vectors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from service.settings import Settings

TEXTS = ["The bank raised its interest rates.", "We sat on the bank of the river.", "Who wrote Hamlet?"]


def test_the_setting_selects_the_backend(monkeypatch):
    assert Settings().encoder_backend == "onnx"  # the default
    assert Settings().load_plan().encoder_backend == "onnx"
    monkeypatch.setenv("LEXIFLOW_ENCODER_BACKEND", "torch")
    assert Settings().load_plan().encoder_backend == "torch"
    monkeypatch.setenv("LEXIFLOW_ENCODER_BACKEND", "onnx-int8")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("LEXIFLOW_ENCODER_FORWARD_TOKENS", "256")
    monkeypatch.setenv("LEXIFLOW_ENCODER_BACKEND", "onnx")
    assert Settings().load_plan().encoder_forward_tokens == 256


@pytest.fixture(scope="module")
def torch_client():
    from fastapi.testclient import TestClient

    from service.app import create_app

    app = create_app(Settings(load_in_background=False, encoder_backend="torch", tasks=["embeddings", "senses"]))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _vectors(client, texts):
    r = client.post("/v1/embeddings", json={"input": texts})
    assert r.status_code == 200, r.text
    return np.array([d["embedding"] for d in r.json()["data"]])


@pytest.mark.slow
def test_endpoints_on_both_backends_agree(client, torch_client):
    backends = {}
    for c in (client, torch_client):
        info = c.get("/v1/models").json()["models"]
        [enc] = [m for m in info if m["task"] == "embeddings" and m.get("kind") == "contextual"]
        backends[c] = enc["backend"]
    assert backends == {client: "onnxruntime", torch_client: "torch"}

    onnx_v, torch_v = _vectors(client, TEXTS), _vectors(torch_client, TEXTS)
    assert (onnx_v * torch_v).sum(1).min() > 0.9999  # unit vectors

    body = {"text": TEXTS[0], "text_pair": TEXTS[1], "pooling": "none", "granularity": "words", "layer": 3}
    a, b = (c.post("/v1/embeddings/contextual", json=body) for c in (client, torch_client))
    assert a.status_code == b.status_code == 200
    wa = np.array([v["vector"] for v in a.json()["results"][0]["vectors"]])
    wb = np.array([v["vector"] for v in b.json()["results"][0]["vectors"]])
    np.testing.assert_allclose(wa, wb, atol=2e-3)

    sense = {"target": "bank", "sentences": TEXTS[:2]}
    ra, rb = (c.post("/v1/senses/disambiguate", json=sense) for c in (client, torch_client))
    assert ra.status_code == rb.status_code == 200
    top = [[occ["candidates"][0]["synset"] for r in x.json()["results"] for occ in r["occurrences"]] for x in (ra, rb)]
    assert top[0] == top[1]
