"""Disambiguating one sentence with a warm cache: p50/p90 over 40 runs, and the encoder's forward pass
alone for scale (both move with the machine's load, printed before and after); then what a lemma's
first use costs: the first time a worker meets a lemma it encodes the glosses of all its senses,
their WordNet examples and the glosses of their nearest relatives (cached afterwards), timed here as
``Disambiguator.sense_vectors`` on a fresh cache for ten everyday nouns (1 thread).

    PYTHONPATH=$PWD python bench/wsd_latency.py
"""

import json
import os
import statistics
import time

import torch

torch.set_num_threads(1)
from evals.grouping import latency  # noqa: E402
from pipelines import load_pipelines  # noqa: E402
from service.settings import Settings  # noqa: E402

FIRST_USE = ("key", "fly", "deck", "coach", "cell", "crown", "port", "pit", "file", "bill")

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
print("load", os.getloadavg())
