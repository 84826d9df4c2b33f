"""Static word vectors: the API on tiny in-memory vectors, every file format, the GloVe package
conversion and cache, the word2vec trainer's dry run, and the shipped word2vec artifact."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from pipelines.embeddings.static import (
    ARTIFACT_FORMAT,
    StaticRegistry,
    StaticVectors,
    check_static_config,
    parse_static_config,
    shipped_word2vec_path,
)
from pipelines.embeddings.word2vec import (
    clean_wikitext,
    evaluate,
    main,
    tokenize_line,
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


def tiny_kv() -> KeyedVectors:
    kv = KeyedVectors(3, count=0, dtype=np.float32)
    kv.add_vectors(WORDS, VECS)
    return kv


@pytest.fixture()
def tiny() -> StaticVectors:
    return StaticVectors.from_keyed_vectors(tiny_kv(), name="tiny", lowercase=True)


# ----- the API --------------------------------------------------------------------------------------
def test_lookup_exact_then_lowercase(tiny: StaticVectors) -> None:
    assert tiny.lookup("bank") == "bank"
    assert tiny.lookup("BANK") == "bank"
    assert tiny.lookup("Paris") == "Paris"
    assert tiny.lookup("paris") is None  # only lowercasing is tried, never other casings
    assert tiny.lookup("banks") is None
    cased = StaticVectors.from_keyed_vectors(tiny_kv(), name="cased", lowercase=False)
    assert cased.lookup("BANK") is None and cased.vector("Bank") is None


def test_vector_is_a_float32_copy(tiny: StaticVectors) -> None:
    v = tiny.vector("Money")
    assert v is not None and v.dtype == np.float32 and v.shape == (3,)
    np.testing.assert_array_equal(v, VECS[1])
    v[:] = 99.0
    np.testing.assert_array_equal(tiny.vector("money"), VECS[1])
    assert tiny.vector("unknown") is None


def test_vectors_zero_rows_and_found_flags(tiny: StaticVectors) -> None:
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
    with pytest.raises(InputError) as err:
        tiny.most_similar("bank", topn=0)
    assert err.value.code == "bad-option"


def test_info(tiny: StaticVectors) -> None:
    info = tiny.info()
    assert info["name"] == "tiny" and info["version"] == "test"
    assert (info["dim"], info["vocab_size"]) == (3, 5)
    assert {"source", "format", "lowercase"} <= set(info)


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


@pytest.mark.parametrize("filename, fmt, content", [
    ("vecs.txt", "word2vec-text", lambda: _text_lines(header=True).encode()),
    ("vecs.vec", "word2vec-text", lambda: _text_lines(header=True).encode()),
    ("glove.txt", "glove-text", lambda: _text_lines(header=False).encode()),
    ("vecs.bin", "word2vec-binary", _binary_bytes),
    ("vecs.w2v", "word2vec-binary", _binary_bytes),  # no telling suffix: sniffed from the bytes
    ("glove.txt.gz", "glove-text", lambda: gzip.compress(_text_lines(header=False).encode())),
])
def test_file_formats_round_trip(tmp_path: Path, filename: str, fmt: str, content) -> None:
    path = tmp_path / filename
    path.write_bytes(content())
    loaded = StaticVectors.from_file(path)
    assert loaded.format == fmt
    assert loaded.lowercase is False  # "Paris" is cased, so no lowercase fallback
    assert loaded.name == filename.split(".")[0]
    _assert_same(loaded)


def test_native_kv_round_trip_is_memory_mapped(tmp_path: Path) -> None:
    kv = tiny_kv()
    kv.save(str(tmp_path / "tiny.kv"), separately=["vectors"])
    loaded = StaticVectors.from_file(tmp_path / "tiny.kv", name="mine", version="7")
    assert (loaded.name, loaded.version, loaded.format) == ("mine", "7", "gensim-native")
    assert isinstance(loaded.keyed_vectors.vectors, np.memmap)
    _assert_same(loaded)


def test_lowercase_is_detected_for_lowercased_files(tmp_path: Path) -> None:
    path = tmp_path / "lower.txt"
    path.write_text("2 2\nbank 1 0\nriver 0 1\n", encoding="utf-8")
    loaded = StaticVectors.from_file(path)
    assert loaded.lowercase is True and loaded.lookup("Bank") == "bank"


@pytest.mark.parametrize("filename, content, message", [
    ("short.txt", b"3 4\nbank 1 2 3 4\nriver 1 2\nmoney 1 2 3 4\n", "word2vec-text"),
    ("count.txt", b"5 2\nbank 1 2\nriver 1 2\n", "word2vec-text"),
    ("truncated.bin", _binary_bytes()[:-20], "word2vec-binary"),
    ("notvectors.txt", b"hello world, this is prose\nand more of it\n", "not a vectors file"),
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"\n\n  \n", "empty"),
    ("nan.txt", b"2 2\nbank 1 nan\nriver 0 1\n", "not finite"),
    ("garbage.kv", b"not a pickle at all", "not a readable gensim KeyedVectors file"),
])
def test_bad_files_raise_resource_error_naming_the_file(tmp_path: Path, filename: str, content: bytes,
                                                          message: str) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(ResourceError) as err:
        StaticVectors.from_file(path)
    assert str(path) in err.value.detail and message in err.value.detail


def test_missing_file_and_bad_folder(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="no such file"):
        StaticVectors.from_file(tmp_path / "absent.bin")
    with pytest.raises(ResourceError, match="no config.json"):
        StaticVectors.from_file(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format": "textcnn-v1"}))
    with pytest.raises(ResourceError, match=ARTIFACT_FORMAT):
        StaticVectors.from_file(tmp_path)


# ----- the GloVe package ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def glove_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vectors-cache")


@pytest.fixture(scope="session")
def glove(glove_cache: Path) -> StaticVectors:
    return StaticVectors.from_glove_package(glove_cache)


def test_glove_package_known_similarities(glove: StaticVectors) -> None:
    assert (glove.vocab_size, glove.dim, glove.lowercase) == (400_000, 50, True)
    assert glove.similarity("bank", "money") == pytest.approx(0.636, abs=1e-3)
    assert glove.similarity("Bank", "RIVER") == pytest.approx(0.414, abs=1e-3)
    assert glove.lookup("Bank") == "bank"
    assert glove.lookup("qqqzzzxxyy") is None
    assert "queen" in [w for w, _ in glove.most_similar("king", topn=5)]


def test_glove_second_load_reuses_the_memory_mapped_cache(glove: StaticVectors, glove_cache: Path) -> None:
    matrix = glove_cache / "glove-6b-50d" / "vectors.kv.vectors.npy"
    before = matrix.stat()
    again = StaticVectors.from_glove_package(glove_cache)
    after = matrix.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)  # not converted again
    assert isinstance(again.keyed_vectors.vectors, np.memmap)
    assert isinstance(glove.keyed_vectors.vectors, np.memmap)  # the first load is mapped too
    np.testing.assert_array_equal(again.vector("river"), glove.vector("river"))
    meta = json.loads((glove_cache / "glove-6b-50d" / "meta.json").read_text())
    assert (meta["rows"], meta["dim"]) == (400_000, 50)


def test_glove_damaged_cache_is_rebuilt(glove: StaticVectors, glove_cache: Path, tmp_path: Path) -> None:
    shutil.copytree(glove_cache / "glove-6b-50d", tmp_path / "glove-6b-50d")
    matrix = tmp_path / "glove-6b-50d" / "vectors.kv.vectors.npy"
    with open(matrix, "r+b") as f:
        f.truncate(1000)
    rebuilt = StaticVectors.from_glove_package(tmp_path)
    assert matrix.stat().st_size > 1000
    assert rebuilt.similarity("bank", "money") == pytest.approx(glove.similarity("bank", "money"), abs=1e-7)


# ----- the registry ---------------------------------------------------------------------------------
def test_registry_get_default_and_unknown(tiny: StaticVectors) -> None:
    other = StaticVectors.from_keyed_vectors(tiny_kv(), name="other")
    reg = StaticRegistry({"tiny": tiny, "other": other}, default="other")
    assert reg.get() is other and reg.get("tiny") is tiny and reg.default == "other"
    with pytest.raises(NotFound) as err:
        reg.get("glove-6b-300d")
    assert err.value.code == "unknown-model" and "tiny" in err.value.detail and "other" in err.value.detail
    described = reg.describe()
    assert [d["name"] for d in described] == ["tiny", "other"]
    assert [d["default"] for d in described] == [False, True]
    with pytest.raises(ResourceError):
        StaticRegistry({"tiny": tiny}, default="nope")


def test_parse_static_config_forms() -> None:
    assert parse_static_config({"g": "glove-6b-50d"}) == {"g": "glove-6b-50d"}
    assert parse_static_config('{"a": "/x/a.bin", "g": "glove-6b-50d"}') == {"a": "/x/a.bin", "g": "glove-6b-50d"}
    assert parse_static_config("a=/x/a.bin, glove-6b-50d") == {"a": "/x/a.bin", "glove-6b-50d": "glove-6b-50d"}
    assert parse_static_config("/data/vectors.vec") == {"vectors": "/data/vectors.vec"}
    assert "glove-6b-50d" in parse_static_config(None)
    for bad in ('{"a": ""}', "[1, 2]", "{not json", {"": "x"}):
        with pytest.raises(ResourceError):
            parse_static_config(bad)


def test_registry_loads_files_and_checks_paths_first(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text(_text_lines(header=True), encoding="utf-8")
    reg = StaticRegistry.load({"mine": str(path)})
    assert reg.default == "mine" and reg.get("mine").vocab_size == len(WORDS)
    with pytest.raises(ResourceError) as err:
        check_static_config({"mine": str(path), "gone": str(tmp_path / "gone.bin")})
    assert "gone" in err.value.detail


# ----- word2vec training ------------------------------------------------------------------------------
def test_wikitext_cleaning() -> None:
    assert clean_wikitext("a role @-@ playing game of 1 @,@ 000 and 3 @.@ 5 m") == \
        "a role-playing game of 1,000 and 3.5 m"
    assert tokenize_line(" = Valkyria Chronicles III = ") == ["valkyria", "chronicles", "iii"]
    assert tokenize_line("The game 's role @-@ playing , \" ok \" .") == ["the", "game", "s", "role-playing", "ok"]


def _tiny_corpus(path: Path) -> None:
    rng = np.random.default_rng(0)
    topics = [["bank", "money", "loan", "cash"], ["river", "water", "shore", "boat"]]
    lines = []
    for i in range(120):
        words = list(rng.choice(topics[i % 2], size=8)) + ["the", "and"]
        rng.shuffle(words)
        lines.append(" ".join(words).capitalize() + " .")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_dry_run_writes_an_artifact_that_loads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    _tiny_corpus(corpus)
    out = tmp_path / "w2v"
    rc = main(["--corpus", str(corpus), "--dry-run", "--output", str(out), "--vector-size", "12", "--window", "3",
               "--workers", "1", "--cbow", "--seed", "7"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "data_card.json", "metrics.json", "vectors.kv",
                                                     "vectors.kv.vectors.npy"]
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == ARTIFACT_FORMAT
    assert (config["vector_size"], config["vocab_size"]) == (12, 10)
    t = config["training"]
    assert (t["sg"], t["window"], t["seed"], t["epochs"], t["min_count"]) == (0, 3, 7, 1, 1)
    card = json.loads((out / "data_card.json").read_text())
    assert (card["lines"], card["tokens"]) == (120, 1200)
    assert "--dry-run" in card["command"] and card["date"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["restrict_vocab"] == 300_000
    assert metrics["analogies"]["questions"] == 19_544 and metrics["analogies"]["oov_ratio"] == 1.0
    assert metrics["wordsim353"]["pairs"] == 353 and metrics["simlex999"]["pairs"] == 999

    loaded = StaticVectors.from_file(out)
    assert (loaded.name, loaded.dim, loaded.vocab_size, loaded.format) == ("w2v", 12, 10, ARTIFACT_FORMAT)
    assert loaded.lookup("Bank") == "bank" and loaded.lookup(".") is None
    assert isinstance(loaded.keyed_vectors.vectors, np.memmap)
    assert not list(tmp_path.glob(".w2v.tmp-*"))  # no temporary folder left behind


def test_training_refuses_a_missing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path / "nope.txt"), "--dry-run", "--output", str(tmp_path / "o")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ----- the shipped artifact ---------------------------------------------------------------------------
SHIPPED = shipped_word2vec_path()


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="the word2vec artifact is not built")
def test_shipped_word2vec_loads_and_its_metrics_reproduce() -> None:
    config = json.loads((SHIPPED / "config.json").read_text())
    reg = StaticRegistry.load({"w2v": "word2vec-wikitext2"})
    w2v = reg.get("w2v")
    assert w2v.dim == config["vector_size"] and w2v.vocab_size == config["vocab_size"]
    assert w2v.version == config["version"] and w2v.lowercase is True
    assert config["training"]["dry_run"] is False and config["corpus"] == "wikitext2"
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    again = evaluate(w2v.keyed_vectors, restrict_vocab=metrics["restrict_vocab"], tasks=["wordsim353", "simlex999"])
    for task in ("wordsim353", "simlex999"):
        assert again[task]["spearman"] == pytest.approx(metrics[task]["spearman"], abs=1e-6)
        assert again[task]["oov_ratio"] == pytest.approx(metrics[task]["oov_ratio"], abs=1e-9)
    assert metrics["wordsim353"]["spearman"] > 0.3  # a trained model, not noise
    assert (SHIPPED / "vectors.kv.vectors.npy").stat().st_size < 15_000_000
