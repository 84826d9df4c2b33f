"""Train, and evaluate, a Kim (2014) TextCNN sentence classifier.

    python -m training.classifier --data trec --embedding-mode non-static --output artifacts/classifier/trec-cnn
    python -m training.classifier eval --model artifacts/classifier/trec-cnn --data trec
    python -m training.classifier --data mine.csv --text-column text --label-column label --dry-run

Data: ``trec`` (5,452 training questions; test = the untouched 500-question test set), ``mr``
(10,605 movie-review snippets; test = a fixed seeded 10% split) or a CSV/TSV/JSONL file. The dev
set used for early stopping and checkpoint selection is carved out of the training data
(``--dev-fraction``, stratified and seeded) or read from ``--dev``; the test set is never used to
choose anything and is evaluated once, at the end.

Small named functions (``load_dataset``, ``build_vocab``, ``load_vectors``, ``train_one_epoch``,
``evaluate``, ``fit``) behind ``main(argv)``; never imported by the service. The batches and the
fit loop live in ``training.classifier_fit``, the vectors in ``training.vectors``, the evaluation
CLI in ``training.classifier_eval`` (all re-exported here).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import random
import shlex
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models import text_cnn
from models.text_cnn import CONV_PADDINGS, EMBEDDING_MODES, TextCNN, TextCNNConfig, format_summary, summary
from models.vocab import PAD, TOKENIZERS, UNK, Vocab, tokenize
from models.runcard import machine_line
from training.datasets import MR, TREC, LabelledText, load_mr, load_trec, read_labelled_file
from training.loop import INITS, OPTIMIZERS, SCHEDULES, format_report, init_weights, set_seed
from training.classifier_fit import (  # noqa: F401  (re-exported)
    Batches,
    Encoded,
    FitResult,
    batches,
    encode,
    evaluate,
    fit,
    train_one_epoch,
)
from training.vectors import (  # noqa: F401  (re-exported: the trainer's public names)
    GLOVE_6B_50D,
    WORD2VEC_ARTIFACT,
    extend_vocabulary,
    glove_words,
    load_vectors,
    vector_words,
)

MR_SPLIT_SEED = 20140825  # fixed: the MR test split never changes with --seed
DRY_RUN_EXAMPLES = 64
DRY_RUN_BATCHES = 2


def _log(msg: str) -> None:
    print(f"[train_classifier] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- data


@dataclass
class DataSplits:
    train: list[LabelledText]
    dev: list[LabelledText]
    test: list[LabelledText]
    labels: list[str]
    source: str
    licence: str
    splits: dict[str, str] = field(default_factory=dict)


def stratified_split(items: Sequence[LabelledText], fraction: float, seed: int
                     ) -> tuple[list[LabelledText], list[LabelledText]]:
    """Split off ``fraction`` of every label (rounded, at least one when the label has 2+ items),
    reproducibly for a seed. Returns (kept, held_out), each in the original order."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, x in enumerate(items):
        by_label.setdefault(x.label, []).append(i)
    held: set[int] = set()
    for label in sorted(by_label):
        idx = by_label[label]
        n = round(len(idx) * fraction)
        if fraction > 0 and n == 0 and len(idx) >= 2:
            n = 1
        held.update(rng.sample(idx, n))
    return ([x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held])


