"""``lexiflow eval classifier``: a saved TextCNN artifact on the test split it was trained for."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from models import text_cnn
from models.text_cnn import format_summary, summary
from training.classifier import MR_SPLIT_SEED, stratified_split
from training.classifier_fit import batches, encode, evaluate
from training.datasets import load_mr, load_trec, read_labelled_file
from training.loop import format_report


def build_eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lexiflow eval classifier",
        description="Evaluate a saved TextCNN artifact: by default on the test split it was trained for "
                    "(the untouched 500 TREC test questions; MR's fixed held-out split).")
    p.add_argument("artifact", nargs="?", default=None, help="artifact folder (or --model)")
    p.add_argument("--model", default=None, help="artifact folder (same as the positional argument)")
    p.add_argument("--data", default=None,
                   help="trec (the 500-question test set), mr (the fixed held-out split), or a .csv/.tsv/.jsonl "
                        "file; default: the artifact's own data set (from its data card)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--test-fraction", type=float, default=None, help="mr: held-out share (default: the artifact's, else 0.1)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--summary", action="store_true", help="also print the model's layer table")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--check-metrics", action="store_true",
                   help="exit 1 unless the accuracy equals the test accuracy recorded in the artifact's metrics.json")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    """``lexiflow eval classifier ARTIFACT [--data ...]``: accuracy, macro-F1, per-class
    precision/recall and the confusion matrix on a test split the model never chose anything on."""
    parser = build_eval_parser()
    args = parser.parse_args(argv)
    folder = args.artifact or args.model
    if folder is None:
        parser.error("give the artifact folder, e.g. lexiflow eval classifier artifacts/classifier/trec-cnn")
    torch.set_num_threads(max(1, args.threads))
    started = time.perf_counter()
    model, vocab, labels, meta = text_cnn.load(folder)
    card = meta["data_card"]
    data = args.data or card.get("data")
    if data is None:
        parser.error(f"{folder}: its data card names no data set; pass --data")
    lower = bool(meta["config"].get("lower", True))
    if data == "trec":
        items = load_trec()[1]
        split = "the official 500-question TREC test set"
    elif data == "mr":
        frac = args.test_fraction or card.get("test_fraction") or 0.1
        items = stratified_split(load_mr(), frac, MR_SPLIT_SEED)[1]
        split = f"the fixed stratified {frac:.0%} MR held-out split (seed {MR_SPLIT_SEED})"
    else:
        if not Path(data).is_file():
            parser.error(f"--data {data}: not 'trec', 'mr' or an existing file")
        items = read_labelled_file(data, text_column=args.text_column, label_column=args.label_column)
        split = f"file {Path(data).name}"
    unknown = sorted({x.label for x in items} - set(labels))
    if unknown:
        print(f"error: labels {unknown} in {data} are not among the model's {labels}", file=sys.stderr)
        return 2
    cfg = model.config
    features = None
    if cfg.contextual:
        from training.contextual_features import load_encoder, word_features

        encoder = load_encoder()
        if encoder.name != cfg.encoder or encoder.hidden_size != cfg.embed_dim or encoder.num_layers != cfg.encoder_num_layers:
            print(f"error: {folder} was trained on {cfg.encoder} ({cfg.encoder_num_layers} layers, {cfg.embed_dim}-d), "
                  f"the installed encoder is {encoder.name} ({encoder.num_layers}, {encoder.hidden_size}-d)", file=sys.stderr)
            return 2
        label = data if data in ("trec", "mr") else Path(data).stem
        if cfg.encoder_top_layers:  # its own fine-tuned top: the shared encoder's layer L-k, per wordpiece
            from training.classifier_finetune import cached_piece_states, evaluate_pieces

            pieces = cached_piece_states(encoder, [x.text for x in items], layers=cfg.shared_layers, scheme=cfg.tokenizer,
                                         lower=cfg.lower, label=f"{label}-test")
            index = {lab: i for i, lab in enumerate(labels)}
            report = evaluate_pieces(model, pieces, [index[x.label] for x in items], labels)
            report.pop("predictions")
            return _report(args, folder, model, meta, report, data, split, started)
        features = word_features(encoder, [x.text for x in items], scheme=cfg.tokenizer, lower=cfg.lower,
                                 label=f"{label}-test")
    enc = encode(items, vocab, {lab: i for i, lab in enumerate(labels)}, lower=lower, scheme=cfg.tokenizer,
                 features=features)
    report = evaluate(model, batches(enc, batch_size=args.batch_size, pad_id=vocab.pad_id,
                                     min_length=cfg.max_width, layers=list(cfg.encoder_layers) or None), labels)
    return _report(args, folder, model, meta, report, data, split, started)


def _report(args: argparse.Namespace, folder: str, model: text_cnn.TextCNN, meta: dict, report: dict, data: str,
            split: str, started: float) -> int:
    report.update(model=str(folder), data=data, split=split, seconds=round(time.perf_counter() - started, 2))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        if args.summary:
            print(format_summary(summary(model.config)))
            print()
        print(f"{folder} on {split}:")
        print(format_report(report))
    if args.check_metrics:
        recorded = (meta["metrics"].get("test") or {}).get("accuracy")
        if recorded is None or abs(recorded - report["accuracy"]) > 1e-9:
            print(f"error: measured accuracy {report['accuracy']:.4f} != recorded {recorded}", file=sys.stderr)
            return 1
    return 0

