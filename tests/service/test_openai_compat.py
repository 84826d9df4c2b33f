"""OpenAI compatibility (issue 17, point 2): the list and retrieve shapes of /v1/models, OpenAI's
``error`` member beside the problem document. Real HTTP through the app with the shipped models
(the session's ``client``)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings

PROBLEM = "application/problem+json"


def test_models_list_has_openai_shape_beside_lexiflows(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    names = [str(m["name"]) for m in body["models"]]
    assert [d["id"] for d in body["data"]] == list(dict.fromkeys(names))  # every name once, in order
    for d in body["data"]:
        assert d["object"] == "model" and isinstance(d["created"], int) and d["created"] > 1_700_000_000
        assert d["owned_by"] == (d["id"].split("/")[0] if "/" in d["id"] else "lexiflow")
    assert any("/" in d["id"] for d in body["data"])  # the encoder's id has a slash


def test_models_retrieve_with_a_slash_in_the_id(client):
    encoder = next(m for m in client.get("/v1/models").json()["models"] if m.get("kind") == "contextual")
    name = encoder["name"]
    assert "/" in name
    for path in (f"/v1/models/{name}", f"/v1/models/{quote(name, safe='')}"):  # raw, and as the SDK sends it
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert (body["id"], body["object"], body["name"]) == (name, "model", name)
        assert body["owned_by"] == name.split("/")[0] and isinstance(body["created"], int)


def test_openai_routes_carry_an_error_member_beside_the_problem(client):
    r = client.get("/v1/models/no-such-model")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == "/problems/unknown-model" and body["detail"]
    assert body["error"] == {"message": body["detail"], "type": "not_found_error", "param": None,
                             "code": "model_not_found"}
    r = client.post("/v1/embeddings", json={"input": []})
    body = r.json()
    assert r.status_code == 422 and body["error"]["param"] == "input"
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"] == body["detail"]
    # middleware answers too (no route ran): a body that is not JSON
    r = client.post("/v1/embeddings", content=b'{"input": "x"}')
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_native_routes_keep_the_plain_problem(client):
    r = client.post("/v1/embeddings/contextual", json={"text": []})
    assert r.status_code == 422 and "error" not in r.json()
    assert "error" not in client.post("/v1/tokenize", json={}).json()


def test_error_member_while_loading():
    r = TestClient(create_app(Settings())).get("/v1/models")
    assert r.status_code == 503 and r.json()["error"]["type"] == "server_error"


# ----- /v1/embeddings: token ids, many inputs bounded by tokens, the model's sentence length -----------
import numpy as np  # noqa: E402


def _vectors(r) -> np.ndarray:  # noqa: ANN001
    assert r.status_code == 200, r.text
    return np.array([d["embedding"] for d in r.json()["data"]])


def test_token_id_input_embeds_like_the_text(client):
    texts = ["The bank raised interest rates.", "We sat on the river bank."]
    ids = [r["input_ids"] for r in client.post("/v1/tokenize", json={"text": texts}).json()["results"]]
    by_text = _vectors(client.post("/v1/embeddings", json={"input": texts}))
    by_ids = _vectors(client.post("/v1/embeddings", json={"input": ids}))  # with [CLS]/[SEP]
    bare = _vectors(client.post("/v1/embeddings", json={"input": [i[1:-1] for i in ids]}))  # without
    one = _vectors(client.post("/v1/embeddings", json={"input": ids[0][1:-1]}))  # one sequence: a flat list
    assert np.allclose(by_text, by_ids, atol=1e-5) and np.allclose(by_text, bare, atol=1e-5)
    assert np.allclose(by_text[:1], one, atol=1e-5)
    usage = client.post("/v1/embeddings", json={"input": ids}).json()["usage"]
    assert usage["prompt_tokens"] == sum(len(i) for i in ids)


@pytest.mark.parametrize("bad, where", [
    ([True, False], "input"),  # booleans are not token ids
    ([101, "bank"], "input"),
    ([[101, 2924], "bank"], "input"),
    ([[]], "input"),
    ([-1, 5], "input"),
])
def test_bad_token_id_input_is_422(client, bad, where):
    r = client.post("/v1/embeddings", json={"input": bad})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == where


def test_unknown_token_id_names_the_vocabulary(client):
    r = client.post("/v1/embeddings", json={"input": [[101, 30522, 102]]})
    body = r.json()
    assert r.status_code == 422 and body["type"] == "/problems/unknown-token-id"
    assert (body["limit"], body["given"]) == (30521, 30522)


def test_many_inputs_are_bounded_by_tokens_not_count(client):
    texts = [f"Sentence number {i} is about the bank." for i in range(300)]  # over the old cap of 128
    vectors = _vectors(client.post("/v1/embeddings", json={"input": texts}))
    assert vectors.shape == (300, 384)
    assert np.allclose(vectors[7], _vectors(client.post("/v1/embeddings", json={"input": texts[7]}))[0], atol=1e-5)
    long = ["bank " * 66] * 2048  # 68 tokens each with [CLS]/[SEP]: 139,264 in all
    r = client.post("/v1/embeddings", json={"input": long})
    body = r.json()
    assert r.status_code == 422 and body["type"] == "/problems/too-many-tokens-total", body
    assert (body["limit"], body["given"]) == (131_072, 2048 * 68)
    assert "LEXIFLOW_MAX_TOTAL_TOKENS" in body["detail"] and body["error"]["code"] == "too_many_tokens_total"
    r = client.post("/v1/embeddings", json={"input": ["x"] * 2049})
    assert r.status_code == 422 and r.json()["limit"] == 2048


def test_default_length_is_the_models_sentence_length(client, real_encoder):
    from pipelines import LayerChoice

    text = " ".join(["the bank by the river raised its rates"] * 40)  # about 320 tokens
    r = client.post("/v1/embeddings", json={"input": text})
    body = r.json()
    assert r.status_code == 422 and body["type"] == "/problems/too-many-tokens" and body["limit"] == 256
    assert '"truncate": true' in body["detail"] and '"max_length"' in body["detail"]
    assert "longest_first" not in body["detail"] and "truncation" not in body["detail"]
    cut = client.post("/v1/embeddings", json={"input": [text, "short"], "truncate": True}).json()
    assert cut["max_length"] == 256 and cut["truncated"] == [0]
    # what sentence-transformers computes: the first 254 wordpieces with [CLS]/[SEP], mean-pooled, normalised
    (st,) = real_encoder.encode([text], max_length=256, truncation="longest_first")
    want = real_encoder.pool(st, LayerChoice(-1), "mean")
    got = np.array(cut["data"][0]["embedding"])
    assert np.dot(got, want / np.linalg.norm(want)) > 0.99999
    more = client.post("/v1/embeddings", json={"input": text, "max_length": 512}).json()
    assert more["max_length"] == 512 and more["truncated"] == [] and more["usage"]["prompt_tokens"] > 256
    short = client.post("/v1/embeddings", json={"input": "short"}).json()
    assert short["max_length"] == 256 and short["truncated"] == []


def test_each_routes_too_many_tokens_hint_names_its_own_option(client):
    text = " ".join(["the bank by the river raised its rates"] * 70)  # over 512 tokens
    contextual = client.post("/v1/embeddings/contextual", json={"text": text}).json()
    assert contextual["type"] == "/problems/too-many-tokens" and "truncation" in contextual["detail"]
    tokenize = client.post("/v1/tokenize", json={"text": text}).json()
    assert "truncation" in tokenize["detail"]
    openai = client.post("/v1/embeddings", json={"input": text}).json()
    assert "truncate" in openai["detail"] and "truncation" not in openai["detail"]


# ----- strict inputs (point 5) ---------------------------------------------------------------------------
@pytest.mark.parametrize("path, body", [
    ("/v1/tokenize", {"text": "hi", "max_length": True}),
    ("/v1/embeddings/contextual", {"text": "hi", "normalize": 1}),
    ("/v1/embeddings/contextual", {"text": "hi", "layer": False}),
    ("/v1/embeddings", {"input": "hi", "truncate": 0}),
    ("/v1/translate", {"text": "I am hungry.", "return_attention": 0}),
    ("/v1/translate", {"text": "I am hungry.", "beam_size": True}),
    ("/v1/embeddings/static", {"words": ["bank"], "neighbours": True}),
    ("/v1/tokenize", {"text": "hi", "max_length": "8"}),
])
def test_booleans_are_never_numbers_nor_numbers_booleans(client, path, body):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/validation-error"


@pytest.mark.parametrize("path, body, says", [
    ("/v1/embeddings/contextual", {"text": "hi", "layer": -2, "mean_last": 4}, "not both"),
    ("/v1/embeddings/contextual", {"text": "hi", "pooling": "mean", "granularity": "words"}, "pooling none"),
    ("/v1/translate", {"text": "I am hungry.", "beam_size": 1, "length_penalty": 0.6}, "greedy"),
])
def test_contradicting_options_are_422(client, path, body, says):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"]


def test_compatible_options_still_work(client):
    assert client.post("/v1/embeddings/contextual", json={"text": "hi", "mean_last": 4}).status_code == 200
    assert client.post("/v1/embeddings/contextual", json={"text": "hi", "pooling": "none",
                                                          "granularity": "words", "layer": -2}).status_code == 200
    assert client.post("/v1/tokenize", json={"text": "hi", "max_length": 8}).status_code == 200
    assert client.post("/v1/attention", json={"query": [1, 0], "keys": [[1, 0]]}).status_code == 200  # int -> float


def test_error_member_on_auth_failures():
    app = create_app(Settings(api_keys=["a-key-of-sixteen-chars-or-more"]))
    c = TestClient(app, raise_server_exceptions=False)
    r = c.post("/v1/embeddings", json={"input": "x"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = c.post("/v1/embeddings", json={"input": "x"}, headers={"Authorization": "Bearer wrong-key-wrong-key-1"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    assert "error" not in c.post("/v1/tokenize", json={"text": "x"}).json()  # a native route: no member
