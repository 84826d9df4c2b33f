"""WordPiece tokenization (BERT uncased) of single texts and sentence pairs.

The tokenizer's own post-processor template (``[CLS] $A [SEP] $B:1 [SEP]:1``) declares special
tokens and segment ids; we only choose what to cut and what to pad. Truncation is explicit:
``"none"`` refuses an over-long input instead of cutting it silently, and every other
strategy reports exactly which tokens it removed.

The shared ``tokenizers.Tokenizer`` is never mutated per call (its truncation and padding
settings are global state), so one instance serves many threads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from tokenizers import Encoding, Tokenizer, normalizers, pre_tokenizers
from tokenizers.decoders import WordPiece as WordPieceDecoder
from tokenizers.models import WordPiece
from tokenizers.processors import TemplateProcessing

from pipelines.errors import InputError, ResourceError
from pipelines.limits import MAX_POSITIONS
from pipelines.lemmatize import WordSpan

Truncation = Literal["none", "longest_first", "only_first", "only_second"]
Side = Literal["right", "left"]
Padding = Literal["none", "longest", "max_length"]
TRUNCATIONS: tuple[Truncation, ...] = ("none", "longest_first", "only_first", "only_second")
PADDINGS: tuple[Padding, ...] = ("none", "longest", "max_length")

REQUIRED_SPECIALS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")


@dataclass(frozen=True, slots=True)
class CutToken:
    """A wordpiece removed by truncation, with its place in the text it came from."""

    sequence: int  # 0 = text, 1 = text_pair
    token: str
    id: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class UnknownSpan:
    index: int  # position in the encoded sequence
    sequence: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class WordAlignment:
    """A spaCy token and the wordpieces (positions in the encoded sequence) that cover it."""

    sequence: int
    text: str
    start: int
    end: int
    wordpieces: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Encoded:
    tokens: list[str]
    input_ids: list[int]
    token_type_ids: list[int]
    position_ids: list[int]
    attention_mask: list[int]
    special_tokens_mask: list[int]
    offsets: list[tuple[int, int]]  # character offsets into the text given by sequence_ids
    sequence_ids: list[int | None]  # 0 = text, 1 = text_pair, None = special or padding
    word_ids: list[int | None]  # pre-tokenized word within its own sequence
    length: int  # tokens before padding
    num_unk: int
    unknown: tuple[UnknownSpan, ...]
    truncated: tuple[CutToken, ...]
    alignment: tuple[WordAlignment, ...] | None = None



class WordPieceTokenizer:
    def __init__(self, tokenizer: Tokenizer, *, name: str, version: str, model_max_length: int = MAX_POSITIONS) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        missing = [t for t in REQUIRED_SPECIALS if t not in vocab]
        if missing:
            raise ResourceError(f"tokenizer {name!r} lacks the special tokens {missing}")
        if tokenizer.post_processor is None:
            tokenizer.post_processor = bert_template(vocab["[CLS]"], vocab["[SEP]"])
        self._tok = tokenizer
        # A twin that treats "[SEP]" typed by a user as text, not as a separator.
        self._tok_literal = Tokenizer.from_str(tokenizer.to_str())
        self._tok_literal.encode_special_tokens = True
        self.name = name
        self.version = version
        self.model_max_length = model_max_length
        self.pad_id = vocab["[PAD]"]
        self.unk_id = vocab["[UNK]"]
        self.cls_id = vocab["[CLS]"]
        self.sep_id = vocab["[SEP]"]
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        ordered = sorted(vocab.items(), key=lambda kv: kv[1])
        self.vocab_sha256 = hashlib.sha256("\n".join(t for t, _ in ordered).encode("utf-8")).hexdigest()

    # ----- construction ---------------------------------------------------------------------
    @classmethod
    def from_folder(cls, folder: str | Path, *, name: str | None = None, version: str = "local") -> WordPieceTokenizer:
        """A Hugging Face tokenizer folder: ``tokenizer.json`` if present, else ``vocab.txt``."""
        folder = Path(folder)
        max_len = _model_max_length(folder)
        name = name or folder.name
        if (folder / "tokenizer.json").is_file():
            try:
                tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
                raise ResourceError(f"{folder / 'tokenizer.json'}: cannot be loaded ({exc})") from exc
            return cls(tok, name=name, version=version, model_max_length=max_len)
        if (folder / "vocab.txt").is_file():
            lowercase = _do_lower_case(folder)
            return cls.from_vocab(folder / "vocab.txt", lowercase=lowercase, name=name, version=version,
                                  model_max_length=max_len)
        raise ResourceError(f"{folder}: no tokenizer.json or vocab.txt (is this a BERT model folder?)")

    @classmethod
    def from_vocab(
        cls,
        vocab: Sequence[str] | str | Path,
        *,
        lowercase: bool = True,
        name: str = "wordpiece",
        version: str = "local",
        model_max_length: int = MAX_POSITIONS,
        max_input_chars_per_word: int = 100,
    ) -> WordPieceTokenizer:
        """BERT's tokenizer built from a vocabulary (a ``vocab.txt`` path or a token list)."""
        if isinstance(vocab, (str, Path)):
            tokens = Path(vocab).read_text(encoding="utf-8").splitlines()
        else:
            tokens = list(vocab)
        table = {}
        for i, tok in enumerate(tokens):
            table.setdefault(tok, i)
        missing = [t for t in REQUIRED_SPECIALS if t not in table]
        if missing:
            raise ResourceError(f"vocabulary {name!r} lacks the special tokens {missing}")
        tok = Tokenizer(WordPiece(table, unk_token="[UNK]", max_input_chars_per_word=max_input_chars_per_word))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                    strip_accents=None, lowercase=lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.post_processor = bert_template(table["[CLS]"], table["[SEP]"])
        tok.decoder = WordPieceDecoder(prefix="##")
        tok.add_special_tokens([t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in table])
        return cls(tok, name=name, version=version, model_max_length=model_max_length)

    def info(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "vocab_size": self.vocab_size,
                "model_max_length": self.model_max_length, "vocab_sha256": self.vocab_sha256}

    def num_special_tokens(self, pair: bool) -> int:
        return self._tok.num_special_tokens_to_add(pair)

    def windows(self, text: str, spans: Sequence[tuple[int, int]], size: int | None = None
                ) -> list[tuple[int, int]] | None:
        """For a text too long for the model, per character span (in text order) a character window
        around it that encodes to at most ``size`` wordpieces (default: the model's length less its
        special tokens), starting and ending on whole words, the span as central as the text allows;
        a span well inside the previous span's window (a quarter of ``size`` from either edge) shares
        that window, so the windows of a text number at most about four per ``size`` wordpieces.
        None when the whole text fits. (How a word deep in a long document is read in its own
        context rather than cut away.)"""
        size = size or self.model_max_length - self.num_special_tokens(False)
        if len(text) <= size:  # a wordpiece covers one character at least
            return None
        enc = self._tok.encode(text, add_special_tokens=False)
        offsets, words = enc.offsets, enc.word_ids
        n = len(offsets)
        if n <= size:
            return None
        piece_starts = np.array([o[0] for o in offsets])
        piece_ends = np.array([o[1] for o in offsets])
        word_start = [i == 0 or words[i] != words[i - 1] for i in range(n)]
        out: list[tuple[int, int]] = []
        last_window: tuple[int, int, int, int] | None = None  # pieces a..b (exclusive), chars
        margin = size // 4
        for s, t in spans:
            first = int(np.searchsorted(piece_ends, s, side="right"))  # first piece ending after s
            first = min(first, n - 1)
            last = max(first, int(np.searchsorted(piece_starts, t, side="left")) - 1)  # last starting before t
            if last_window is not None and last_window[0] + margin <= first and last <= last_window[1] - margin:
                out.append((last_window[2], last_window[3]))
                continue
            a = max(0, min(first - (size - (last - first + 1)) // 2, n - size))
            while a < first and not word_start[a]:  # start on a word, never past the span
                a += 1
            b = min(n, a + size)  # exclusive
            while b < n and b - 1 > last and not word_start[b]:  # do not end inside a word
                b -= 1
            last_window = (a, b, int(offsets[a][0]), int(offsets[b - 1][1]))
            out.append((last_window[2], last_window[3]))
        return out

    # ----- work -------------------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        *,
        add_special_tokens: bool = True,
        max_length: int | None = None,
        truncation: Truncation = "none",
        truncation_side: Side = "right",
        padding: Padding = "none",
        pad_to_multiple_of: int | None = None,
        split_special_tokens: bool = False,
        words: Sequence[tuple[Sequence[WordSpan], Sequence[WordSpan] | None]] | None = None,
    ) -> list[Encoded]:
        """Encode texts (and their pairs). ``max_length`` counts special tokens, like Hugging Face.

        ``words`` (spaCy tokens per text and pair) adds the word -> wordpiece alignment.
        """
        if pairs is not None and len(pairs) != len(texts):
            raise InputError(f"text_pair has {len(pairs)} items but text has {len(texts)}",
                             code="pair-length-mismatch", limit=len(texts), given=len(pairs))
        if truncation not in TRUNCATIONS:
            raise InputError(f"unknown truncation {truncation!r}", code="bad-option")
        if padding not in PADDINGS:
            raise InputError(f"unknown padding {padding!r}", code="bad-option")
        limit = self.model_max_length if max_length is None else max_length
        if limit > self.model_max_length:
            raise InputError(f"max_length {limit} exceeds the model's {self.model_max_length} positions",
                             code="max-length-too-large", limit=self.model_max_length, given=limit)
        if truncation == "only_second" and pairs is None:
            raise InputError("truncation 'only_second' needs a text_pair", code="bad-option")

        tok = self._tok_literal if split_special_tokens else self._tok
        # Fast path: one batched call encodes every item whole (template included); only items over
        # the limit are encoded again side by side, to truncate them explicitly (or refuse them).
        inputs: list = list(zip(texts, pairs)) if pairs is not None else list(texts)
        whole = tok.encode_batch(inputs, add_special_tokens=add_special_tokens)
        specials = self.num_special_tokens(pairs is not None) if add_special_tokens else 0
        merged: list[tuple[Encoding, tuple[CutToken, ...], tuple[int, int] | None]] = [
            (enc, (), None) for enc in whole]
        over = [i for i, enc in enumerate(whole) if len(enc) > limit]
        if over:
            first = tok.encode_batch([texts[i] for i in over], add_special_tokens=False)
            second = (tok.encode_batch([pairs[i] for i in over], add_special_tokens=False)
                      if pairs is not None else None)
            for k, i in enumerate(over):
                enc_a = first[k]
                enc_b = second[k] if second is not None else None
                cut = self._truncate(i, enc_a, enc_b, budget=limit - specials, limit=limit, specials=specials,
                                     strategy=truncation, side=truncation_side)
                counts = (len(enc_a), len(enc_b) if enc_b is not None else 0)
                merged[i] = (tok.post_process(enc_a, enc_b, add_special_tokens=add_special_tokens), cut, counts)

        target = None
        if padding == "max_length":
            target = limit
        elif padding == "longest":
            target = max((len(m[0]) for m in merged), default=0)
        if target is not None and pad_to_multiple_of:
            target = -(-target // pad_to_multiple_of) * pad_to_multiple_of

        out = []
        for i, (enc, cut, counts) in enumerate(merged):
            seq_texts = (texts[i], pairs[i] if pairs is not None else None)
            out.append(self._to_encoded(enc, cut, counts, seq_texts, target,
                                        words[i] if words is not None else None))
        return out

    def encode_ids(self, sequences: Sequence[Sequence[int]], *, max_length: int | None = None,
                   truncate: bool = False) -> list[Encoded]:
        """Already-tokenized input: each sequence is ids of this vocabulary (what ``encode`` gives
        as ``input_ids``), with or without the leading [CLS] and the final [SEP]; they are added
        where missing. ``max_length`` counts them, like ``encode``; over it, an InputError, or with
        ``truncate`` the ids past it are cut (and reported). An id outside the vocabulary is an
        InputError naming it: ids of another tokenizer (e.g. OpenAI's tiktoken) are not these."""
        limit = self.model_max_length if max_length is None else max_length
        if limit > self.model_max_length:
            raise InputError(f"max_length {limit} exceeds the model's {self.model_max_length} positions",
                             code="max-length-too-large", limit=self.model_max_length, given=limit)
        if limit < 3:
            raise InputError(f"max_length {limit} leaves no room beside 2 special tokens",
                             code="max-length-too-small", limit=3, given=limit)
        out = []
        for item, seq in enumerate(sequences):
            ids = list(seq)
            where = f"item {item}: " if item else ""
            bad = next((i for i in ids if not 0 <= i < self.vocab_size), None)
            if bad is not None:
                raise InputError(f"{where}token id {bad} is not in {self.name}'s vocabulary (0 to "
                                 f"{self.vocab_size - 1}); send ids from this model's tokenizer (POST /v1/tokenize)",
                                 code="unknown-token-id", limit=self.vocab_size - 1, given=bad, item=item)
            if ids and ids[0] == self.cls_id:
                ids = ids[1:]
            if ids and ids[-1] == self.sep_id:
                ids = ids[:-1]
            if not ids:
                raise InputError(f"{where}no token ids besides [CLS]/[SEP]", code="empty-input", item=item)
            budget = limit - 2
            cut: tuple[CutToken, ...] = ()
            if len(ids) > budget:
                if not truncate:
                    raise InputError(f"{where}{len(ids) + 2} tokens (with 2 special tokens) exceed max_length "
                                     f"{limit}", code="too-many-tokens", limit=limit, given=len(ids) + 2, item=item)
                cut = tuple(CutToken(0, self._tok.id_to_token(i) or "", i, 0, 0) for i in ids[budget:])
                ids = ids[:budget]
            full = [self.cls_id, *ids, self.sep_id]
            n = len(full)
            out.append(Encoded(
                tokens=[self._tok.id_to_token(i) or "" for i in full], input_ids=full, token_type_ids=[0] * n,
                position_ids=list(range(n)), attention_mask=[1] * n, special_tokens_mask=[1] + [0] * (n - 2) + [1],
                offsets=[(0, 0)] * n, sequence_ids=[None] + [0] * (n - 2) + [None], word_ids=[None] * n,
                length=n, num_unk=sum(i == self.unk_id for i in ids), unknown=(), truncated=cut))
        return out

    def _truncate(self, item: int, enc_a: Encoding, enc_b: Encoding | None, *, budget: int, limit: int,
                  specials: int, strategy: Truncation, side: Side) -> tuple[CutToken, ...]:
        n_a, n_b = len(enc_a), (len(enc_b) if enc_b is not None else 0)
        total = n_a + n_b
        if total <= budget:
            return ()
        given = total + specials
        where = f"item {item}: " if item else ""
        if strategy == "none":
            raise InputError(
                f"{where}{given} tokens (with {specials} special tokens) exceed max_length {limit}; "
                "shorten the text or ask for truncation (longest_first, only_first or only_second)",
                code="too-many-tokens", limit=limit, given=given, item=item)
        if budget < 0:
            raise InputError(f"{where}max_length {limit} leaves no room beside {specials} special tokens",
                             code="max-length-too-small", limit=specials, given=limit, item=item)
        excess = total - budget
        if enc_b is None:
            keep_a, keep_b = budget, 0
        elif strategy in ("only_first", "only_second"):
            which, n = ("text", n_a) if strategy == "only_first" else ("text_pair", n_b)
            if n <= excess:  # like Hugging Face: the truncated side must keep at least one token
                raise InputError(
                    f"{where}{which} has {n} tokens, too few to remove {excess} with truncation '{strategy}' "
                    f"(max_length {limit}); use longest_first or a larger max_length",
                    code="cannot-truncate", limit=limit, given=given, item=item)
            keep_a, keep_b = (n_a - excess, n_b) if strategy == "only_first" else (n_a, n_b - excess)
        else:  # longest_first, the same arithmetic as Hugging Face tokenizers
            short, long_ = sorted((n_a, n_b))
            long_ = short if short > budget else max(short, budget - short)
            if short + long_ > budget:
                short = budget // 2
                long_ = short + budget % 2
            keep_a, keep_b = (long_, short) if n_a > n_b else (short, long_)
        cut = _cut(enc_a, keep_a, 0, side)
        if enc_b is not None:
            cut += _cut(enc_b, keep_b, 1, side)
        return cut

    def _to_encoded(self, enc: Encoding, cut: tuple[CutToken, ...], counts: tuple[int, int] | None,
                    seq_texts: tuple[str, str | None], target: int | None,
                    words: tuple[Sequence[WordSpan], Sequence[WordSpan] | None] | None) -> Encoded:
        ids = enc.ids
        special = enc.special_tokens_mask
        seq_ids: list[int | None]
        if counts is None:  # encoded whole: the tokenizer knows which sequence each token came from
            seq_ids = [None if s else q for s, q in zip(special, enc.sequence_ids)]
        else:  # merged after truncation: non-special positions hold A's tokens, then B's, in order
            n_a = counts[0]
            seq_ids = []
            seen = 0
            for s in special:
                if s:
                    seq_ids.append(None)
                else:
                    seq_ids.append(0 if seen < n_a else 1)
                    seen += 1
        offsets = enc.offsets
        unknown = tuple(
            UnknownSpan(i, seq_ids[i], offsets[i][0], offsets[i][1],
                        (seq_texts[seq_ids[i]] or "")[offsets[i][0]:offsets[i][1]])
            for i, tid in enumerate(ids) if tid == self.unk_id and not special[i] and seq_ids[i] is not None
        ) if self.unk_id in ids else ()
        length = len(ids)
        tokens, type_ids, mask, word_ids = enc.tokens, enc.type_ids, enc.attention_mask, enc.word_ids
        alignment = _align(words, offsets, seq_ids) if words is not None else None
        if target is not None and target > length:
            pad = target - length
            tokens = tokens + ["[PAD]"] * pad
            ids = ids + [self.pad_id] * pad
            type_ids = type_ids + [0] * pad
            mask = mask + [0] * pad
            special = special + [1] * pad
            offsets = offsets + [(0, 0)] * pad
            seq_ids = seq_ids + [None] * pad
            word_ids = word_ids + [None] * pad
        return Encoded(
            tokens=tokens, input_ids=ids, token_type_ids=type_ids, position_ids=list(range(len(ids))),
            attention_mask=mask, special_tokens_mask=special, offsets=offsets, sequence_ids=seq_ids,
            word_ids=word_ids, length=length, num_unk=len(unknown), unknown=unknown, truncated=cut,
            alignment=alignment,
        )


def bert_template(cls_id: int, sep_id: int) -> TemplateProcessing:
    return TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                              special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])


