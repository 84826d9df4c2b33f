"""Static word vectors: the API on tiny in-memory vectors, every file format (written by gensim's
own writers from a tiny model trained here, and by hand), memory mapping, the atomic and
concurrency-safe conversion cache (on tiny vectors, and once on the real GloVe package), the
registry and its configuration."""

from __future__ import annotations

import gzip
import json
import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec

from pipelines.embeddings import static, vector_files
from pipelines.embeddings.static import (
    ARTIFACT_FORMAT,
    FILE_FORMATS,
    StaticVectors,
    check_static_config,
    convert_once,
    load_static,
    parse_static_config,
    split_format_hint,
    swap_in_folder,
)
from pipelines.errors import InputError, NotFound, ResourceError

WORDS = ["bank", "money", "river", "Paris", "café"]
VECS = np.array([
    [1.0, 0.0, 0.0],
    [1.0, 1.0, 0.0],  # cos(bank, money) = 1/sqrt(2)
    [0.2, 1.0, 0.0],  # cos(bank, river) = 0.2/sqrt(1.04)
    [0.0, 0.0, 2.0],  # orthogonal to bank
    [-0.5, 0.25, 0.125],
], dtype=np.float32)


def tiny_kv(words: list[str] = WORDS, vecs: np.ndarray = VECS) -> KeyedVectors:
    kv = KeyedVectors(vecs.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(words, vecs)
    return kv


@pytest.fixture()
def tiny() -> StaticVectors:
    return StaticVectors.from_keyed_vectors(tiny_kv(), name="tiny")


@pytest.fixture(scope="module")
def tiny_w2v() -> Word2Vec:
    """A real (tiny) word2vec model, trained here in a few milliseconds."""
    sentences = [["the", "bank", "lends", "money"], ["the", "river", "bank", "floods"],
                 ["Money", "flows", "to", "the", "bank"], ["a", "river", "flows"]] * 5
    return Word2Vec(sentences, vector_size=8, window=2, min_count=1, epochs=3, workers=1, seed=3, sg=1, negative=2)


# ----- the API --------------------------------------------------------------------------------------
def test_lookup_tries_the_exact_form_then_lowercase(tiny: StaticVectors) -> None:
    assert tiny.lookup("bank") == "bank"
    assert tiny.lookup("BANK") == "bank" and tiny.lookup("Bank") == "bank"  # the key says which form was found
    assert tiny.lookup("Paris") == "Paris"
    assert tiny.lookup("paris") is None and tiny.lookup("PARIS") is None  # only lowercasing is tried
    assert tiny.lookup("banks") is None and tiny.lookup("") is None
    strict = StaticVectors.from_keyed_vectors(tiny_kv(), name="strict", lowercase=False)
    assert strict.lookup("BANK") is None and strict.vector("Bank") is None and strict.lookup("bank") == "bank"
    assert "Bank" in tiny and "zebra" not in tiny and 3 not in tiny and len(tiny) == 5


def test_lookup_many_names_the_oov_words(tiny: StaticVectors) -> None:
    result = tiny.lookup_many(["Bank", "zebra", "Paris", "river", "zebra", "PARIS"])
    assert result.keys == ("bank", None, "Paris", "river", None, None)
    assert result.found == (True, False, True, True, False, False)
    assert result.oov == ["zebra", "zebra", "PARIS"]
    assert result.lowercased == ["Bank"]
    assert result.oov_ratio == pytest.approx(0.5)
    assert tiny.lookup_many([]).oov == [] and tiny.lookup_many([]).oov_ratio == 0.0


def test_vector_is_a_float32_copy_and_none_when_oov(tiny: StaticVectors) -> None:
    v = tiny.vector("Money")
    assert v is not None and v.dtype == np.float32 and v.shape == (3,)
    np.testing.assert_array_equal(v, VECS[1])
    v[:] = 99.0
    np.testing.assert_array_equal(tiny.vector("money"), VECS[1])
    assert tiny.vector("unknown") is None


def test_vectors_zero_rows_come_with_found_flags(tiny: StaticVectors) -> None:
    mat, found = tiny.vectors(["River", "qqq", "café", ""])
    assert mat.shape == (4, 3) and mat.dtype == np.float32
    assert found == [True, False, True, False]
    np.testing.assert_array_equal(mat[0], VECS[2])
    np.testing.assert_array_equal(mat[1], np.zeros(3))
    np.testing.assert_array_equal(mat[2], VECS[4])
    empty, none_found = tiny.vectors([])
    assert empty.shape == (0, 3) and none_found == []


def test_similarity_known_cosines(tiny: StaticVectors) -> None:
    assert tiny.similarity("bank", "money") == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert tiny.similarity("BANK", "river") == pytest.approx(0.2 / math.sqrt(1.04), abs=1e-6)
    assert tiny.similarity("bank", "Paris") == pytest.approx(0.0, abs=1e-7)
    assert tiny.similarity("bank", "bank") == pytest.approx(1.0, abs=1e-6)
    assert tiny.similarity("bank", "nowhere") is None
    assert tiny.similarity("nowhere", "bank") is None


def test_most_similar_orders_by_cosine_and_rejects_oov(tiny: StaticVectors) -> None:
    top = tiny.most_similar("Bank", topn=3)
    assert [w for w, _ in top] == ["money", "river", "Paris"]
    assert top[0][1] == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert all(type(w) is str and type(s) is float for w, s in top)
    assert len(tiny.most_similar("bank", topn=100)) == 4  # everything but the word itself
    with pytest.raises(InputError) as err:
        tiny.most_similar("zebra")
    assert err.value.code == "oov" and "zebra" in err.value.detail
    for bad in (0, -1, True, 2.5):
        with pytest.raises(InputError) as err:
            tiny.most_similar("bank", topn=bad)  # type: ignore[arg-type]
        assert err.value.code == "bad-option"


def test_most_similar_agrees_with_gensim_and_survives_zero_vectors(tiny_w2v: Word2Vec) -> None:
    mine = StaticVectors.from_keyed_vectors(tiny_w2v.wv, name="w2v")
    ours, theirs = mine.most_similar("bank", topn=5), tiny_w2v.wv.most_similar("bank", topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    zero = StaticVectors.from_keyed_vectors(tiny_kv(["a", "b", "nil"], np.array([[1, 0], [1, 1], [0, 0]], np.float32)),
                                            name="zero")
    assert zero.most_similar("a", topn=2) == [("b", pytest.approx(1 / math.sqrt(2))), ("nil", 0.0)]
    assert zero.most_similar("nil", topn=2) == [("a", 0.0), ("b", 0.0)]  # no NaN, ties in vocabulary order
    assert zero.similarity("a", "nil") == 0.0


def test_info(tiny: StaticVectors) -> None:
    info = tiny.info()
    assert info["name"] == "tiny" and info["version"] == "test"
    assert (info["dim"], info["vocab_size"], info["lowercase"], info["uncased"]) == (3, 5, True, False)
    assert info["memory_mapped"] is False and {"source", "format"} <= set(info)


# ----- file formats ---------------------------------------------------------------------------------
def _text_lines(header: bool) -> str:
    lines = [f"{len(WORDS)} {VECS.shape[1]}"] if header else []
    lines += [w + " " + " ".join(f"{x:.6f}" for x in v) for w, v in zip(WORDS, VECS, strict=True)]
    return "\n".join(lines) + "\n"


def _binary_bytes(words: list[str] = WORDS, vecs: np.ndarray = VECS) -> bytes:
    out = f"{len(words)} {vecs.shape[1]}\n".encode()
    for w, v in zip(words, vecs, strict=True):
        out += w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + b"\n"
    return out


def _assert_same(loaded: StaticVectors) -> None:
    assert (loaded.vocab_size, loaded.dim) == (len(WORDS), VECS.shape[1])
    for w, v in zip(WORDS, VECS, strict=True):
        np.testing.assert_allclose(loaded.vector(w), v, atol=1e-6)


@pytest.mark.parametrize(("filename", "fmt", "content"), [
    ("vecs.txt", "word2vec-text", lambda: _text_lines(header=True).encode()),
    ("vecs.vec", "word2vec-text", lambda: _text_lines(header=True).encode()),
    ("glove.txt", "glove-text", lambda: _text_lines(header=False).encode()),
    ("vecs.bin", "word2vec-binary", _binary_bytes),
    ("vecs.w2v", "word2vec-binary", _binary_bytes),  # no telling suffix: sniffed from the bytes
    ("glove.txt.gz", "glove-text", lambda: gzip.compress(_text_lines(header=False).encode())),
    ("vecs.bin.gz", "word2vec-binary", lambda: gzip.compress(_binary_bytes())),
])
def test_hand_written_files_round_trip(tmp_path: Path, filename: str, fmt: str, content) -> None:  # noqa: ANN001
    path = tmp_path / filename
    path.write_bytes(content())
    loaded = StaticVectors.from_file(path)
    assert loaded.format == fmt and loaded.source == str(path)
    assert loaded.name == filename.split(".")[0]
    assert loaded.lookup("BANK") == "bank" and loaded.lookup("paris") is None
    _assert_same(loaded)


@pytest.mark.parametrize(("filename", "binary", "fmt"), [
    ("model.bin", True, "word2vec-binary"),
    ("model.txt", False, "word2vec-text"),
    ("model.dat", True, "word2vec-binary"),
])
def test_gensim_written_files_round_trip(tmp_path: Path, tiny_w2v: Word2Vec, filename: str, binary: bool,
                                         fmt: str) -> None:
    path = tmp_path / filename
    tiny_w2v.wv.save_word2vec_format(str(path), binary=binary)
    loaded = StaticVectors.from_file(path, name="w2v", version="3")
    assert (loaded.name, loaded.version, loaded.format) == ("w2v", "3", fmt)
    assert loaded.keyed_vectors.index_to_key == tiny_w2v.wv.index_to_key  # frequency order kept
    np.testing.assert_allclose(loaded.keyed_vectors.vectors, tiny_w2v.wv.vectors, atol=1e-6 if binary else 1e-5)
    assert loaded.lookup("money") == "money" and loaded.lookup("Money") == "Money"  # exact form first


def test_native_files_are_memory_mapped_and_share_one_file(tmp_path: Path, tiny_w2v: Word2Vec) -> None:
    kv_path = tmp_path / "tiny.kv"
    tiny_kv().save(str(kv_path), separately=["vectors"])
    a = StaticVectors.from_file(kv_path, name="mine", version="7")
    b = StaticVectors.from_file(kv_path)
    assert (a.name, a.version, a.format, b.name) == ("mine", "7", "gensim-native", "tiny")
    for loaded in (a, b):
        vectors = loaded.keyed_vectors.vectors
        assert isinstance(vectors, np.memmap) and vectors.mode == "r"
        assert Path(vectors.filename) == tmp_path / "tiny.kv.vectors.npy"  # pages come from the one file
        with pytest.raises(ValueError):
            vectors[0, 0] = 1.0  # read-only: a request can never change the shared vectors
    assert a.info()["memory_mapped"] is True
    _assert_same(a)
    # a whole Word2Vec model saved natively, under a suffix that says nothing: sniffed as a pickle
    model_path = tmp_path / "whole.w2vmodel"
    tiny_w2v.save(str(model_path), separately=["vectors"])
    whole = StaticVectors.from_file(model_path)
    assert whole.format == "gensim-native" and whole.vocab_size == len(tiny_w2v.wv)
    np.testing.assert_array_equal(whole.vector("bank"), tiny_w2v.wv["bank"])


def test_format_hints(tmp_path: Path) -> None:
    glove = tmp_path / "glove.data"
    glove.write_text(_text_lines(header=False), encoding="utf-8")
    assert StaticVectors.from_file(glove, file_format="glove-text").format == "glove-text"
    assert StaticVectors.from_file(f"glove-text:{glove}").format == "glove-text"
    assert StaticVectors.from_file(glove, file_format="auto").format == "glove-text"
    binary = tmp_path / "vectors.data"
    binary.write_bytes(_binary_bytes())
    _assert_same(StaticVectors.from_file(f"word2vec-binary:{binary}"))
    _assert_same(StaticVectors.from_file(binary, binary=True))
    assert split_format_hint("word2vec-text:/x/y.txt") == ("word2vec-text", Path("/x/y.txt"))
    assert split_format_hint("/x/y.txt") == (None, Path("/x/y.txt"))
    with pytest.raises(ResourceError, match="not a 'count dim' header"):
        StaticVectors.from_file(glove, file_format="word2vec-text")  # gensim would eat the first vector
    with pytest.raises(ResourceError, match="unknown vectors file format"):
        StaticVectors.from_file(glove, file_format="fasttext")
    with pytest.raises(ResourceError, match=str(glove)):
        StaticVectors.from_file(glove, file_format="gensim-native")
    assert set(FILE_FORMATS) == {"word2vec-binary", "word2vec-text", "glove-text", "gensim-native"}


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("short.txt", b"3 4\nbank 1 2 3 4\nriver 1 2\nmoney 1 2 3 4\n", "word2vec-text"),
    ("count.txt", b"5 2\nbank 1 2\nriver 1 2\n", "word2vec-text"),
    ("truncated.bin", _binary_bytes()[:-20], "word2vec-binary"),
    ("notvectors.txt", b"hello world, this is prose\nand more of it\n", "not a vectors file"),
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"\n\n  \n", "empty"),
    ("nan.txt", b"2 2\nbank 1 nan\nriver 0 1\n", "not finite"),
    ("garbage.kv", b"not a pickle at all", "not a readable gensim KeyedVectors file"),
    ("garbage.pkl", b"\x80\x04 broken pickle", "not a readable gensim KeyedVectors file"),
    ("bad.gz", b"not gzip at all", "cannot be read"),
])
def test_bad_files_raise_resource_error_naming_the_file(tmp_path: Path, filename: str, content: bytes,
                                                          message: str) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(ResourceError) as err:
        StaticVectors.from_file(path)
    assert str(path) in err.value.detail and message in err.value.detail


