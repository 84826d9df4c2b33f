"""Real servers on loopback: a killed worker is replaced, and overload is shed with 429 over real HTTP.

* ``lexiflow serve --workers 2``: one worker process is killed with SIGKILL; uvicorn's supervisor
  starts a new one within ~30 s, and requests keep succeeding throughout (the surviving worker
  shares the listening socket) and after the replacement.
* A server with a tiny encoder queue (``LEXIFLOW_BATCH_QUEUE_MAX``) and a burst of concurrent
  ``/v1/embeddings`` requests: some are refused with 429 + ``Retry-After`` + problem+json, none
  fails otherwise, ``/livez`` stays 200 meanwhile, and after the burst a request gets 200.

Workers are found from /proc (children of the uvicorn master whose command line is
multiprocessing's spawn entry point), so no extra dependency is needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, name: str, *args: str, **env_extra: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXIFLOW_")}
    env.update({"LEXIFLOW_LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", **env_extra})
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log


def _wait_ready(proc: subprocess.Popen, base: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not ready in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    stop_process(proc, grace=30)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def worker_pids(master: int) -> set[int]:
    """Live children of the uvicorn master started by multiprocessing's spawn (the workers; not
    its resource tracker, not a zombie awaiting its wait())."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) != master or fields[0] in ("Z", "X"):
            continue
        cmd = _cmdline(int(entry))
        if "multiprocessing" in cmd and "spawn_main" in cmd and "resource_tracker" not in cmd:
            pids.add(int(entry))
    return pids


def _wait_for(predicate, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout:.0f} s")


def _exactly(pids: set[int], n: int) -> set[int] | None:
    return pids if len(pids) == n else None


def _tokenize(base: str) -> int:
    # A fresh connection each time: the kernel hands it to whichever worker accepts next.
    return httpx.post(f"{base}/v1/tokenize", json={"text": "The kids were playing.", "text_pair": "Who plays?"},
                      timeout=30).status_code


def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(tmp_path):
    # Tokenizer only: workers start in a second or two. Loading before serving (not in the
    # background) so that a replacement worker never answers 503 while it loads.
    proc, base, log = _start(tmp_path, "workers", "--workers", "2", LEXIFLOW_TASKS='["tokenize"]',
                             LEXIFLOW_LEMMATIZE_ENGINES='["lookup"]', LEXIFLOW_LOAD_IN_BACKGROUND="false")
    try:
        _wait_ready(proc, base, log)
        workers = _wait_for(lambda: _exactly(worker_pids(proc.pid), 2), 60, "two workers")
        assert [_tokenize(base) for _ in range(6)] == [200] * 6

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        # Requests go on succeeding while the supervisor notices and replaces the dead worker.
        during = []
        deadline = time.monotonic() + 30
        replaced: set[int] = set()
        while time.monotonic() < deadline:
            during.append(_tokenize(base))
            now = worker_pids(proc.pid)
            if victim not in now and len(now) == 2:
                replaced = now
                break
            time.sleep(0.1)
        assert replaced, f"no replacement worker within 30 s (workers now {worker_pids(proc.pid)}):\n" \
                         f"{log.read_text()[-3000:]}"
        new = replaced - workers
        assert len(new) == 1 and victim not in replaced, (workers, replaced)
        assert during and set(during) == {200}, during
        assert _state(next(iter(new))) in ("R", "S", "D"), "the replacement is not running"

        # After the replacement: several requests in a row, each on a new connection, all 200.
        assert [_tokenize(base) for _ in range(10)] == [200] * 10
        assert proc.poll() is None, "the master died"
        text = log.read_text()
        assert f"Child process [{victim}] died" in text, text[-3000:]
    finally:
        _stop(proc)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_overload_sheds_with_429_over_real_http(tmp_path):
    queue_max = 4
    proc, base, log = _start(tmp_path, "overload", LEXIFLOW_TASKS='["embeddings"]',
                             LEXIFLOW_BATCH_QUEUE_MAX=str(queue_max))
    texts = ["The committee postponed its decision until the engineers had tested the new bridge design "
             f"for the {i}th time, and the river kept rising." for i in range(queue_max)]
    try:
        _wait_ready(proc, base, log)
        with httpx.Client(base_url=base, timeout=60) as warm:
            assert warm.post("/v1/embeddings", json={"input": texts}).status_code == 200

        stop = threading.Event()
        livez: list[tuple[int, float]] = []

        def poll_livez() -> None:
            with httpx.Client(base_url=base, timeout=5) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    try:
                        status = c.get("/livez").status_code
                    except httpx.HTTPError:
                        status = 0
                    livez.append((status, time.perf_counter() - t0))
                    stop.wait(0.1)

        n = 48
        barrier = threading.Barrier(n)

        def one(_: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as c:
                barrier.wait(timeout=30)
                return c.post("/v1/embeddings", json={"input": texts})

        poller = threading.Thread(target=poll_livez, daemon=True)
        poller.start()
        with ThreadPoolExecutor(max_workers=n) as pool:
            responses = list(pool.map(one, range(n)))
        stop.set()
        poller.join(timeout=10)

        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 429}, statuses
        refused = [r for r in responses if r.status_code == 429]
        assert refused, f"no 429 among {n} concurrent requests with a queue of {queue_max}: {statuses}"
        assert statuses.count(200) >= 1, statuses
        for r in refused:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) >= 1
            body = r.json()
            assert body["status"] == 429 and body["type"] == "/problems/queue-full"
            assert body["limit"] == queue_max and body["given"] > queue_max
        assert livez and {s for s, _ in livez} == {200}, livez
        # The load is gone: the service answers again by itself.
        with httpx.Client(base_url=base, timeout=60) as c:
            assert [c.post("/v1/embeddings", json={"input": texts}).status_code for _ in range(3)] == [200] * 3
            metrics = c.get("/metrics").text
        assert f'lexiflow_batch_rejected_total{{batcher="encoder"}} {float(len(refused))}' in metrics
        assert proc.poll() is None
    finally:
        _stop(proc)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
