"""Locust users for bench/load_test.py (run by it; not imported by the service or the tests).

Two user classes, picked by name on locust's command line (``MixedUser`` or ``OverloadUser``):

* ``MixedUser``: a realistic mix of every endpoint with small and large bodies, each request
  named ``/v1/... [size]`` so the statistics come per endpoint and size. Tasks whose model is not
  loaded (``LOADTEST_TASKS``, from ``GET /v1/models``) are dropped, e.g. classify while
  ``artifacts/classifier/`` is empty.
* ``OverloadUser``: no think time, sentence-embedding batches only: far beyond what the encoder
  can take, to fill its bounded queue. A 429 counts as a success when it carries ``Retry-After``
  and ``application/problem+json``, as a failure otherwise.

Every response is checked: the expected status, and for errors the problem+json envelope; a
failure's message starts with its class (``5xx``, ``429``, ``4xx``, ``bad-body``) so the driver
can count them. Connection errors are recorded by locust itself (status 0).
"""

from __future__ import annotations

import json
import os
import random

from locust import between, constant, task
from locust.contrib.fasthttp import FastHttpUser

SENTENCES = [
    "The committee postponed its final decision until the engineers had finished testing the bridge.",
    "She was running late for the interview, so she hailed a taxi instead of waiting for the bus.",
    "Researchers discovered that certain bacteria can break down plastic bottles within weeks.",
    "After the storm had passed, the villagers gathered on the beach to collect the scattered wood.",
    "The company reported higher profits in the third quarter because of strong sales in Asia.",
    "He carefully unpacked the old photographs, wondering who the smiling strangers had been.",
    "Farmers in the valley worry that another dry summer will ruin the wheat harvest again.",
    "The detective noticed that the muddy footprints stopped abruptly near the river bank.",
    "Investors became nervous when the central bank hinted that interest rates might rise.",
    "The old lighthouse keeper climbed the spiral staircase every evening before sunset.",
    "Children who read for pleasure every day tend to develop richer vocabularies.",
    "The city council voted to turn the abandoned railway line into a park with cycling paths.",
    "We had a picnic on the grassy bank of the river and watched the boats go by.",
    "I deposited my salary at the bank this morning and paid the rent.",
    "The striped bats were hanging on their feet and ate best fishes.",
    "Where is the station? I am hungry. Tom likes cats.",
]
SHORT_EN = ["I am hungry.", "Where is the station?", "Tom likes cats.", "It is raining.", "I love you.",
            "We are late.", "She is a teacher.", "Open the door."]
QUESTIONS = ["How far is it from Denver to Aspen?", "Who wrote Hamlet?", "What is the capital of Peru?",
             "When did the war end?", "Why is the sky blue?"]
WORDS = ["bank", "river", "money", "king", "queen", "zzqxjw", "running", "paris", "computer", "music"]

PROBLEM = "application/problem+json"
TASKS = set(json.loads(os.environ.get("LOADTEST_TASKS", '["lemmatize","tokenize","embeddings","senses",'
                                                        '"classify","translate"]')))


def _pick(k: int) -> list[str]:
    return random.sample(SENTENCES, k) if k <= len(SENTENCES) else random.choices(SENTENCES, k=k)


def _post(user: FastHttpUser, path: str, size: str, body: dict, ok: tuple[int, ...] = (200,)) -> None:
    with user.client.post(path, json=body, name=f"{path} [{size}]", catch_response=True) as r:
        _judge(r, ok)


def _judge(r, ok: tuple[int, ...]) -> None:  # noqa: ANN001 - a locust response context
    status = r.status_code
    if status in ok:
        if status >= 400:  # an accepted error (429 in overload): it must be a well-formed problem
            ctype = (r.headers.get("content-type") or "").split(";")[0]
            if ctype != PROBLEM:
                r.failure(f"bad-body: {status} with content-type {ctype!r}")
                return
            if status == 429 and not (r.headers.get("retry-after") or "").isdigit():
                r.failure("429 without a Retry-After in seconds")
                return
            # counted on its own row (the request's name + " → 429"): the tables then give the
            # exact numbers of answered and refused requests, as the client saw them
            r.request_meta["name"] = f"{r.request_meta['name']} → {status}"
        r.success()
        return
    if status == 0:
        return  # a connection error: locust has recorded it already
    kind = "5xx" if status >= 500 else ("429" if status == 429 else "4xx")
    r.failure(f"{kind}: HTTP {status} {(r.text or '')[:200]}")


