"""Translation, attention and model details through the real app and the shipped seq2seq model."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from tasks.translate import AttentionResponse, TranslateResponse

PROBLEM = "application/problem+json"


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


# ----- /v1/attention: the computation itself ---------------------------------------------------------
def test_attention_worked_example(client):
    r = client.post("/v1/attention", json={"query": [10, 5, 10], "keys": [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]]})
    body = AttentionResponse.model_validate(r.json()).model_dump()
    assert body["scores"] == [[15.0, 60.0, 15.0, 35.0]]
    assert body["scale"] == 1.0
    assert abs(sum(body["weights"][0]) - 1) < 1e-6 and max(body["weights"][0]) == body["weights"][0][1]
    assert all(abs(a - b) < 1e-6 for a, b in zip(body["context"][0], [5, 0, 1]))


def test_attention_scaled_and_masked_against_hand_computation(client):
    q, keys, values = [1.0, 2.0], [[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]], [[1.0], [2.0], [100.0]]
    body = client.post("/v1/attention", json={"query": q, "keys": keys, "values": values, "scale": True,
                                              "mask": [True, True, False]}).json()
    raw = [sum(a * b for a, b in zip(q, k)) / math.sqrt(2) for k in keys[:2]]
    e = [math.exp(x - max(raw)) for x in raw]
    w = [x / sum(e) for x in e]
    assert body["scores"][0][2] is None  # masked: never attended
    assert body["weights"][0][2] == 0.0
    assert all(abs(a - b) < 1e-6 for a, b in zip(body["weights"][0][:2], w))
    assert abs(body["context"][0][0] - (w[0] * 1 + w[1] * 2)) < 1e-5
    assert abs(body["scale"] - math.sqrt(2)) < 1e-12


def test_attention_several_queries(client):
    body = client.post("/v1/attention", json={"query": [[1, 0], [0, 1]], "keys": [[5, 0], [0, 5]]}).json()
    assert len(body["weights"]) == 2 and body["weights"][0][0] > 0.99 and body["weights"][1][1] > 0.99


@pytest.mark.parametrize("payload", [
    {"query": [1, 2], "keys": [[1, 2, 3]]},
    {"query": [1, 2], "keys": [[1, 2]], "values": [[1], [2]]},
    {"query": [1, 2], "keys": [[1, 2], [3, 4]], "mask": [False, False]},
    {"query": [1, 2], "keys": [[1, 2]], "mask": [True, True]},
    {"query": [], "keys": [[1]]},
    {"query": [1], "keys": [[1]] * 5000},
])
def test_attention_bad_shapes_are_422(client, payload):
    problem(client.post("/v1/attention", json=payload), 422)


# ----- /v1/translate -------------------------------------------------------------------------------
def test_translate_batch_with_attention(client):
    r = client.post("/v1/translate", json={"text": ["I am hungry.", "Where is the station?"], "return_attention": True})
    body = TranslateResponse.model_validate(r.json()).model_dump()
    assert body["model"] == "en-es-attn" and body["beam_size"] == 5
    first = body["results"][0]
    assert "hambr" in first["text"].lower()  # hambre or hambriento
    for res in body["results"]:
        att = res["attention"]
        assert len(att) in (len(res["tokens"]), len(res["tokens"]) + 1)
        assert all(len(row) == len(res["source_tokens"]) for row in att)
        assert all(abs(sum(row) - 1) < 1e-4 for row in att)
        assert len(res["attention_entropy"]) == len(att)
        assert all(0 <= h <= math.log(len(res["source_tokens"])) + 1e-6 for h in res["attention_entropy"])
        assert all(res["source"][t["start"]:t["end"]] == t["text"] for t in res["source_tokens"])
        assert all(res["source"][t["start"]:t["end"]] == t["text"] for t in res["source_pieces"])
        assert len(res["piece_attention"]) == len(res["pieces"])
        assert all(len(row) == len(res["source_pieces"]) for row in res["piece_attention"])
        assert res["warnings"] == [] and res["low_score"] is False


def test_translate_batch_equals_one_by_one(client):
    texts = ["Tom is my friend.", "It is raining.", "I don't know."]
    batch = client.post("/v1/translate", json={"text": texts, "beam_size": 1}).json()["results"]
    single = [client.post("/v1/translate", json={"text": t, "beam_size": 1}).json()["results"][0] for t in texts]
    assert [b["text"] for b in batch] == [s["text"] for s in single]


def test_translate_limits_and_options(client):
    body = problem(client.post("/v1/translate", json={"text": "The " + "word " * 149}), 422)
    assert body["limit"] == 100 and body["given"] == 150
    assert problem(client.post("/v1/translate", json={"text": "hi", "beam_size": 99}), 422)
    assert problem(client.post("/v1/translate", json={"text": "hi", "model": "nope"}), 404)
    short = client.post("/v1/translate", json={"text": "I am hungry.", "max_length": 1, "beam_size": 1}).json()
    assert len(short["results"][0]["tokens"]) <= 1 and short["results"][0]["finished"] is False


def test_unseen_names_are_read_as_pieces_and_never_unk(client):
    res = client.post("/v1/translate", json={"text": "Zorglub is here."}).json()["results"][0]
    assert res["source_tokens"][0] == {"text": "Zorglub", "start": 0, "end": 7, "known": True}
    assert "<unk>" not in res["text"] and len(res["source_pieces"]) >= len(res["source_tokens"])


@pytest.mark.parametrize("text,code", [
    ("?!...", "no-letters"),
    ("\U0001F600\U0001F600", "unseen-characters"),
    ("東京は大きい。", "unseen-characters"),
    (" ".join(["The old man walked slowly along the river."] * 4), "long-input"),
])
def test_doubtful_inputs_get_a_translation_with_a_warning(client, text, code):
    r = client.post("/v1/translate", json={"text": text, "beam_size": 2})
    assert r.status_code == 200, r.text
    res = TranslateResponse.model_validate(r.json()).results[0]
    assert code in [w.code for w in res.warnings]


def test_long_input_warning_says_the_limit(client):
    text = " ".join(["The old man walked slowly along the river."] * 4)
    res = client.post("/v1/translate", json={"text": text, "beam_size": 1}).json()["results"][0]
    [w] = [w for w in res["warnings"] if w["code"] == "long-input"]
    assert w["given"] == 32 and w["limit"] == 20 and "20 words" in w["message"]


def test_decoding_options_are_validated_and_used(client):
    assert problem(client.post("/v1/translate", json={"text": "hi", "no_repeat_ngram": 9}), 422)
    assert problem(client.post("/v1/translate", json={"text": "hi", "coverage_penalty": -1}), 422)
    a = client.post("/v1/translate", json={"text": "I think that I think that I am.", "no_repeat_ngram": 1,
                                            "beam_size": 1}).json()["results"][0]
    assert len(a["pieces"]) == len(set(a["pieces"]))   # no piece twice
    plain = client.post("/v1/translate", json={"text": "Svetlana called me.", "copy_names": False}).json()
    fixed = client.post("/v1/translate", json={"text": "Svetlana called me."}).json()["results"][0]
    copied = [w for w in fixed["warnings"] if w["code"] == "name-copied"]
    assert ("Svetlana" in fixed["text"]) or not copied
    assert all(w["code"] != "name-copied" for w in plain["results"][0]["warnings"])


def test_heatmap_is_well_formed_svg(client):
    r = client.post("/v1/translate/heatmap", json={"text": "I am <hungry> & tired."})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)  # escaped text: parses as XML
    cells = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("stroke")]
    tr = client.post("/v1/translate", json={"text": "I am <hungry> & tired.", "return_attention": True}).json()
    res = tr["results"][0]
    assert len(cells) == len(res["attention"]) * len(res["source_tokens"])
    r = client.post("/v1/translate/heatmap", json={"text": "I am <hungry> & tired.", "view": "pieces"})
    cells = [e for e in ET.fromstring(r.text).iter("{http://www.w3.org/2000/svg}rect") if e.get("stroke")]
    assert len(cells) == len(res["piece_attention"]) * len(res["source_pieces"])


# ----- /v1/models/{name} -------------------------------------------------------------------------
def test_model_details_and_unknown_model(client):
    detail = client.get("/v1/models/en-es-attn").json()
    assert detail["task"] == "translate" and detail["metrics"] and detail["data_card"]
    body = problem(client.get("/v1/models/no-such-model"), 404)
    assert body["given"] == "no-such-model"


@pytest.mark.parametrize("text", ["", "a" * 10_000, "word " * 2_000])
def test_empty_and_oversized_inputs_are_problems_not_500s(client, text):
    r = client.post("/v1/translate", json={"text": text})
    body = problem(r, 422)
    assert "limit" in body or "errors" in body
