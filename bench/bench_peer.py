#!/usr/bin/env python
"""lexiflow against infinity-emb 0.0.78 (torch and ONNX engines), side by side, same model, same client.

  make bench-peer                                   # or: PYTHONPATH=. python bench/bench_peer.py
  PYTHONPATH=. python bench/bench_peer.py --write   # record the table in BENCHMARKS.md

1. **The peer** is installed once into its own virtualenv outside the project
   (``~/.cache/lexiflow-peer/infinity-0.0.78``; ASSETS.md's recipe: the torch 2.13.0 CPU wheel and
   ``infinity-emb[all]==0.0.78`` with torch pinned, then torchvision removed), and the shipped
   all-MiniLM-L6-v2 folder is exported for its ONNX engine with its own ``optimum-cli`` (fp32,
   ``--library-name transformers``, ``1_Pooling/`` copied in).
2. **Servers**: lexiflow with its default configuration (``lexiflow serve``, all tasks loaded, no
   LEXIFLOW_ variable set unless ``--lexiflow-env``), infinity ``--engine torch`` and infinity
   ``--engine optimum`` (ONNX fp32), all on 127.0.0.1, all up for the whole run. The CPU time each
   idle server used while another was measured is recorded (``idle CPU``).
3. **Scenarios**: 1 client x 1 sentence, 16 clients x 1, 1 client x 32, 4 clients x 32; real
   sentences of 8-25 words (TREC questions, MR snippets, Tatoeba; ``evals.encoder_parity``); each
   client is an asyncio task with one keep-alive connection of one ``httpx.AsyncClient``, sending a
   request and waiting for its answer (closed loop); the same client code for every server.
   ``--repeats`` rounds; in each round every scenario runs on every server in turn (interleaved).
   Reported: the median over rounds of sentences/s, and p50 / p95 request latency (ms) over all
   the requests of all rounds; non-200 answers are counted.
4. **Agreement**: the same 64 sentences through every server; cosine of each server's vectors with
   lexiflow's (min over sentences).
5. **Context**: CPU model and count, load average at start and end, lexiflow's RSS (all its
   processes), the in-process encoder rate of lexiflow's backend at batch 32 (same threads as the
   server) for the "16 clients >= 0.8x in-process batch 32" target. ``--neighbour`` runs a
   ``while 1: pass`` process for the whole run (a busy neighbour on one core).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from common import cpu_model, free_port, usable_cores  # noqa: E402

PEER_VERSION = "0.0.78"
PEER_HOME = Path.home() / ".cache" / "lexiflow-peer"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- bench_peer:start -->", "<!-- bench_peer:end -->"
SCENARIOS = ((1, 1), (16, 1), (1, 32), (4, 32))  # (clients, sentences per request)


# ----- the peer's virtualenv and model ----------------------------------------------------------------
def peer_venv(home: Path) -> Path:
    """infinity-emb in its own virtualenv (created once, pinned): ASSETS.md's recipe."""
    venv = home / f"infinity-{PEER_VERSION}"
    if (venv / "bin" / "infinity_emb").is_file():
        return venv
    home.mkdir(parents=True, exist_ok=True)
    print(f"[bench_peer] installing infinity-emb {PEER_VERSION} into {venv} (once)", file=sys.stderr)
    subprocess.run([shutil.which("python3.11") or sys.executable, "-m", "venv", str(venv)], check=True)
    (home / "constraints.txt").write_text("torch==2.13.0\n")
    pip = [str(venv / "bin" / "pip"), "install", "--quiet"]
    wheels = sorted(Path("/opt/wheels").glob("torch-2.13.0+cpu-*.whl")) if Path("/opt/wheels").is_dir() else []
    if wheels:
        subprocess.run([*pip, str(wheels[0])], check=True)
    else:
        subprocess.run([*pip, "--index-url", "https://download.pytorch.org/whl/cpu", "torch==2.13.0"], check=True)
    subprocess.run([*pip, f"infinity-emb[all]=={PEER_VERSION}", "-c", str(home / "constraints.txt")], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "uninstall", "-y", "torchvision"], check=False)
    return venv