def load_dataset(
    data: str,
    *,
    text_column: str = "text",
    label_column: str = "label",
    dev: str | None = None,
    dev_fraction: float = 0.1,
    test: str | None = None,
    test_fraction: float | None = None,
    split_seed: int = 0,
) -> DataSplits:
    """Load ``trec``, ``mr`` or a file and split it into train / dev / test."""
    if data == "trec":
        train, test_set = load_trec()
        source, licence = TREC.source, TREC.licence
        test_desc = "the official 500-question TREC test set (untouched)"
    elif data == "mr":
        frac = 0.1 if test_fraction is None else test_fraction
        train, test_set = stratified_split(load_mr(), frac, MR_SPLIT_SEED)
        source, licence = MR.source, MR.licence
        test_desc = f"a fixed stratified {frac:.0%} split (seed {MR_SPLIT_SEED})"
    else:
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"--data {data}: not 'trec', 'mr' or an existing file")
        rows = read_labelled_file(path, text_column=text_column, label_column=label_column)
        source, licence = f"{path.name} (columns {text_column!r}, {label_column!r})", "unknown (user file)"
        if test:
            train, test_set = rows, read_labelled_file(test, text_column=text_column, label_column=label_column)
            test_desc = f"file {Path(test).name}"
        elif test_fraction:
            train, test_set = stratified_split(rows, test_fraction, MR_SPLIT_SEED)
            test_desc = f"a fixed stratified {test_fraction:.0%} split (seed {MR_SPLIT_SEED})"
        else:
            train, test_set = rows, []
            test_desc = "none"
    if dev:
        dev_set = read_labelled_file(dev, text_column=text_column, label_column=label_column)
        dev_desc = f"file {Path(dev).name}"
    else:
        train, dev_set = stratified_split(train, dev_fraction, split_seed)
        dev_desc = f"a stratified {dev_fraction:.0%} of the training data (seed {split_seed})"
    labels = sorted({x.label for x in train} | {x.label for x in dev_set})
    unknown = sorted({x.label for x in test_set} - set(labels))
    if unknown:
        raise ValueError(f"test labels never seen in training: {unknown}")
    if len(labels) < 2:
        raise ValueError(f"need at least two labels, found {labels}")
    return DataSplits(train, dev_set, test_set, labels, source, licence,
                      {"train": "the training data less the dev split", "dev": dev_desc, "test": test_desc})


def build_vocab(texts: Sequence[str], *, lower: bool = True, min_freq: int = 1,
                extra_words: Sequence[str] = (), scheme: str = "words") -> Vocab:
    """Words of the training texts seen ``min_freq`` times (most frequent first), then
    ``extra_words`` not already present (e.g. the most frequent words of a vector file)."""
    vocab = Vocab.build((tokenize(t, lower=lower, scheme=scheme) for t in texts), min_freq=min_freq,
                        specials=(PAD, UNK))
    if extra_words:
        seen = set(vocab.itos)
        extra = []
        for w in extra_words:
            if w not in seen and w.strip() and "\n" not in w and "\r" not in w:
                seen.add(w)
                extra.append(w)
        vocab = Vocab(vocab.itos + extra)
    return vocab


