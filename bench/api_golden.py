"""The HTTP answers themselves, byte for byte: record (status, content type, body) of 50 fixed requests
(every operation, errors included, and an app with small limits) with the shipped models, then
compare two recordings. The OpenAPI check (tests/service/test_openapi_stable.py) covers the
documented shape; this covers what is actually sent.

    PYTHONPATH=. python bench/api_golden.py record before.json     # on the old code
    PYTHONPATH=. python bench/api_golden.py record after.json      # on the new code
    PYTHONPATH=. python bench/api_golden.py compare before.json after.json

Used for issue 12 (the task layer): 0 of 50 answers differed (commit 713ed71 vs the redesign).
Floats come from torch: compare recordings made on the same machine and thread count.
"""
import json
import sys

import torch

torch.set_num_threads(1)
from fastapi.testclient import TestClient
from service.app import create_app
from service.settings import Settings, Limits

S = ["The striped bats were hanging on their feet and ate best fishes.", "I'm going to the bank."]
REQ = [
 ("post", "/v1/lemmatize", {"text": S[0]}),
 ("post", "/v1/lemmatize", {"text": S, "engine": "lookup"}),
 ("post", "/v1/lemmatize", {"text": "x", "engine": "nope"}),
 ("post", "/v1/lemmatize", {"text": ["a"] * 200}),
 ("post", "/v1/lemmatize", {"text": "bad \u0001"}),
 ("post", "/v1/tokenize", {"text": "The kids were playing.", "text_pair": "Who was playing?", "align_with": "spacy"}),
 ("post", "/v1/tokenize", {"text": ["a first text", "a second one unbelievable"], "max_length": 5, "truncation": "longest_first", "padding": "longest"}),
 ("post", "/v1/tokenize", {"text": "word " * 20, "max_length": 8}),
 ("post", "/v1/tokenize", {"text": "héllo [SEP] wörld ☃", "fields": ["input_ids", "attention_mask"], "split_special_tokens": True}),
 ("post", "/v1/tokenize", {"text": ["a", "b"], "text_pair": "c"}),
 ("post", "/v1/tokenize", {"text": "a", "max_length": 600}),
 ("post", "/v1/embeddings", {"input": ["The bank raised interest rates.", "We sat on the river bank."]}),
 ("post", "/v1/embeddings", {"input": "one sentence", "encoding_format": "base64"}),
 ("post", "/v1/embeddings", {"input": "one", "dimensions": 7}),
 ("post", "/v1/embeddings", {"input": "one", "model": "nope"}),
 ("post", "/v1/embeddings/contextual", {"text": "I sat on the bank.", "pooling": "none", "granularity": "words", "layer": -1}),
 ("post", "/v1/embeddings/contextual", {"text": "I sat on the bank.", "pooling": "none", "granularity": "tokens", "layer": 2, "normalize": True}),
 ("post", "/v1/embeddings/contextual", {"text": ["The bank raised rates."], "text_pair": ["Rates rose."], "pooling": "mean", "mean_last": 4}),
 ("post", "/v1/embeddings/contextual", {"text": "a b c d e f", "pooling": "cls", "max_length": 4, "truncation": "longest_first", "encoding_format": "base64"}),
 ("post", "/v1/embeddings/static", {"words": ["bank", "river", "Zzqxv"], "neighbours": 3}),
 ("post", "/v1/embeddings/static", {"text": "The bank by the river.", "include_vectors": False}),
 ("post", "/v1/embeddings/static", {"words": ["bank"], "model": "word2vec-wikitext2", "encoding_format": "base64"}),
 ("post", "/v1/embeddings/static", {"words": ["bank"], "text": "x"}),
 ("post", "/v1/embeddings/static", {"words": ["bank"], "model": "nope"}),
 ("post", "/v1/senses/compare", {"target": "bank", "sentences": ["I deposited the cheque at the bank.", "We had a picnic on the bank of the river.", "The bank raised its interest rates.", "Reeds grew along the muddy banks."]}),
 ("post", "/v1/senses/compare", {"target": "bank", "sentences": ["She works at the bank.", "They fished from the bank."], "examples": {"finance": ["The bank approved the loan."], "river": ["The river overflowed its bank."]}, "static_model": "glove-6b-50d", "neighbours": 3}),
 ("post", "/v1/senses/compare", {"target": "bank", "sentences": ["She works at the bank.", "No target here."]}),
 ("post", "/v1/classify", {"text": "How far is it from Denver to Aspen?"}),
 ("post", "/v1/classify", {"text": ["Who wrote Hamlet?", "What is the capital of Peru?"], "top_k": 3, "model": "trec-cnn"}),
 ("post", "/v1/classify", {"text": "great movie", "model": "mr-cnn", "top_k": 0}),
 ("post", "/v1/classify", {"text": "x", "model": "nope"}),
 ("post", "/v1/translate", {"text": "I am hungry.", "return_attention": True}),
 ("post", "/v1/translate", {"text": ["Where is the station?", "Tom likes cats."], "beam_size": 1}),
 ("post", "/v1/translate", {"text": "I am hungry.", "beam_size": 17}),
 ("post", "/v1/translate", {"text": " ".join(["cat"] * 150)}),
 ("post", "/v1/translate/heatmap", {"text": "I am hungry."}),
 ("post", "/v1/attention", {"query": [10, 5, 10], "keys": [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]]}),
 ("post", "/v1/attention", {"query": [[1, 0], [0, 1]], "keys": [[1, 0], [0, 1], [1, 1]], "scale": True, "mask": [True, True, False]}),
 ("post", "/v1/attention", {"query": [1, 0], "keys": [[1, 0, 2]]}),
 ("get", "/v1/models", None),
 ("get", "/v1/models/trec-cnn", None),
 ("get", "/v1/models/en-es-attn", None),
 ("get", "/v1/models/glove-6b-50d", None),
 ("get", "/v1/models/nope", None),
]
SMALL = [
 ("post", "/v1/lemmatize", {"text": ["a"] * 4}),
 ("post", "/v1/lemmatize", {"text": "eleven chars"}),
 ("post", "/v1/tokenize", {"text": ["abcdefghi", "abcdefghi"], "text_pair": ["abcdefghi", "abcdefghi"]}),
 ("post", "/v1/senses/compare", {"target": "bank", "sentences": ["bank"] * 4}),
 ("post", "/v1/translate", {"text": ["a"] * 4}),
 ("post", "/v1/embeddings/static", {"words": ["a"] * 4}),
]

