#!/usr/bin/env python
"""Throughput of the HTTP API against the same pipelines called in-process.

  make bench                                     # or: PYTHONPATH=. python bench/bench_api.py
  python bench/bench_api.py --requests 100 --batch 64 --write   # append/update rows in BENCHMARKS.md

Starts the real service (`python -m lexiflow serve`, 1 uvicorn worker, 127.0.0.1 only), sends
batched requests over one keep-alive `httpx.Client`, and compares with calling the pipeline in
this process on the same batches:

* lemmatize, words/s: `POST /v1/lemmatize` (engine "rule") vs `Lemmatizer.load("rule").lemmatize(batch)`;
  words = whitespace-separated words of the input, the same count for both sides.
* tokenize pairs, sequences/s: `POST /v1/tokenize` with `text` + `text_pair` vs (a) the raw
  `tokenizers.Tokenizer.encode_batch(list_of_pairs)` and (b) `WordPieceTokenizer.encode(texts, pairs)`,
  which builds everything the endpoint returns.

Each side is warmed up, and its answers are checked against the other's (same lemmas, same ids)
before timing. Timing alternates between the sides in rounds so that background load hits both
alike; each measurement stops at `--requests` requests per side or its time budget (< 60 s).
The ratio is API / in-process throughput; the target is >= 70%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source tree without `pip install -e .`
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_model, free_port, usable_cores  # noqa: E402

from pipelines import Lemmatizer, WordPieceTokenizer  # noqa: E402
from pipelines.loading import ENCODER_NAME, default_encoder_path  # noqa: E402

TARGET = 0.70
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START = "<!-- bench_api:start -->"
SECTION_END = "<!-- bench_api:end -->"
TABLE_HEAD = ("| date | machine | metric | in-process | API | ratio | target |\n"
              "|---|---|---|---:|---:|---:|---|\n")

# 64 fixed sentences of 15-25 words, varied in topic and shape (numbers, names, clauses, punctuation).
SENTENCES = [
    "The committee postponed its final decision until the engineers had finished testing the new bridge design.",
    "She was running late for the interview, so she hailed a taxi instead of waiting for the crowded bus.",
    "Researchers at the university have discovered that certain bacteria can break down plastic bottles within weeks.",
    "After the storm had passed, the villagers gathered on the beach to collect the scattered pieces of wood.",
    "My grandmother always said that the best recipes are the ones you learn by watching, not by reading.",
    "The company reported higher profits in the third quarter, largely because of strong sales in Asian markets.",
    "Children who read for pleasure every day tend to develop richer vocabularies than those who rarely open books.",
    "He carefully unpacked the old photographs, wondering who the smiling strangers standing beside his father had been.",
    "Although the museum was closing in twenty minutes, the guard let us see the last gallery of paintings.",
    "The new software update fixes several security flaws and makes the battery last noticeably longer on older phones.",
    "Farmers in the valley are worried that another dry summer will ruin the wheat harvest for a third year.",
    "When the orchestra began to play, the noisy audience fell silent and listened to every single note.",
    "The detective noticed that the muddy footprints led away from the house and stopped abruptly near the river.",
    "Our neighbours are building a wooden treehouse for their twins, who turn seven years old next month.",
    "Scientists expect the comet to be visible with the naked eye for about two weeks in early April.",
    "The city council has voted to turn the abandoned railway line into a park with cycling and walking paths.",
    "I have been learning Portuguese for three months, and I can finally follow simple conversations at the market.",
    "The chef recommended the grilled salmon, but most of the guests ordered the mushroom risotto instead.",
    "Because the printer kept jamming, the students had to submit their essays by email before midnight.",
    "Wolves were reintroduced to the national park in 1995, and the whole ecosystem has changed since then.",
    "The old lighthouse keeper climbed the spiral staircase every evening to light the lamp before sunset.",
    "Investors became nervous when the central bank hinted that interest rates might rise again this year.",
    "They spent the weekend painting the kitchen a pale yellow that makes the small room look much brighter.",
    "The marathon runners were cheered on by thousands of spectators lining the streets of the historic town.",
    "Doctors advise drinking plenty of water and resting for several days after a bad case of the flu.",
    "The library is digitizing thousands of fragile manuscripts so that scholars around the world can study them online.",
    "Despite heavy traffic on the motorway, the delivery truck arrived at the warehouse only ten minutes late.",
    "Bees play a crucial role in pollinating crops, and their declining numbers worry many agricultural experts.",
    "The teacher asked each student to describe a childhood memory that had shaped the person they became.",
    "During the power cut, we lit candles, played board games, and told ghost stories until well after midnight.",
    "The startup hopes to reduce food waste by connecting supermarkets with charities that feed homeless people.",
    "Tourists flock to the island every summer, attracted by its quiet beaches and crystal clear blue water.",
    "The engineers argued about whether the cheaper materials would survive the harsh winters in the mountains.",
    "He has written four novels, but none of them has sold as many copies as his first collection of poems.",
    "The volcano erupted without warning, sending ash clouds high into the sky and grounding flights across Europe.",
    "Most of the audience left before the encore, unaware that the band had saved its best song for last.",
    "The hospital opened a new wing for children, complete with bright murals and a small indoor playground.",
    "She noticed that the plants on the sunny windowsill grew twice as fast as those kept in the hallway.",
    "The ancient Romans built roads so well that some of them are still used by cars and trucks today.",
    "A sudden gust of wind lifted the umbrella out of his hands and carried it across the busy square.",
    "The negotiations broke down late on Friday night when neither side was willing to accept the compromise.",
    "Learning to play the violin requires patience, because the first months mostly produce squeaks and scratches.",
    "The train to Edinburgh was cancelled, so the passengers were offered seats on a replacement coach service.",
    "Engineers are testing whether self-driving buses can safely navigate the narrow streets of the old town centre.",
    "Every morning the baker wakes at four o'clock to prepare fresh bread, croissants, and cinnamon rolls.",
    "The documentary follows a family of elephants as they travel hundreds of miles in search of water.",
    "Several witnesses claimed they had seen a bright light hovering above the fields shortly before dawn.",
    "The school replaced its old computers with laptops, which the pupils can now take home over the weekend.",
    "When prices rose sharply last winter, many households turned down their heating and wore thicker sweaters indoors.",
    "The gardener explained that roses need at least six hours of direct sunlight to bloom properly each day.",
    "Archaeologists digging near the cathedral uncovered coins, pottery, and the remains of a medieval wooden house.",
    "Our flight was delayed by three hours because the crew had not arrived from their previous destination.",
    "The young programmer spent all night searching for the bug that caused the payment system to crash.",
    "Many people find that walking in the forest reduces stress and helps them think more clearly about problems.",
    "The referee's controversial decision in the final minute sparked angry protests from the visiting team's supporters.",
    "Local volunteers cleaned the riverbanks on Saturday, removing more than two tonnes of rubbish and old tyres.",
    "The professor's lectures were so popular that students sat on the stairs when all the seats were taken.",
    "Heavy snowfall closed the mountain pass, leaving dozens of drivers stranded in their cars overnight.",
    "The translator worked through the weekend to finish the contract before the two companies met on Monday.",
    "My brother claims he can cook a better curry than any restaurant in town, but nobody believes him.",
    "The satellite will measure changes in sea ice thickness and send the data back to researchers every hour.",
    "Shoppers queued outside the electronics store for hours, hoping to buy the new console before it sold out.",
    "The architect designed the library so that natural light reaches every reading room throughout the day.",
    "After months of rehearsals, the amateur theatre group finally performed the play to a sold-out audience.",
]


# ----- inputs ----------------------------------------------------------------------------------
def text_batch(k: int, size: int) -> list[str]:
    """Batch k: `size` sentences starting at a k-dependent offset (deterministic, cycled)."""
    n = len(SENTENCES)
    return [SENTENCES[(k * 13 + j) % n] for j in range(size)]


def pair_batch(k: int, size: int) -> tuple[list[str], list[str]]:
    """Batch k of (sentence, the sentence after it) pairs."""
    n = len(SENTENCES)
    first = [SENTENCES[(k * 13 + j) % n] for j in range(size)]
    second = [SENTENCES[(k * 13 + j + 1) % n] for j in range(size)]
    return first, second


def n_words(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


# ----- the server --------------------------------------------------------------------------------
def start_server(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEXIFLOW_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"LEXIFLOW_HOST": "127.0.0.1", "LEXIFLOW_PORT": str(port), "LEXIFLOW_WORKERS": "1",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "lexiflow", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"/readyz not 200 within {timeout:.0f} s:\n{log_path.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# ----- timing -----------------------------------------------------------------------------------
@dataclass
class Side:
    name: str
    call: Callable[[int], None]  # runs request/batch number k
    units: Callable[[int], int]  # words or sequences in batch k
    requests: int = 0
    units_done: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.units_done / self.seconds if self.seconds else 0.0


def run_interleaved(sides: list[Side], requests: int, budget_s: float, rounds: int = 5, warmup: int = 0) -> None:
    """`requests` calls per side, in `rounds` alternating chunks; a side stops early past its share of the budget."""
    for side in sides:  # untimed first calls: threads, caches, allocator
        for k in range(warmup):
            side.call(k)
    per_side_budget = budget_s / len(sides)
    k = 0
    for r in range(rounds):
        chunk = requests // rounds + (1 if r < requests % rounds else 0)
        order = sides if r % 2 == 0 else list(reversed(sides))
        for side in order:
            for i in range(chunk):
                if side.seconds >= per_side_budget:
                    break
                batch_no = k + i
                t0 = time.perf_counter()
                side.call(batch_no)
                side.seconds += time.perf_counter() - t0
                side.requests += 1
                side.units_done += side.units(batch_no)
        k += chunk


def machine() -> str:
    """Cores and CPU model, short, for the table's machine column."""
    return f"{usable_cores()} × {cpu_model()}"