@torch.no_grad()
def round_weights(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Round every floating-point weight through ``dtype`` (the precision it will be saved in)."""
    for t in model.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.to(dtype).to(t.dtype))


def balanced_class_weights(labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """n / (C * count_c), as scikit-learn's 'balanced'; classes never seen get weight 1."""
    counts = Counter(labels)
    n = len(labels)
    return torch.tensor([n / (num_classes * counts[c]) if counts[c] else 1.0 for c in range(num_classes)],
                        dtype=torch.float32)


# ---------------------------------------------------------------------- CLI


def _filter_sizes(s: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in s.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 3,4,5, got {s!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"filter widths must be positive, got {s!r}")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.classifier",
                                description="Train a Kim (2014) CNN sentence classifier. "
                                            "Run 'python -m training.classifier eval --help' to evaluate one.")
    d = p.add_argument_group("data")
    d.add_argument("--data", default="trec", help="trec, mr, or a .csv/.tsv/.jsonl file (default: trec)")
    d.add_argument("--text-column", default="text")
    d.add_argument("--label-column", default="label")
    d.add_argument("--dev", default=None, help="a dev file (else --dev-fraction of train is held out)")
    d.add_argument("--dev-fraction", type=float, default=0.1, help="stratified dev share of train (default 0.1)")
    d.add_argument("--test", default=None, help="a test file for --data PATH")
    d.add_argument("--test-fraction", type=float, default=None,
                   help="held-out test share for mr (default 0.1) or a file without --test")
    d.add_argument("--split-seed", type=int, default=0,
                   help="seed of the dev split (default 0: runs with different --seed share one dev set)")
    d.add_argument("--min-freq", type=int, default=1, help="keep training words seen this often")
    m = p.add_argument_group("model")
    m.add_argument("--embeddings", choices=EMBEDDINGS, default=None,
                   help="glove (--vectors glove-6b-50d), word2vec (the shipped artifacts/word2vec/wikitext2-sg) or "
                        "contextual (word vectors from the shipped encoder all-MiniLM-L6-v2, frozen, features cached "
                        "once per data set; --embedding-mode is then 'contextual'); default: --vectors decides")
    m.add_argument("--encoder-layers", default="all",
                   help="contextual: hidden states to mix (0 = the encoder's embeddings; 'all' = every one, with a "
                        "learned softmax mix; with --finetune-layers K, 'all' = L-K..L and 'every' = 0..L, the lower "
                        "ones frozen), or comma-separated indices")
    m.add_argument("--finetune-layers", type=int, default=0,
                   help="contextual: fine-tune a copy of the encoder's top K layers with the CNN (the states of "
                        "layer L-K are cached once; see training.classifier_finetune); 0 = frozen encoder")
    m.add_argument("--encoder-lr", type=float, default=3e-5, help="AdamW rate of the fine-tuned layers")
    m.add_argument("--warmup-fraction", type=float, default=0.1, help="fine-tuning: linear warm-up share of steps")
    m.add_argument("--evals-per-epoch", type=int, default=2, help="fine-tuning: dev evaluations per epoch")
    m.add_argument("--tokenizer", choices=TOKENIZERS, default="ptb",
                   help="ptb: clitics split as TREC and PTB do (what 's, do n't); words: the old regex (whole "
                        "contractions). Recorded in the artifact")
    m.add_argument("--embedding-mode", choices=EMBEDDING_MODES, default="non-static")
    m.add_argument("--vectors", default=GLOVE_6B_50D, help="glove-6b-50d, none, or a word2vec/GloVe text file")
    m.add_argument("--vectors-vocab", type=int, default=0,
                   help="also add the first N words of the vectors (the most frequent, for GloVe and word2vec) to "
                        "the vocabulary, so words never seen in training still have their pretrained vector")
    m.add_argument("--embed-std", type=float, default=0.0,
                   help="standard deviation of the initial embedding entries: pretrained tables are rescaled to it, "
                        "random ones drawn from U[-a, a] with a = std*sqrt(3) (0: pretrained as they are, random "
                        "U[-0.25, 0.25] as in Kim 2014)")
    m.add_argument("--embed-dim", type=int, default=300, help="embedding size when --vectors none")
    m.add_argument("--filter-sizes", type=_filter_sizes, default=(3, 4, 5))
    m.add_argument("--num-filters", type=int, default=100)
    m.add_argument("--dropout", type=float, default=0.5)
    m.add_argument("--max-norm", type=float, default=3.0, help="l2 cap on output weight rows; 0 disables")
    m.add_argument("--conv-padding", choices=CONV_PADDINGS, default="wide",
                   help="wide (Kim's code): windows may hang over the sentence edges; valid: windows inside the text")
    m.add_argument("--init", choices=INITS, default="default")
    m.add_argument("--no-lower", dest="lower", action="store_false", help="keep case when tokenizing")
    t = p.add_argument_group("training")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adadelta")
    t.add_argument("--lr", type=float, default=None, help="default: 1.0 for adadelta, 0.01 for adagrad/sgd-family, 1e-3 otherwise")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", choices=SCHEDULES, default="constant")
    t.add_argument("--warmup-steps", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=50)
    t.add_argument("--epochs", type=int, default=25)
    t.add_argument("--patience", type=int, default=5, help="epochs without dev-accuracy gain before stopping")
    t.add_argument("--class-weights", choices=("none", "balanced"), default="none")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--restarts", type=int, default=1,
                   help="train N models (seeds SEED .. SEED+N-1) and keep the one with the best dev accuracy "
                        "(ties: lower dev loss); the test split plays no part")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--dry-run", action="store_true",
                   help=f"{DRY_RUN_EXAMPLES} examples, {DRY_RUN_BATCHES} batches per epoch, at most 2 epochs")
    t.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="tqdm bar: auto = only on a terminal")
    o = p.add_argument_group("output")
    o.add_argument("--output", default=None, help="artifact folder to write (omit to train without saving)")
    o.add_argument("--name", default=None, help="model name (default: the output folder's name)")
    o.add_argument("--version", default="1.0.0")
    o.add_argument("--fp32", action="store_true", help="save float32 weights (default: float16, half the size; "
                                                      "the reported metrics are measured on the saved weights)")
    return p


