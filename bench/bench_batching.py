#!/usr/bin/env python
"""Dynamic batching of the contextual encoder: in-process ceiling vs the service, batched and not.

  make bench-batching                       # or: PYTHONPATH=. python bench/bench_batching.py
  python bench/bench_batching.py --seconds 20 --clients 16 --write   # record the rows in BENCHMARKS.md

One run measures, on the same sentences (one per request, 12-25 words each):

1. **ceiling**: `ContextualEncoder.encode` + mean pooling called in this process on batches of 32,
   with the torch threads the service uses (sequences/s);
2. **batched**: the real service (`lexiflow serve`, 1 worker, 127.0.0.1) under `--clients`
   concurrent clients, each sending one sentence per `POST /v1/embeddings` and waiting for the
   answer before sending the next (closed loop); the server's batcher gathers them;
3. **unbatched**: the same with `LEXIFLOW_BATCHING=false` (each request runs the encoder alone).

The ceiling runs while no server is up; each server is started, warmed up, measured and stopped
before the next. Clients are threads with one keep-alive `httpx.Client` each. Targets: batched
>= 70% of the ceiling and >= 3x unbatched. Latency percentiles are per request, client side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

import httpx  # noqa: E402

from bench_api import BENCHMARKS, SENTENCES, free_port, load_note, machine, start_server, stop_server, \
    wait_ready  # noqa: E402

SECTION_START = "<!-- bench_batching:start -->"
SECTION_END = "<!-- bench_batching:end -->"
HEAD = ("| date | machine | torch threads | clients | ceiling seq/s (batch 32, in-process) | batched seq/s | "
        "p50 / p95 ms | unbatched seq/s | p50 / p95 ms | batched / ceiling | batched / unbatched | "
        "in-process batch 1 seq/s | in-process gain of batch 32 over batch 1 |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")


def threads_for_service() -> int:
    from service.settings import Settings

    return Settings(workers=1).effective_torch_threads


def ceiling(seconds: float, threads: int, size: int = 32) -> float:
    from pipelines.embeddings.contextual import ContextualEncoder, LayerChoice
    from pipelines.loading import ENCODER_NAME, default_encoder_path, set_torch_threads

    set_torch_threads(threads)
    enc = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, version="bench")
    choice = LayerChoice(-1)

    def run(batch: list[str]) -> None:
        for s in enc.encode(batch):
            enc.pool(s, choice, "mean")

    batches = [[SENTENCES[(k * size + i) % len(SENTENCES)] for i in range(size)] for k in range(len(SENTENCES))]
    run(batches[0])  # warm-up
    done, t0, k = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        run(batches[k % len(batches)])
        done += size
        k += 1
    return done / (time.perf_counter() - t0)


def load(port: int, clients: int, seconds: float) -> dict[str, float]:
    """Closed-loop clients, one sentence per request; returns throughput, latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            start.wait()
            k = i
            while time.perf_counter() < stop_at[0]:
                t0 = time.perf_counter()
                r = c.post("/v1/embeddings", json={"input": SENTENCES[k % len(SENTENCES)]})
                dt_ = time.perf_counter() - t0
                if r.status_code != 200:
                    with lock:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                else:
                    mine.append(dt_)
                k += clients
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    qs = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"rate": len(latencies) / elapsed, "p50": qs[49] * 1000, "p95": qs[94] * 1000,
            "n": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else ""}


