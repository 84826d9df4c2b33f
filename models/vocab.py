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


def tokenize_with_spans(text: str, *, lower: bool = True) -> list[tuple[str, int, int]]:
    """Split text into (token, start, end) with character offsets into ``text``."""
    return [
        (m.group(0).lower() if lower else m.group(0), m.start(), m.end())
        for m in _TOKEN_RE.finditer(text)
    ]


def tokenize(text: str, *, lower: bool = True) -> list[str]:
    return [tok for tok, _, _ in tokenize_with_spans(text, lower=lower)]


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
