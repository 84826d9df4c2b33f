"""Classifier report for BENCHMARKS.md: held-out accuracy, the negation subset of MR, unknown-token
shares (test sets and user-style text), a sanity check on hand-written questions, and in-process
throughput, for any number of TextCNN artifacts side by side (word-vector and contextual ones).

    python -m evals.classify artifacts/classifier/trec-cnn artifacts/classifier/trec-minilm-cnn \
        --baseline .cache/old-artifacts/artifacts/classifier/trec-cnn

``--baseline`` folders are artifacts from before this change (``git archive 713ed71
artifacts/classifier | tar -x -C .cache/old-artifacts``), measured the same way. The test split
is the artifact's own (TREC: the official 500; MR: the fixed 10% split), never used to select
anything. The hand-written sentences (``evals/data/classify_sanity.tsv``) are a sanity check
written for this report; nothing was tuned on them.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import torch

from models.vocab import tokenize
from pipelines.classify import TextClassifier
from training.classifier import MR_SPLIT_SEED, stratified_split
from training.datasets import load_mr, load_trec

SANITY = Path(__file__).resolve().parent / "data" / "classify_sanity.tsv"
# negation cues, looked up in the PTB tokenisation (so "doesn't" counts through its "n't")
NEGATION = frozenset({"not", "no", "never", "n't", "nothing", "nobody", "none", "neither", "nor", "nowhere",
                      "cannot"})


def has_negation(text: str) -> bool:
    return any(t in NEGATION for t in tokenize(text, scheme="ptb"))


def _accuracy(clf: TextClassifier, texts: list[str], gold: list[str]) -> tuple[float, list]:
    results = clf.classify(texts, top_k=0)
    return (sum(r.label == g for r, g in zip(results, gold)) / max(len(gold), 1), results)


def _unknown_share(results: list) -> float:
    tokens = sum(r.num_tokens for r in results)
    return sum(r.unknown_tokens for r in results) / max(tokens, 1)


def report(clf: TextClassifier, *, batch: int = 64, throughput_s: float = 20.0) -> dict:
    data = clf.meta.get("data_card", {}).get("data")
    if data == "trec":
        test = load_trec()[1]
        prefix = "trec"
    elif data == "mr":
        frac = clf.meta["data_card"].get("test_fraction") or 0.1
        test = stratified_split(load_mr(), frac, MR_SPLIT_SEED)[1]
        prefix = "mr"
    else:
        raise SystemExit(f"{clf.path}: data {data!r} is not trec or mr")
    texts, gold = [x.text for x in test], [x.label for x in test]
    out: dict = {"model": clf.name, "path": str(clf.path), "kind": clf.model.config.embedding_mode,
                 "tokenizer": clf.model.config.tokenizer, "test_n": len(texts)}
    acc, results = _accuracy(clf, texts, gold)
    out["test_accuracy"] = acc
    out["test_unknown_share"] = _unknown_share(results)
    if data == "mr":
        neg = [i for i, t in enumerate(texts) if has_negation(t)]
        rest = [i for i in range(len(texts)) if i not in set(neg)]
        for name, idx in (("negation", neg), ("no_negation", rest)):
            out[f"{name}_n"] = len(idx)
            out[f"{name}_accuracy"] = sum(results[i].label == gold[i] for i in idx) / max(len(idx), 1)
    with open(SANITY, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["set"].startswith(prefix)]
    for name in sorted({r["set"] for r in rows}):
        sub = [r for r in rows if r["set"] == name]
        a, res = _accuracy(clf, [r["text"] for r in sub], [r["label"] for r in sub])
        out[f"{name}_accuracy"] = a
        out[f"{name}_n"] = len(sub)
        out[f"{name}_unknown_share"] = _unknown_share(res)
        out[f"{name}_wrong"] = [f"{r['text']} -> {x.label} (gold {r['label']})" for r, x in zip(sub, res)
                                if x.label != r["label"]]
    # throughput: batches of `batch` test sentences with evidence (top 5), as the API returns it
    clf.classify(texts[:batch], top_k=5)  # warm-up
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < throughput_s:
        s = (done // batch * batch) % max(len(texts) - batch, 1)
        clf.classify(texts[s: s + batch], top_k=5)
        done += batch
    out["sentences_per_s"] = done / (time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.classify", description=__doc__.split("\n\n")[0])
    p.add_argument("artifacts", nargs="*", help="TextCNN artifact folders")
    p.add_argument("--baseline", nargs="*", default=[], help="artifact folders from before (same measurements)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--throughput-seconds", type=float, default=20.0)
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    encoder = None
    rows = []
    for folder in [*args.baseline, *args.artifacts]:
        if TextClassifier.needs_encoder(folder) and encoder is None:
            from training.contextual_features import load_encoder

            encoder = load_encoder()
        clf = TextClassifier.load(folder, encoder=encoder)
        row = report(clf, batch=args.batch, throughput_s=args.throughput_seconds)
        row["baseline"] = folder in args.baseline
        rows.append(row)
        print(json.dumps(row, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print("\n| model | kind | tokenizer | test acc | unknown (test) | plain | contractions/negation | "
          "unknown (user text) | negation subset | sentences/s |", file=sys.stderr)
    for r in rows:
        plain = next((k for k in r if k.endswith("plain_accuracy")), None)
        other = next((k for k in r if k.startswith(("trec-contraction", "mr-negation")) and k.endswith("_accuracy")),
                     None)
        user = [k for k in r if k.endswith("_unknown_share") and not k.startswith("test")]
        print(f"| {r['model']}{' (before)' if r['baseline'] else ''} | {r['kind']} | {r['tokenizer']} | "
              f"{r['test_accuracy']:.3f} | {r['test_unknown_share']:.2%} | "
              f"{r.get(plain, float('nan')):.3f} | {r.get(other, float('nan')):.3f} | "
              f"{' / '.join(f'{r[k]:.1%}' for k in user)} | "
              f"{r.get('negation_accuracy', float('nan')):.3f} | {r['sentences_per_s']:.0f} |", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
