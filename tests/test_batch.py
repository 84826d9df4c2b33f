"""``lexiflow batch``: results equal the pipelines (as the REST routes build them), bad lines become
error lines, order is kept across workers, and an interrupted run resumes to exactly the output
of an uninterrupted one. Real pipelines throughout; tests that load the torch models, spawn
processes or start Ray are marked slow."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lexiflow import batch
from lexiflow.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "The striped bats were hanging on their feet and ate best fishes.",
    "The geese swam by the river bank.",
    "Mice ran across the kitchen floor while the cats were sleeping.",
    "She was snorkeling unbelievably well.",
    "Who wrote Hamlet?",
    "How far is it from Denver to Aspen?",
    "I am hungry.",
    "Tom wants to buy a new car.",
    "The children were playing in the garden.",
]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_batch(*args: str | Path) -> int:
    return cli_main(["batch", *map(str, args), "--progress", "never"])


def corpus(n: int, *, seed: int = 0) -> list[str]:
    """n distinct sentences of 6-20 words built from SENTENCES (deterministic)."""
    words = " ".join(SENTENCES).replace(".", "").replace("?", "").split()
    out = []
    for i in range(n):
        k = 6 + (i * 7 + seed) % 15
        start = (i * 13 + seed) % len(words)
        out.append(" ".join(words[(start + j) % len(words)] for j in range(k)) + ".")
    return out


def assert_close(a: object, b: object, path: str = "") -> None:
    """Equal; floats within 1e-4 (batch composition and padding move the last digits of float results)."""
    if isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def result_fields(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("id", "line")}


# ----- fast: the tokenizer and the lookup lemmatizer load in a moment ---------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    from pipelines.loading import ENCODER_NAME, default_encoder_path
    from pipelines import WordPieceTokenizer

    return WordPieceTokenizer.from_folder(default_encoder_path(), name=ENCODER_NAME)


def test_tokenize_equals_the_pipeline_with_pairs_ids_and_line_numbers(tmp_path, tokenizer):
    from tasks import dump
    from tasks.tokenize import result

    rows = [{"id": "a", "text": SENTENCES[0], "text_pair": SENTENCES[1]}, {"text": SENTENCES[2]},
            {"id": 42, "text": SENTENCES[3], "extra": "ignored"}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert run_batch("tokenize", "-i", src, "-o", out, "--chunk-size", "2") == 0
    got = read_jsonl(out)
    assert [(r["id"], r["line"]) for r in got] == [("a", 1), (2, 2), (42, 3)]
    for row, src_row in zip(got, rows):
        pair = [src_row["text_pair"]] if "text_pair" in src_row else None
        assert result_fields(row) == json.loads(json.dumps(dump(result(tokenizer.encode([src_row["text"]], pair)[0]))))
    state = json.loads((tmp_path / "out.jsonl.progress").read_text())
    assert state["complete"] and state["texts_done"] == 3 and state["errors"] == 0
    assert state["response"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_bad_lines_become_error_lines_and_the_run_goes_on(tmp_path, tokenizer, monkeypatch):
    monkeypatch.setenv("LEXIFLOW_MAX_TEXT_CHARS", "60")
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "ok", "text": "The kids were playing."}),
        "{not json",
        "",  # blank: skipped, but counted as a line
        json.dumps({"id": "no-text", "txt": "x"}),
        json.dumps({"id": "number", "text": 5}),
        json.dumps({"id": "long", "text": "word " * 20}),  # 100 characters > 60
        json.dumps({"id": "tokens", "text": "word word word word word word word word word"}),  # > 8 tokens
        json.dumps({"id": "control", "text": "bad \u0001 char"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "ok2", "text": "Who plays?"}),
    ]
    src.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n")
    out = tmp_path / "out.jsonl"
    assert run_batch("tokenize", "-i", src, "-o", out, "--max-length", "8", "--chunk-size", "4") == 0
    got = {r["line"]: r for r in read_jsonl(out)}
    assert sorted(got) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]  # one line per non-blank input line, in order
    assert "error" not in got[1] and "error" not in got[10]
    assert got[1]["tokens"] == tokenizer.encode(["The kids were playing."])[0].tokens
    errors = {line: r["error"] for line, r in got.items() if "error" in r}
    assert errors[2]["type"] == "/problems/malformed-json" and errors[2]["status"] == 400
    assert errors[4]["type"] == "/problems/validation-error" and "text" in errors[4]["detail"]
    assert errors[5]["errors"][0]["type"] == "string_type"
    assert (errors[6]["limit"], errors[6]["given"]) == (60, 100)
    assert errors[7]["type"] == "/problems/too-many-tokens" and errors[7]["limit"] == 8
    assert "U+0001" in errors[8]["detail"]
    assert "JSON object" in errors[9]["detail"]
    assert errors[11]["type"] == "/problems/malformed-input" and "UTF-8" in errors[11]["detail"]
    assert [got[k]["id"] for k in (2, 4, 6, 11)] == [2, "no-text", "long", 11]  # unparsable lines: id = line
    state = json.loads((tmp_path / "out.jsonl.progress").read_text())
    assert (state["texts_done"], state["errors"], state["lines_done"]) == (10, 8, 11)


def test_txt_input_ids_are_line_numbers_and_results_equal_the_lemmatizer(tmp_path):
    from pipelines import Lemmatizer
    from tasks import dump
    from tasks.lemmatize import result

    src = tmp_path / "corpus.txt"
    src.write_text("The geese swam by.\n\nTwo mice ran.\n  \nThe children were playing.", encoding="utf-8")  # no final \n
    out = tmp_path / "out.jsonl"
    assert run_batch("lemmatize", "--engine", "lookup", "-i", src, "-o", out) == 0
    got = read_jsonl(out)
    assert [(r["id"], r["line"]) for r in got] == [(1, 1), (3, 3), (5, 5)]
    lem = Lemmatizer.load("lookup")
    texts = ["The geese swam by.", "Two mice ran.", "The children were playing."]
    for row, text in zip(got, texts):
        assert result_fields(row) == json.loads(json.dumps(dump(result(lem.lemmatize([text])[0]))))
    assert got[1]["tokens"][1]["lemma"] == "mouse"


def test_changed_options_or_input_refuse_to_resume_without_restart(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": s} for s in SENTENCES])
    out = tmp_path / "out.jsonl"
    assert run_batch("tokenize", "-i", src, "-o", out, "--chunk-size", "4") == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert run_batch("tokenize", "-i", src, "-o", out, "--max-length", "64") == 2
    err = capsys.readouterr().err
    assert "other options" in err and "max_length=64" in err and "--restart" in err
    assert out.read_bytes() == first  # untouched
    assert run_batch("tokenize", "-i", src, "-o", out, "--chunk-size", "3") == 0  # chunking is not an option
    assert out.read_bytes() == first and "0 texts" in capsys.readouterr().err  # finished: nothing to redo
    write_jsonl(src, [{"text": "Something else entirely."}] + [{"text": s} for s in SENTENCES[1:]])
    assert run_batch("tokenize", "-i", src, "-o", out) == 2
    assert "changed" in capsys.readouterr().err
    assert run_batch("tokenize", "-i", src, "-o", out, "--max-length", "64", "--restart") == 0
    got = read_jsonl(out)
    assert len(got) == len(SENTENCES) and got[0]["tokens"][1] == "something"
    # an output that lexiflow batch did not write is never overwritten without --restart
    other = tmp_path / "other.jsonl"
    other.write_text("precious\n")
    assert run_batch("tokenize", "-i", src, "-o", other) == 2
    assert other.read_text() == "precious\n" and "--restart" in capsys.readouterr().err


def test_resume_cuts_a_torn_chunk_and_continues_an_appended_input(tmp_path):
    texts = corpus(30)
    full = write_jsonl(tmp_path / "full.jsonl", [{"text": t} for t in texts])
    ref = tmp_path / "ref.jsonl"
    assert run_batch("tokenize", "-i", full, "-o", ref, "--chunk-size", "4") == 0
    part = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts[:13]])
    out = tmp_path / "out.jsonl"
    assert run_batch("tokenize", "-i", part, "-o", out, "--chunk-size", "4") == 0
    with open(out, "ab") as f:  # what a crash between writing a chunk and recording it leaves behind
        f.write(b'{"id":14,"line":14,"tokens":["[CLS]","wo')
    write_jsonl(part, [{"text": t} for t in texts])  # the corpus grew
    assert run_batch("tokenize", "-i", part, "-o", out, "--chunk-size", "4") == 0
    assert out.read_bytes() == ref.read_bytes()


def test_cli_help_lists_batch_and_tasks():
    out = subprocess.run([sys.executable, "-m", "lexiflow", "batch", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for task in batch.TASKS:
        assert task in out.stdout


def test_invalid_options_are_refused_before_any_work(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "x"}])
    assert run_batch("translate", "-i", src, "-o", tmp_path / "o.jsonl", "--beam-size", "100") == 2
    assert "beam_size" in capsys.readouterr().err
    assert run_batch("classify", "-i", src, "-o", tmp_path / "o.jsonl", "--model", "nope") == 2
    assert "trec-cnn" in capsys.readouterr().err
    assert run_batch("embed", "--static", "--layer", "2", "-i", src, "-o", tmp_path / "o.jsonl") == 2
    assert not (tmp_path / "o.jsonl").exists()


# ----- slow: real models, worker processes, a killed process, Ray ----------------------------------
@pytest.mark.slow
def test_rule_lemmatize_equals_the_rest_result_for_each_text(tmp_path):
    from pipelines import Lemmatizer
    from tasks import dump
    from tasks.lemmatize import result

    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": s} for i, s in enumerate(SENTENCES)])
    out = tmp_path / "out.jsonl"
    assert run_batch("lemmatize", "-i", src, "-o", out, "--chunk-size", "4") == 0
    lem = Lemmatizer.load("rule")
    got = read_jsonl(out)
    assert [r["id"] for r in got] == list(range(len(SENTENCES)))
    for row, text in zip(got, SENTENCES):
        assert result_fields(row) == json.loads(json.dumps(dump(result(lem.lemmatize([text])[0]))))
    lemmas = {t["text"]: t["lemma"] for t in got[0]["tokens"]}
    assert (lemmas["bats"], lemmas["feet"], lemmas["ate"]) == ("bat", "foot", "eat")


@pytest.mark.slow
def test_torch_tasks_equal_the_pipelines(tmp_path):
    from pipelines import ContextualEncoder, LayerChoice, TextClassifier, Translator
    from pipelines.loading import ENCODER_NAME, default_encoder_path
    from tasks import dump
    from tasks.classify import result as classify_result
    from tasks.embeddings import vector_out
    from tasks.translate import result as translate_result

    src = write_jsonl(tmp_path / "in.jsonl", [{"text": s} for s in SENTENCES])
    clf = TextClassifier.load(ROOT / "artifacts" / "classifier" / "trec-cnn", name="trec-cnn")
    assert run_batch("classify", "-i", src, "-o", tmp_path / "c.jsonl", "--top-k", "2", "--chunk-size", "4",
                     "--model", "trec-cnn") == 0
    for row, text in zip(read_jsonl(tmp_path / "c.jsonl"), SENTENCES):
        assert_close(result_fields(row), json.loads(json.dumps(dump(classify_result(clf.classify([text], top_k=2)[0])))))

    tr = Translator.load(ROOT / "artifacts" / "seq2seq" / "en-es-attn")
    assert run_batch("translate", "-i", src, "-o", tmp_path / "t.jsonl", "--beam-size", "3",
                     "--return-attention") == 0
    got = read_jsonl(tmp_path / "t.jsonl")
    for row, text in zip(got, SENTENCES):
        [want] = tr.translate([text], beam_size=3, return_attention=True, max_source_tokens=100)
        assert_close(result_fields(row), json.loads(json.dumps(dump(translate_result(want)))))
    assert got[6]["text"] == "Tengo hambre."

    enc = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME)
    assert run_batch("embed", "-i", src, "-o", tmp_path / "e.jsonl", "--normalize") == 0
    for row, text in zip(read_jsonl(tmp_path / "e.jsonl"), SENTENCES):
        [st] = enc.encode([text])
        assert row["tokens"] == st.encoded.tokens and row["length"] == st.encoded.length
        assert_close(row["pooled"], vector_out(enc.pool(st, LayerChoice(-1), "mean"), "float", normalize=True))


@pytest.mark.slow
def test_two_worker_processes_keep_input_order(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(corpus(120)) + "\n", encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_batch("lemmatize", "--engine", "lookup", "-i", src, "-o", one, "--chunk-size", "7") == 0
    assert run_batch("lemmatize", "--engine", "lookup", "-i", src, "-o", two, "--chunk-size", "7",
                     "--workers", "2") == 0
    assert [r["line"] for r in read_jsonl(two)] == list(range(1, 121))
    assert two.read_bytes() == one.read_bytes()


@pytest.mark.slow
def test_a_killed_run_resumes_to_exactly_the_uninterrupted_output(tmp_path):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": f"t{i}", "text": t} for i, t in enumerate(corpus(2000))])
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    args = ["lemmatize", "-i", str(src), "--chunk-size", "25"]
    proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "batch", *args, "-o", str(out), "--progress", "never"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    progress = tmp_path / "out.jsonl.progress"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads(progress.read_text())["texts_done"] > 0:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    state = json.loads(progress.read_text())
    assert not state["complete"] and 0 < state["texts_done"] < 2000
    assert run_batch(*args, "-o", out) == 0
    assert run_batch(*args, "-o", ref) == 0  # uninterrupted
    assert out.read_bytes() == ref.read_bytes()
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == [f"t{i}" for i in range(2000)]  # one line per input, no duplicates


@pytest.fixture
def small_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=3, include_dashboard=False, object_store_memory=200 * 2**20, _node_ip_address="127.0.0.1",
             logging_level="warning")
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
def test_ray_data_run_equals_the_local_run(tmp_path, small_ray):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in enumerate(corpus(40))] + ["{broken"])
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert run_batch("lemmatize", "--engine", "lookup", "-i", src, "-o", local, "--chunk-size", "6") == 0
    assert run_batch("lemmatize", "--engine", "lookup", "-i", src, "-o", on_ray, "--chunk-size", "6",
                     "--workers", "2", "--ray-address", "local") == 0
    assert on_ray.read_bytes() == local.read_bytes()
    assert read_jsonl(on_ray)[-1]["error"]["type"] == "/problems/malformed-json"
    state = json.loads((tmp_path / "ray.jsonl.progress").read_text())
    assert state["complete"] and state["chunks"] == 7 and state["response"]["engine"] == "lookup"


@pytest.mark.slow
def test_static_embed_equals_the_rest_answer(tmp_path, client):
    texts = ["The bank raised its rates.", "Zzqxv wrote unbelievably well."]
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    out = tmp_path / "out.jsonl"
    assert run_batch("embed", "--static", "--neighbours", "2", "-i", src, "-o", out) == 0
    rows = read_jsonl(out)
    assert len(rows) == len(texts)
    for text, row in zip(texts, rows):
        api = client.post("/v1/embeddings/static", json={"text": text, "neighbours": 2}).json()
        assert_close(result_fields(row), {"words": api["words"], "oov": api["oov"]})
    assert rows[1]["oov"] == ["Zzqxv"] and rows[1]["words"][0]["wordpieces"]
