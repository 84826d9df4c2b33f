#!/usr/bin/env python
"""Load, soak and overload test of a real `lexiflow serve` on 127.0.0.1, with Locust.

  python bench/load_test.py                     # 2-minute mixed run, then the overload run
  python bench/load_test.py --soak              # 10-minute mixed run (the soak), then overload
  python bench/load_test.py --minutes 5 --users 12 --skip-overload
  python bench/load_test.py --write             # also put the tables in BENCHMARKS.md (its own section)

Mixed run: starts `python -m lexiflow serve` (1 uvicorn worker unless --workers) on a free
loopback port, waits for /readyz, reads `GET /v1/models` to learn which tasks are served (classify
is left out of the mix when no classifier artifact is loaded), then runs Locust headless
(`locust -f bench/locustfile.py MixedUser --headless -u U -r R -t T --csv ...`) with a realistic
mix of every endpoint, small and large bodies (see bench/locustfile.py). Reports throughput and
p50/p95/p99 per endpoint and size, error counts by class (5xx, 429, other 4xx, connection
errors: target zero for all), and the resident memory of the server process and its children
(RSS summed from /proc every 5 s) with the slope of a least-squares line after warm-up (MB/min).

Overload run: a second server with a small encoder queue (LEXIFLOW_BATCH_QUEUE_MAX, default 16)
gets far more concurrent users than it can serve (OverloadUser: 8-sentence /v1/embeddings
batches, no think time). Expected: some 429 with Retry-After and problem+json, zero 5xx and
zero connection errors, /livez and /readyz answering within 1 s throughout (polled every 0.25 s
on their own connection), then, once the load stops, the service recovers by itself: the next
requests get 200.

Every request goes to 127.0.0.1 only; every phase is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, machine  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "## Load, soak and overload (issue 7)"
START, END = "<!-- load_test:start -->", "<!-- load_test:end -->"
HOST = "127.0.0.1"


# ----- the server ----------------------------------------------------------------------------------
def start_server(port: int, log_path: Path, workers: int = 1, **env_extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEXIFLOW_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"LEXIFLOW_HOST": HOST, "LEXIFLOW_PORT": str(port), "LEXIFLOW_WORKERS": str(workers),
                "LEXIFLOW_LOG_LEVEL": "warning", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    env.update(env_extra)
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "lexiflow", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 180) -> float:
    t0 = time.monotonic()
    with httpx.Client(base_url=base, timeout=2) as client:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if client.get("/readyz").status_code == 200:
                    return time.monotonic() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    raise RuntimeError(f"/readyz not 200 within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ----- memory: RSS of a process tree from /proc ----------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])  # kB
                        break
        except OSError:
            pass
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop_event = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic() - self.t0, rss_mb(self.pid)))
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        self.samples.append((time.monotonic() - self.t0, rss_mb(self.pid)))


def slope_mb_per_min(samples: list[tuple[float, float]], after_s: float) -> tuple[float, int]:
    pts = [(t / 60, m) for t, m in samples if t >= after_s]
    n = len(pts)
    if n < 3:
        return float("nan"), n
    mx = sum(t for t, _ in pts) / n
    my = sum(m for _, m in pts) / n
    sxx = sum((t - mx) ** 2 for t, _ in pts)
    sxy = sum((t - mx) * (m - my) for t, m in pts)
    return (sxy / sxx if sxx else float("nan")), n


# ----- locust ------------------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    max_ms: float


@dataclass
class LocustResult:
    rows: list[Row]
    total: Row
    errors: dict[str, int] = field(default_factory=dict)
    failure_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_locust(user_class: str, base: str, users: int, spawn_rate: float, seconds: int, out: Path,
               tasks: list[str]) -> LocustResult:
    prefix = out / user_class.lower()
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), user_class, "--headless", "-u", str(users),
           "-r", str(spawn_rate), "-t", f"{seconds}s", "--host", base, "--csv", str(prefix), "--only-summary",
           "--stop-timeout", "20", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    env = {**os.environ, "LOADTEST_TASKS": json.dumps(tasks)}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    elapsed = time.monotonic() - t0
    (out / f"{user_class.lower()}_locust.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"locust exited with {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return parse_locust(prefix, elapsed)


def _f(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return float("nan")


def parse_locust(prefix: Path, elapsed: float) -> LocustResult:
    rows, total = [], None
    with open(f"{prefix}_stats.csv", newline="") as f:
        for r in csv.DictReader(f):
            row = Row(name=(f"{r['Type']} {r['Name']}" if r["Name"] != "Aggregated" else "all requests"),
                      requests=int(r["Request Count"]), failures=int(r["Failure Count"]), rps=_f(r["Requests/s"]),
                      p50=_f(r["50%"]), p95=_f(r["95%"]), p99=_f(r["99%"]), max_ms=_f(r["Max Response Time"]))
            if r["Name"] == "Aggregated":
                total = row
            else:
                rows.append(row)
    assert total is not None
    errors = {"5xx": 0, "429": 0, "4xx": 0, "bad-body": 0, "connection": 0, "other": 0}
    lines = []
    with open(f"{prefix}_failures.csv", newline="") as f:
        for r in csv.DictReader(f):
            n = int(r["Occurrences"])
            msg = r["Error"]
            kind = next((k for k in ("5xx", "429", "4xx", "bad-body") if msg.startswith(k)), None)
            if kind is None:
                kind = "connection" if re.search(r"connect|refused|reset|closed|timed? ?out|disconnect|"
                                                 r"RemoteDisconnected|status 0|BrokenPipe", msg, re.I) else "other"
            errors[kind] += n
            lines.append(f"{n} × {r['Method']} {r['Name']}: {msg[:160]}")
    return LocustResult(rows=rows, total=total, errors=errors, failure_lines=lines, seconds=elapsed)


def served_tasks(base: str) -> list[str]:
    models = httpx.get(f"{base}/v1/models", timeout=10).json()["models"]
    tasks = sorted({m["task"] for m in models})
    return tasks


# ----- health probe during overload ------------------------------------------------------------------
class HealthProbe(threading.Thread):
    """Polls /livez and /readyz every 0.25 s on a connection of its own, 1 s timeout."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.results: dict[str, list[tuple[int, float]]] = {"/livez": [], "/readyz": []}  # (status or 0, s)
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=1.0) as client:
            while not self._stop_event.is_set():
                for path in self.results:
                    t0 = time.perf_counter()
                    try:
                        status = client.get(path).status_code
                    except httpx.HTTPError:
                        status = 0
                    self.results[path].append((status, time.perf_counter() - t0))
                self._stop_event.wait(0.25)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def summary(self, path: str) -> dict[str, float]:
        res = self.results[path]
        times = sorted(t for _, t in res)
        ok = sum(1 for s, t in res if s == 200 and t < 1.0)
        return {"polls": len(res), "ok_within_1s": ok, "max_s": times[-1] if times else float("nan"),
                "p99_s": times[min(len(times) - 1, int(0.99 * len(times)))] if times else float("nan")}