def load_note(start: tuple[float, float, float], end: tuple[float, float, float]) -> str:
    """Load average (1 / 5 / 15 min) at the start and the end of the run."""
    return " → ".join(" / ".join(f"{x:.2f}" for x in la) for la in (start, end))


# ----- BENCHMARKS.md ----------------------------------------------------------------------------------
HEADER = f"""# Benchmarks

Numbers depend on the machine and on what else runs on it: each row names the CPU count, CPU
model and load average (1 / 5 / 15 min) at the start → end of the run.

## API vs in-process (`bench/bench_api.py`)

Command: `make bench` (prints the table), or `PYTHONPATH=. python bench/bench_api.py --write` to
record rows here. The service runs as a real uvicorn process (1 worker) on 127.0.0.1; requests are
batches of 64 over one keep-alive HTTP connection, compared with the same pipeline called in-process.

- **lemmatize words/s**: `POST /v1/lemmatize` (engine `rule`) vs `Lemmatizer.load("rule").lemmatize(batch)`.
- **tokenize pairs seq/s, raw tokenizers**: `POST /v1/tokenize` with `text_pair` vs `tokenizers.Tokenizer.encode_batch(pairs)`.
- **tokenize pairs seq/s, pipeline**: the same requests vs `WordPieceTokenizer.encode(texts, pairs)`, which builds
  everything the endpoint returns (truncation report, sequence ids, unknown spans).
- **ratio** = API / in-process throughput; target >= {TARGET:.0%}.

{SECTION_START}
{TABLE_HEAD}{SECTION_END}
"""


