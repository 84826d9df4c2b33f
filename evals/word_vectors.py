"""Word-vector evaluation: ``lexiflow eval word2vec`` (any static vectors: GloVe, our word2vec,
a file), and ``evaluate`` for the trainer's metrics.

Evaluation uses the test files shipped inside the gensim wheel (``gensim.test.utils.datapath``):
Mikolov's analogies (``questions-words.txt``, 19,544 questions, 3CosAdd via
``evaluate_word_analogies``) among the model's 30,000 most frequent words (Mikolov et al.'s
setting; also keeps GloVe's 400,000-word search fast), and WordSim-353 and SimLex-999
(``evaluate_word_pairs``: Spearman and Pearson) among the first 300,000 words (gensim's default).
Words are matched case-insensitively. A question or pair with a word outside that vocabulary is
skipped and counted in its OOV ratio; ``accuracy_all`` counts skipped questions as wrong.

    lexiflow eval word2vec                  # GloVe 6B 50d and the shipped word2vec, as a table
    lexiflow eval word2vec --model mine=/data/vectors.bin --shared-vocab --markdown
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gensim
import numpy as np
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from models.runcard import machine
from pipelines.embeddings.static import (
    WORD2VEC_NAME,
    StaticVectors,
    file_stem,
    load_static,
    parse_static_config,
    resolve_source,
)
from pipelines.errors import PipelineError

log = logging.getLogger("lexiflow.word2vec")

EVAL_FILES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_RESTRICT_VOCAB = 30_000
PAIRS_RESTRICT_VOCAB = 300_000


# ----- evaluation -----------------------------------------------------------------------------------
def _count_analogies(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if not line.startswith(":") and len(line.split()) == 4)


def _count_pairs(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip() and not line.startswith("#") and len(line.split("\t")) == 3)


def evaluate_analogies(kv: KeyedVectors, *, restrict_vocab: int = ANALOGY_RESTRICT_VOCAB) -> dict[str, Any]:
    path = datapath(EVAL_FILES["analogies"])
    total = _count_analogies(path)
    _, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab, case_insensitive=True)
    per_kind = {"semantic": [0, 0], "syntactic": [0, 0]}
    for s in sections[:-1]:  # the last one is gensim's "Total accuracy"
        kind = per_kind["syntactic" if s["section"].startswith("gram") else "semantic"]
        kind[0] += len(s["correct"])
        kind[1] += len(s["correct"]) + len(s["incorrect"])
    correct = len(sections[-1]["correct"])
    evaluated = correct + len(sections[-1]["incorrect"])
    return {
        "file": EVAL_FILES["analogies"], "method": "3CosAdd (gensim evaluate_word_analogies)",
        "restrict_vocab": restrict_vocab, "questions": total, "evaluated": evaluated, "correct": correct,
        "accuracy": correct / evaluated if evaluated else None,
        "accuracy_all": correct / total if total else None,
        "oov_ratio": 1 - evaluated / total if total else None,
        "semantic_accuracy": per_kind["semantic"][0] / per_kind["semantic"][1] if per_kind["semantic"][1] else None,
        "syntactic_accuracy": (per_kind["syntactic"][0] / per_kind["syntactic"][1]
                               if per_kind["syntactic"][1] else None),
    }


def evaluate_pairs(kv: KeyedVectors, which: str, *, restrict_vocab: int = PAIRS_RESTRICT_VOCAB) -> dict[str, Any]:
    path = datapath(EVAL_FILES[which])
    total = _count_pairs(path)
    out: dict[str, Any] = {"file": EVAL_FILES[which], "restrict_vocab": restrict_vocab, "pairs": total}
    try:
        with warnings.catch_warnings():  # a tiny model's constant similarities: reported as None below
            warnings.simplefilter("ignore")
            pearson, spearman, oov_percent = kv.evaluate_word_pairs(path, restrict_vocab=restrict_vocab,
                                                                    case_insensitive=True)
    except (ValueError, ZeroDivisionError):  # gensim: no pair has both words in the vocabulary
        return {**out, "evaluated": 0, "spearman": None, "spearman_p": None, "pearson": None, "oov_ratio": 1.0}
    oov_ratio = float(oov_percent) / 100
    return {**out, "evaluated": round(total * (1 - oov_ratio)), "spearman": _number(spearman.statistic),
            "spearman_p": _number(spearman.pvalue), "pearson": _number(pearson.statistic), "oov_ratio": oov_ratio}


def _number(x: Any) -> float | None:
    """A float, or None where the statistic is undefined (NaN is not JSON)."""
    x = float(x)
    return x if np.isfinite(x) else None


def evaluate(kv: KeyedVectors, *, analogy_vocab: int = ANALOGY_RESTRICT_VOCAB, pairs_vocab: int = PAIRS_RESTRICT_VOCAB,
             tasks: Sequence[str] = tuple(EVAL_FILES)) -> dict[str, Any]:
    """``{"analogies": {...}, "wordsim353": {...}, "simlex999": {...}}`` (those asked for)."""
    out: dict[str, Any] = {"case_insensitive": True, "gensim_version": gensim.__version__}
    quiet = logging.getLogger("gensim.models.keyedvectors")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))  # gensim logs every skipped pair at INFO
    try:
        for task in tasks:
            t0 = time.perf_counter()
            if task == "analogies":
                out[task] = evaluate_analogies(kv, restrict_vocab=analogy_vocab)
            elif task in EVAL_FILES:
                out[task] = evaluate_pairs(kv, task, restrict_vocab=pairs_vocab)
            else:
                raise ValueError(f"unknown evaluation {task!r}; expected some of {list(EVAL_FILES)}")
            out[task]["seconds"] = round(time.perf_counter() - t0, 2)
    finally:
        quiet.setLevel(level)
    return out



# ----- lexiflow eval word2vec --------------------------------------------------------------------------
def build_eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lexiflow eval word2vec",
                                description="Evaluate static vectors on analogies, WordSim-353 and SimLex-999 "
                                            "(the test files shipped inside gensim).")
    p.add_argument("--model", action="append", default=None,
                   help="glove-6b-50d, word2vec-wikitext2, a vectors file (FORMAT:PATH to force a format) or an "
                        "artifact folder; NAME=SOURCE to name it; repeat to compare "
                        "(default: glove-6b-50d and word2vec-wikitext2)")
    p.add_argument("--tasks", default=",".join(EVAL_FILES), help=f"comma-separated, from {','.join(EVAL_FILES)}")
    p.add_argument("--analogy-vocab", type=int, default=ANALOGY_RESTRICT_VOCAB,
                   help="analogies: search among the N most frequent words of each model")
    p.add_argument("--pairs-vocab", type=int, default=PAIRS_RESTRICT_VOCAB,
                   help="word pairs: among the N most frequent words of each model")
    p.add_argument("--shared-vocab", action="store_true",
                   help="also evaluate each model restricted to the words every model has (lowercased), so that "
                        "they answer the same questions")
    p.add_argument("--cache-dir", type=Path, default=None, help="where GloVe is converted (LEXIFLOW_VECTORS_CACHE)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument("--markdown", action="store_true", help="print a Markdown table with command, machine and date")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_eval_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("gensim").setLevel(logging.WARNING)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in EVAL_FILES]
    if unknown or not tasks:
        print(f"word2vec eval: unknown task(s) {unknown}; choose from {list(EVAL_FILES)}", file=sys.stderr)
        return 2
    t_all = time.perf_counter()
    started = datetime.now(UTC)
    specs = args.model or ["glove-6b-50d", WORD2VEC_NAME]
    results: dict[str, Any] = {}
    loaded: dict[str, StaticVectors] = {}
    for spec in specs:
        try:
            (name, source), = parse_static_config(spec if "=" in spec else {_name_of(spec): spec}).items()
            t0 = time.perf_counter()
            vectors = loaded[name] = load_static(name, source, cache_dir=args.cache_dir)
        except (PipelineError, ValueError) as exc:
            print(f"word2vec eval: {getattr(exc, 'detail', exc)}", file=sys.stderr)
            return 2
        metrics = evaluate(vectors.keyed_vectors, analogy_vocab=args.analogy_vocab, pairs_vocab=args.pairs_vocab,
                           tasks=tasks)
        results[name] = {"model": vectors.info(), **metrics, "seconds": round(time.perf_counter() - t0, 1)}
        log.info("%s evaluated in %.1f s", name, results[name]["seconds"])
    if args.shared_vocab:
        common = set.intersection(*({str(k).lower() for k in v.keyed_vectors.index_to_key} for v in loaded.values()))
        for name, vectors in loaded.items():
            t0 = time.perf_counter()
            kv = restrict_to(vectors.keyed_vectors, common)
            metrics = evaluate(kv, analogy_vocab=args.analogy_vocab, pairs_vocab=args.pairs_vocab, tasks=tasks)
            label = f"{name} (shared vocab)"
            results[label] = {"model": {**vectors.info(), "name": label, "vocab_size": len(kv)}, **metrics,
                              "seconds": round(time.perf_counter() - t0, 1)}
            log.info("%s evaluated in %.1f s", label, results[label]["seconds"])
    seconds = time.perf_counter() - t_all
    if args.json:
        print(json.dumps({"models": results, "machine": machine(), "date": started.isoformat(timespec="seconds"),
                          "seconds": round(seconds, 1)}, indent=2))
    elif args.markdown:
        command = "lexiflow eval word2vec" + (" " + shlex.join(argv) if argv else "")
        print(format_markdown(results, command=command, seconds=seconds, when=started))
    else:
        print(format_table(results))
    return 0


def restrict_to(kv: KeyedVectors, words: set[str]) -> KeyedVectors:
    """The vectors of ``kv`` whose lowercased key is in ``words``, in ``kv``'s (frequency) order;
    the first of several keys with the same lowercase form wins."""
    keep, seen = [], set()
    for i, key in enumerate(kv.index_to_key):
        low = str(key).lower()
        if low in words and low not in seen:
            seen.add(low)
            keep.append(i)
    out = KeyedVectors(kv.vector_size, count=0, dtype=np.float32)
    if keep:
        out.add_vectors([kv.index_to_key[i] for i in keep], np.asarray(kv.vectors[keep], dtype=np.float32))
    return out


def _name_of(spec: str) -> str:
    target = resolve_source(spec)
    if isinstance(target, str) or spec == WORD2VEC_NAME:
        return spec
    return file_stem(Path(target)) or spec


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


_HEAD = ["model", "vocab", "dim", "analogy acc", "acc (OOV=wrong)", "analogy OOV", "semantic", "syntactic",
         "WS353 rho", "WS353 OOV", "SimLex rho", "SimLex OOV", "seconds"]


def _rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, r in results.items():
        a, w, s = r.get("analogies", {}), r.get("wordsim353", {}), r.get("simlex999", {})
        info = r.get("model", {})
        rows.append([name, f"{info.get('vocab_size', '')}", str(info.get("dim", "")),
                     _fmt(a.get("accuracy"), True), _fmt(a.get("accuracy_all"), True), _fmt(a.get("oov_ratio"), True),
                     _fmt(a.get("semantic_accuracy"), True), _fmt(a.get("syntactic_accuracy"), True),
                     _fmt(w.get("spearman")), _fmt(w.get("oov_ratio"), True),
                     _fmt(s.get("spearman")), _fmt(s.get("oov_ratio"), True), str(r.get("seconds", "-"))])
    return rows


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """One row per model: analogies (accuracy on covered questions, on all, OOV), then each pair set."""
    rows = [_HEAD, *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEAD))]
    buf = io.StringIO()
    for k, row in enumerate(rows):
        buf.write("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)) + "\n")
        if k == 0:
            buf.write("  ".join("-" * wd for wd in widths) + "\n")
    return buf.getvalue().rstrip("\n")


def format_markdown(results: dict[str, dict[str, Any]], *, command: str, seconds: float, when: datetime) -> str:
    m = machine()
    first = next(iter(results.values()), {})
    analogy_vocab = first.get("analogies", {}).get("restrict_vocab", ANALOGY_RESTRICT_VOCAB)
    pairs_vocab = next((first[t]["restrict_vocab"] for t in ("wordsim353", "simlex999") if t in first),
                       PAIRS_RESTRICT_VOCAB)
    lines = [
        f"Command: `{command}`. Machine: {m['cpus']} CPU cores ({m['cpu']}), load {m['loadavg_1_5_15']}; "
        f"date {when.date().isoformat()}; {seconds:.0f} s.",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|---|" + "---:|" * (len(_HEAD) - 1),
        *("| " + " | ".join(row) + " |" for row in _rows(results)),
        "",
        f"Analogies: `questions-words.txt` (19,544), 3CosAdd, among each model's {analogy_vocab:,} most frequent "
        f"words; WordSim-353 / SimLex-999: Spearman rho among the first {pairs_vocab:,} words; words matched "
        "case-insensitively. OOV = share of questions / pairs skipped because a word is outside that vocabulary; "
        "\"acc (OOV=wrong)\" counts them as errors."
        + (" \"(shared vocab)\": the model restricted to the words every model in the table has, so that all "
           "answer the same questions and pairs." if any(k.endswith("(shared vocab)") for k in results) else ""),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(eval_main())
