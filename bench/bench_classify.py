#!/usr/bin/env python
"""Classifier throughput, in-process and via the API, for every shipped classifier side by side
(the GloVe CNNs and the contextual CNNs, whose cost includes the encoder's forward pass).

  PYTHONPATH=. python bench/bench_classify.py                       # every artifacts/classifier model
  PYTHONPATH=. python bench/bench_classify.py --models trec-cnn trec-minilm-cnn --batch 64

Starts the real service (`python -m lexiflow serve`, 1 worker, tasks=classify only, 127.0.0.1)
and, in this process, the same classifiers (the contextual ones sharing one encoder, as the
service does). Sends batches of TREC-style questions (`--batch` per request, top 5 evidence),
alternating in-process and API calls in rounds (bench_api.run_interleaved) so that background
load hits both alike, and checks that both sides give the same labels first. Prints sentences/s
per model and side and the API / in-process ratio, and also sentences per CPU-second (this
process's CPU time for the in-process side, the server process's for the API side, from
/proc): on a machine shared with other jobs the wall-clock rates fall with the load, the
CPU-time rates much less.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from bench_api import Side, run_interleaved, stop_server, wait_ready  # noqa: E402
from common import free_port, machine  # noqa: E402

# 64 questions written for this benchmark: plain and contracted, short and long, all six TREC types.
QUESTIONS = [
    "Who wrote the novel Pride and Prejudice?", "What's the boiling point of water at sea level?",
    "Where is the headquarters of the United Nations?", "How many moons does Jupiter have?",
    "Why do leaves change color in the autumn?", "What does the abbreviation UNESCO stand for?",
    "Who's the lead singer of the band that recorded Bohemian Rhapsody?", "When did the first man walk on the Moon?",
    "What is the largest desert in the world?", "How long does it take light to travel from the Sun to the Earth?",
    "What kind of animal is a Komodo dragon?", "Which city hosted the 1992 Summer Olympics?",
    "What's the difference between a virus and a bacterium?", "How much does an adult blue whale weigh?",
    "Who painted the Mona Lisa?", "Where's the oldest university in Europe?",
    "What language do they speak in Brazil?", "Why can't humans breathe underwater?",
    "What is the chemical symbol for gold?", "How far is Mars from the Sun?",
    "Who discovered penicillin, and in what year?", "What's the tallest mountain in North America?",
    "What does a geologist study?", "How old was Mozart when he wrote his first symphony?",
    "Which planet has the most rings?", "What is the currency of Japan?",
    "Who was the first woman to win a Nobel Prize?", "Where do polar bears live in the wild?",
    "What's the main ingredient of guacamole?", "How many players are on a soccer team?",
    "What does DNA stand for?", "Why is the Dead Sea called dead?",
    "Who invented the printing press?", "What's the longest river in Asia?",
    "What sport is played at Wimbledon?", "How deep is the Mariana Trench?",
    "Who is the author of the Harry Potter books?", "Where was Napoleon born?",
    "What is the speed of sound?", "What's a synonym for happy?",
    "When does the Chinese New Year start?", "What musical instrument has 88 keys?",
    "How do bees make honey?", "Who's on the one-dollar bill?",
    "What country is famous for tulips and windmills?", "How many calories are in a banana?",
    "What is the capital of Australia?", "Why don't oil and water mix?",
    "What's the name of the ship that sank in 1912 after hitting an iceberg?", "Who composed the Four Seasons?",
    "Where's the Taj Mahal?", "What does CPU stand for in computing?",
    "How hot is the surface of the Sun?", "What type of tree produces acorns?",
    "Who was the Greek god of the sea?", "What's the population of Canada?",
    "What is the hardest natural substance?", "How did the dinosaurs become extinct?",
    "Which ocean is the largest?", "What's the fastest bird in the world?",
    "Who directed the film Jaws?", "What year did the Second World War end?",
    "What is the smallest country in the world?", "How are rainbows formed?",
]


def batch_of(k: int, size: int) -> list[str]:
    start = (k * 13) % len(QUESTIONS)
    return [QUESTIONS[(start + i) % len(QUESTIONS)] for i in range(size)]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), children excluded."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(port: int, log_path: Path, classifiers: dict[str, str], threads: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEXIFLOW_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"LEXIFLOW_HOST": "127.0.0.1", "LEXIFLOW_PORT": str(port), "LEXIFLOW_WORKERS": "1",
                "LEXIFLOW_TASKS": json.dumps(["classify"]), "LEXIFLOW_TORCH_THREADS": str(threads), "LEXIFLOW_CLASSIFIERS": json.dumps(classifiers),
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "lexiflow", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def main(argv: list[str] | None = None) -> int:
    from pipelines import TextClassifier, discover_artifacts
    from pipelines.loading import ARTIFACTS_DIR, ENCODER_NAME, default_encoder_path, set_torch_threads

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="*", default=None, help="classifier names (default: every shipped one)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--requests", type=int, default=40, help="timed requests per side and model")
    p.add_argument("--budget", type=float, default=40.0, help="seconds per model, both sides together")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads, in-process and in the server (1: two threads collapse when the cores are shared)")
    args = p.parse_args(argv)
    found = {k: str(v) for k, v in discover_artifacts(ARTIFACTS_DIR / "classifier", "classifier").items()}
    names = args.models or list(found)
    classifiers = {n: found[n] for n in names}
    load_start = os.getloadavg()
    port = free_port()
    fd, log_name = tempfile.mkstemp(prefix="lexiflow-bench-classify-", suffix=".log")
    os.close(fd)
    proc = start_server(port, Path(log_name), classifiers, args.threads)
    rows = []
    try:
        set_torch_threads(args.threads)
        encoder = None
        if any(TextClassifier.needs_encoder(f) for f in classifiers.values()):
            from importlib import metadata

            from pipelines.embeddings.contextual import ContextualEncoder
            from pipelines.loading import ENCODER_PACKAGE

            encoder = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME,
                                             version=metadata.version(ENCODER_PACKAGE))
        local = {n: TextClassifier.load(f, name=n, encoder=encoder) for n, f in classifiers.items()}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120, trust_env=False,
                          headers={"content-type": "application/json"}) as client:
            wait_ready(client, proc, Path(log_name))
            for name, clf in local.items():
                bodies = {k: json.dumps({"text": batch_of(k, args.batch), "top_k": 5, "model": name}).encode()
                          for k in range(len(QUESTIONS))}
                api_labels = [r["label"] for r in client.post("/v1/classify", content=bodies[0]).json()["results"]]
                if api_labels != [c.label for c in clf.classify(batch_of(0, args.batch), top_k=5)]:
                    raise RuntimeError(f"{name}: the API's labels differ from the in-process classifier's")

                cpu = {"in-process": 0.0, "API": 0.0}

                def api_call(k: int, name: str = name) -> None:
                    c0 = cpu_seconds(proc.pid)
                    r = client.post("/v1/classify", content=bodies[k % len(QUESTIONS)])
                    r.raise_for_status()
                    cpu["API"] += cpu_seconds(proc.pid) - c0

                def local_call(k: int, clf=clf) -> None:
                    c0 = cpu_seconds()
                    clf.classify(batch_of(k, args.batch), top_k=5)
                    cpu["in-process"] += cpu_seconds() - c0

                sides = [Side("in-process", local_call, lambda k: args.batch), Side("API", api_call, lambda k: args.batch)]
                run_interleaved(sides, args.warmup, 1e9, rounds=1)  # warm-up, then reset
                for side in sides:
                    side.requests, side.units_done, side.seconds = 0, 0, 0.0
                cpu.update({"in-process": 0.0, "API": 0.0})
                run_interleaved(sides, args.requests, args.budget)
                inp, api = sides
                rows.append((name, clf.model.config.embedding_mode, inp.rate, api.rate, inp.requests, api.requests,
                             inp.units_done / max(cpu["in-process"], 1e-9), api.units_done / max(cpu["API"], 1e-9)))
                print(f"{name}: in-process {inp.rate:.0f}/s, API {api.rate:.0f}/s", file=sys.stderr, flush=True)
    finally:
        stop_server(proc)
    load_end = os.getloadavg()
    print(f"\n{dt.date.today().isoformat()}, {machine()}, load {'/'.join(f'{x:.1f}' for x in load_start)} -> "
          f"{'/'.join(f'{x:.1f}' for x in load_end)}, batch {args.batch}, top_k 5, 1 worker, "
          f"{args.threads} torch thread(s) in-process and in the server\n")
    print("| model | kind | in-process sentences/s | API sentences/s | API / in-process | in-process per CPU-s | "
          "API per server CPU-s | batches (in-process, API) |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, kind, inp, api, n_inp, n_api, inp_cpu, api_cpu in rows:
        print(f"| {name} | {kind} | {inp:.0f} | {api:.0f} | {api / inp:.0%} | {inp_cpu:.0f} | {api_cpu:.0f} | "
              f"{n_inp}, {n_api} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
