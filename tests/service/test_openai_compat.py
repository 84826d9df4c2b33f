"""OpenAI compatibility (issue 17, point 2): the list and retrieve shapes of /v1/models, OpenAI's
``error`` member beside the problem document. Real HTTP through the app with the shipped models
(the session's ``client``)."""

from __future__ import annotations

from urllib.parse import quote

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
