"""Disambiguating one sentence with a warm cache: p50/p90 over 40 runs, and the encoder's forward pass
alone for scale (both move with the machine's load, printed before and after); then what a lemma's
first use costs: the first time a worker meets a lemma it encodes the glosses of all its senses,
their WordNet examples and the glosses of their nearest relatives (cached afterwards), timed here as
``Disambiguator.sense_vectors`` on a fresh cache for ten everyday nouns (1 thread); and with
``--cache-lemmas N``, the bytes of the arrays the sense cache holds for N seeded polysemous lemmas
(four senses or more), and those of the relatives' glosses every lemma shares.

    PYTHONPATH=$PWD python bench/wsd_latency.py [--cache-lemmas 300]
"""

import argparse
import json
import os
import random
import statistics
import time
from dataclasses import fields

import numpy as np

import torch

torch.set_num_threads(1)
from evals.grouping import latency  # noqa: E402
from pipelines import load_pipelines  # noqa: E402
from service.settings import Settings  # noqa: E402

FIRST_USE = ("key", "fly", "deck", "coach", "cell", "crown", "port", "pit", "file", "bill")

ap = argparse.ArgumentParser()
ap.add_argument("--cache-lemmas", type=int, default=0)
args = ap.parse_args()
p = load_pipelines(Settings(tasks=["senses"], lemmatize_engines=["rule"]).load_plan())
print("load", os.getloadavg())
for w, s in (("bank", "I deposited my salary at the bank this morning."), ("bass", "He plays the bass in a jazz band."),
             ("crane", "The crane lifted the steel beam onto the roof.")):
    print(json.dumps(latency(p.wsd, w, s, runs=40)))
first = {}
for w in FIRST_USE:
    t0 = time.perf_counter()
    sv = p.wsd.sense_vectors(w)
    first[w] = {"ms": round((time.perf_counter() - t0) * 1000, 1), "senses": len(sv.senses)}
print(json.dumps({"first_use": first, "first_use_p50_ms": round(statistics.median(v["ms"] for v in first.values()), 1),
                  "first_use_max_ms": max(v["ms"] for v in first.values())}))
if args.cache_lemmas:
    inv = p.wsd.inventory
    lemmas = sorted(w for w in inv.lemmas() if "_" not in w and len(inv.senses(w)) >= 4)
    random.Random(0).shuffle(lemmas)
    lemmas = lemmas[: args.cache_lemmas]
    p.wsd.cache_size = max(p.wsd.cache_size, len(lemmas) + len(FIRST_USE))
    for w in lemmas:
        p.wsd.sense_vectors(w)

    def nbytes(x) -> int:  # noqa: ANN001
        return x.nbytes if isinstance(x, np.ndarray) else sum(map(nbytes, x)) if isinstance(x, tuple) else 0

    held = {f.name: 0 for f in fields(p.wsd.sense_vectors(lemmas[0]))}
    for w in lemmas:
        sv = p.wsd.sense_vectors(w)
        for f in held:
            held[f] += nbytes(getattr(sv, f))
    print(json.dumps({"cache_lemmas": len(lemmas), "senses": sum(len(inv.senses(w)) for w in lemmas),
                      "cached_arrays_mb": round(sum(held.values()) / 2**20, 1),
                      "by_field_mb": {k: round(v / 2**20, 1) for k, v in held.items() if v},
                      "shared_relatives_mb": round(sum(v.nbytes for v in p.wsd._related.values()) / 2**20, 1)}))
print("load", os.getloadavg())
