"""A word-level vocabulary and a tokenizer that keeps character spans.

Saved as a plain text file, one token per line, line number = id.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.atomic import write_text_atomic  # the one atomic write (training.seq2seq imports it from here)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"

# Words (letters/digits, with inner apostrophes or hyphens) or single other non-space characters.
_TOKEN_RE = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]", re.UNICODE)


# Tokenizer schemes, recorded in every artifact that needs one (an artifact keeps the scheme it
# was trained with):
#   "words": the regex above; contractions stay whole ("what's", "don't") and an apostrophe
#            standing alone is its own token (TREC's "What 's" -> "what", "'", "s").
#   "ptb":   Penn-Treebank clitics, as TREC (and Kim 2014's preprocessing of MR) tokenise:
#            "What's" and "What 's" -> "what", "'s"; "don't" and "do n't" -> "do", "n't";
#            "can't" -> "can", "n't"; "won't" -> "will", "n't"; 're 've 'll 'd 'm split off;
#            curly apostrophes (’ ʼ) read as '; PTB quotes `` and '' read as ".
TOKENIZERS = ("words", "ptb")
_APOS = "'’ʼ"
_CLITIC = rf"[{_APOS}](?:s|re|ve|ll|d|m)(?![^\W_])"
_PTB_RE = re.compile(
    rf"n[{_APOS}]t(?![^\W_])"  # n't (standalone "do n't", or after a stem cut by the next branch)
    rf"|[^\W_ʼ]+(?=n[{_APOS}]t(?![^\W_]))"  # the stem of don't / can't (stops before the n)
    rf"|{_CLITIC}"  # 's 're 've 'll 'd 'm, attached or standalone
    rf"|[{_APOS}]t(?![^\W_])"  # TREC's "can 't" / "doesn 't": read as n't (the stem is fixed below)
    rf"|``|''"  # PTB quotes
    rf"|[^\Wʼ]+(?:(?:[{_APOS}](?!(?:s|re|ve|ll|d|m|t)(?![^\W_]))|-)[^\Wʼ]+)*"  # words: o'clock, o'neill, x-ray
    r"|[^\w\s]|ʼ",  # one other character (ʼ is a letter to \w: kept out of words, read as an apostrophe)
    re.UNICODE | re.IGNORECASE,
)
_PTB_STEMS = {"ca": "can", "wo": "will", "sha": "shall"}  # PTB's ca n't, wo n't, sha n't


def _ptb_tokens(text: str) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for m in _PTB_RE.finditer(text):
        tok = m.group(0)
        for a in _APOS[1:]:
            tok = tok.replace(a, "'")
        low = tok.lower()
        if low in ("``", "''"):
            tok = '"'
        elif low == "'t":  # TREC's "doesn 't": the n went to the stem, take it back
            tok = "n't"
            if out and len(out[-1][0]) >= 2 and out[-1][0][-1] in "nN":
                out[-1] = (out[-1][0][:-1], out[-1][1], out[-1][2])
        elif low == "n't":
            tok = "n't"
        if tok == "n't" and out:  # PTB's "ca n't", "wo n't": the stem as a word
            prev, s, e = out[-1]
            out[-1] = (_PTB_STEMS.get(prev.lower(), prev), s, e)
        out.append((tok, m.start(), m.end()))
    return out


def tokenize_with_spans(text: str, *, lower: bool = True, scheme: str = "words") -> list[tuple[str, int, int]]:
    """Split text into (token, start, end) with character offsets into ``text``; ``scheme`` is
    one of ``TOKENIZERS`` (the token strings of "ptb" are normalised: n't, ', ")."""
    if scheme == "words":
        spans = [(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
    elif scheme == "ptb":
        spans = _ptb_tokens(text)
    else:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {scheme!r}")
    return [(t.lower(), s, e) for t, s, e in spans] if lower else spans


def tokenize(text: str, *, lower: bool = True, scheme: str = "words") -> list[str]:
    return [tok for tok, _, _ in tokenize_with_spans(text, lower=lower, scheme=scheme)]


@dataclass
class Vocab:
    """Token <-> id mapping. Special tokens come first, in the order given."""

    itos: list[str]
    unk_token: str = UNK
    pad_token: str = PAD
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dupes = [t for t, c in Counter(self.itos).items() if c > 1][:5]
            raise ValueError(f"vocabulary has duplicate tokens: {dupes}")
        for special in (self.unk_token, self.pad_token):
            if special not in self.stoi:
                raise ValueError(f"vocabulary lacks the special token {special!r}")

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (PAD, UNK),
    ) -> Vocab:
        """Count tokens and keep those seen ``min_freq`` times, most frequent first (ties by token)."""
        counts: Counter[str] = Counter()
        for sent in sentences:
            counts.update(sent)
        words = sorted((w for w, c in counts.items() if c >= min_freq and w not in specials),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max(0, max_size - len(specials))]
        return cls(list(specials) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    @property
    def pad_id(self) -> int:
        return self.stoi[self.pad_token]

    @property
    def unk_id(self) -> int:
        return self.stoi[self.unk_token]

    def id(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        unk = self.unk_id
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def save(self, path: str | os.PathLike[str]) -> None:
        for tok in self.itos:
            if "\n" in tok or "\r" in tok:
                raise ValueError(f"token {tok!r} contains a line break and cannot be saved")
        write_text_atomic(Path(path), "\n".join(self.itos) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, unk_token: str = UNK, pad_token: str = PAD) -> Vocab:
        text = Path(path).read_text(encoding="utf-8")
        itos = text.split("\n")
        if itos and itos[-1] == "":
            itos.pop()
        return cls(itos, unk_token=unk_token, pad_token=pad_token)