def record(client, reqs):
    out = []
    for m, p, body in reqs:
        r = client.request(m, p, json=body, headers={"x-request-id": "golden"})
        out.append({"req": [m, p, body], "status": r.status_code, "ctype": r.headers.get("content-type"), "body": r.text})
    return out


def record_all(path):
    res = {}
    with TestClient(create_app(Settings(load_in_background=False)), raise_server_exceptions=False) as c:
        res["default"] = record(c, REQ)
    small = Settings(load_in_background=False, tasks=["lemmatize", "tokenize", "translate", "embeddings", "senses"],
                     limits=Limits(max_items=3, max_text_chars=10, max_total_chars=25))
    with TestClient(create_app(small), raise_server_exceptions=False) as c:
        res["small"] = record(c, SMALL)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    print(f"recorded {sum(len(v) for v in res.values())} answers in {path}")


def compare(before, after):
    with open(before, encoding="utf-8") as f:
        a = json.load(f)
    with open(after, encoding="utf-8") as f:
        b = json.load(f)
    diffs = [(k, x["req"][:2]) for k in a for x, y in zip(a[k], b[k]) if x != y]
    for k, req in diffs:
        print("differs:", k, *req)
    print(f"{len(diffs)} of {sum(len(v) for v in a.values())} answers differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["record"] and len(sys.argv) == 3:
        record_all(sys.argv[2])
    elif sys.argv[1:2] == ["compare"] and len(sys.argv) == 4:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