def test_native_file_without_its_matrix_is_named(tmp_path: Path) -> None:
    tiny_kv().save(str(tmp_path / "tiny.kv"), separately=["vectors"])
    (tmp_path / "tiny.kv.vectors.npy").unlink()
    with pytest.raises(ResourceError) as err:
        StaticVectors.from_file(tmp_path / "tiny.kv")
    assert str(tmp_path / "tiny.kv") in err.value.detail


def test_missing_file_and_bad_folder(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="no such file"):
        StaticVectors.from_file(tmp_path / "absent.bin")
    with pytest.raises(ResourceError, match="no config.json"):
        StaticVectors.from_file(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format": "textcnn-v1"}))
    with pytest.raises(ResourceError, match=ARTIFACT_FORMAT):
        StaticVectors.from_file(tmp_path)
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(ResourceError, match="not valid JSON"):
        StaticVectors.from_file(tmp_path)


# ----- the conversion cache (tiny vectors) --------------------------------------------------------------
class Reader:
    """A conversion source that counts its calls and can be slow (to make processes overlap)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    def __call__(self) -> tuple[list[str], np.ndarray]:
        self.calls += 1
        time.sleep(self.delay)
        return list(WORDS), VECS


META = {"format": "tiny-v1", "rows": 5}


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(".tiny.") and not p.name.endswith(".lock"))


def test_convert_once_writes_a_mappable_folder_once(tmp_path: Path) -> None:
    reader = Reader()
    folder = convert_once(tmp_path, "tiny", META, reader)
    assert folder == tmp_path / "tiny" and reader.calls == 1
    assert sorted(p.name for p in folder.iterdir()) == [
        "meta.json", "norms.npy", "vectors.kv", "vectors.kv.vectors.npy", "vocab.hashes.npy", "vocab.rows.npy",
        "vocab.starts.npy", "vocab.words.npy"]
    assert json.loads((folder / "meta.json").read_text())["format"] == "tiny-v1"
    assert oct(folder.stat().st_mode & 0o777) == "0o755"  # readable by every worker's user
    before = (folder / "vectors.kv.vectors.npy").stat()
    assert convert_once(tmp_path, "tiny", META, reader) == folder and reader.calls == 1  # reused, not rebuilt
    after = (folder / "vectors.kv.vectors.npy").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    loaded = StaticVectors.from_file(folder / "vectors.kv")
    assert isinstance(loaded.keyed_vectors.vectors, np.memmap)
    _assert_same(loaded)
    convert_once(tmp_path, "tiny", {**META, "format": "tiny-v2"}, reader)  # a new format is rebuilt
    assert reader.calls == 2 and _leftovers(tmp_path) == []


def test_concurrent_conversions_convert_once(tmp_path: Path) -> None:
    reader = Reader(delay=0.3)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(convert_once(tmp_path, "tiny", META, reader)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reader.calls == 1 and results == [tmp_path / "tiny"] * 4
    assert _leftovers(tmp_path) == []


def test_interrupted_conversion_leaves_no_partial_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = vector_files._save_native

    def save_then_die(kv: KeyedVectors, path: Path) -> None:
        real_save(kv, path)
        (path.parent / "vectors.kv.vectors.npy").write_bytes(b"half")  # a partly written matrix
        raise KeyboardInterrupt

    monkeypatch.setattr(vector_files, "_save_native", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        convert_once(tmp_path, "tiny", META, Reader())
    assert not (tmp_path / "tiny").exists() and _leftovers(tmp_path) == []
    monkeypatch.undo()
    # a process killed outright (no cleanup) leaves its temporary folder: the next conversion removes it,
    # and a reader never looks there
    stale = tmp_path / ".tiny.tmp-killed"
    stale.mkdir()
    (stale / "vectors.kv").write_bytes(b"partial")
    folder = convert_once(tmp_path, "tiny", META, Reader())
    assert _leftovers(tmp_path) == [] and StaticVectors.from_file(folder / "vectors.kv").vocab_size == 5


def test_swap_in_folder_replaces_and_recovers(tmp_path: Path) -> None:
    target, new = tmp_path / "art", tmp_path / ".art.tmp-1"
    for folder, text in ((target, "old"), (new, "new")):
        folder.mkdir()
        (folder / "f").write_text(text)
    swap_in_folder(new, target)
    assert (target / "f").read_text() == "new" and not new.exists() and not (tmp_path / ".art.old").exists()
    # killed between the two renames: the artifact sits in .art.old and art is gone
    os.replace(target, tmp_path / ".art.old")
    with pytest.raises(ResourceError, match="interrupted between two renames"):
        StaticVectors.from_file(target)
    newer = tmp_path / ".art.tmp-2"
    newer.mkdir()
    (newer / "f").write_text("newer")
    swap_in_folder(newer, target)
    assert (target / "f").read_text() == "newer" and sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_glove_cache_is_rebuilt_when_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``from_glove_package`` never trusts a damaged cache (here on tiny stand-in vectors)."""
    reader = Reader()
    monkeypatch.setattr(vector_files, "read_glove_package", reader)
    for module in (static, vector_files):
        monkeypatch.setattr(module, "GLOVE_ROWS", len(WORDS))
        monkeypatch.setattr(module, "GLOVE_DIM", VECS.shape[1])
    first = StaticVectors.from_glove_package(tmp_path)
    assert reader.calls == 1 and first.lowercase and first.format == "glove-6b-package"
    assert isinstance(first.keyed_vectors.vectors, np.memmap)
    matrix = tmp_path / "glove-6b-50d" / "vectors.kv.vectors.npy"
    with open(matrix, "r+b") as f:
        f.truncate(64)
    again = StaticVectors.from_glove_package(tmp_path)
    assert reader.calls == 2 and matrix.stat().st_size > 64
    assert again.similarity("bank", "money") == pytest.approx(1 / math.sqrt(2), abs=1e-6)


def test_unwritable_cache_is_a_resource_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResourceError, match="cannot create the vectors cache"):
        convert_once(blocker / "cache", "tiny", META, Reader())