def _cut(enc: Encoding, keep: int, sequence: int, side: Side) -> tuple[CutToken, ...]:
    n = len(enc)
    if keep >= n:
        return ()
    drop = range(keep, n) if side == "right" else range(0, n - keep)
    toks, ids, offs = enc.tokens, enc.ids, enc.offsets
    cut = tuple(CutToken(sequence, toks[j], ids[j], offs[j][0], offs[j][1]) for j in drop)
    enc.truncate(keep, direction=side)
    return cut


def _align(words: tuple[Sequence[WordSpan], Sequence[WordSpan] | None], offsets: list[tuple[int, int]],
           seq_ids: list[int | None]) -> tuple[WordAlignment, ...]:
    out: list[WordAlignment] = []
    for seq, spans in enumerate(words):
        if spans is None:
            continue
        pieces = [(offsets[i][0], offsets[i][1], i) for i, s in enumerate(seq_ids) if s == seq]
        j = 0
        for w in spans:
            while j < len(pieces) and pieces[j][1] <= w.start:
                j += 1
            covered = []
            k = j
            while k < len(pieces) and pieces[k][0] < w.end:
                if pieces[k][1] > w.start and not w.is_space:
                    covered.append(pieces[k][2])
                k += 1
            out.append(WordAlignment(seq, w.text, w.start, w.end, tuple(covered)))
    return tuple(out)


def _model_max_length(folder: Path) -> int:
    for name, key in (("tokenizer_config.json", "model_max_length"), ("config.json", "max_position_embeddings")):
        path = folder / name
        if path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8")).get(key)
            except ValueError as exc:
                raise ResourceError(f"{path}: not valid JSON ({exc})") from exc
            if isinstance(value, int) and 0 < value <= 1_000_000:
                return value
    return MAX_POSITIONS


def _do_lower_case(folder: Path) -> bool:
    path = folder / "tokenizer_config.json"
    if path.is_file():
        try:
            return bool(json.loads(path.read_text(encoding="utf-8")).get("do_lower_case", True))
        except ValueError:
            return True
    return True