# ----- phases ------------------------------------------------------------------------------------------------
def mixed_phase(args: argparse.Namespace, out: Path) -> dict:
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = out / "server_mixed.log"
    arenas = {} if args.malloc_arena_max is None else {"LEXIFLOW_MALLOC_ARENA_MAX": str(args.malloc_arena_max)}
    if args.encoder_backend is not None:
        arenas["LEXIFLOW_ENCODER_BACKEND"] = args.encoder_backend
    arenas.update(dict(item.split("=", 1) for item in args.server_env))
    proc = start_server(port, log, workers=args.workers, **arenas)
    try:
        ready_s = wait_ready(base, proc, log)
        tasks = served_tasks(base)
        skipped = [t for t in ("lemmatize", "tokenize", "embeddings", "senses", "classify", "translate")
                   if t not in tasks]
        print(f"mixed: server ready in {ready_s:.1f} s; tasks served {tasks}; left out: {skipped or 'none'}",
              flush=True)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        seconds = int(args.minutes * 60)
        result = run_locust("MixedUser", base, args.users, args.spawn_rate, seconds, out, tasks)
        sampler.stop()
        alive = proc.poll() is None
    finally:
        stop_server(proc)
    warmup = max(60.0, 0.2 * seconds)
    slope, n = slope_mb_per_min(sampler.samples, warmup)
    late_slope, late_n = slope_mb_per_min(sampler.samples, seconds / 2)
    mems = [m for _, m in sampler.samples]
    after = [m for t, m in sampler.samples if t >= warmup]
    text = log.read_text(errors="replace")
    return {"phase": "mixed", "minutes": args.minutes, "users": args.users, "spawn_rate": args.spawn_rate,
            "workers": args.workers, "tasks": tasks, "skipped": skipped, "ready_s": ready_s, "result": result,
            "rss_start": mems[0], "rss_end": mems[-1], "rss_min_after": min(after) if after else float("nan"),
            "rss_max_after": max(after) if after else float("nan"), "rss_peak": max(mems), "slope": slope,
            "slope_points": n, "late_slope": late_slope, "late_points": late_n, "warmup_s": warmup,
            "samples": sampler.samples, "server_alive": alive,
            "tracebacks": text.count("Traceback")}