# ----- the real GloVe package ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def glove() -> StaticVectors:
    """The real package, converted once into the shared cache (the tiny tests above cover conversion)."""
    return StaticVectors.from_glove_package()


@pytest.mark.slow
def test_glove_package_known_similarities_memory_mapped(glove: StaticVectors) -> None:
    assert (glove.vocab_size, glove.dim, glove.lowercase, glove.uncased) == (400_000, 50, True, True)
    assert isinstance(glove.keyed_vectors.vectors, np.memmap)
    assert glove.similarity("bank", "money") == pytest.approx(0.636, abs=1e-3)
    assert glove.similarity("Bank", "RIVER") == pytest.approx(0.414, abs=1e-3)
    assert glove.lookup_many(["Bank", "qqqzzzxxyy"]).oov == ["qqqzzzxxyy"]
    assert "queen" in [w for w, _ in glove.most_similar("king", topn=5)]
    meta = json.loads((Path(glove.keyed_vectors.vectors.filename).parent / "meta.json").read_text())
    assert (meta["rows"], meta["dim"], meta["format"]) == (400_000, 50, "glove-kv-v2")


@pytest.mark.slow
def test_glove_compact_index_agrees_with_gensims(glove: StaticVectors) -> None:
    """The service reads GloVe through a compact word index (no Python object per word); every
    answer must be the one gensim's own dict gives."""
    import random

    assert glove.info()["index"] == "compact" and glove.info()["memory_mapped"]
    kv = glove.keyed_vectors
    words = random.Random(0).sample(kv.index_to_key, 3000) + ["The", "BANK", "naïve", "", "qqqzzzxxyy", "don't"]
    expected = [kv.key_to_index.get(w, kv.key_to_index.get(w.lower())) for w in words]
    assert glove.word_indices(words).tolist() == [e for e in expected if e is not None]
    assert [glove.lookup(w) for w in words] == [
        None if e is None else kv.index_to_key[e] for e in expected]
    vecs, found = glove.vectors(words)
    assert found == [e is not None for e in expected]
    assert np.array_equal(vecs[found], kv.vectors[[e for e in expected if e is not None]])
    ours = glove.most_similar("river", topn=10)
    theirs = kv.most_similar("river", topn=10)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert np.allclose([x for _, x in ours], [x for _, x in theirs], atol=1e-5)


