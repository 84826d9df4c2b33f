"""What gzip costs and saves on real lexiflow answers, per compression level.

    python bench/bench_gzip.py

Gets real answers from the app in-process (the shipped models): /v1/embeddings for 32 sentences
(float JSON), /v1/tokenize for 64 pairs, /v1/lemmatize for 32 sentences and /openapi.json; then
compresses each at levels 1, 5, 6 and 9 (starlette's GZipMiddleware uses the level it is given;
its default is 9) and prints size after compression and milliseconds (median of 5). Responses are
compressed on the event loop, so these milliseconds hold every other request on that worker.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_api import SENTENCES as BENCH_SENTENCES  # noqa: E402  (bench_api's varied English sentences)
from common import machine  # noqa: E402

SENTENCES = BENCH_SENTENCES[:32]


def answers() -> dict[str, bytes]:
    import torch
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    torch.set_num_threads(1)
    app = create_app(Settings(load_in_background=False, gzip_min_bytes=0, tasks=["lemmatize", "tokenize",
                                                                                  "embeddings"]))
    with TestClient(app) as c:
        plain = {"accept-encoding": "identity"}
        out = {
            "embeddings 32 texts": c.post("/v1/embeddings", json={"input": SENTENCES}, headers=plain),
            "tokenize 64 pairs": c.post("/v1/tokenize", json={"text": BENCH_SENTENCES[:64],
                                                              "text_pair": BENCH_SENTENCES[:64][::-1]},
                                        headers=plain),
            "lemmatize 32 texts": c.post("/v1/lemmatize", json={"text": SENTENCES}, headers=plain),
            "openapi.json": c.get("/openapi.json", headers=plain),
        }
    for name, r in out.items():
        assert r.status_code == 200, (name, r.text[:300])
    return {k: r.content for k, r in out.items()}


def main() -> int:
    print(f"machine: {machine()}")
    print("| answer | size | level 1 | level 5 | level 6 | level 9 |")
    print("|---|---|---|---|---|---|")
    for name, body in answers().items():
        cells = []
        for level in (1, 5, 6, 9):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                packed = gzip.compress(body, level)
                times.append(time.perf_counter() - t0)
            cells.append(f"{len(packed) / len(body):.0%}, {statistics.median(times) * 1000:.1f} ms")
        print(f"| {name} | {len(body) / 1024:.0f} KiB | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