def peer_onnx(venv: Path, model: Path, home: Path) -> Path:
    """The model exported by the peer's own optimum (fp32), with sentence-transformers' pooling config."""
    out = home / "all-MiniLM-L6-v2-onnx"
    if (out / "model.onnx").is_file():
        return out
    subprocess.run([str(venv / "bin" / "optimum-cli"), "export", "onnx", "--model", str(model), "--task",
                    "feature-extraction", "--library-name", "transformers", str(out)], check=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    shutil.copytree(model / "1_Pooling", out / "1_Pooling", dirs_exist_ok=True)
    return out


# ----- servers ----------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str]
    path: str  # the embeddings route
    model: str
    port: int = 0
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, logdir: Path) -> None:
        self.log = logdir / f"{self.name.replace(' ', '-')}.log"
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=f, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait(self, health: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + health, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def pids(self) -> list[int]:
        """The server's process and its descendants (uvicorn workers)."""
        if self.proc is None:
            return []
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            todo += [int(c) for c in children]
        return out

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
        return total

    def rss_mb(self) -> list[float]:
        out = []
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return out


def servers(venv: Path, model: Path, onnx_dir: Path, lexiflow_env: dict[str, str]) -> list[Server]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEXIFLOW_")}
    base.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    lex = Server("lexiflow", [sys.executable, "-m", "lexiflow", "serve"], ROOT,
                 {**base, **lexiflow_env, "PYTHONPATH": str(ROOT)}, "/v1/embeddings",
                 "sentence-transformers/all-MiniLM-L6-v2")
    peer_env = {**base, "INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1"}
    peer_env.pop("PYTHONPATH", None)
    inf = str(venv / "bin" / "infinity_emb")
    name = "/".join(model.parts[-2:])
    torch_s = Server("infinity torch", [inf, "v2", "--model-id", str(model), "--engine", "torch", "--device", "cpu",
                                        "--no-vector-disk-cache"], model.parent, peer_env, "/embeddings", name)
    onnx_s = Server("infinity ONNX fp32", [inf, "v2", "--model-id", ".", "--engine", "optimum", "--device", "cpu",
                                           "--pooling-method", "mean", "--no-vector-disk-cache"], onnx_dir, peer_env,
                    "/embeddings", ".")
    for s in (lex, torch_s, onnx_s):
        s.port = free_port()
        if s is lex:
            s.env["LEXIFLOW_PORT"] = str(s.port)
        else:
            s.cmd += ["--port", str(s.port)]
    return [lex, torch_s, onnx_s]


# ----- the client -------------------------------------------------------------------------------------
@dataclass
class Run:
    sentences: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    server_cpu: float = 0.0  # CPU seconds the server used during the counted part (and the warm-up)

    @property
    def rate(self) -> float:
        return self.sentences / self.seconds if self.seconds else 0.0


async def run_scenario(server: Server, texts: list[str], clients: int, size: int, seconds: float,
                       warmup: float) -> Run:
    run = Run()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
        t_start = time.perf_counter()
        t_count = t_start + warmup
        t_end = t_count + seconds

        async def one(k: int) -> None:
            i = k * 997
            while True:
                batch = [texts[(i + j) % len(texts)] for j in range(size)]
                i += size * clients + 1
                t0 = time.perf_counter()
                if t0 >= t_end:
                    return
                r = await client.post(server.path, json={"input": batch, "model": server.model})
                t1 = time.perf_counter()
                if t0 >= t_count:
                    if r.status_code == 200:
                        run.sentences += size
                        run.latencies.append(t1 - t0)
                    else:
                        run.errors[r.status_code] = run.errors.get(r.status_code, 0) + 1

        await asyncio.gather(*(one(k) for k in range(clients)))
        run.seconds = time.perf_counter() - t_count
    return run


def vectors(server: Server, texts: list[str]) -> np.ndarray:
    r = httpx.post(server.url + server.path, json={"input": texts, "model": server.model}, timeout=120)
    r.raise_for_status()
    v = np.array([d["embedding"] for d in sorted(r.json()["data"], key=lambda d: d["index"])], dtype=np.float64)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def in_process_rate(texts: list[str], threads: int, backend: str, seconds: float = 8.0, streams: int = 1) -> float:
    """lexiflow's encoder in this process (its backend, threads and streams), batches of 32, mean pooling."""
    from pipelines.embeddings.contextual import ContextualEncoder, LayerChoice, TokenStates
    from pipelines.loading import ENCODER_NAME, default_encoder_path, set_torch_threads
    from service.settings import Settings

    settings = Settings()
    set_torch_threads(threads)
    enc = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, backend=backend,
                                 cache_dir=settings.cache_dir, threads=threads,
                                 max_batch_tokens=settings.encoder_forward_tokens, streams=streams)
    done, i = 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        batch = [texts[(i + j) % len(texts)] for j in range(32)]
        encoded = enc.tokenizer.encode(batch, max_length=256)
        for e, h in zip(encoded, enc.forward(encoded)):
            enc.pool(TokenStates(e, h), LayerChoice(-1), "mean")
        done += 32
        i += 33
    return done / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


