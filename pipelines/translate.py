"""Translation with a trained LSTM encoder-decoder (models/seq2seq.py), as plain dataclasses.

    tr = Translator.load("artifacts/seq2seq/en-es-attn")
    [t] = tr.translate(["I am hungry."], beam_size=5, return_attention=True)
    t.text, t.tokens, t.source_tokens, t.attention, t.warnings

The model reads and writes subword pieces (pipelines/subword.py). Each result has two views:
words (``tokens``, ``source_tokens``, ``attention``: the pieces of a word merged, attention rows
averaged over a target word's pieces and columns summed over a source word's pieces, so rows still
sum to 1) and pieces (``pieces``, ``source_pieces``, ``piece_attention``: what the model saw).

Decoding defaults (length and coverage penalties, n-gram blocking, the low-score threshold) come
from the artifact's ``decoding.json`` (chosen on dev BLEU by ``training/seq2seq_eval.py``), else
from ``DEFAULTS``. No tensors leave this module. The artifact folder is read once, in ``load``.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import seq2seq
from models.checkpoint import ArtifactError
from models.seq2seq_artifact import FORMAT, TOKENIZER_FILE, load
from models.tensors import pad_batch
from pipelines.errors import InputError, ResourceError
from pipelines.name_copy import missing_names, repair_names
from pipelines.limits import MAX_BEAM
from pipelines.subword import Subword, word_groups
from pipelines.typed_text import read_typed

MAX_NGRAM = 6
DECODING_FILE = "decoding.json"
DEFAULTS = {"length_penalty": 1.0, "coverage_penalty": 0.0, "no_repeat_ngram": 0, "copy_names": True,
            "low_score_mean_logprob": -1.0}


def printable(text: str) -> str:
    """The output text without control characters or U+FFFD (from byte pieces that do not form a
    whole character), white space collapsed."""
    kept = "".join(ch for ch in text if ch == " " or (unicodedata.category(ch)[0] != "C" and ch != "\ufffd"))
    return " ".join(kept.split())


@dataclass(frozen=True)
class Decoded:
    text: str
    ids: list[int]                  # source piece ids
    hyp: seq2seq.Hypothesis


def decode_texts(
    model: seq2seq.Seq2Seq, sw: Subword, texts: list[str], *, beam_size: int = 1, length_penalty: float = 1.0,
    coverage_penalty: float = 0.0, no_repeat_ngram: int = 0, max_length: int | None = None, batch_size: int = 64,
) -> list[Decoded]:
    """Translate ``texts`` in batches of similar length (greedy when ``beam_size`` is 1)."""
    model.eval()
    ids = [e.ids for e in sw.encode_batch(texts)]
    return _decode_ids(model, sw, ids, beam_size=beam_size, length_penalty=length_penalty,
                       coverage_penalty=coverage_penalty, no_repeat_ngram=no_repeat_ngram, max_length=max_length,
                       batch_size=batch_size)


def _decode_ids(model: seq2seq.Seq2Seq, sw: Subword, ids: list[list[int]], *, beam_size: int, length_penalty: float,
                coverage_penalty: float, no_repeat_ngram: int, max_length: int | None, batch_size: int
                ) -> list[Decoded]:
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[Decoded | None] = [None] * len(ids)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, src_len = pad_batch([ids[i] for i in chunk], pad_id=model.config.pad_id)   # (B, S), (B,)
            if beam_size <= 1:
                hyps = seq2seq.greedy_decode(model, src, src_len, max_length=max_length,
                                             no_repeat_ngram=no_repeat_ngram)
            else:
                hyps = seq2seq.beam_search(model, src, src_len, beam_size=beam_size, length_penalty=length_penalty,
                                           coverage_penalty=coverage_penalty, no_repeat_ngram=no_repeat_ngram,
                                           max_length=max_length)
            for i, h in zip(chunk, hyps):
                out[i] = Decoded(printable(sw.decode(h.tokens)), ids[i], h)
    return [d for d in out if d is not None]


@dataclass(frozen=True)
class SourceToken:
    text: str       # the word or piece as written in the input
    start: int      # character offsets into the input text
    end: int
    known: bool     # False when it holds characters the vocabulary only has as bytes (never seen whole)


@dataclass(frozen=True)
class TranslationWarning:
    code: str       # long-input | unfinished | low-score | unseen-characters | no-letters | name-copied | name-missing
    message: str
    limit: float | None = None
    given: float | None = None


@dataclass(frozen=True)
class Translation:
    source: str
    text: str                                   # the translation
    tokens: tuple[str, ...]                     # output words (pieces merged)
    source_tokens: tuple[SourceToken, ...]      # source words with offsets
    score: float                                # sum of token log-probabilities (with <eos> when finished)
    normalized_score: float                     # beam ranking score: score / GNMT length penalty + coverage penalty
    finished: bool                              # ended with <eos> (False: stopped at max_length)
    attention: tuple[tuple[float, ...], ...] | None  # output words x source words, when asked
    attention_entropy: tuple[float, ...]        # per row of the word attention, in nats
    pieces: tuple[str, ...] = ()                # output subword pieces ("▁" = after a space)
    source_pieces: tuple[SourceToken, ...] = ()
    piece_attention: tuple[tuple[float, ...], ...] | None = None  # output pieces x source pieces, when asked
    mean_logprob: float = 0.0                   # score / (pieces + 1): the model's confidence per step
    low_score: bool = False                     # mean_logprob under the model's threshold: doubt this one
    warnings: tuple[TranslationWarning, ...] = ()


@dataclass(frozen=True)
class AttentionResult:
    scores: list[list[float]]
    weights: list[list[float]]
    context: list[list[float]]


def _entropy(row: list[float] | tuple[float, ...]) -> float:
    return float(-sum(p * math.log(p) for p in row if p > 0.0))


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """A piece's span without the space it carries (byte-level pieces include the space before a word)."""
    while a < b and text[a].isspace():
        a += 1
    return a, b


