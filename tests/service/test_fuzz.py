"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis).

Every operation that ``/openapi.json`` documents is exercised in-process (schemathesis' ASGI
client against the app: no socket, no server) with requests generated from the served schema:
its examples, boundary and type-confusion cases (the coverage phase) and random valid and
invalid bodies (the fuzzing phase, positive and negative modes). Every response must hold to:

* no 5xx, ever (``not_a_server_error``);
* every 4xx (and 5xx) is ``application/problem+json`` with non-empty string ``type``, ``title``
  and ``detail`` and an integer ``status`` equal to the HTTP status (``problem_json``, below);
* the status code is one the operation documents (``status_code_conformance``), with a documented
  content type (``content_type_conformance``) and headers (``response_headers_conformance``);
* the body matches the schema documented for that status: every 2xx conforms to its declared
  response model (``response_schema_conformance``).

No operation is excluded: every one in the schema is fuzzed (17 today, with HEAD /livez and
/readyz) (``/v1/classify`` answers 404
problem+json while ``artifacts/classifier/`` is empty, and that answer is checked too). The web
page ``/`` and ``/static`` are not in the schema (``include_in_schema=False``).

Two of schemathesis' checks are deliberately not run, and why:

* ``positive_data_acceptance`` (a schema-valid request must not get a 4xx): the API has rules that
  JSON Schema cannot state and that it documents as 422 (token counts against ``max_length``,
  a target word that must occur in every sentence, ``dimensions`` equal to the encoder's size,
  exactly one of ``words``/``text``, no control characters or lone surrogates in a text).
* ``negative_data_rejection`` (a schema-invalid request must get a 4xx): it was left off because
  pydantic's lax mode took 0/1 for booleans and booleans for numbers; the request models are
  strict now (``test_strict_scalars``), and turning this check on waits for a run that can judge
  its other findings.

Bounded and reproducible: a fixed seed, derandomized Hypothesis, no example database, and
``MAX_EXAMPLES`` random cases per operation (the coverage phase adds its deterministic cases).
The whole file runs in about 20 s (the shared ``client`` fixture's model loading included).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.python import asgi  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service import schemas  # noqa: E402
import tasks  # noqa: E402
from tasks import classify, embeddings, lemmatize, senses, tokenize, translate  # noqa: E402
from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402

MAX_EXAMPLES = 50
SEED = 20261125

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    # Reproductions must show the real request: fields named "keys" or "*token*" are not secrets here.
    "output": {"sanitization": {"enabled": False}},
})

# An app with the settings of the ``client`` fixture (tests/conftest.py), for its schema only:
# building an app is cheap, its models load in its lifespan, which this one never runs.
APP = create_app(Settings(load_in_background=False))
SPEC: dict[str, Any] = json.loads(json.dumps(APP.openapi()))  # exactly what /openapi.json serves

schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)
schema.app = APP  # in-process ASGI transport; requests go to asgi_session's app (below)


@pytest.fixture(scope="module")
def asgi_session(client):
    """Requests go in-process to the ``client`` fixture's app (every shipped model, loaded once for
    the whole run) through schemathesis' ASGI client, so schemathesis never starts (and reloads)
    a lifespan of its own per operation."""
    yield asgi.ASGIClient(client.app)


def _header(response, name: str) -> str:  # noqa: ANN001
    value = response.headers.get(name.lower(), [""])
    return value[0] if isinstance(value, list) else value


def problem_json(ctx, response, case) -> None:  # noqa: ANN001 - schemathesis' check signature
    """Every error is an RFC 9457 problem document (the service's one error envelope)."""
    if response.status_code < 400:
        return
    ctype = _header(response, "content-type").split(";")[0].strip()
    assert ctype == "application/problem+json", (
        f"{response.status_code} answered with content-type {ctype!r}, not application/problem+json")
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    for field in ("type", "title", "detail"):
        assert isinstance(body.get(field), str) and body[field], f"problem document without a {field!r}: {body}"
    assert body.get("status") == response.status_code, f"status {body.get('status')!r} in the body: {body}"


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, problem_json]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, asgi_session):
    case.call_and_validate(session=asgi_session, checks=CHECKS)