# ----- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="counted seconds per scenario and server")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--peer-home", type=Path, default=PEER_HOME)
    ap.add_argument("--lexiflow-env", nargs="*", default=[], metavar="LEXIFLOW_X=V",
                    help="settings for the lexiflow server (default: none, its default configuration)")
    ap.add_argument("--only", nargs="*", help="server names to run (default: all three)")
    ap.add_argument("--neighbour", action="store_true", help="run a busy-loop process (one core) throughout")
    ap.add_argument("--out", type=Path, help="write every number as JSON")
    ap.add_argument("--write", action="store_true", help="put the table into BENCHMARKS.md")
    ap.add_argument("--from-json", type=Path, help="print (and with --write record) the table of a saved --out "
                                                   "report instead of measuring")
    args = ap.parse_args(argv)
    if args.from_json:
        table = render(json.loads(args.from_json.read_text()))
        print(table)
        if args.write:
            write_table(table)
        return 0

    from evals.encoder_parity import real_sentences
    from pipelines.loading import default_encoder_path
    from service.settings import Settings

    texts = [t for t in real_sentences(3000, seed=1) if 8 <= len(t.split()) <= 25]
    model = default_encoder_path()
    venv = peer_venv(args.peer_home)
    onnx_dir = peer_onnx(venv, model, args.peer_home)
    lex_env = dict(kv.split("=", 1) for kv in args.lexiflow_env)
    all_servers = servers(venv, model, onnx_dir, lex_env)
    chosen = [s for s in all_servers if not args.only or s.name in args.only]
    logdir = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_peer"
    logdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(**{k.removeprefix("LEXIFLOW_").lower(): v for k, v in lex_env.items()})
    threads, backend, streams = settings.effective_torch_threads, settings.encoder_backend, settings.encoder_streams
    neighbour = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if args.neighbour else None
    load_start = os.getloadavg()
    started = dt.datetime.now(dt.timezone.utc)
    results: dict[str, dict[str, list[Run]]] = {s.name: {} for s in chosen}
    idle_cpu: dict[str, float] = {s.name: 0.0 for s in chosen}
    try:
        inproc = [in_process_rate(texts, threads, backend, streams=streams)]
        for s in chosen:
            s.start(logdir)
        for s in chosen:
            s.wait("/readyz" if s.name == "lexiflow" else "/health")
        probe = texts[:64]
        ref = vectors(chosen[0], probe)
        agreement = {s.name: round(float((vectors(s, probe) * ref).sum(1).min()), 6) for s in chosen}
        print(f"[bench_peer] min cosine with {chosen[0].name}: {agreement}", file=sys.stderr)
        for rnd in range(args.repeats):
            for clients, size in SCENARIOS:
                order = chosen if rnd % 2 == 0 else chosen[::-1]
                for s in order:
                    others = [o for o in chosen if o is not s]
                    before = {o.name: o.cpu_seconds() for o in others}
                    own = s.cpu_seconds()
                    run = asyncio.run(run_scenario(s, texts, clients, size, args.seconds, args.warmup))
                    run.server_cpu = s.cpu_seconds() - own
                    for o in others:
                        idle_cpu[o.name] += o.cpu_seconds() - before[o.name]
                    results[s.name].setdefault(f"{clients}x{size}", []).append(run)
                    print(f"[bench_peer] round {rnd + 1} {clients}x{size} {s.name}: {run.rate:.1f} sentences/s, "
                          f"p50 {pct(run.latencies, 50):.1f} ms, errors {run.errors}", file=sys.stderr)
        rss = {s.name: [round(x) for x in s.rss_mb()] for s in chosen}
        inproc.append(in_process_rate(texts, threads, backend, streams=streams))
    finally:
        for s in chosen:
            s.stop()
        if neighbour is not None:
            neighbour.terminate()
    load_end = os.getloadavg()
    summary = summarise(results, args.warmup)
    report = {"date": started.isoformat(timespec="seconds"), "cpu": cpu_model(), "cores": usable_cores(),
              "load_start": load_start, "load_end": load_end, "neighbour": args.neighbour,
              "lexiflow_env": lex_env, "lexiflow_backend": backend, "lexiflow_threads": threads,
              "lexiflow_streams": streams,
              "in_process_batch32": [round(x, 1) for x in inproc], "agreement_min_cosine": agreement,
              "rss_mb": rss, "idle_cpu_s": {k: round(v, 1) for k, v in idle_cpu.items()},
              "seconds": args.seconds, "repeats": args.repeats, "summary": summary,
              "command": "PYTHONPATH=. python bench/bench_peer.py " + " ".join(argv or sys.argv[1:])}
    table = render(report)
    print(table)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.write:
        write_table(table)
    return 0


