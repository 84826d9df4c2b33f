"""Per-word hidden states of the shipped encoder, computed once per data set and cached (fp16).

The contextual TextCNN reads, for every word of the classifier's tokenizer, the mean of the
encoder's wordpiece vectors over that word's characters, for every hidden state (embeddings and
each layer: (n_words, L+1, H)). The encoder is frozen, so these features never change during
training: computing them once per data set (about a minute for TREC on one core) instead of once
per epoch is what makes training the CNN on this machine fast. The cache is keyed by the encoder,
the tokenizer scheme and the texts (a hash), lives in a git-ignored folder
(``LEXIFLOW_FEATURE_CACHE``, default ``.cache/features``), and is safe to delete.

    python -m training.contextual_features --data trec   # fill the cache ahead of training
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from models.vocab import tokenize_with_spans
from pipelines.embeddings.contextual import ContextualEncoder

CACHE = Path(os.environ.get("LEXIFLOW_FEATURE_CACHE", Path(__file__).resolve().parent.parent / ".cache" / "features"))
CHUNK = 256


def _log(msg: str) -> None:
    print(f"[contextual features] {msg}", file=sys.stderr, flush=True)


def load_encoder() -> ContextualEncoder:
    """The shipped encoder (the one the service loads), by the same names."""
    from importlib import metadata

    from pipelines.loading import ENCODER_NAME, ENCODER_PACKAGE, default_encoder_path

    return ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, version=metadata.version(ENCODER_PACKAGE))


def _key(encoder: ContextualEncoder, texts: Sequence[str], scheme: str, lower: bool) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([encoder.name, encoder.version, encoder.num_layers, encoder.hidden_size, scheme, lower]).encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:20]


def word_features(encoder: ContextualEncoder, texts: Sequence[str], *, scheme: str, lower: bool = True,
                  cache: Path | None = None, use_cache: bool = True, label: str = "texts") -> list[np.ndarray]:
    """For each text, its words' hidden states (n_words, L+1, H) as float16 (views of one array),
    read from or written to ``cache`` (default: the module's ``CACHE``) unless ``use_cache`` is False."""
    folder = (cache or CACHE) if use_cache else None
    path = folder / f"{label}-{_key(encoder, texts, scheme, lower)}.npz" if folder is not None else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            flat, offsets = z["flat"], z["offsets"]
        _log(f"{label}: {len(texts)} texts read from {path}")
    else:
        t0 = time.perf_counter()
        layers = list(range(encoder.num_layers + 1))
        parts: list[np.ndarray] = []
        for s in range(0, len(texts), CHUNK):
            chunk = list(texts[s: s + CHUNK])
            spans = [[(a, b) for _, a, b in tokenize_with_spans(t, lower=lower, scheme=scheme)] for t in chunk]
            for ws, sp in zip(encoder.word_features(chunk, spans, layers), spans):
                f = ws.vectors
                if len(f) < len(sp):  # words cut by the encoder's length limit: zero vectors
                    f = np.concatenate([f, np.zeros((len(sp) - len(f), *f.shape[1:]), f.dtype)])
                parts.append(f.astype(np.float16))
            _log(f"{label}: {min(s + CHUNK, len(texts))}/{len(texts)} texts ({time.perf_counter() - t0:.0f} s)")
        offsets = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
        flat = (np.concatenate(parts) if parts else
                np.zeros((0, encoder.num_layers + 1, encoder.hidden_size), np.float16))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, flat=flat, offsets=offsets)
            os.replace(tmp, path)
            _log(f"{label}: cached {flat.nbytes / 1e6:.0f} MB in {path} ({time.perf_counter() - t0:.0f} s)")
    return [flat[offsets[i]: offsets[i + 1]] for i in range(len(texts))]


def main(argv: list[str] | None = None) -> int:
    from training.classifier import load_dataset

    p = argparse.ArgumentParser(prog="python -m training.contextual_features",
                                description="Fill the feature cache for a data set's train/dev/test splits.")
    p.add_argument("--data", default="trec")
    p.add_argument("--tokenizer", default="ptb")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    splits = load_dataset(args.data)
    encoder = load_encoder()
    for name, items in (("train", splits.train), ("dev", splits.dev), ("test", splits.test)):
        word_features(encoder, [x.text for x in items], scheme=args.tokenizer, label=f"{args.data}-{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