def overload_phase(args: argparse.Namespace, out: Path) -> dict:
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = out / "server_overload.log"
    proc = start_server(port, log, workers=1, LEXIFLOW_TASKS='["embeddings"]',
                        LEXIFLOW_BATCH_QUEUE_MAX=str(args.queue_max))
    try:
        ready_s = wait_ready(base, proc, log)
        print(f"overload: server ready in {ready_s:.1f} s (LEXIFLOW_BATCH_QUEUE_MAX={args.queue_max}); "
              f"{args.overload_users} users for {args.overload_seconds} s", flush=True)
        probe = HealthProbe(base)
        probe.start()
        sampler = MemorySampler(proc.pid)
        sampler.start()
        result = run_locust("OverloadUser", base, args.overload_users, args.overload_users, args.overload_seconds,
                            out, ["embeddings"])
        probe.stop()
        sampler.stop()
        # Recovery: the load has stopped; the very next requests must be answered 200.
        t0 = time.monotonic()
        statuses = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(10):
                statuses.append(client.post("/v1/embeddings", json={"input": ["The bank raised rates."] * 8})
                                .status_code)
        recovery_s = time.monotonic() - t0
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        alive = proc.poll() is None
    finally:
        stop_server(proc)
    rejected = re.search(r'lexiflow_batch_rejected_total\{batcher="encoder"\} ([0-9.e+]+)', metrics)
    text = log.read_text(errors="replace")
    return {"phase": "overload", "users": args.overload_users, "seconds": args.overload_seconds,
            "queue_max": args.queue_max, "result": result, "livez": probe.summary("/livez"),
            "readyz": probe.summary("/readyz"), "recovery_statuses": statuses, "recovery_s": recovery_s,
            "rejected_metric": float(rejected.group(1)) if rejected else None, "server_alive": alive,
            "rss_peak": max(m for _, m in sampler.samples), "tracebacks": text.count("Traceback")}


# ----- reporting -----------------------------------------------------------------------------------------------
def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _ms(v: float) -> str:
    return "–" if v != v else f"{v:,.0f}"


def _every(samples: list[tuple[float, float]]) -> int:
    span = samples[-1][0] if samples else 0
    return 30 if span <= 300 else 60


def _thin(samples: list[tuple[float, float]]) -> list[float]:
    """One sample per _every() seconds (the one closest to each mark), and the last."""
    step = _every(samples)
    marks = range(0, int(samples[-1][0]) + 1, step) if samples else []
    out = [min(samples, key=lambda s: abs(s[0] - m))[1] for m in marks]
    return out + [samples[-1][1]] if samples and samples[-1][0] % step > step / 2 else out


