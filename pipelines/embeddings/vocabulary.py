"""A word -> row index that costs no Python object per word: the words in one UTF-8 buffer with their
offsets, and a sorted array of 64-bit hashes (BLAKE2b of the word's UTF-8) with the row of each,
found by binary search and confirmed against the stored word. Saved as four ``.npy`` files and
memory-mapped, so worker processes share the pages.

GloVe's 400,000 words as a gensim ``key_to_index`` dict and ``index_to_key`` list cost about 57 MB
of each worker's own memory; this index costs 12 MB of shared, file-backed pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from pipelines.errors import ResourceError

FILES = ("words", "starts", "hashes", "rows")  # <stem>.<name>.npy


def word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


class CompactVocabulary:
    """Read-only; ``index(word)`` is the word's row or None, ``word(row)`` the word of a row."""

    def __init__(self, words: np.ndarray, starts: np.ndarray, hashes: np.ndarray, rows: np.ndarray) -> None:
        self._words, self._starts, self._hashes, self._rows = words, starts, hashes, rows
        self._n = len(starts) - 1

    # ----- building and storing ------------------------------------------------------------------
    @classmethod
    def build(cls, words: Sequence[str]) -> CompactVocabulary:
        encoded = [w.encode("utf-8") for w in words]
        starts = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=starts[1:])
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        hashes = np.fromiter((word_hash(w) for w in words), dtype=np.uint64, count=len(words))
        order = np.argsort(hashes, kind="stable")
        return cls(buf, starts, hashes[order], order.astype(np.int64))

    def save(self, stem: Path) -> None:
        for name, array in zip(FILES, (self._words, self._starts, self._hashes, self._rows)):
            np.save(f"{stem}.{name}.npy", array)

    @staticmethod
    def paths(stem: Path) -> list[Path]:
        return [Path(f"{stem}.{name}.npy") for name in FILES]

    @classmethod
    def load(cls, stem: Path) -> CompactVocabulary:
        try:
            arrays = [np.load(p, mmap_mode="r") for p in cls.paths(stem)]
        except (OSError, ValueError) as exc:
            raise ResourceError(f"{stem}.*.npy: not a readable vocabulary ({exc})") from exc
        words, starts, hashes, rows = arrays
        if not (len(starts) == len(hashes) + 1 == len(rows) + 1 and int(starts[-1]) == len(words)):
            raise ResourceError(f"{stem}.*.npy: the vocabulary's arrays do not agree in length")
        return cls(words, starts, hashes, rows)

    # ----- lookups --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def word(self, row: int) -> str:
        return bytes(self._words[self._starts[row]:self._starts[row + 1]]).decode("utf-8")

    def words(self) -> Iterable[str]:
        return (self.word(i) for i in range(self._n))

    def _confirm(self, word: str, h: int, at: int) -> int | None:
        while at < self._n and int(self._hashes[at]) == h:  # equal hashes: compare the words themselves
            row = int(self._rows[at])
            if self.word(row) == word:
                return row
            at += 1
        return None

    def index(self, word: str) -> int | None:
        h = word_hash(word)
        return self._confirm(word, h, int(np.searchsorted(self._hashes, np.uint64(h))))

    def indices(self, words: Sequence[str]) -> list[int | None]:
        """``index`` of many words, with one binary search for all of them."""
        if not words:
            return []
        hashes = np.fromiter((word_hash(w) for w in words), dtype=np.uint64, count=len(words))
        at = np.searchsorted(self._hashes, hashes)
        return [self._confirm(w, int(h), int(a)) for w, h, a in zip(words, hashes, at)]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.index(word) is not None


class DictVocabulary:
    """The same interface over a gensim ``KeyedVectors``' own dict and list (small vocabularies, tests)."""

    def __init__(self, key_to_index: dict, index_to_key: list) -> None:
        self._k2i, self._i2k = key_to_index, index_to_key

    def __len__(self) -> int:
        return len(self._i2k)

    def word(self, row: int) -> str:
        return str(self._i2k[row])

    def words(self) -> Iterable[str]:
        return (str(k) for k in self._i2k)

    def index(self, word: str) -> int | None:
        return self._k2i.get(word)

    def indices(self, words: Sequence[str]) -> list[int | None]:
        return [self._k2i.get(w) for w in words]

    def __contains__(self, word: object) -> bool:
        return word in self._k2i