def _merge(rows: list[list[float]], tgt_groups: list[list[int]], src_groups: list[list[int]]) -> list[list[float]]:
    """Word attention: a target word's rows averaged, a source word's columns summed."""
    out = []
    for g in tgt_groups:
        avg = [sum(rows[i][j] for i in g) / len(g) for j in range(len(rows[g[0]]))]
        out.append([sum(avg[j] for j in sg) for sg in src_groups])
    return out


def _renormalise(row: Any) -> list[float]:
    total = float(sum(row))
    return [float(v) / total for v in row] if total > 0 else [float(v) for v in row]


class Translator:
    def __init__(self, loaded: Any, subword: Subword, *, name: str, path: str | None = None,
                 decoding: dict[str, Any] | None = None) -> None:
        self._m = loaded
        self.subword = subword
        self.name = name
        self.path = path
        self.decoding = {**DEFAULTS, **(decoding or {})}
        split = (loaded.data_card or {}).get("split", {})
        self.max_words: int | None = split.get("train_max_words", split.get("max_words"))

    @property
    def model(self) -> seq2seq.Seq2Seq:
        return self._m.model

    @property
    def config(self) -> seq2seq.Seq2SeqConfig:
        return self._m.config

    @property
    def data_card(self) -> dict[str, Any]:
        return self._m.data_card

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, name: str | None = None) -> Translator:
        folder = Path(folder)
        try:
            loaded = load(folder)
        except ArtifactError as exc:
            raise ResourceError(f"{exc} (train one with: python -m training.seq2seq --output {folder})") from exc
        try:
            subword = Subword.from_str(loaded.tokenizer_json)
            decoding = json.loads((folder / DECODING_FILE).read_text(encoding="utf-8")) \
                if (folder / DECODING_FILE).is_file() else {}
        except Exception as exc:  # tokenizers raises plain Exception for a bad file
            raise ResourceError(f"{folder / TOKENIZER_FILE} or {folder / DECODING_FILE}: cannot be read ({exc})") \
                from exc
        if subword.vocab_size != loaded.config.tgt_vocab_size:
            raise ResourceError(f"{folder / TOKENIZER_FILE}: {subword.vocab_size} tokens, config.json says "
                                f"{loaded.config.tgt_vocab_size}")
        loaded.model.eval()
        return cls(loaded, subword, name=name or folder.name, path=str(folder), decoding=decoding)

    # -- inference ----------------------------------------------------------------------------
    def translate(
        self,
        texts: list[str],
        *,
        beam_size: int = 5,
        length_penalty: float | None = None,
        coverage_penalty: float | None = None,
        no_repeat_ngram: int | None = None,
        max_length: int | None = None,
        return_attention: bool = False,
        max_source_tokens: int | None = None,
        copy_names: bool | None = None,
    ) -> list[Translation]:
        """Translate a batch. ``None`` options take the model's defaults (``self.decoding``).
        ``max_source_tokens`` limits subword pieces per text (InputError beyond it)."""
        d = self.decoding
        length_penalty = d["length_penalty"] if length_penalty is None else length_penalty
        coverage_penalty = d["coverage_penalty"] if coverage_penalty is None else coverage_penalty
        no_repeat_ngram = d["no_repeat_ngram"] if no_repeat_ngram is None else no_repeat_ngram
        copy_names = bool(d["copy_names"]) if copy_names is None else copy_names
        if not 1 <= beam_size <= MAX_BEAM:
            raise InputError(f"beam_size must be between 1 and {MAX_BEAM}", limit=MAX_BEAM, given=beam_size)
        if max_length is not None and max_length < 1:
            raise InputError("max_length must be at least 1", limit=1, given=max_length)
        if length_penalty < 0:
            raise InputError("length_penalty must be >= 0", limit=0, given=length_penalty)
        if coverage_penalty < 0:
            raise InputError("coverage_penalty must be >= 0", limit=0, given=coverage_penalty)
        if not 0 <= no_repeat_ngram <= MAX_NGRAM:
            raise InputError(f"no_repeat_ngram must be between 0 and {MAX_NGRAM}", limit=MAX_NGRAM,
                             given=no_repeat_ngram)
        sw, model = self.subword, self._m.model
        typed = [read_typed(t) for t in texts]
        encs = sw.encode_batch([t.text for t in typed]) if texts else []
        # each piece's span in the typed text; the pieces of an added final mark are left out
        spans = [[s for s in (tt.span(a, b) for a, b in e.offsets) if s is not None] for tt, e in zip(typed, encs)]
        if max_source_tokens is not None:
            over = [(i, len(s)) for i, s in enumerate(spans) if len(s) > max_source_tokens]
            if over:
                i, n = over[0]
                where = f"text {i} has" if len(texts) > 1 else "the text has"
                raise InputError(f"{where} {n} subword tokens; this model translates at most {max_source_tokens}: "
                                 "split the text into sentences", code="too-many-tokens", limit=max_source_tokens,
                                 given=n)
        todo = [i for i, e in enumerate(encs) if e.ids]
        decoded = _decode_ids(model, sw, [encs[i].ids for i in todo], beam_size=beam_size,
                              length_penalty=length_penalty, coverage_penalty=coverage_penalty,
                              no_repeat_ngram=no_repeat_ngram, max_length=max_length, batch_size=64)
        by_index = dict(zip(todo, decoded))
        has_attention = model.config.attention != "none"
        out = []
        for i, text in enumerate(texts):
            dec = by_index.get(i)
            if dec is None:
                out.append(Translation(text, "", (), (), 0.0, 0.0, True, () if return_attention else None, (),
                                       piece_attention=() if return_attention else None,
                                       warnings=self._warnings(text, None)))
                continue
            out.append(self._result(text, spans[i], dec, return_attention and has_attention,
                                    has_attention, copy_names))
        return out

    def _common(self, word: str) -> bool:
        """A word of the subword vocabulary as one piece: frequent in training, not a name."""
        return len(self.subword.encode(word)) == 1

    def _result(self, text: str, offsets: list[tuple[int, int]], dec: Decoded, want_attention: bool,
                has_attention: bool, copy_names: bool) -> Translation:
        sw, hyp = self.subword, dec.hyp
        n = len(offsets)  # the text's own pieces (the model may have read an added final stop after them)
        src_texts = sw.piece_texts(dec.ids[:n])
        spans = [_trim(text, a, b) for a, b in offsets]
        src_pieces = tuple(SourceToken(text[a:b], a, b, "\ufffd" not in t) for (a, b), t in zip(spans, src_texts))
        src_groups = word_groups(src_texts)
        src_words = tuple(SourceToken(text[src_pieces[g[0]].start:src_pieces[g[-1]].end], src_pieces[g[0]].start,
                                      src_pieces[g[-1]].end, all(src_pieces[k].known for k in g))
                          for g in src_groups)
        out_texts = sw.piece_texts(hyp.tokens)
        tgt_groups = word_groups(out_texts)
        words = tuple("".join(out_texts[k] for k in g).strip() for g in tgt_groups)
        rows = [_renormalise(r[:n]) for r in hyp.attention] if has_attention else []
        word_rows = _merge(rows, tgt_groups, src_groups) if rows else []
        out_text, copied = dec.text, []
        if copy_names and word_rows:
            new_words, copied = repair_names([w.text for w in src_words], words, word_rows, self._common)
            if copied:
                pieces = ["".join(out_texts[k] for k in g) for g in tgt_groups]
                pieces = [(" " if p.startswith(" ") else "") + n if n != o else p
                          for p, o, n in zip(pieces, words, new_words)]
                out_text, words = printable("".join(pieces)), tuple(new_words)
        missing = missing_names([w.text for w in src_words], words, self._common) if copy_names else []
        mean_lp = hyp.score / (len(hyp.tokens) + (1 if hyp.finished else 0)) if hyp.tokens or hyp.finished else 0.0
        low = bool(mean_lp < self.decoding["low_score_mean_logprob"]) or not math.isfinite(hyp.score)
        return Translation(
            source=text, text=out_text, tokens=words, source_tokens=src_words, score=hyp.score,
            normalized_score=hyp.normalized_score, finished=hyp.finished,
            attention=tuple(tuple(r) for r in word_rows) if want_attention else None,
            attention_entropy=tuple(_entropy(r) for r in word_rows),
            pieces=tuple(sw.display(hyp.tokens)), source_pieces=src_pieces,
            piece_attention=tuple(tuple(r) for r in rows) if want_attention else None,
            mean_logprob=mean_lp, low_score=low,
            warnings=self._warnings(text, (hyp, mean_lp, low, src_pieces, copied, missing)),
        )

    def _warnings(self, text: str, result: Any) -> tuple[TranslationWarning, ...]:
        w = []
        n_words = len(text.split())
        if self.max_words and n_words > self.max_words:
            w.append(TranslationWarning("long-input", f"the text has {n_words} words; this model was trained on "
                                        f"sentences of at most {self.max_words} words, so a longer text is often "
                                        "translated badly: translate it sentence by sentence",
                                        limit=self.max_words, given=n_words))
        if not any(ch.isalpha() for ch in text):
            w.append(TranslationWarning("no-letters", "the text has no letters to translate"))
        if result is None:
            return tuple(w)
        hyp, mean_lp, low, src_pieces, copied, missing = result
        if any(not p.known for p in src_pieces):
            w.append(TranslationWarning("unseen-characters", "the text has characters this model never saw in "
                                        "training (other scripts, emoji); they may be dropped or garbled"))
        for garbled, name in copied:
            w.append(TranslationWarning("name-copied", f"the model wrote {garbled!r} for the name {name!r}; "
                                        "the name was copied from the source"))
        for name in missing:
            w.append(TranslationWarning("name-missing", f"the name {name!r} does not appear in the translation: "
                                        "the model dropped it or wrote another form of it (London -> Londres)"))
        if not hyp.finished:
            w.append(TranslationWarning("unfinished", "decoding stopped at max_length before the end of the "
                                        "sentence: the translation is cut short", given=len(hyp.tokens)))
        if low:
            limit = self.decoding["low_score_mean_logprob"]
            w.append(TranslationWarning("low-score", "the model is unsure of this translation (mean log-probability "
                                        f"per token {mean_lp:.2f}, under {limit:.2f})", limit=limit,
                                        given=round(mean_lp, 4)))
        return tuple(w)

    def info(self) -> dict[str, Any]:
        c = self._m.config
        card = self._m.data_card
        return {
            "name": self.name,
            "version": card.get("version", "2"),
            "format": FORMAT,
            "attention": c.attention,
            "src_vocab_size": c.src_vocab_size,
            "tgt_vocab_size": c.tgt_vocab_size,
            "embed_dim": c.embed_dim,
            "hidden": c.hidden,
            "layers": c.layers,
            "bidirectional": c.bidirectional,
            "input_feeding": c.input_feeding,
            "shared_embeddings": c.share_embeddings,
            "max_words": self.max_words,
            "decoding": dict(self.decoding),
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