EMBEDDINGS = ("glove", "word2vec", "contextual")


def _apply_embeddings(args: argparse.Namespace) -> None:
    """``--embeddings`` as the older flags it stands for."""
    if args.embeddings == "glove":
        args.vectors = GLOVE_6B_50D
    elif args.embeddings == "word2vec":
        args.vectors = WORD2VEC_ARTIFACT
    elif args.embeddings == "contextual":
        args.vectors, args.embedding_mode, args.vectors_vocab = "none", "contextual", 0
    elif args.embedding_mode == "contextual":
        raise SystemExit("--embedding-mode contextual comes with --embeddings contextual")


def _contextual_features(encoder: Any, split: str, items: Sequence[LabelledText], args: argparse.Namespace
                         ) -> list[np.ndarray] | None:
    if encoder is None:
        return None
    if not items:
        return []
    from training.contextual_features import word_features

    data = args.data if args.data in ("trec", "mr") else Path(args.data).stem
    return word_features(encoder, [x.text for x in items], scheme=args.tokenizer, lower=args.lower,
                         label=f"{data}-{split}")


def _default_lr(optimizer: str) -> float:
    if optimizer == "adadelta":
        return 1.0
    if optimizer in ("sgd", "momentum", "nesterov", "adagrad"):
        return 0.01
    return 1e-3