def row_key(line: str) -> tuple[str, str, str] | None:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 7 or cells[0] in ("date", "---"):
        return None
    return cells[0], cells[1].split("; load")[0], cells[2]


def write_rows(rows: list[str]) -> None:
    """Add rows to the bench_api section; a row for the same date, machine and metric is replaced."""
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else HEADER
    if SECTION_START not in text or SECTION_END not in text:
        text = text.rstrip("\n") + "\n\n## " + HEADER.split("## ", 1)[1]  # keep other benches' sections
    before, rest = text.split(SECTION_START, 1)
    section, after = rest.split(SECTION_END, 1)
    existing = [ln for ln in section.strip("\n").splitlines() if row_key(ln) is not None]
    new = {row_key(r): r for r in rows}
    merged = [new.pop(row_key(ln), ln) for ln in existing] + list(new.values())  # replace in place, else append
    body = TABLE_HEAD + "".join(ln + "\n" for ln in merged)
    BENCHMARKS.write_text(before + SECTION_START + "\n" + body + SECTION_END + after, encoding="utf-8")


# ----- main ---------------------------------------------------------------------------------------------
def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="timed requests per side and measurement")
    parser.add_argument("--batch", type=int, default=64, help="texts (or pairs) per request")
    parser.add_argument("--port", type=int, default=0, help="server port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--budget", type=float, default=50.0,
                        help="seconds of timed work per measurement, all sides together (< 60)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per side first")
    parser.add_argument("--write", action="store_true", help="append/update rows in BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.requests < 1 or not 1 <= args.batch <= 128:
        parser.error("--requests must be >= 1 and --batch within 1..128 (the service's default max_items)")
    if not 0 < args.budget < 60:
        parser.error("--budget must be within (0, 60) seconds")

    def terminate(signum: int, frame: object) -> None:  # SIGTERM/SIGINT -> exception, so `finally` stops the server
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background, where SIGINT is ignored
    load_start = os.getloadavg()
    port = args.port or free_port()
    print(f"loading in-process pipelines; starting the service on 127.0.0.1:{port} ...", file=sys.stderr)
    fd, name = tempfile.mkstemp(prefix="lexiflow-bench-", suffix=".log")
    os.close(fd)
    log_path = Path(name)
    proc = start_server(port, log_path)
    try:
        lemmatizer = Lemmatizer.load("rule")
        tokenizer = WordPieceTokenizer.from_folder(default_encoder_path(), name=ENCODER_NAME)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False,
                          headers={"content-type": "application/json"}) as client:
            wait_ready(client, proc, log_path)
            results, notes = measure(args, client, lemmatizer, tokenizer)
    finally:
        stop_server(proc)
    print(f"server log: {log_path}", file=sys.stderr)

    mach, load = machine(), load_note(load_start, os.getloadavg())
    date = dt.date.today().isoformat()
    rows = [f"| {date} | {mach}; load {load} | {metric} | {fmt_rate(inp)} | {fmt_rate(api)} | {api / inp:.0%} | "
            f">= {TARGET:.0%} {'✅' if api / inp >= TARGET else '❌'} |"
            for metric, inp, api, _ in results]
    print()
    print(TABLE_HEAD + "\n".join(rows))
    print()
    for metric, _, _, detail in results:
        print(f"- {metric}: {detail}")
    for note in notes:
        print(f"- {note}")
    if args.write:
        write_rows(rows)
        print(f"\nwrote {len(rows)} rows to {BENCHMARKS}")
    return 0


