#!/usr/bin/env python
"""Requests/s of POST /v1/lemmatize through Ray Serve (1 and 2 replicas) vs `lexiflow serve --workers 1`.

  PYTHONPATH=. python bench/bench_ray_serve.py            # prints the table
  PYTHONPATH=. python bench/bench_ray_serve.py --write    # and puts it in BENCHMARKS.md ("Ray Serve (issue 8)")

Each configuration is the real command, started here as a subprocess on 127.0.0.1 with
``LEXIFLOW_TASKS='["lemmatize","tokenize"]'`` (the same for all):

* ``lexiflow serve --workers 1`` (uvicorn, 1 process);
* ``lexiflow serve-ray --replicas 1`` and ``--replicas 2`` (a local Ray instance; 1 CPU and 1 torch
  thread per replica, ``max_ongoing_requests`` 32).

Once ``/readyz`` answers 200, ``--clients`` concurrent clients (asyncio + httpx in this process,
one keep-alive connection each) send small single-text requests (``engine`` "rule", 6-12 words)
back to back: ``--warmup`` seconds not counted, then ``--seconds`` counted. Every answer must be 200;
requests/s = answers completed in the counted window / its length. The client shares the machine
with the server: on a small machine its CPU use is part of the picture, the same for every row.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, machine  # noqa: E402  (bench/ is not a package)
from load_test import wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START = "<!-- bench_ray_serve:start -->"
SECTION_END = "<!-- bench_ray_serve:end -->"
TASKS = '["lemmatize","tokenize"]'

TEXTS = [
    "The striped bats were hanging on their feet.",
    "She was running late for the interview.",
    "Children played happily in the flooded streets.",
    "The geese flew south before the first frost.",
    "He bought three loaves of bread yesterday.",
    "Our neighbours were painting their fences again.",
    "The committee postponed its final decision.",
    "Mice ran quickly under the wooden benches.",
]


@dataclass
class Result:
    name: str
    command: str
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    ready_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def start(args: list[str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEXIFLOW_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"LEXIFLOW_HOST": "127.0.0.1", "LEXIFLOW_PORT": str(port), "LEXIFLOW_TASKS": TASKS,
                "LEXIFLOW_LOG_LEVEL": "warning", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1", "RAY_USAGE_STATS_ENABLED": "0",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    with open(log_path, "wb") as log:
        # own session: on a stuck shutdown the whole group (Ray's processes included) can be stopped
        return subprocess.Popen([sys.executable, "-m", "lexiflow", *args], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)



def stop(proc: subprocess.Popen[bytes], grace_s: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # serve-ray: Ctrl-C path (serve.shutdown, ray.shutdown); uvicorn: graceful
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    try:  # anything of this group still alive (a Ray helper process) goes too
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def load(base: str, clients: int, warmup: float, seconds: float, result: Result) -> None:
    bodies = [json.dumps({"text": t}).encode() for t in TEXTS]
    headers = {"content-type": "application/json"}
    t_start = time.perf_counter()
    t_count, t_end = t_start + warmup, t_start + warmup + seconds

    async def client(k: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
            i = k
            while True:
                t0 = time.perf_counter()
                if t0 >= t_end:
                    return
                try:
                    r = await http.post("/v1/lemmatize", content=bodies[i % len(bodies)], headers=headers)
                    outcome = "ok" if r.status_code == 200 else str(r.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                t1 = time.perf_counter()
                i += clients
                if t0 >= t_count and t1 <= t_end:
                    if outcome == "ok":
                        result.ok += 1
                        result.latencies.append(t1 - t0)
                    else:
                        result.errors[outcome] = result.errors.get(outcome, 0) + 1

    await asyncio.gather(*(client(k) for k in range(clients)))
    result.seconds = seconds


def run_one(name: str, cli_args: list[str], args: argparse.Namespace, logdir: Path) -> Result:
    port = free_port()
    log_path = logdir / f"{name.replace(' ', '_')}.log"
    result = Result(name, "lexiflow " + " ".join(cli_args))
    proc = start(cli_args, port, log_path)
    try:
        base = f"http://127.0.0.1:{port}"
        result.ready_s = wait_ready(base, proc, log_path, timeout=240)
        asyncio.run(load(base, args.clients, args.warmup, args.seconds, result))
    finally:
        stop(proc)
    print(f"{name}: {result.rate:.1f} req/s, p50 {result.pct(0.5):.0f} ms, p99 {result.pct(0.99):.0f} ms, "
          f"errors {result.errors or 0} (ready after {result.ready_s:.1f} s)", flush=True)
    return result


def table(results: list[Result], base: Result) -> str:
    lines = ["| server | command | req/s | vs `serve --workers 1` | p50 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        errors = sum(r.errors.values())
        lines.append(f"| {r.name} | `{r.command}` | {r.rate:.1f} | {r.rate / base.rate:.2f}x | "
                     f"{r.pct(0.5):.0f} | {r.pct(0.99):.0f} | {errors} |")
    return "\n".join(lines)


def section(results: list[Result], args: argparse.Namespace, load_start: tuple, load_end: tuple) -> str:
    cmd = "PYTHONPATH=. python bench/bench_ray_serve.py " + " ".join(
        f"--{k} {v}" for k, v in (("clients", args.clients), ("seconds", args.seconds), ("warmup", args.warmup)))
    la = " / ".join(f"{x:.2f}" for x in load_start) + " → " + " / ".join(f"{x:.2f}" for x in load_end)
    return (f"{SECTION_START}\n"
            f"Command: `{cmd} --write`. Machine: {machine()}. "
            f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Load average (1/5/15 min) {la}.\n\n"
            f"`POST /v1/lemmatize`, one small text per request (6-12 words, engine rule), {args.clients} concurrent "
            f"clients with keep-alive, {args.warmup:g} s warm-up then {args.seconds:g} s counted; "
            f"`LEXIFLOW_TASKS={TASKS}` for every server.\n\n"
            f"{table(results, results[0])}\n"
            f"{SECTION_END}\n")


def write(text: str) -> None:
    current = BENCHMARKS.read_text(encoding="utf-8")
    if SECTION_START in current and SECTION_END in current:
        before, rest = current.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        BENCHMARKS.write_text(before + text + ("\n" + after if after else ""), encoding="utf-8")
        return
    intro = ("\n## Ray Serve (issue 8)\n\n"
             "`bench/bench_ray_serve.py`: the same app under `lexiflow serve-ray` (Ray Serve, "
             "service/ray_serve.py) vs `lexiflow serve`. See the script's docstring for what is measured.\n\n")
    BENCHMARKS.write_text(current.rstrip("\n") + "\n" + intro + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("Ray Serve is not installed: pip install 'lexiflow[ray]'", file=sys.stderr)
        return 2
    configs = [("uvicorn, 1 worker", ["serve", "--workers", "1"]),
               ("Ray Serve, 1 replica", ["serve-ray", "--replicas", "1", "--num-cpus", "1"]),
               ("Ray Serve, 2 replicas", ["serve-ray", "--replicas", "2", "--num-cpus", "1"])]
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        results = [run_one(name, cli, args, Path(tmp)) for name, cli in configs]
    text = section(results, args, load_start, os.getloadavg())
    print(text)
    if args.write:
        write(text)
        print(f"written to {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