def table(res: LocustResult) -> str:
    lines = ["| endpoint [size] | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(res.rows, key=lambda r: r.name.split(" ", 1)[1]) + [res.total]:
        name = f"**{r.name}**" if r is res.total else r.name
        lines.append(f"| {name} | {r.requests:,} | {r.failures:,} | {r.rps:.1f} | {_ms(r.p50)} | {_ms(r.p95)} | "
                     f"{_ms(r.p99)} | {_ms(r.max_ms)} |")
    return "\n".join(lines)


def report(mixed: dict | None, overload: dict | None, meta: dict) -> str:
    out = []
    if mixed:
        res: LocustResult = mixed["result"]
        e = res.errors
        out.append(f"**Mixed run** ({mixed['minutes']:g} min, {mixed['users']} users spawned at "
                   f"{mixed['spawn_rate']:g}/s, think time 0.05-0.5 s, {mixed['workers']} worker; tasks "
                   f"{', '.join(mixed['tasks'])}; left out: {', '.join(mixed['skipped']) or 'none'}):\n")
        out.append(table(res))
        out.append(f"\nErrors: {e['5xx']} 5xx, {e['connection']} connection errors, {e['429']} 429, {e['4xx']} other "
                   f"4xx, {e['bad-body']} malformed error bodies, {e['other']} other; server log tracebacks: "
                   f"{mixed['tracebacks']}; server alive at the end: {mixed['server_alive']}.")
        out.append(f"Memory (RSS of the server process tree, sampled every 5 s): {mixed['rss_start']:,.0f} MB at start "
                   f"(models loaded), {mixed['rss_peak']:,.0f} MB peak, {mixed['rss_end']:,.0f} MB at the end; after "
                   f"the {mixed['warmup_s']:.0f} s warm-up {mixed['rss_min_after']:,.0f}-{mixed['rss_max_after']:,.0f} MB, "
                   f"trend **{mixed['slope']:+.2f} MB/min** (least squares over {mixed['slope_points']} samples; "
                   f"over the second half of the run alone {mixed['late_slope']:+.2f} MB/min). RSS every "
                   f"{_every(mixed['samples'])} s: {', '.join(f'{m:,.0f}' for m in _thin(mixed['samples']))} MB.")
        if res.failure_lines:
            out.append("\nFailures:\n" + "\n".join(f"- {line}" for line in res.failure_lines[:10]))
    if overload:
        res = overload["result"]
        e = res.errors
        answered = next((r for r in res.rows if r.name.endswith("[batch 8]")), None)
        refused = next((r for r in res.rows if r.name.endswith("[batch 8] → 429")), None)
        n200 = (answered.requests - answered.failures) if answered else 0
        n429 = (refused.requests - refused.failures) if refused else 0
        lz, rz = overload["livez"], overload["readyz"]
        out.append(f"\n**Overload run** ({overload['seconds']} s, {overload['users']} users with no think time, "
                   f"`POST /v1/embeddings` batches of 8 sentences, `LEXIFLOW_BATCH_QUEUE_MAX={overload['queue_max']}`, "
                   f"`LEXIFLOW_TASKS=[\"embeddings\"]`; the `→ 429` row is the refused requests):\n")
        out.append(table(res))
        metric = overload["rejected_metric"]
        out.append(f"\n{res.total.requests:,} requests seen by the clients: {n200:,} answered 200, {n429:,} refused "
                   f"with 429 (every 429 checked for `Retry-After` in seconds and problem+json: {e['bad-body']} "
                   f"without; the server's `lexiflow_batch_rejected_total` says "
                   f"{int(metric) if metric is not None else '?'}; it also counts requests the clients abandoned "
                   f"at the stop), {e['5xx']} 5xx, {e['connection']} connection errors, "
                   f"{e['4xx'] + e['other']} other errors; server log tracebacks: {overload['tracebacks']}.")
        out.append(f"Health during the overload (own connection, every 0.25 s, 1 s timeout): `/livez` "
                   f"{lz['ok_within_1s']}/{lz['polls']} answered 200 within 1 s (max {lz['max_s'] * 1000:.0f} ms, "
                   f"p99 {lz['p99_s'] * 1000:.0f} ms); `/readyz` {rz['ok_within_1s']}/{rz['polls']} (max "
                   f"{rz['max_s'] * 1000:.0f} ms, p99 {rz['p99_s'] * 1000:.0f} ms).")
        out.append(f"Recovery: once the load stopped, the next 10 requests got {overload['recovery_statuses']} "
                   f"(in {overload['recovery_s']:.2f} s); server alive: {overload['server_alive']}.")
    head = (f"Command: `{meta['command']}`. Machine: {meta['machine']}. Date: {meta['date']}. "
            f"Load average (1/5/15 min) {meta['load_start']} at the start → {meta['load_end']} at the end"
            f"{'; ' + meta['note'] if meta.get('note') else ''}.\n")
    return head + "\n" + "\n".join(out) + "\n"


def write_section(body: str) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    block = f"{START}\n{body.rstrip()}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        intro = ("\n" + SECTION + "\n\n`bench/load_test.py` runs Locust (pinned `locust==2.47.0`) against a real "
                 "`lexiflow serve` on 127.0.0.1: a mixed run with every endpoint, and an overload run. "
                 "See the script's docstring for what is measured.\n\n")
        text = text.rstrip() + "\n" + intro + block + "\n"
    BENCHMARKS.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0, help="length of the mixed run (default 2)")
    ap.add_argument("--soak", action="store_true", help="a 10-minute mixed run (overrides --minutes)")
    ap.add_argument("--users", type=int, default=8, help="concurrent users in the mixed run")
    ap.add_argument("--spawn-rate", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers of the mixed-run server")
    ap.add_argument("--server-env", nargs="*", default=[], metavar="LEXIFLOW_X=V",
                    help="settings for the mixed-run server (the shell's LEXIFLOW_ variables are not passed), "
                         "e.g. LEXIFLOW_ENCODER_MEMORY_ARENA=true LEXIFLOW_MALLOC_MMAP_THRESHOLD_KB=0")
    ap.add_argument("--malloc-arena-max", type=int, default=None,
                    help="LEXIFLOW_MALLOC_ARENA_MAX of the mixed-run server (default: the service's, 2; "
                         "0 = glibc's own default, to see the memory growth the cap prevents)")
    ap.add_argument("--encoder-backend", choices=["onnx", "torch"], default=None,
                    help="LEXIFLOW_ENCODER_BACKEND of the mixed-run server (default: the service's, onnx)")
    ap.add_argument("--queue-max", type=int, default=16, help="LEXIFLOW_BATCH_QUEUE_MAX of the overload server")
    ap.add_argument("--overload-users", type=int, default=64)
    ap.add_argument("--overload-seconds", type=int, default=45)
    ap.add_argument("--skip-mixed", action="store_true")
    ap.add_argument("--skip-overload", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="folder for Locust CSVs and server logs")
    ap.add_argument("--note", default="", help="a note for the report, e.g. what else ran on the machine")
    ap.add_argument("--write", action="store_true", help=f"write the report into {BENCHMARKS.name}")
    args = ap.parse_args()
    if args.soak:
        args.minutes = 10.0
    out = args.out or Path(tempfile.mkdtemp(prefix="lexiflow-load-"))
    out.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python bench/load_test.py" + "".join(f" {a}" for a in sys.argv[1:] if a != "--write"),
            "machine": machine(), "date": dt.date.today().isoformat(), "load_start": load(), "note": args.note}
    mixed = None if args.skip_mixed else mixed_phase(args, out)
    overload = None if args.skip_overload else overload_phase(args, out)
    meta["load_end"] = load()
    body = report(mixed, overload, meta)
    print(body)
    print(f"(Locust CSVs and server logs in {out})")
    raw = {"meta": meta, "mixed": mixed, "overload": overload}
    (out / "results.json").write_text(json.dumps(raw, default=lambda o: o.__dict__, indent=1))
    if args.write:
        write_section(body)
    ok = True
    if mixed:
        e = mixed["result"].errors
        ok &= e["5xx"] == 0 and e["connection"] == 0 and mixed["server_alive"]
    if overload:
        e = overload["result"].errors
        ok &= (e["5xx"] == 0 and e["connection"] == 0 and e["bad-body"] == 0 and overload["server_alive"]
               and (overload["rejected_metric"] or 0) > 0 and set(overload["recovery_statuses"]) == {200}
               and overload["livez"]["ok_within_1s"] == overload["livez"]["polls"]
               and overload["readyz"]["ok_within_1s"] == overload["readyz"]["polls"])
    print("PASS" if ok else "FAIL: see the errors above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