def _load_average() -> list[float] | None:
    """The machine's 1/5/15-minute load averages (other jobs share it: timings depend on them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        return eval_main(argv[1:])
    args = build_parser().parse_args(argv)
    _apply_embeddings(args)
    torch.set_num_threads(max(1, args.threads))
    set_seed(args.seed)
    split_seed = args.split_seed
    started = time.perf_counter()
    load_at_start = _load_average()

    splits = load_dataset(args.data, text_column=args.text_column, label_column=args.label_column, dev=args.dev,
                          dev_fraction=args.dev_fraction, test=args.test, test_fraction=args.test_fraction,
                          split_seed=split_seed)
    train, dev, test = splits.train, splits.dev, splits.test
    if args.dry_run:
        train, dev, test = train[:DRY_RUN_EXAMPLES], dev[: DRY_RUN_EXAMPLES // 4], test[: DRY_RUN_EXAMPLES // 4]
    _log(f"data {args.data}: {len(train)} train / {len(dev)} dev / {len(test)} test, labels {splits.labels}")

    if args.finetune_layers:
        if args.embedding_mode != "contextual":
            raise SystemExit("--finetune-layers comes with --embeddings contextual")
        from training.classifier_finetune import run

        return run(args, argv, splits, train, dev, test, started=started, load_at_start=load_at_start,
                   dry_run_batches=DRY_RUN_BATCHES)
    use_vectors = args.vectors != "none"
    contextual = args.embedding_mode == "contextual"
    encoder = None
    if contextual:
        from training.contextual_features import load_encoder

        encoder = load_encoder()
        n_states = encoder.num_layers + 1
        enc_layers = (tuple(range(n_states)) if args.encoder_layers == "all"
                      else tuple(int(k) % n_states for k in args.encoder_layers.split(",")))
    elif args.embedding_mode != "rand" and not use_vectors:
        raise SystemExit(f"--embedding-mode {args.embedding_mode} needs --vectors (glove-6b-50d or a file)")
    extra: Sequence[str] = ()
    if use_vectors and args.vectors_vocab and args.embedding_mode != "rand":
        extra = vector_words(args.vectors, args.vectors_vocab)
    vocab = (Vocab([PAD, UNK]) if contextual else
             build_vocab([x.text for x in train], lower=args.lower, min_freq=args.min_freq, scheme=args.tokenizer))
    vectors = found = None
    scale = 1.0
    vec_desc: dict[str, Any] | None = None
    if use_vectors and args.embedding_mode != "rand":
        vectors, found, vec_desc = load_vectors(args.vectors, vocab)
        _log(f"vectors {vec_desc['name']}: {vec_desc['found']}/{len(vocab)} vocabulary words found")
        if args.embed_std:
            scale = args.embed_std / float(vectors[found].std()) if int(found.sum()) >= 2 else 1.0
            vectors = vectors * scale
            vec_desc["scaled_by"] = round(scale, 6)
    embed_dim = vectors.shape[1] if vectors is not None else args.embed_dim
    ctx: dict[str, Any] = {}
    if encoder is not None:
        embed_dim = encoder.hidden_size
        ctx = {"encoder": encoder.name, "encoder_layers": enc_layers, "encoder_num_layers": encoder.num_layers}
        vec_desc = {"name": "contextual", "source": f"{encoder.name} {encoder.version} (frozen; the encoder ships "
                    "as a package and is not part of this artifact)", "licence": "Apache-2.0 (the encoder)",
                    "dim": embed_dim, "layers": list(enc_layers)}

    config = TextCNNConfig(vocab_size=len(vocab), embed_dim=embed_dim, num_classes=len(splits.labels),
                           filter_sizes=args.filter_sizes, num_filters=args.num_filters, dropout=args.dropout,
                           embedding_mode=args.embedding_mode, padding_idx=vocab.pad_id,
                           max_norm=args.max_norm or None, lower=args.lower, conv_padding=args.conv_padding,
                           tokenizer=args.tokenizer, **ctx)
    print(format_summary(summary(config)), file=sys.stderr, flush=True)
    label_index = {lab: i for i, lab in enumerate(splits.labels)}
    feats = {name: _contextual_features(encoder, name, items, args)
             for name, items in (("train", train), ("dev", dev), ("test", test))}
    enc_train = encode(train, vocab, label_index, lower=args.lower, scheme=args.tokenizer, features=feats["train"])
    enc_dev = encode(dev, vocab, label_index, lower=args.lower, scheme=args.tokenizer, features=feats["dev"])
    weights = balanced_class_weights(enc_train.labels, len(splits.labels)) if args.class_weights == "balanced" else None
    train_vocab = vocab
    save_dtype = torch.float32 if args.fp32 else torch.float16

    best: tuple[TextCNN, Vocab, FitResult, dict[str, Any]] | None = None
    restarts = []
    for r in range(args.restarts):
        seed = args.seed + r
        set_seed(seed)
        model = TextCNN(config)
        init_weights(model, args.init)
        if vectors is not None:
            model.load_pretrained(vectors)
        elif contextual:
            pass
        else:  # Kim's CNN-rand: U[-0.25, 0.25]
            a = args.embed_std * math.sqrt(3.0) if args.embed_std else 0.25
            with torch.no_grad():
                model.embedding.weight.uniform_(-a, a)
                model.embedding.weight[vocab.pad_id].zero_()
        if args.restarts > 1:
            _log(f"run {r + 1}/{args.restarts} (seed {seed})")
        result = fit(model, enc_train, enc_dev, splits.labels,
                     optimizer_name=args.optimizer, lr=args.lr if args.lr is not None else _default_lr(args.optimizer),
                     weight_decay=args.weight_decay, momentum=args.momentum, schedule=args.schedule,
                     warmup_steps=args.warmup_steps, batch_size=args.batch_size,
                     epochs=min(args.epochs, 2) if args.dry_run else args.epochs, patience=args.patience,
                     max_norm=args.max_norm or None, class_weights=weights, seed=seed,
                     max_batches=DRY_RUN_BATCHES if args.dry_run else None,
                     show_progress=args.progress != "never", force_progress=args.progress == "always")
        model, run_vocab = result.model, train_vocab
        if extra and model.config.embedding_mode != "rand":
            model, run_vocab = extend_vocabulary(model, train_vocab, extra, args.vectors, scale=scale)
        round_weights(model, save_dtype)  # what the artifact will hold: every report below measures it
        dev_report = evaluate(model, batches(encode(dev, run_vocab, label_index, lower=args.lower, scheme=args.tokenizer,
                                                    features=feats["dev"]), batch_size=256, pad_id=run_vocab.pad_id,
                                             min_length=config.max_width, layers=list(config.encoder_layers) or None),
                              splits.labels)
        restarts.append({"seed": seed, "best_epoch": result.best_epoch, "dev_accuracy": dev_report["accuracy"],
                         "dev_loss": round(dev_report["loss"], 5), "seconds": round(result.seconds, 1)})
        if args.restarts > 1:
            _log(f"run {r + 1}: dev accuracy {dev_report['accuracy']:.4f} (loss {dev_report['loss']:.4f})")
        if best is None or (dev_report["accuracy"], -dev_report["loss"]) > (best[3]["accuracy"], -best[3]["loss"]):
            best = (model, run_vocab, result, dev_report)
    assert best is not None
    model, vocab, result, dev_report = best
    result.model = model
    if len(vocab) > len(train_vocab):
        _log(f"vocabulary: {len(train_vocab)} training words + {len(vocab) - len(train_vocab)} more words of "
             f"{args.vectors} (appended after training: words that never occur in it get no gradient)")
        if vec_desc is not None:
            vec_desc["added_after_training"] = len(vocab) - len(train_vocab)
            vec_desc["vocab_size"] = len(vocab)
            vec_desc["found"] = vec_desc["found"] + len(vocab) - len(train_vocab)
    train_seconds = time.perf_counter() - started

    metrics: dict[str, Any] = {"best_epoch": result.best_epoch, "epochs_run": len(result.history),
                               "weights_dtype": str(save_dtype).removeprefix("torch."),
                               "dev": dev_report, "history": result.history}
    if contextual:
        metrics["layer_weights"] = dict(zip(map(str, config.encoder_layers), result.model.layer_weights()))
    if args.restarts > 1:
        metrics["restarts"] = restarts
        metrics["selected_seed"] = max(restarts, key=lambda x: (x["dev_accuracy"], -x["dev_loss"]))["seed"]
    if test:
        enc_test = encode(test, vocab, label_index, lower=args.lower, scheme=args.tokenizer, features=feats["test"])
        test_report = evaluate(result.model, batches(enc_test, batch_size=256, pad_id=vocab.pad_id,
                                                     min_length=config.max_width,
                                                     layers=list(config.encoder_layers) or None), splits.labels)

        metrics["test"] = test_report
        print(f"test ({splits.splits['test']}):")
        print(format_report(test_report))
    else:
        print("dev (best epoch):")
        print(format_report(dev_report))

    if args.output:
        out = Path(args.output)
        sizes = {"train": len(train), "dev": len(dev), "test": len(test)}
        data_card = {
            "name": args.name or out.name,
            "version": args.version,
            "task": "text classification",
            "data": args.data if args.data in ("trec", "mr") else Path(args.data).name,
            "source": splits.source,
            "licence": splits.licence,
            "labels": splits.labels,
            "sizes": sizes,
            "splits": splits.splits,
            "split_seed": split_seed,
            "test_fraction": (args.test_fraction or 0.1) if args.data == "mr" else args.test_fraction,
            "label_counts": {"train": dict(Counter(x.label for x in train)),
                             "test": dict(Counter(x.label for x in test))},
            "vectors": vec_desc or "none",
            "command": "python -m training.classifier " + shlex.join(argv),
            "seed": args.seed,
            "dry_run": args.dry_run,
            "training_seconds": round(train_seconds, 1),
            "machine": machine_line() + f", torch {torch.__version__} with {torch.get_num_threads()} thread(s)",
            "load_average_1_5_15_min": {"start": load_at_start, "end": _load_average()},
            "date": _dt.date.today().isoformat(),
            "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                                if k not in ("output", "name", "version", "progress")},
        }
        text_cnn.save(result.model, out, vocab=vocab, labels=splits.labels, metrics=metrics, data_card=data_card,
                      dtype=save_dtype)
        size = sum(p.stat().st_size for p in out.iterdir())
        _log(f"saved {out} ({size / 1e6:.1f} MB) in {train_seconds:.0f} s total")
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    """``lexiflow eval classifier``: see ``training.classifier_eval``."""
    from training.classifier_eval import eval_main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
