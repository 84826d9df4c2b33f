"""``lexiflow train|eval word2vec``: tokenization, a tiny Word2Vec trained here, the evaluation on
gensim's shipped test files (with vectors built so the right answers are known), the artifact
folder (atomic, reloadable, memory-mapped), and the shipped artifact."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from training import word2vec as w2v
from pipelines.embeddings.static import ARTIFACT_FORMAT, StaticVectors, load_static, shipped_word2vec_path
from evals import word_vectors
from evals.word_vectors import eval_main, evaluate, format_markdown
from training.word2vec import (
    FileSentences,
    TrainConfig,
    clean_wikitext,
    load_corpus,
    main,
    tokenize_line,
    train,
)
from pipelines.errors import ResourceError


# ----- corpus ---------------------------------------------------------------------------------------
def test_wikitext_cleaning_and_tokenization() -> None:
    assert clean_wikitext("a role @-@ playing game of 1 @,@ 000 and 3 @.@ 5 m") == \
        "a role-playing game of 1,000 and 3.5 m"
    assert tokenize_line(" = Valkyria Chronicles III = ") == ["valkyria", "chronicles", "iii"]
    assert tokenize_line("The game 's role @-@ playing , \" ok \" .") == ["the", "game", "s", "role-playing", "ok"]
    assert tokenize_line("Don't STOP -- now!") == ["don't", "stop", "now"]
    assert tokenize_line(" . , ; ") == []


def _topic_corpus(path: Path, lines: int = 120) -> None:
    rng = np.random.default_rng(0)
    topics = [["bank", "money", "loan", "cash"], ["river", "water", "shore", "boat"]]
    out = []
    for i in range(lines):
        words = list(rng.choice(topics[i % 2], size=8)) + ["the", "and"]
        rng.shuffle(words)
        out.append(" ".join(words).capitalize() + " .")
    path.write_text("\n\n".join(out) + "\n", encoding="utf-8")  # blank lines between: skipped


def test_file_corpus_is_streamed_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.txt.gz"
    path.write_bytes(gzip.compress("One two , three .\n\n  \nFour five\n".encode()))
    corpus = load_corpus(str(path))
    assert isinstance(corpus.sentences, FileSentences)
    assert (corpus.name, corpus.lines, corpus.tokens, corpus.raw_tokens) == ("c", 2, 5, 7)
    assert list(corpus.sentences) == [["one", "two", "three"], ["four", "five"]]
    assert list(corpus.sentences) == list(corpus.sentences)  # re-iterable: once per epoch
    assert list(load_corpus(str(path), max_lines=1).sentences) == [["one", "two", "three"]]


def test_long_lines_are_split_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(w2v, "MAX_SENTENCE", 3)
    path = tmp_path / "long.txt"
    path.write_text("a b c d e f g\n", encoding="utf-8")
    assert list(load_corpus(str(path)).sentences) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


# ----- training -------------------------------------------------------------------------------------
def _sentences() -> list[list[str]]:
    rng = np.random.default_rng(1)
    topics = [["bank", "money", "loan", "cash", "credit"], ["river", "water", "shore", "boat", "fish"]]
    return [list(rng.choice(topics[i % 2], size=10)) for i in range(200)]


@pytest.mark.parametrize("sg", [1, 0])
def test_tiny_word2vec_learns_topics_reproducibly(sg: int) -> None:
    cfg = TrainConfig(sg=sg, vector_size=16, window=3, negative=3, min_count=1, epochs=5, workers=1, seed=5,
                      sample=0.0)  # no down-sampling: every word of this tiny corpus is "frequent"
    model, history = train(_sentences(), cfg)
    sv = StaticVectors.from_keyed_vectors(model.wv, name="tiny")
    assert sv.similarity("bank", "money") > sv.similarity("bank", "river") + 0.5
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert all(h["loss"] is not None and h["loss"] > 0 and h["seconds"] >= 0 for h in history)
    again, _ = train(_sentences(), cfg)
    np.testing.assert_array_equal(model.wv.vectors, again.wv.vectors)  # one worker + a seed: bit-for-bit


def test_training_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="min-count"):
        train(_sentences(), TrainConfig(min_count=10_000, workers=1))
    with pytest.raises(ValueError, match="MB"):
        train(_sentences(), TrainConfig(min_count=1, vector_size=1000, max_mb=0.01, workers=1))
    for bad in (TrainConfig(window=0), TrainConfig(negative=0), TrainConfig(sg=2), TrainConfig(min_alpha=0.5)):
        with pytest.raises(ValueError):
            bad.check()


# ----- evaluation on the files shipped inside gensim ------------------------------------------------
def _family_questions() -> list[list[str]]:
    section, out = None, []
    with open(datapath("questions-words.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(":"):
                section = line.split()[1]
            elif section == "family":
                out.append(line.lower().split())
    return out


def test_analogies_on_vectors_built_to_solve_them() -> None:
    """male/female pairs = a base vector + or - one shared offset: every family analogy is exact."""
    questions = _family_questions()
    pairs = sorted({(q[0], q[1]) for q in questions} | {(q[2], q[3]) for q in questions})
    rng = np.random.default_rng(0)
    dim = 2 * len(pairs) + 1
    words, vecs = [], []
    for i, (male, female) in enumerate(pairs):
        base = np.zeros(dim)
        base[i] = 5.0 + rng.random()
        for word, sign in ((male, 0.0), (female, 1.0)):
            if word not in words:
                v = base.copy()
                v[-1] = sign
                words.append(word)
                vecs.append(v)
    kv = KeyedVectors(dim, count=0, dtype=np.float32)
    kv.add_vectors(words, np.array(vecs, dtype=np.float32))
    result = evaluate(kv, tasks=["analogies"])["analogies"]
    covered = sum(all(w in words for w in q) for q in questions)  # at least the family section
    assert result["questions"] == 19_544 and result["evaluated"] >= covered >= 400
    assert result["semantic_accuracy"] == 1.0 and result["correct"] >= covered
    assert result["oov_ratio"] == pytest.approx(1 - result["evaluated"] / 19_544)
    assert result["accuracy_all"] == pytest.approx(result["correct"] / 19_544)
    assert result["restrict_vocab"] == 30_000


def test_word_pairs_spearman_and_oov_on_vectors_built_to_match() -> None:
    """Pairs whose words occur nowhere else; cos(a, b) = human score / 10 gives Spearman 1."""
    rows = [line.rstrip("\n").split("\t") for line in open(datapath("wordsim353.tsv"), encoding="utf-8")
            if not line.startswith("#")]
    counts = Counter(w.lower() for r in rows for w in r[:2])
    chosen = [r for r in rows if counts[r[0].lower()] == counts[r[1].lower()] == 1][:12]
    assert len({float(r[2]) for r in chosen}) == len(chosen)  # no ties
    dim = 2 * len(chosen)
    words, vecs = [], []
    for j, (a, b, score) in enumerate(chosen):
        c = float(score) / 10
        va, vb = np.zeros(dim), np.zeros(dim)
        va[2 * j] = 1.0
        vb[2 * j], vb[2 * j + 1] = c, np.sqrt(1 - c * c)
        words += [a, b]
        vecs += [va, vb]
    kv = KeyedVectors(dim, count=0, dtype=np.float32)
    kv.add_vectors(words, np.array(vecs, dtype=np.float32))
    result = evaluate(kv, tasks=["wordsim353", "simlex999"])
    ws = result["wordsim353"]
    assert (ws["pairs"], ws["evaluated"], ws["restrict_vocab"]) == (353, 12, 300_000)
    assert ws["spearman"] == pytest.approx(1.0) and ws["oov_ratio"] == pytest.approx(341 / 353)
    assert result["simlex999"]["pairs"] == 999  # nothing of it is covered: reported, not an error
    assert result["simlex999"]["oov_ratio"] > 0.98


def test_eval_command_on_a_vectors_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kv = KeyedVectors(3, count=0, dtype=np.float32)
    kv.add_vectors(["tiger", "cat", "book", "paper"], np.eye(4, 3, dtype=np.float32) + 0.1)
    path = tmp_path / "mini.txt"
    kv.save_word2vec_format(str(path))
    assert eval_main(["--model", f"mini={path}", "--tasks", "wordsim353", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"]["mini"]["model"]["format"] == "word2vec-text"
    assert out["models"]["mini"]["wordsim353"]["evaluated"] >= 2 and out["machine"]["cpus"]
    assert eval_main(["--model", str(path), "--tasks", "wordsim353", "--markdown"]) == 0
    text = capsys.readouterr().out
    assert "| mini |" in text and "Command: `lexiflow eval word2vec --model" in text
    other = tmp_path / "other.txt"
    kv2 = KeyedVectors(2, count=0, dtype=np.float32)
    kv2.add_vectors(["Tiger", "cat", "paper", "sun"], np.arange(8, dtype=np.float32).reshape(4, 2) + 1)
    kv2.save_word2vec_format(str(other))
    assert eval_main(["--model", str(path), "--model", str(other), "--tasks", "wordsim353", "--shared-vocab",
                      "--json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert list(models) == ["mini", "other", "mini (shared vocab)", "other (shared vocab)"]
    assert models["mini (shared vocab)"]["model"]["vocab_size"] == 3  # tiger, cat, paper
    assert models["other (shared vocab)"]["wordsim353"]["evaluated"] == \
        models["mini (shared vocab)"]["wordsim353"]["evaluated"]  # the same pairs for both
    assert eval_main(["--model", str(tmp_path / "nope.bin")]) == 2
    assert "nope.bin" in capsys.readouterr().err
    assert eval_main(["--tasks", "sts"]) == 2


def test_restrict_to_keeps_order_and_first_case_variant() -> None:
    kv = KeyedVectors(2, count=0, dtype=np.float32)
    kv.add_vectors(["The", "the", "bank", "river"], np.arange(8, dtype=np.float32).reshape(4, 2))
    sub = word_vectors.restrict_to(kv, {"the", "river", "absent"})
    assert sub.index_to_key == ["The", "river"]
    np.testing.assert_array_equal(sub.vectors, [[0, 1], [6, 7]])
    assert len(word_vectors.restrict_to(kv, set())) == 0


def test_markdown_table_shape() -> None:
    from datetime import UTC, datetime

    results = {"m": {"model": {"vocab_size": 5, "dim": 3}, "analogies": {"accuracy": 0.5, "oov_ratio": 0.25},
                     "seconds": 1.0}}
    text = format_markdown(results, command="lexiflow eval word2vec", seconds=2.0,
                           when=datetime(2026, 11, 25, tzinfo=UTC))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 3 and len({line.count("|") for line in table}) == 1
    assert "| m | 5 | 3 | 50.0% |" in table[2] and "2026-11-25" in text


# ----- the artifact ---------------------------------------------------------------------------------
def test_dry_run_writes_an_artifact_that_loads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    _topic_corpus(corpus)
    out = tmp_path / "w2v"
    rc = main(["--corpus", str(corpus), "--dry-run", "--output", str(out), "--vector-size", "12", "--window", "3",
               "--workers", "1", "--cbow", "--seed", "7", "--negative", "4", "--model-version", "0.1.0"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "data_card.json", "metrics.json", "vectors.kv",
                                                     "vectors.kv.vectors.npy"]
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == ARTIFACT_FORMAT and config["version"] == "0.1.0"
    assert (config["vector_size"], config["vocab_size"]) == (12, 10)
    t = config["training"]
    assert (t["sg"], t["architecture"], t["window"], t["negative"], t["seed"], t["epochs"], t["min_count"]) == \
        (0, "cbow", 3, 4, 7, 1, 1)
    card = json.loads((out / "data_card.json").read_text())
    assert (card["lines"], card["tokens"], card["raw_tokens"]) == (120, 1200, 1320)
    assert "--dry-run" in card["command"] and card["date"] and card["machine"]["cpus"]
    assert card["seconds"]["train"] >= 0 and len(card["epochs"]) == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["analogies"]["questions"] == 19_544 and metrics["analogies"]["oov_ratio"] == 1.0
    assert metrics["wordsim353"]["pairs"] == 353 and metrics["simlex999"]["pairs"] == 999

    loaded = StaticVectors.from_file(out)
    assert (loaded.name, loaded.dim, loaded.vocab_size, loaded.format) == ("w2v", 12, 10, ARTIFACT_FORMAT)
    assert loaded.lookup("Bank") == "bank" and loaded.lookup(".") is None
    assert isinstance(loaded.keyed_vectors.vectors, np.memmap)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".w2v.")]  # no temporary folder left


def test_a_failed_save_keeps_the_previous_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus.txt"
    _topic_corpus(corpus)
    out = tmp_path / "w2v"
    args = ["--corpus", str(corpus), "--dry-run", "--output", str(out), "--workers", "1", "--no-eval"]
    assert main(args) == 0
    before = (out / "vectors.kv.vectors.npy").read_bytes()

    def broken(*a: object, **k: object) -> StaticVectors:
        raise ResourceError("simulated: the new folder does not reload")

    monkeypatch.setattr(w2v.StaticVectors, "from_file", broken)
    assert main([*args, "--seed", "99"]) == 1
    assert (out / "vectors.kv.vectors.npy").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "w2v"]


def test_training_refuses_a_missing_or_binary_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--corpus", str(tmp_path / "nope.txt"), "--dry-run", "--output", str(tmp_path / "o")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    assert main(["--corpus", str(latin), "--dry-run", "--output", str(tmp_path / "o")]) == 2
    assert "latin.txt is not UTF-8" in capsys.readouterr().err
    assert main(["--corpus", str(latin), "--window", "0"]) == 2
    assert not (tmp_path / "o").exists()


def test_default_output_names_corpus_and_architecture() -> None:
    assert w2v.default_output("wikitext2", 1) == Path("artifacts/word2vec/wikitext2-sg")
    assert w2v.default_output("notes", 0) == Path("artifacts/word2vec/notes-cbow")


# ----- the shipped artifact ---------------------------------------------------------------------------
SHIPPED = shipped_word2vec_path()


@pytest.mark.slow
@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="the word2vec artifact is not built")
def test_shipped_word2vec_loads_and_its_metrics_reproduce() -> None:
    config = json.loads((SHIPPED / "config.json").read_text())
    w = load_static("w2v", "word2vec-wikitext2")
    assert w.dim == config["vector_size"] and w.vocab_size == config["vocab_size"]
    assert w.version == config["version"] and w.format == ARTIFACT_FORMAT
    assert isinstance(w.keyed_vectors.vectors, np.memmap)
    assert config["training"]["dry_run"] is False and config["corpus"] == "wikitext2"
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    again = evaluate(w.keyed_vectors, pairs_vocab=metrics["wordsim353"]["restrict_vocab"],
                     tasks=["wordsim353", "simlex999"])
    for task in ("wordsim353", "simlex999"):
        assert again[task]["spearman"] == pytest.approx(metrics[task]["spearman"], abs=1e-6)
        assert again[task]["oov_ratio"] == pytest.approx(metrics[task]["oov_ratio"], abs=1e-9)
    assert metrics["wordsim353"]["spearman"] > 0.3  # a trained model, not noise
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 50_000_000
    card = json.loads((SHIPPED / "data_card.json").read_text())
    assert card["licence"] == "CC BY-SA 3.0" and card["tokens"] > 1_000_000
    assert StaticVectors.from_file("word2vec-wikitext2").source == str(SHIPPED)  # the alias works for paths too
