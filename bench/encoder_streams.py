#!/usr/bin/env python
"""The encoder in this process: one ONNX Runtime session run by one caller against two callers at
once (what ``LEXIFLOW_ENCODER_STREAMS=2`` does), at several batch sizes; real sentences of 8-25
words (``evals.encoder_parity``), the service's intra-op threads.

    PYTHONPATH=. python bench/encoder_streams.py [--seconds 4] [--batches 1 4 8 16 32] [--threads 2]

Prints sentences/s per batch size for: one caller (streams 1), two callers on the one session
(streams 2), and, for comparison, two callers each on a single-threaded session.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine  # noqa: E402


def rate(session, feeds: list[dict], callers: int, seconds: float) -> float:  # noqa: ANN001
    """Sentences/s of ``callers`` threads each running ``session`` on the batches in ``feeds`` in turn."""
    session.run(None, feeds[0])  # warm
    done = [0] * callers
    stop = time.perf_counter() + seconds

    def work(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            feed = feeds[i % len(feeds)]
            session.run(None, feed)
            done[k] += len(feed["input_ids"])
            i += callers

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (the service: LEXIFLOW_TORCH_THREADS)")
    ap.add_argument("--arena", action="store_true", help="ONNX Runtime's CPU memory arena on (the service: off)")
    args = ap.parse_args(argv)
    import numpy as np

    from evals.encoder_parity import real_sentences
    from pipelines.embeddings.onnx_encoder import OnnxRunner
    from pipelines.loading import build_onnx_encoder
    from service.settings import Settings
    from pipelines.wordpiece import WordPieceTokenizer
    from pipelines.loading import default_encoder_path

    path = build_onnx_encoder(None, Settings().cache_dir)
    tok = WordPieceTokenizer.from_folder(default_encoder_path(), name="encoder", version="local")
    texts = [t for t in real_sentences(2000, seed=1) if 8 <= len(t.split()) <= 25]
    sessions = {n: OnnxRunner(path, threads=n, arena=args.arena).session for n in sorted({args.threads, 1})}
    print(f"{machine()}; ONNX Runtime fp32, {args.threads} intra-op threads, memory arena "
          f"{'on' if args.arena else 'off'}; sentences/s")
    print("| batch | 1 caller | 2 callers, one session | 2 callers, single-threaded session |\n|---:|---:|---:|---:|")
    for b in args.batches:
        feeds = []
        for start in range(0, 40 * b, b):
            enc = tok.encode([texts[(start + j) % len(texts)] for j in range(b)])
            width = max(e.length for e in enc)
            ids = np.zeros((b, width), np.int64)
            mask = np.zeros_like(ids)
            for r, e in enumerate(enc):
                ids[r, :e.length] = e.input_ids[:e.length]
                mask[r, :e.length] = 1
            feeds.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        one = rate(sessions[args.threads], feeds, 1, args.seconds)
        two = rate(sessions[args.threads], feeds, 2, args.seconds)
        two_single = rate(sessions[1], feeds, 2, args.seconds)
        print(f"| {b} | {one:.0f} | {two:.0f} | {two_single:.0f} |", flush=True)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    print(f"\nResident memory of this process after the runs: {int(status['VmRSS'].split()[0]) / 1024:.0f} MB, "
          f"peak {int(status['VmHWM'].split()[0]) / 1024:.0f} MB (memory arena {'on' if args.arena else 'off'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