def write_table(table: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    if START not in text:
        text += f"\n## Encoder serving vs infinity-emb (issue 16, `bench/bench_peer.py`)\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    BENCHMARKS.write_text(f"{head}{START}\n{table}{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def summarise(results: dict[str, dict[str, list[Run]]], warmup: float) -> dict[str, dict[str, dict[str, float]]]:
    def r_warm(run: Run) -> float:  # the warm-up's share of sentences, from the counted rate (it is not counted)
        return warmup / run.seconds if run.seconds else 0.0

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, by in results.items():
        out[name] = {}
        for key, runs in by.items():
            lat = [x for r in runs for x in r.latencies]
            errors: dict[int, int] = {}
            for r in runs:
                for code, n in r.errors.items():
                    errors[code] = errors.get(code, 0) + n
            out[name][key] = {"rate": round(statistics.median(r.rate for r in runs), 1),
                              "rates": [round(r.rate, 1) for r in runs], "p50_ms": round(pct(lat, 50), 1),
                              "p95_ms": round(pct(lat, 95), 1), "requests": len(lat),
                              # server CPU per sentence (warm-up included in both counts: an estimate)
                              "server_cpu_ms_per_sentence": round(1000 * sum(r.server_cpu for r in runs) / max(
                                  1, sum(r.sentences * (1 + r_warm(r)) for r in runs)), 2),
                              "errors": {str(k): v for k, v in errors.items()}}
    return out


def render(r: dict) -> str:
    names = list(r["summary"])
    agree = r["agreement_min_cosine"]
    lines = [f"Command: `{r['command'].strip()}`. Date: {r['date']}. Machine: {r['cores']} cores ({r['cpu']}); "
             f"load average (1/5/15 min) {' / '.join(f'{x:.2f}' for x in r['load_start'])} at the start → "
             f"{' / '.join(f'{x:.2f}' for x in r['load_end'])} at the end"
             f"{'; a busy-loop neighbour process ran throughout' if r['neighbour'] else ''}. lexiflow: "
             f"backend {r['lexiflow_backend']}, {r['lexiflow_threads']} threads, settings "
             f"{r['lexiflow_env'] or 'default'}. {r['repeats']} interleaved rounds of {r['seconds']:.0f} s per "
             "scenario and server; sentences/s is the median over rounds (all rounds in brackets), latency "
             "percentiles over every request.", "",
             "| scenario | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for clients, size in SCENARIOS:
        key = f"{clients}x{size}"
        cells = []
        for n in names:
            s = r["summary"][n].get(key)
            if s is None:
                cells.append("-")
                continue
            err = f", **{sum(s['errors'].values())} errors**" if s["errors"] else ""
            cells.append(f"**{s['rate']:.0f}** ({'/'.join(f'{x:.0f}' for x in s['rates'])}); "
                         f"p50 {s['p50_ms']:.0f} / p95 {s['p95_ms']:.0f} ms{err}")
        lines.append(f"| {clients} client{'s' if clients > 1 else ''} x {size} sentence{'s' if size > 1 else ''} | "
                     + " | ".join(cells) + " |")
    if all("server_cpu_ms_per_sentence" in r["summary"][n].get(f"{c}x{z}", {}) for n in names for c, z in SCENARIOS
           if f"{c}x{z}" in r["summary"][n]):
        lines.append("| server CPU ms per sentence (1x1 / 16x1 / 1x32 / 4x32) | " + " | ".join(
            " / ".join(f"{r['summary'][n][f'{c}x{z}']['server_cpu_ms_per_sentence']:.1f}" for c, z in SCENARIOS
                       if f"{c}x{z}" in r["summary"][n]) for n in names) + " |")
    lines.append("")
    lines.append(f"Vectors: min cosine over 64 sentences against {names[0]}: "
                 + ", ".join(f"{k} {v:.6f}" for k, v in agree.items()) + ".")
    streams = f", {r['lexiflow_streams']} streams" if "lexiflow_streams" in r else ""
    lines.append(f"lexiflow in-process ({r['lexiflow_backend']}, {r['lexiflow_threads']} threads{streams}, batches of 32, "
                 f"before / after the servers ran): {' / '.join(f'{x:.0f}' for x in r['in_process_batch32'])} "
                 f"sentences/s. Resident memory at the end (MB, per process): "
                 + "; ".join(f"{k} {v}" for k, v in r["rss_mb"].items())
                 + ". CPU seconds used by each server while idle (others measured): "
                 + ", ".join(f"{k} {v}" for k, v in r["idle_cpu_s"].items()) + ".")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
