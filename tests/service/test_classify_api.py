"""Classification through the real app and the shipped TREC CNN."""

from __future__ import annotations

import math

import pytest

from tasks.classify import ClassifyResponse

PROBLEM = "application/problem+json"


def test_classify_batch_labels_probabilities_and_evidence(client):
    texts = ["How far is it from Denver to Aspen?", "Who wrote the novel Moby Dick?",
             "What does NASA stand for?", "Where is the Eiffel Tower?"]
    r = client.post("/v1/classify", json={"text": texts, "top_k": 3, "model": "trec-cnn"})
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


def test_the_default_classifier_is_the_contextual_trec_model(client):
    """trec-minilm-cnn answers when no model is named (README: why), with its own filter widths."""
    texts = ["whats a neutron star", "Who wrote the novel Moby Dick?", "wheres the statue of liberty"]
    body = client.post("/v1/classify", json={"text": texts, "top_k": 3}).json()
    assert body["model"] == "trec-minilm-cnn"
    assert [res["label"] for res in body["results"]] == ["DESC", "HUM", "LOC"]
    for text, res in zip(texts, body["results"]):  # its filters have widths 1, 2 and 3
        assert res["evidence"] and all(text[e["start"]:e["end"]] == e["text"] and e["width"] in (1, 2, 3)
                                       for e in res["evidence"])


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
    res = client.post("/v1/classify", json={"text": "Who is zzqxjw qqxzzv?", "model": "trec-cnn"}).json()["results"][0]
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


@pytest.mark.parametrize("name", ["trec-cnn", "trec-minilm-cnn"])
def test_both_kinds_are_served_per_request_with_one_entry_per_span(client, name):
    texts = ["Who's the author of War and Peace?", "How long is the Nile?", "Why?"]
    body = client.post("/v1/classify", json={"text": texts, "top_k": 50, "model": name}).json()
    assert body["model"] == name and body["labels"] == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    for text, res in zip(texts, body["results"]):
        assert res["unknown_tokens"] == 0  # who 's the author ...: the clitic is a known token
        spans = [(e["token_start"], e["token_end"]) for e in res["evidence"]]
        assert len(spans) == len(set(spans))
        for e in res["evidence"]:
            assert e["text"] == text[e["start"]:e["end"]]
            assert e["width"] == max(e["widths"]) and e["token_end"] - e["token_start"] <= min(e["widths"])
        assert res["bias"] + sum(e["contribution"] for e in res["evidence"]) == pytest.approx(res["logit"], abs=1e-6)
    assert body["results"][0]["num_tokens"] == 9  # who 's the author of war and peace ?


def test_model_detail_shows_the_layer_table_of_both_kinds(client):
    glove = client.get("/v1/models/trec-cnn").json()
    ctx = client.get("/v1/models/trec-minilm-cnn").json()
    assert glove["tokenizer"] == ctx["tokenizer"] == "ptb"
    assert glove["encoder"] is None and glove["summary"]["layers"][0]["name"] == "embedding"
    assert ctx["encoder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(ctx["encoder"]["layer_weights"]) == len(ctx["encoder"]["layers"])
    first = ctx["summary"]["layers"][0]
    assert "all-MiniLM-L6-v2" in first["name"] and first["parameters"] == 0 and not first["trainable"]
    for d in (glove, ctx):
        assert d["summary"]["total"] == sum(layer["parameters"] for layer in d["summary"]["layers"])
        assert d["metrics"]["test"]["accuracy"] >= 0.93
    kinds = {m["name"]: m.get("kind") for m in client.get("/v1/models").json()["models"] if m["task"] == "classify"}
    assert kinds["trec-cnn"] == "non-static" and kinds["trec-minilm-cnn"] == "contextual"


FINE_TUNED = "mr-minilm-ft-cnn"


def test_the_fine_tuned_mr_model_answers_with_evidence_and_its_layer_table(client):
    """The MR contextual CNN with its own fine-tuned top encoder layers, served beside the others and
    reading the one shared encoder."""
    texts = ["A gorgeous, witty, seductive movie.", "It was not terrible, actually.", "A dull, lifeless mess."]
    body = client.post("/v1/classify", json={"text": texts, "top_k": 50, "model": FINE_TUNED}).json()
    assert body["model"] == FINE_TUNED and body["labels"] == ["negative", "positive"]
    assert [r["label"] for r in body["results"]][::2] == ["positive", "negative"]
    for text, res in zip(texts, body["results"]):
        assert res["unknown_tokens"] == 0 and res["evidence"]
        spans = [(e["token_start"], e["token_end"]) for e in res["evidence"]]
        assert len(spans) == len(set(spans))
        for e in res["evidence"]:
            assert e["text"] == text[e["start"]:e["end"]] and e["width"] == max(e["widths"])
        assert res["bias"] + sum(e["contribution"] for e in res["evidence"]) == pytest.approx(res["logit"], abs=1e-6)
    one = client.post("/v1/classify", json={"text": texts[1], "model": FINE_TUNED}).json()["results"][0]
    assert one["logit"] == pytest.approx(body["results"][1]["logit"], abs=1e-4)
    d = client.get(f"/v1/models/{FINE_TUNED}").json()
    enc = d["encoder"]
    assert enc["name"] == "sentence-transformers/all-MiniLM-L6-v2" and enc["fine_tuned_layers"]
    rows = d["summary"]["layers"]
    assert rows[0]["parameters"] == 0 and not rows[0]["trainable"]  # the shared encoder: not part of the artifact
    assert "own fine-tuned copy" in rows[1]["name"] and rows[1]["parameters"] > 1_000_000
    assert d["summary"]["total"] == sum(layer["parameters"] for layer in rows)
    assert d["metrics"]["test"]["accuracy"] >= 0.8 and d["data_card"]["vectors"]["fine_tuned_layers"]