def measure(args: argparse.Namespace, client: httpx.Client, lemmatizer: Lemmatizer,
            tokenizer: WordPieceTokenizer) -> tuple[list[tuple[str, float, float, str]], list[str]]:
    size = args.batch
    # Request bodies are encoded before timing: the client's json.dumps is not the service's cost.
    lem_bodies = {}
    tok_bodies = {}

    def lem_body(k: int) -> bytes:
        key = (k * 13) % len(SENTENCES)
        if key not in lem_bodies:
            lem_bodies[key] = json.dumps({"text": text_batch(k, size), "engine": "rule"}).encode()
        return lem_bodies[key]

    def tok_body(k: int) -> bytes:
        key = (k * 13) % len(SENTENCES)
        if key not in tok_bodies:
            a, b = pair_batch(k, size)
            tok_bodies[key] = json.dumps({"text": a, "text_pair": b}).encode()
        return tok_bodies[key]

    total = args.warmup + args.requests + 1
    for k in range(total):
        lem_body(k), tok_body(k)

    def post(path: str, body: bytes) -> httpx.Response:
        r = client.post(path, content=body)
        if r.status_code != 200:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:500]}")
        return r

    # --- correctness first: both sides do the same work
    batch = text_batch(0, size)
    api_lemmas = [[t["lemma"] for t in res["tokens"]] for res in post("/v1/lemmatize", lem_body(0)).json()["results"]]
    local_lemmas = [[t.lemma for t in doc.tokens] for doc in lemmatizer.lemmatize(batch)]
    if api_lemmas != local_lemmas:
        raise RuntimeError("the API's lemmas differ from the in-process pipeline's: not the same work")
    a, b = pair_batch(0, size)
    api_ids = [res["input_ids"] for res in post("/v1/tokenize", tok_body(0)).json()["results"]]
    raw_ids = [e.ids for e in tokenizer._tok.encode_batch(list(zip(a, b)))]
    pipe_ids = [e.input_ids for e in tokenizer.encode(a, b)]
    if not api_ids == raw_ids == pipe_ids:
        raise RuntimeError("the API's input_ids differ from the in-process tokenizer's: not the same work")

    results = []
    notes: list[str] = []

    # --- lemmatize
    lem_sides = [
        Side("in-process", lambda k: lemmatizer.lemmatize(text_batch(k, size)), lambda k: n_words(text_batch(k, size))),
        Side("API", lambda k: post("/v1/lemmatize", lem_body(k)), lambda k: n_words(text_batch(k, size))),
    ]
    run_interleaved(lem_sides, args.requests, args.budget, warmup=args.warmup)
    inp, api = lem_sides
    results.append((f"lemmatize words/s (batch {size})", inp.rate, api.rate,
                    f"in-process {inp.requests} batches in {inp.seconds:.1f} s "
                    f"({1000 * inp.seconds / inp.requests:.0f} ms/batch); API {api.requests} requests in "
                    f"{api.seconds:.1f} s ({1000 * api.seconds / api.requests:.0f} ms/request)"))

    # --- tokenize pairs: raw tokenizers, our pipeline, the API, interleaved
    def raw(k: int) -> None:
        # tokenizers called directly, reading the fields the endpoint returns (an Encoding's
        # fields are computed lazily in Rust: not reading them would compare with less work)
        first, second = pair_batch(k, size)
        for e in tokenizer._tok.encode_batch(list(zip(first, second))):
            (e.tokens, e.ids, e.type_ids, e.attention_mask, e.special_tokens_mask, e.offsets, e.word_ids,
             e.sequence_ids)

    def pipe(k: int) -> None:
        first, second = pair_batch(k, size)
        tokenizer.encode(first, second)

    tok_sides = [Side("raw", raw, lambda k: size), Side("pipeline", pipe, lambda k: size),
                 Side("API", lambda k: post("/v1/tokenize", tok_body(k)), lambda k: size)]
    run_interleaved(tok_sides, args.requests, args.budget, warmup=args.warmup)
    raw_s, pipe_s, api_s = tok_sides
    detail = "; ".join(f"{s.name} {s.requests} batches in {s.seconds:.2f} s ({1000 * s.seconds / s.requests:.1f} ms/batch)"
                       for s in tok_sides)
    results.append((f"tokenize pairs seq/s (batch {size}), raw tokenizers", raw_s.rate, api_s.rate, detail))
    results.append((f"tokenize pairs seq/s (batch {size}), pipeline", pipe_s.rate, api_s.rate, detail))

    # --- what a tokenize request costs beyond the pipeline, by size: the answer grows with the batch
    def ms_per_call(call: Callable[[], object], n: int = 30) -> float:
        call()
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        return 1000 * (time.perf_counter() - t0) / n

    parts = []
    for n, fields in ((1, None), (8, None), (size, None), (size, ["input_ids", "token_type_ids", "attention_mask"])):
        first, second = pair_batch(0, n)
        body = json.dumps({"text": first, "text_pair": second, **({"fields": fields} if fields else {})}).encode()
        kb = len(post("/v1/tokenize", body).content) / 1024
        api_ms = ms_per_call(lambda: post("/v1/tokenize", body))
        pipe_ms = ms_per_call(lambda: tokenizer.encode(first, second))
        parts.append(f"{n} pair{'s' if n > 1 else ''}{' with `fields` ids/types/mask' if fields else ''}: API "
                     f"{api_ms:.1f} ms, pipeline {pipe_ms:.2f} ms, answer {kb:.0f} KB")
    notes.append("tokenize cost by size, one request at a time: " + "; ".join(parts))

    # --- classify: the shipped CNN in-process vs POST /v1/classify (labels, probabilities and evidence)
    classifier = load_classifier()
    if classifier is not None:
        cls_bodies = {}

        def cls_body(k: int) -> bytes:
            key = (k * 13) % len(SENTENCES)
            if key not in cls_bodies:
                cls_bodies[key] = json.dumps({"text": text_batch(k, size), "top_k": 5}).encode()
            return cls_bodies[key]

        api_labels = [r["label"] for r in post("/v1/classify", cls_body(0)).json()["results"]]
        if api_labels != [c.label for c in classifier.classify(text_batch(0, size), top_k=5)]:
            raise RuntimeError("the API's labels differ from the in-process classifier's: not the same work")
        cls_sides = [Side("in-process", lambda k: classifier.classify(text_batch(k, size), top_k=5), lambda k: size),
                     Side("API", lambda k: post("/v1/classify", cls_body(k)), lambda k: size)]
        run_interleaved(cls_sides, args.requests, args.budget, warmup=args.warmup)
        inp, api = cls_sides
        results.append((f"classify sentences/s (batch {size}, {classifier.name}, evidence top 5)", inp.rate, api.rate,
                        f"in-process {inp.requests} batches in {inp.seconds:.1f} s; API {api.requests} requests in "
                        f"{api.seconds:.1f} s"))
    return results, notes


def load_classifier():  # noqa: ANN201 - a TextClassifier or None
    """The default shipped classifier, loaded with the torch threads the service would use."""
    from pipelines import TextClassifier, discover_artifacts
    from pipelines.loading import ARTIFACTS_DIR, set_torch_threads
    from service.settings import Settings

    found = discover_artifacts(ARTIFACTS_DIR / "classifier", "classifier")
    if not found:
        print("no classifier artifact: classify not measured", file=sys.stderr)
        return None
    set_torch_threads(Settings(workers=1).effective_torch_threads)
    name, folder = next(iter(found.items()))
    encoder = None
    if TextClassifier.needs_encoder(folder):  # a contextual CNN reads the shipped encoder, as the service does
        from pipelines import ContextualEncoder

        encoder = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME)
    return TextClassifier.load(folder, name=name, encoder=encoder)


if __name__ == "__main__":
    sys.exit(main())
