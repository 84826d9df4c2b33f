"""Embeddings and sense comparison through the real app, the real encoder and the real GloVe vectors.

The routes skip FastAPI's response re-validation for speed (FastJSONResponse), so every test here
validates the body against the declared response model itself.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tasks.embeddings import ContextualResponse, EmbeddingsResponse, StaticResponse
from tasks.senses import SensesResponse

PROBLEM = "application/problem+json"

MONEY = ["I deposited my salary at the bank this morning.",
         "The bank raised its interest rates on loans again."]
RIVER = ["We had a picnic on the grassy bank of the river.",
         "The fisherman sat on the muddy bank and watched the stream."]


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


# ----- OpenAI-compatible ---------------------------------------------------------------------------
def test_openai_embeddings_shape_and_norm(client):
    r = client.post("/v1/embeddings", json={"input": ["A cat sat.", "Stock markets fell sharply today."]})
    assert r.status_code == 200, r.text
    body = EmbeddingsResponse.model_validate(r.json()).model_dump()
    assert body["object"] == "list" and [d["index"] for d in body["data"]] == [0, 1]
    for d in body["data"]:
        v = np.array(d["embedding"])
        assert v.shape == (384,) and abs(np.linalg.norm(v) - 1) < 1e-4
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 10


def test_openai_embeddings_base64_equals_float(client, real_encoder):
    text = "Paris is the capital of France."
    f = client.post("/v1/embeddings", json={"input": text}).json()["data"][0]["embedding"]
    b = client.post("/v1/embeddings", json={"input": text, "encoding_format": "base64"}).json()["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(b), dtype="<f4")
    assert np.allclose(decoded, f, atol=1e-6)


def test_openai_embeddings_sentence_similarity_is_meaningful(client):
    data = client.post("/v1/embeddings", json={"input": [
        "How do I reset my password?", "I forgot my login password.", "The volcano erupted last night."]}).json()["data"]
    v = np.array([d["embedding"] for d in data])
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3


def test_openai_embeddings_errors(client):
    assert problem(client.post("/v1/embeddings", json={"input": "x", "model": "text-embedding-3-small"}), 404)
    body = problem(client.post("/v1/embeddings", json={"input": "x", "dimensions": 1536}), 422)
    assert body["limit"] == 384 and body["given"] == 1536
    long = "word " * 600
    body = problem(client.post("/v1/embeddings", json={"input": long}), 422)
    assert body["limit"] == 256 and body["given"] > 512  # the model's sentence length (issue 17)
    ok = client.post("/v1/embeddings", json={"input": long, "truncate": True})
    assert ok.status_code == 200 and ok.json()["usage"]["total_tokens"] == 256
    body = problem(client.post("/v1/embeddings", json={"input": long, "max_length": 512}), 422)
    assert body["limit"] == 512 and body["given"] > 512
    ok = client.post("/v1/embeddings", json={"input": long, "truncate": True, "max_length": 512})
    assert ok.status_code == 200 and ok.json()["usage"]["total_tokens"] == 512


# ----- contextual ----------------------------------------------------------------------------------
def test_contextual_word_vectors_are_means_of_wordpieces(client):
    base = {"text": "The kids were replaying outside.", "pooling": "none", "layer": 3}
    toks = ContextualResponse.model_validate(
        client.post("/v1/embeddings/contextual", json={**base, "granularity": "tokens"}).json()).model_dump()
    words = ContextualResponse.model_validate(
        client.post("/v1/embeddings/contextual", json={**base, "granularity": "words"}).json()).model_dump()
    tv = {t["index"]: np.array(t["vector"]) for t in toks["results"][0]["vectors"]}
    playing = next(w for w in words["results"][0]["vectors"] if w["text"] == "replaying")
    assert [toks["results"][0]["tokens"][k] for k in playing["wordpieces"]] == ["replay", "##ing"]
    expect = np.mean([tv[k] for k in playing["wordpieces"]], axis=0)
    assert np.allclose(playing["vector"], expect, atol=1e-5)
    assert words["layer"]


def test_contextual_pair_segments_and_pooling(client, real_encoder):
    r = client.post("/v1/embeddings/contextual", json={
        "text": "Where is the bank?", "text_pair": "It is by the river.", "pooling": "mean", "layer": -1})
    body = ContextualResponse.model_validate(r.json()).model_dump()
    res = body["results"][0]
    assert res["tokens"][0] == "[CLS]" and res["tokens"].count("[SEP]") == 2
    assert len(res["pooled"]) == 384
    cls = client.post("/v1/embeddings/contextual", json={
        "text": "Where is the bank?", "text_pair": "It is by the river.", "pooling": "cls"}).json()
    assert not np.allclose(cls["results"][0]["pooled"], res["pooled"])


def test_contextual_layer_out_of_range_is_422(client, real_encoder):
    body = problem(client.post("/v1/embeddings/contextual", json={"text": "hi", "layer": 7}), 422)
    assert body["limit"] == real_encoder.num_layers and body["given"] == 7
    body = problem(client.post("/v1/embeddings/contextual", json={"text": "hi", "mean_last": 9}), 422)
    assert body["given"] == 9


def test_contextual_truncation_reports_what_was_cut(client):
    r = client.post("/v1/embeddings/contextual", json={
        "text": "one two three four five six", "max_length": 5, "truncation": "longest_first", "pooling": "mean"})
    res = r.json()["results"][0]
    assert res["length"] == 5 and res["num_truncated"] == 3
    assert [c["token"] for c in res["truncated"]] == ["four", "five", "six"]


# ----- static --------------------------------------------------------------------------------------
def test_static_vectors_with_explicit_oov(client):
    r = client.post("/v1/embeddings/static", json={"words": ["Bank", "river", "zzqxjw"], "neighbours": 3})
    body = StaticResponse.model_validate(r.json()).model_dump()
    assert body["oov"] == ["zzqxjw"]
    found = {w["word"]: w for w in body["words"]}
    assert found["Bank"]["key"] == "bank" and len(found["Bank"]["vector"]) == body["dimensions"] == 50
    assert len(found["river"]["neighbours"]) == 3
    assert found["zzqxjw"]["found"] is False and found["zzqxjw"]["wordpieces"][0] == "z"


def test_static_unknown_model_is_404(client):
    assert problem(client.post("/v1/embeddings/static", json={"words": ["a"], "model": "nope"}), 404)


# ----- senses --------------------------------------------------------------------------------------
def test_senses_bank_money_versus_river(client):
    r = client.post("/v1/senses/compare", json={"target": "bank", "sentences": MONEY + RIVER})
    assert r.status_code == 200, r.text
    body = SensesResponse.model_validate(r.json()).model_dump()
    assert body["num_senses"] == 2
    groups = sorted(sorted(s["sentences"]) for s in body["senses"])
    assert groups == [[0, 1], [2, 3]]
    sim = np.array(body["contextual"]["similarity"])
    assert sim.shape == (4, 4) and min(sim[0, 1], sim[2, 3]) > max(sim[0, 2], sim[0, 3], sim[1, 2], sim[1, 3])
    assert body["static"]["all_ones"] is True and np.allclose(body["static"]["similarity"], 1.0)
    assert len(body["layers"]) == 7 and len(body["projection"]["sentences"]) == 4
    assert "bank" in body["verdict"].lower()


def test_senses_inflections_and_labelled_examples(client):
    r = client.post("/v1/senses/compare", json={
        "target": "bank",
        "sentences": ["Two banks merged into one lender.", "Willows grew along the river banks."],
        "examples": {"finance": ["She opened an account at the bank."],
                     "river": ["They walked along the bank of the stream."]}})
    body = SensesResponse.model_validate(r.json()).model_dump()
    assert [o["text"] for o in body["occurrences"]] == ["banks", "banks"]
    assert [a["label"] for a in body["assignments"]] == ["finance", "river"]


def test_senses_sentence_without_target_is_named(client):
    body = problem(client.post("/v1/senses/compare", json={
        "target": "bank", "sentences": ["The bank is closed.", "I like pizza."]}), 422)
    assert "1" in body["detail"] and "pizza" in body["detail"]


def test_senses_limits(client):
    assert problem(client.post("/v1/senses/compare", json={"target": "bank", "sentences": ["The bank."]}), 422)
    body = problem(client.post("/v1/senses/compare", json={"target": "bank", "sentences": ["bank"] * 1000}), 422)
    assert body["given"] == 1000


@pytest.mark.parametrize("path,payload", [
    ("/v1/embeddings", {"input": ""}),
    ("/v1/embeddings", {"input": []}),
    ("/v1/embeddings/contextual", {"text": "a", "pooling": "max"}),
    ("/v1/embeddings/static", {}),
    ("/v1/senses/compare", {"target": "", "sentences": ["a", "b"]}),
])
def test_bad_inputs_are_problems(client, path, payload):
    r = client.post(path, json=payload)
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith(PROBLEM), r.text


def test_static_model_selected_per_request(client):
    models = {m["name"] for m in client.get("/v1/models").json()["models"] if m.get("kind") == "static"}
    assert {"glove-6b-50d", "word2vec-wikitext2"} <= models
    ours = client.post("/v1/embeddings/static", json={"words": ["river"], "model": "word2vec-wikitext2"}).json()
    assert ours["model"] == "word2vec-wikitext2" and ours["dimensions"] == 100
    glove = client.post("/v1/embeddings/static", json={"words": ["river"]}).json()
    assert glove["model"] == "glove-6b-50d" and glove["dimensions"] == 50