# ----- several models by name (the loaded Pipelines pick them) ---------------------------------------
def test_pipelines_pick_the_default_and_refuse_an_unknown_model(tiny: StaticVectors) -> None:
    from pipelines import Pipelines

    other = StaticVectors.from_keyed_vectors(tiny_kv(), name="other")
    loaded = Pipelines(static={"other": other, "tiny": tiny})
    assert loaded.static_model(None) is other and loaded.static_model("tiny") is tiny
    with pytest.raises(NotFound) as err:
        loaded.static_model("glove-6b-300d")
    assert err.value.code == "unknown-model" and "tiny" in err.value.detail and "other" in err.value.detail
    described = [d for d in loaded.describe() if d.get("kind") == "static"]
    assert [d["name"] for d in described] == ["other", "tiny"]
    with pytest.raises(NotFound):
        Pipelines().static_model(None)


def test_parse_static_config_forms() -> None:
    assert parse_static_config({"g": "glove-6b-50d"}) == {"g": "glove-6b-50d"}
    assert parse_static_config('{"a": "/x/a.bin", "g": "glove-6b-50d"}') == {"a": "/x/a.bin", "g": "glove-6b-50d"}
    assert parse_static_config("a=/x/a.bin, glove-6b-50d") == {"a": "/x/a.bin", "glove-6b-50d": "glove-6b-50d"}
    assert parse_static_config("/data/vectors.vec") == {"vectors": "/data/vectors.vec"}
    assert parse_static_config("glove-text:/data/g.txt") == {"g": "glove-text:/data/g.txt"}
    assert list(parse_static_config(None)) == ["glove-6b-50d", "word2vec-wikitext2"]
    for bad in ('{"a": ""}', "[1, 2]", "{not json", {"": "x"}):
        with pytest.raises(ResourceError):
            parse_static_config(bad)


def test_configured_files_load_with_hints_and_paths_are_checked_first(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text(_text_lines(header=True), encoding="utf-8")
    glove = tmp_path / "g.data"
    glove.write_text(_text_lines(header=False), encoding="utf-8")
    config = parse_static_config({"mine": str(path), "g": f"glove-text:{glove}"})
    check_static_config(config)
    loaded = {name: load_static(name, source) for name, source in config.items()}
    assert list(loaded) == ["mine", "g"] and loaded["mine"].vocab_size == len(WORDS)
    assert loaded["g"].format == "glove-text" and loaded["g"].name == "g"
    with pytest.raises(ResourceError) as err:
        check_static_config({"mine": str(path), "gone": str(tmp_path / "gone.bin")})
    assert "gone" in err.value.detail
    check_static_config({"mine": f"auto:{path}"})
    with pytest.raises(ResourceError, match="no path after the format"):
        check_static_config({"bad": "word2vec-text:"})
    with pytest.raises(ResourceError, match="does not exist"):
        check_static_config({"bad": "fasttext:/nowhere.bin"})  # not a format we know: just a (missing) path
