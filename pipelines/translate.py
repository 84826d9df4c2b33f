"""Translation with a trained LSTM encoder-decoder (models/seq2seq.py), as plain dataclasses.

    tr = Translator.load("artifacts/seq2seq/en-es-attn")
    [t] = tr.translate(["I am hungry."], beam_size=5, return_attention=True)
    t.text, t.tokens, t.source_tokens, t.attention

No tensors leave this module. The artifact folder is read once, in ``load``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import seq2seq
from models.checkpoint import ArtifactError
from models.seq2seq_artifact import FORMAT, load, pad_batch
from models.vocab import tokenize_with_spans
from pipelines.errors import InputError, ResourceError
from pipelines.subword import Subword


@dataclass(frozen=True)
class Decoded:
    text: str
    ids: list[int]                  # source piece ids
    hyp: seq2seq.Hypothesis


def decode_texts(
    model: seq2seq.Seq2Seq, sw: Subword, texts: list[str], *, beam_size: int = 1, length_penalty: float = 1.0,
    max_length: int | None = None, batch_size: int = 64,
) -> list[Decoded]:
    """Translate ``texts`` in batches of similar length (greedy when ``beam_size`` is 1)."""
    model.eval()
    ids = [e.ids for e in sw.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    out: list[Decoded | None] = [None] * len(texts)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, src_len = pad_batch([ids[i] for i in chunk], model.config.pad_id)   # (B, S), (B,)
            if beam_size <= 1:
                hyps = seq2seq.greedy_decode(model, src, src_len, max_length=max_length)
            else:
                hyps = seq2seq.beam_search(model, src, src_len, beam_size=beam_size, length_penalty=length_penalty,
                                           max_length=max_length)
            for i, h in zip(chunk, hyps):
                out[i] = Decoded(sw.decode(h.tokens), ids[i], h)
    return [d for d in out if d is not None]

MAX_BEAM = 16


@dataclass(frozen=True)
class SourceToken:
    text: str       # the token as the model sees it (lowercased)
    start: int      # character offsets into the input text
    end: int
    known: bool     # False when the token is outside the source vocabulary (<unk>)


@dataclass(frozen=True)
class Translation:
    source: str
    text: str                                   # detokenized output
    tokens: tuple[str, ...]                     # output tokens, without <bos>/<eos>
    source_tokens: tuple[SourceToken, ...]
    score: float                                # sum of token log-probabilities
    normalized_score: float                     # score / GNMT length penalty (ranking score in beam search)
    finished: bool                              # ended with <eos> (False: stopped at max_length)
    attention: tuple[tuple[float, ...], ...] | None  # target steps x source tokens, when asked
    attention_entropy: tuple[float, ...]        # per output step, in nats (empty without attention)


@dataclass(frozen=True)
class AttentionResult:
    scores: list[list[float]]
    weights: list[list[float]]
    context: list[list[float]]


def _entropy(row: list[float]) -> float:
    return float(-sum(p * math.log(p) for p in row if p > 0.0))


class Translator:
    def __init__(self, loaded: Any, *, name: str, path: str | None = None) -> None:
        self._m = loaded
        self.name = name
        self.path = path

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, name: str | None = None) -> Translator:
        folder = Path(folder)
        try:
            loaded = load(folder)
        except ArtifactError as exc:
            raise ResourceError(f"{exc} (train one with: python -m training.seq2seq --output {folder})") from exc
        loaded.model.eval()
        return cls(loaded, name=name or folder.name, path=str(folder))

    # -- inference ----------------------------------------------------------------------------
    def translate(
        self,
        texts: list[str],
        *,
        beam_size: int = 5,
        length_penalty: float = 1.0,
        max_length: int | None = None,
        return_attention: bool = False,
        max_source_tokens: int | None = None,
    ) -> list[Translation]:
        if not 1 <= beam_size <= MAX_BEAM:
            raise InputError(f"beam_size must be between 1 and {MAX_BEAM}", limit=MAX_BEAM, given=beam_size)
        if max_length is not None and max_length < 1:
            raise InputError("max_length must be at least 1", limit=1, given=max_length)
        if length_penalty < 0:
            raise InputError("length_penalty must be >= 0", limit=0, given=length_penalty)
        m = self._m
        src_vocab, tgt_vocab, model = m.src_vocab, m.tgt_vocab, m.model
        spans = [tokenize_with_spans(t, lower=True) for t in texts]
        if max_source_tokens is not None:
            over = [(i, len(sp)) for i, sp in enumerate(spans) if len(sp) > max_source_tokens]
            if over:
                i, n = over[0]
                where = f"text {i} has" if len(texts) > 1 else "the text has"
                raise InputError(f"{where} {n} tokens; this model translates at most {max_source_tokens} "
                                 "(it was trained on short sentences): split the text into sentences",
                                 code="too-many-tokens", limit=max_source_tokens, given=n)
        results: list[Translation | None] = [None] * len(texts)
        todo = [i for i, s in enumerate(spans) if s]
        for i, s in enumerate(spans):
            if not s:
                results[i] = Translation(texts[i], "", (), (), 0.0, 0.0, True, () if return_attention else None, ())
        if todo:
            ids = [src_vocab.encode(tok for tok, _, _ in spans[i]) for i in todo]
            src, src_len = pad_batch(ids, model.config.pad_id)   # (B, S), (B,)
            model.eval()
            with torch.inference_mode():
                if beam_size == 1:
                    hyps = seq2seq.greedy_decode(model, src, src_len, max_length=max_length)
                else:
                    hyps = seq2seq.beam_search(model, src, src_len, beam_size=beam_size,
                                               length_penalty=length_penalty, max_length=max_length)
            has_attention = model.config.attention != "none"
            for i, tok_ids, hyp in zip(todo, ids, hyps):
                tokens = tuple(tgt_vocab.decode(hyp.tokens))
                src_toks = tuple(SourceToken(tok, a, b, tid != src_vocab.unk_id)
                                 for (tok, a, b), tid in zip(spans[i], tok_ids))
                rows = hyp.attention if has_attention else []
                results[i] = Translation(
                    source=texts[i], text=detokenize(tokens), tokens=tokens, source_tokens=src_toks,
                    score=hyp.score, normalized_score=hyp.normalized_score, finished=hyp.finished,
                    attention=(tuple(tuple(r) for r in rows) if return_attention else None),
                    attention_entropy=tuple(_entropy(r) for r in rows),
                )
        return [r for r in results if r is not None]

    def info(self) -> dict[str, Any]:
        c = self._m.config
        card = self._m.data_card
        return {
            "name": self.name,
            "version": card.get("version", "1"),
            "format": FORMAT,
            "attention": c.attention,
            "src_vocab_size": c.src_vocab_size,
            "tgt_vocab_size": c.tgt_vocab_size,
            "embed_dim": c.embed_dim,
            "hidden": c.hidden,
            "layers": c.layers,
            "bidirectional": c.bidirectional,
            "metrics": self._m.metrics,
            "data_card": card,
        }

    @staticmethod
    def attention(
        query: list[float] | list[list[float]],
        keys: list[list[float]],
        values: list[list[float]] | None = None,
        *,
        mask: list[bool] | None = None,
        scale: bool = False,
        scoring: str = "dot",
    ) -> AttentionResult:
        """Parameter-free attention for teaching: scores, softmax weights and context as lists.

        ``values`` defaults to ``keys``. A single query gives one row in each field.
        """
        try:
            q = torch.tensor(query, dtype=torch.float32)
            k = torch.tensor(keys, dtype=torch.float32)
            v = torch.tensor(values if values is not None else keys, dtype=torch.float32)
            if k.dim() != 2 or v.dim() != 2 or q.dim() not in (1, 2):
                raise ValueError("query must be a vector or matrix, keys and values matrices")
            if mask is not None and len(mask) != k.shape[0]:
                raise ValueError(f"mask has {len(mask)} entries but there are {k.shape[0]} keys")
            m = torch.tensor(mask, dtype=torch.bool) if mask is not None else None
            scores, weights, context = seq2seq.attention(q, k, v, mask=m, scale=scale, scoring=scoring)
        except (ValueError, RuntimeError) as exc:
            raise InputError(str(exc)) from exc
        if q.dim() == 1:
            scores, weights, context = scores[None], weights[None], context[None]
        return AttentionResult(scores.tolist(), weights.tolist(), context.tolist())
