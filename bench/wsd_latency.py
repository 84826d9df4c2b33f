"""Disambiguating one sentence with a warm cache: p50/p90 over 40 runs, and the encoder's forward pass
alone for scale (both move with the machine's load, printed before and after).

    PYTHONPATH=$PWD python bench/wsd_latency.py
"""

import json, torch, os
torch.set_num_threads(1)
from pipelines import load_pipelines
from service.settings import Settings
from evals.grouping import latency
p = load_pipelines(Settings(tasks=["senses"], lemmatize_engines=["rule"]).load_plan())
print("load", os.getloadavg())
for w, s in (("bank", "I deposited my salary at the bank this morning."), ("bass", "He plays the bass in a jazz band."), ("crane", "The crane lifted the steel beam onto the roof.")):
    print(json.dumps(latency(p.wsd, w, s, runs=40)))
print("load", os.getloadavg())