# --- the mix: (task, weight, request); per 39 requests of a user about 16 small lemmatize/tokenize,
# 2 large batches of each, 5+1+1+2 embeddings, 1 senses, 4 translate, 1 /readyz (+3 classify)
def lemmatize_small(user: FastHttpUser) -> None:
    _post(user, "/v1/lemmatize", "small", {"text": random.choice(SENTENCES)})


def lemmatize_large(user: FastHttpUser) -> None:  # a 64-text batch (~6 kB), either engine
    _post(user, "/v1/lemmatize", "large", {"text": _pick(64), "engine": random.choice(["rule", "lookup"])})


def lemmatize_document(user: FastHttpUser) -> None:  # one ~6,000-character document
    _post(user, "/v1/lemmatize", "document", {"text": " ".join(_pick(64))})


def tokenize_small(user: FastHttpUser) -> None:
    a, b = _pick(2)
    _post(user, "/v1/tokenize", "small", {"text": a, "text_pair": b, "align_with": "spacy"})


def tokenize_large(user: FastHttpUser) -> None:  # 64 pairs, cut to 64 tokens and padded
    _post(user, "/v1/tokenize", "large", {"text": _pick(64), "text_pair": _pick(64), "max_length": 64,
                                          "truncation": "longest_first", "padding": "longest"})


def embeddings_small(user: FastHttpUser) -> None:
    _post(user, "/v1/embeddings", "small", {"input": random.choice(SENTENCES)})


def embeddings_large(user: FastHttpUser) -> None:  # a 32-text batch, base64
    _post(user, "/v1/embeddings", "large", {"input": _pick(32), "encoding_format": "base64"})


def contextual_words(user: FastHttpUser) -> None:
    _post(user, "/v1/embeddings/contextual", "small",
          {"text": random.choice(SENTENCES), "pooling": "none", "granularity": "words"})


def static_words(user: FastHttpUser) -> None:
    _post(user, "/v1/embeddings/static", "small",
          {"words": random.sample(WORDS, 4), "neighbours": 5, "include_vectors": False})


def senses(user: FastHttpUser) -> None:
    _post(user, "/v1/senses/compare", "small", {"target": "bank", "sentences": [
        "I deposited my salary at the bank this morning.", "The bank raised its interest rates again.",
        "We had a picnic on the grassy bank of the river.", "The fisherman sat on the muddy bank."]})


def classify_small(user: FastHttpUser) -> None:
    _post(user, "/v1/classify", "small", {"text": random.choice(QUESTIONS)})


def classify_large(user: FastHttpUser) -> None:
    _post(user, "/v1/classify", "large", {"text": random.choices(QUESTIONS, k=64), "top_k": 3})


def translate_greedy(user: FastHttpUser) -> None:
    _post(user, "/v1/translate", "small", {"text": random.choice(SHORT_EN), "beam_size": 1})


def translate_beam(user: FastHttpUser) -> None:  # 8 texts, beam 5, with attention matrices
    _post(user, "/v1/translate", "large", {"text": random.sample(SHORT_EN, 8), "beam_size": 5,
                                           "return_attention": True})


def readyz(user: FastHttpUser) -> None:  # as a load balancer would poll it
    with user.client.get("/readyz", name="/readyz", catch_response=True) as r:
        _judge(r, (200,))


MIX = [
    ("lemmatize", 6, lemmatize_small), ("lemmatize", 1, lemmatize_large), ("lemmatize", 1, lemmatize_document),
    ("tokenize", 6, tokenize_small), ("tokenize", 1, tokenize_large),
    ("embeddings", 5, embeddings_small), ("embeddings", 1, embeddings_large), ("embeddings", 1, contextual_words),
    ("embeddings", 2, static_words), ("senses", 1, senses),
    ("classify", 2, classify_small), ("classify", 1, classify_large),
    ("translate", 3, translate_greedy), ("translate", 1, translate_beam),
    ("health", 1, readyz),
]


class MixedUser(FastHttpUser):
    """Roughly what an application does: mostly small requests, some large batches. Tasks whose
    model is not loaded (LOADTEST_TASKS) are left out of the mix."""

    wait_time = between(0.05, 0.5)
    network_timeout = 60.0
    connection_timeout = 10.0
    tasks = {fn: weight for name, weight, fn in MIX if name in TASKS or name == "health"}


class OverloadUser(FastHttpUser):
    """Sentence-embedding batches as fast as possible: a 429 with Retry-After is the expected answer."""

    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 10.0

    @task
    def embeddings(self) -> None:
        _post(self, "/v1/embeddings", "batch 8", {"input": _pick(8)}, ok=(200, 429))
