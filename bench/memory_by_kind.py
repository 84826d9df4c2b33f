#!/usr/bin/env python
"""Where a worker's memory goes: start `lexiflow serve`, send each kind of request of the load
test's mix (``bench/locustfile.py``) one at a time, and after each kind read every worker's
``/proc/<pid>/smaps_rollup``: resident (RSS), proportional (PSS: pages shared between processes,
libraries and memory-mapped model files, counted as a share) and anonymous memory, in MB.

    PYTHONPATH=. python bench/memory_by_kind.py [--workers 1] [--rounds 15]

Every request goes to 127.0.0.1; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import free_port, machine  # noqa: E402

FIELDS = {"Rss:": "rss", "Pss:": "pss", "Pss_Anon:": "anon", "Pss_File:": "file"}


def rollup(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in FIELDS:
            out[FIELDS[parts[0]]] = int(parts[1]) // 1024
    return out


def workers(pid: int, n: int) -> list[int]:
    """The process serving requests: the server itself with one worker, else its children."""
    if n == 1:
        return [pid]
    kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]


class _Response:  # what bench/locustfile.py's checks read from a response
    def __init__(self, r: httpx.Response) -> None:
        self.status_code, self.text, self.headers, self.content, self.json = r.status_code, r.text, r.headers, \
            r.content, r.json

    def success(self) -> None: ...

    def failure(self, message: str) -> None:
        raise RuntimeError(f"a request failed: {message}")


class _User:
    """A stand-in for a Locust user: ``client.post`` as a context manager, as the tasks use it."""

    def __init__(self, base: str) -> None:
        def post(path: str, json: dict) -> httpx.Response:  # a new connection each time: with several
            return httpx.post(base + path, json=json, timeout=120)  # workers, the requests spread over them

        class _Ctx:
            def __init__(self, r: httpx.Response) -> None:
                self.r = _Response(r)

            def __enter__(self) -> _Response:
                return self.r

            def __exit__(self, *_: object) -> bool:
                return False

        class _Client:
            @staticmethod
            def post(path: str, json: dict, name: str, catch_response: bool) -> _Ctx:  # noqa: ARG004
                return _Ctx(post(path, json))

        self.client = _Client()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15, help="requests of each kind")
    args = ap.parse_args(argv)
    import locustfile as lf

    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEXIFLOW_")},
           "LEXIFLOW_PORT": str(port), "LEXIFLOW_WORKERS": str(args.workers), "LEXIFLOW_LOG_LEVEL": "warning",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        else:
            raise SystemExit("the server was not ready in 300 s")
        time.sleep(2 if args.workers == 1 else 8)
        pids = workers(proc.pid, args.workers)
        print(f"{machine()}; {args.workers} worker(s), {args.rounds} requests of each kind; MB per worker "
              "(RSS / PSS / PSS anonymous / PSS file-backed)")

        def row(label: str) -> None:
            cells = ["{rss} / {pss} / {anon} / {file}".format(**rollup(p)) for p in pids]
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)

        print("| after | " + " | ".join(f"worker {i + 1}" for i in range(len(pids))) + " |")
        print("|---|" + "---:|" * len(pids))
        row("ready")
        user = _User(base)
        random.seed(0)
        kinds = [lf.embeddings_small, lf.embeddings_large, lf.contextual_words, lf.static_words, lf.senses,
                 lf.classify_small, lf.classify_large, lf.translate_greedy, lf.translate_beam, lf.lemmatize_large,
                 lf.lemmatize_document, lf.tokenize_large]
        for kind in kinds:
            for _ in range(args.rounds):
                kind(user)
            row(kind.__name__)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
