"""Classification through the real app and the shipped TREC CNN."""

from __future__ import annotations

import math

import pytest

from tasks.classify import ClassifyResponse

PROBLEM = "application/problem+json"


def test_classify_batch_labels_probabilities_and_evidence(client):
    texts = ["How far is it from Denver to Aspen?", "Who wrote the novel Moby Dick?",
             "What does NASA stand for?", "Where is the Eiffel Tower?"]
    r = client.post("/v1/classify", json={"text": texts, "top_k": 3})
    assert r.status_code == 200, r.text
    body = ClassifyResponse.model_validate(r.json()).model_dump()
    assert body["model"] == "trec-cnn" and body["labels"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert [res["label"] for res in body["results"]] == ["NUM", "HUM", "ABBR", "LOC"]
    for text, res in zip(texts, body["results"]):
        probs = res["probabilities"]
        assert set(probs) == set(body["labels"]) and math.isclose(sum(probs.values()), 1, abs_tol=1e-6)
        assert list(probs.values()) == sorted(probs.values(), reverse=True)
        assert res["score"] == probs[res["label"]]
        assert 1 <= len(res["evidence"]) <= 3
        for e in res["evidence"]:
            assert text[e["start"]:e["end"]] == e["text"] and e["width"] in (3, 4, 5) and e["filters"]
        contributions = [e["contribution"] for e in res["evidence"]]
        assert contributions == sorted(contributions, reverse=True)


def test_evidence_contributions_add_up_to_the_logit(client):
    """All winning n-grams (top_k large) plus the bias give the predicted label's logit exactly."""
    res = client.post("/v1/classify", json={"text": "Who invented the telephone?", "top_k": 50}).json()["results"][0]
    total = res["bias"] + sum(e["contribution"] for e in res["evidence"])
    assert math.isclose(total, res["logit"], rel_tol=1e-4, abs_tol=1e-4)


def test_batch_equals_one_by_one(client):
    texts = ["What is the capital of Peru?", "Why is the sky blue?", "How many legs does a spider have?"]
    batch = client.post("/v1/classify", json={"text": texts}).json()["results"]
    for text, b in zip(texts, batch):
        one = client.post("/v1/classify", json={"text": text}).json()["results"][0]
        assert one["label"] == b["label"]
        assert all(math.isclose(one["probabilities"][k], v, abs_tol=1e-6) for k, v in b["probabilities"].items())


@pytest.mark.parametrize("text", ["?", "hi", "zzqx qqzx", "a " * 3000])
def test_short_odd_and_long_texts(client, text):
    r = client.post("/v1/classify", json={"text": text})
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert res["num_tokens"] >= 1 and res["label"] in res["probabilities"]


def test_unknown_words_are_counted(client):
    res = client.post("/v1/classify", json={"text": "Who is zzqxjw qqxzzv?"}).json()["results"][0]
    assert res["unknown_tokens"] == 2


def test_classify_errors(client):
    r = client.post("/v1/classify", json={"text": "hi", "model": "nope"})
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    r = client.post("/v1/classify", json={"text": "hi", "top_k": 500})
    assert r.status_code == 422 and r.json()["errors"][0]["limit"] == 50
    r = client.post("/v1/classify", json={"text": []})
    assert r.status_code == 422


def test_model_detail_has_metrics_card_and_layer_summary(client):
    d = client.get("/v1/models/trec-cnn").json()
    assert d["task"] == "classify" and d["labels"]
    assert d["metrics"]["test"]["accuracy"] > 0.85
    assert d["data_card"]
    summary = d["summary"]
    layers = summary["layers"] if isinstance(summary, dict) else summary
    assert layers and sum(layer["parameters"] for layer in layers) == (
        summary["total"] if isinstance(summary, dict) else sum(layer["parameters"] for layer in layers))