def serve_and_load(batching: bool, clients: int, seconds: float, threads: int) -> dict[str, float]:
    port = free_port()
    os.environ["LEXIFLOW_BATCHING"] = "true" if batching else "false"
    os.environ["LEXIFLOW_TORCH_THREADS"] = str(threads)
    os.environ["LEXIFLOW_TASKS"] = '["tokenize", "embeddings"]'
    log = Path(tempfile.gettempdir()) / f"lexiflow-bench-batching-{port}.log"
    proc = start_server(port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            wait_ready(c, proc, log, timeout=180)
        load(port, clients, min(3.0, seconds))  # warm-up: threads, allocator, first batches
        return load(port, clients, seconds)
    finally:
        stop_server(proc)
        for k in ("LEXIFLOW_BATCHING", "LEXIFLOW_TORCH_THREADS", "LEXIFLOW_TASKS"):
            os.environ.pop(k, None)


def write_row(row: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    if SECTION_START not in text:
        text = text.rstrip("\n") + "\n\n## Contextual encoder: dynamic batching (`bench/bench_batching.py`)\n\n" \
               "Command: `make bench-batching` (prints), `PYTHONPATH=. python bench/bench_batching.py --write` " \
               "(records a row). 16 closed-loop clients send one sentence each per `POST /v1/embeddings`; " \
               "the ceiling is the encoder called in-process on batches of 32 with the same torch threads. " \
               "Targets: batched >= 70% of the ceiling and >= 3x unbatched.\n\n" \
               f"{SECTION_START}\n{HEAD}{SECTION_END}\n"
    before, rest = text.split(SECTION_START, 1)
    section, after = rest.split(SECTION_END, 1)
    lines = [ln for ln in section.strip("\n").splitlines()[2:] if ln.strip()]
    body = HEAD + "".join(ln + "\n" for ln in lines + [row])
    BENCHMARKS.write_text(before + SECTION_START + "\n" + body + SECTION_END + after, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement time per side (default 20)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: what the service picks)")
    ap.add_argument("--write", action="store_true", help="record the row in BENCHMARKS.md")
    args = ap.parse_args(argv)
    threads = args.threads or threads_for_service()
    la0 = os.getloadavg()
    ceil = ceiling(args.seconds, threads)
    print(f"ceiling (in-process, batch 32, {threads} torch threads): {ceil:,.1f} seq/s", flush=True)
    # The most batching can win on this machine: the same encoder in-process, one sentence per call.
    single = ceiling(args.seconds / 2, threads, size=1)
    print(f"in-process, batch 1: {single:,.1f} seq/s (batch 32 is {ceil / single:.1f}x that)", flush=True)
    batched = serve_and_load(True, args.clients, args.seconds, threads)
    print(f"service, batching on:  {batched['rate']:,.1f} seq/s  p50 {batched['p50']:.0f} ms  "
          f"p95 {batched['p95']:.0f} ms  ({batched['n']} ok, {batched['errors']} errors)", flush=True)
    unbatched = serve_and_load(False, args.clients, args.seconds, threads)
    print(f"service, batching off: {unbatched['rate']:,.1f} seq/s  p50 {unbatched['p50']:.0f} ms  "
          f"p95 {unbatched['p95']:.0f} ms  ({unbatched['n']} ok, {unbatched['errors']} errors)", flush=True)
    for name, r in (("batched", batched), ("unbatched", unbatched)):
        if r["errors"]:
            print(f"{name}: first error: {r['first_error']}", file=sys.stderr)
    r_ceiling = batched["rate"] / ceil
    r_unbatched = batched["rate"] / unbatched["rate"] if unbatched["rate"] else float("inf")
    verdict = "met" if r_ceiling >= 0.70 and r_unbatched >= 3 else "NOT met"
    print(f"batched / ceiling = {r_ceiling:.0%} (target >= 70%); batched / unbatched = {r_unbatched:.1f}x "
          f"(target >= 3x): {verdict}")
    la1 = os.getloadavg()
    row = (f"| {dt.date.today().isoformat()} | {machine()}; load {load_note(la0, la1)} | {threads} | {args.clients} "
           f"| {ceil:,.1f} | {batched['rate']:,.1f} | {batched['p50']:.0f} / {batched['p95']:.0f} "
           f"| {unbatched['rate']:,.1f} | {unbatched['p50']:.0f} / {unbatched['p95']:.0f} "
           f"| {r_ceiling:.0%} | {r_unbatched:.1f}x | {single:,.1f} | {ceil / single:.1f}x |")
    print(row)
    if args.write:
        write_row(row)
    return 0 if not (batched["errors"] or unbatched["errors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