# ----- what the fuzzing found, pinned as plain regression tests -------------------------------------
# The response model each route declares (each operation's ``response`` in tasks/*.py).
RESPONSE_MODELS = {
    ("post", "/v1/lemmatize"): lemmatize.LemmatizeResponse,
    ("post", "/v1/tokenize"): tokenize.TokenizeResponse,
    ("post", "/v1/embeddings"): embeddings.EmbeddingsResponse,
    ("post", "/v1/embeddings/contextual"): embeddings.ContextualResponse,
    ("post", "/v1/embeddings/static"): embeddings.StaticResponse,
    ("post", "/v1/senses/compare"): senses.SensesResponse,
    ("post", "/v1/senses/disambiguate"): senses.DisambiguateResponse,
    ("post", "/v1/classify"): classify.ClassifyResponse,
    ("post", "/v1/translate"): translate.TranslateResponse,
    ("post", "/v1/attention"): translate.AttentionResponse,
    ("get", "/v1/models/{name}"): schemas.ModelDetail,
}


def test_every_operation_is_fuzzed():
    """Every task operation of the registry, and the five service routes (health, metrics, models)."""
    ops = {(m, p) for p, o in SPEC["paths"].items() for m in o}
    task_ops = {("post", "/v1" + op.path) for op in tasks.operations()}
    service_ops = {("get", p) for p in ("/livez", "/readyz", "/metrics", "/v1/models", "/v1/models/{name}")}
    service_ops |= {("head", "/livez"), ("head", "/readyz")}
    assert ops == task_ops | service_ops, sorted(ops)
    assert len(task_ops) >= 10 and set(RESPONSE_MODELS) <= ops


@pytest.mark.parametrize(("method", "path"), sorted(RESPONSE_MODELS), ids=lambda v: str(v))
def test_openapi_documents_the_response_model(method, path):
    """Found by the fuzzing: FastAPI documents ``response_model`` only for a ``JSONResponse``
    subclass; a ``response_class`` deriving from the plain ``Response`` was documented as
    ``{"type": "string"}`` and every 2xx body "violated" it."""
    content = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    assert content["schema"] == {"$ref": f"#/components/schemas/{RESPONSE_MODELS[method, path].__name__}"}


@pytest.mark.parametrize(("path", "field"), [("/v1/embeddings", "model"), ("/v1/embeddings/static", "model"),
                                             ("/v1/senses/compare", "static_model")])
def test_unknown_model_404_is_documented(client, path, field):
    """Found by the fuzzing: these answered 404 unknown-model without declaring 404."""
    assert "404" in SPEC["paths"][path]["post"]["responses"]
    body = {"/v1/embeddings": {"input": "a bank", "model": "nope"},
            "/v1/embeddings/static": {"words": ["bank"], "model": "nope"},
            "/v1/senses/compare": {"target": "bank", "sentences": ["a bank", "the bank"], "static_model": "nope"}}[path]
    r = client.post(path, json=body)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["type"] == "/problems/unknown-model"


@pytest.mark.parametrize("x", [1e20, 1e38, 1e308, -1e308])
def test_attention_numbers_that_overflow_are_refused(client, x):
    """Found by the fuzzing: /v1/attention computes in float32; numbers the schema accepted overflowed,
    the softmax gave NaN and a 200 carried null weights and context (declared list[list[float]])."""
    r = client.post("/v1/attention", json={"query": [x, x], "keys": [[x, x], [1.0, 1.0]]})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text


def test_attention_at_the_declared_bound_is_finite(client):
    r = client.post("/v1/attention", json={"query": [1e6] * 4096, "keys": [[1e6] * 4096, [-1e6] * 4096],
                                           "scoring": "dot"})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert all(isinstance(v, float) for row in body["weights"] + body["context"] for v in row), body["weights"]


def test_strict_scalars(client):
    """The schema says boolean/number and the models hold to it: 0/1 is not a boolean and a
    boolean is not a number (pydantic's lax mode took both until issue 17)."""
    for body in ({"text": "I am hungry.", "return_attention": 0}, {"text": "I am hungry.", "beam_size": True},
                 {"text": "I am hungry.", "length_penalty": False}):
        r = client.post("/v1/translate", json=body)
        assert r.status_code == 422, (body, r.text)
    r = client.post("/v1/translate", json={"text": "I am hungry.", "return_attention": False, "beam_size": 1})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["attention"] is None