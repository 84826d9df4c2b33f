import csv
import json
import shlex

import pytest
import torch

from models import text_cnn
from training.datasets import LabelledText, read_labelled_file
from training.classifier import (
    balanced_class_weights,
    build_parser,
    build_vocab,
    eval_main,
    load_vectors,
    main,
    stratified_split,
    vector_words,
)

ROWS = [
    ("who wrote the play ?", "person"),
    ("who painted this picture ?", "person"),
    ("who is the king of spain ?", "person"),
    ("who invented the telephone ?", "person"),
    ("where is the river ?", "place"),
    ("where was she born ?", "place"),
    ("where do penguins live ?", "place"),
    ("where is the eiffel tower ?", "place"),
    ("how many legs does a spider have ?", "number"),
    ("how far is the moon ?", "number"),
    ("how many people live in paris ?", "number"),
    ("how old is the queen ?", "number"),
] * 3


@pytest.fixture()
def tiny_csv(tmp_path):
    path = tmp_path / "tiny.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "kind"])
        for i, (text, label) in enumerate(ROWS):
            w.writerow([i, text, label])
    return path


def test_dry_run_writes_an_artifact_that_loads_and_evaluates(tiny_csv, tmp_path, capsys):
    out = tmp_path / "model"
    argv = ["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--test-fraction", "0.25",
            "--vectors", "none", "--embedding-mode", "rand", "--embed-dim", "16", "--filter-sizes", "2,3",
            "--num-filters", "5", "--optimizer", "adam", "--schedule", "cosine", "--init", "he", "--dry-run",
            "--output", str(out), "--seed", "3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "confusion" in printed
    model, vocab, labels, meta = text_cnn.load(out)
    assert labels == ["number", "person", "place"]
    assert model.config.filter_sizes == (2, 3) and model.config.num_filters == 5 and model.config.embed_dim == 16
    card = meta["data_card"]
    assert card["dry_run"] is True
    assert card["command"] == "python -m training.classifier " + shlex.join(argv)
    assert card["sizes"]["test"] == 9 and card["sizes"]["train"] + card["sizes"]["dev"] == 27
    assert {"source", "licence", "splits", "training_seconds", "machine", "date"} <= set(card)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "per_class", "confusion"} <= set(metrics["test"])
    assert 1 <= metrics["epochs_run"] <= 2
    assert (out / "README.md").read_text().startswith("# model")

    assert eval_main(["--model", str(out), "--data", str(tiny_csv), "--text-column", "question",
                      "--label-column", "kind", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == len(ROWS) and sum(map(sum, report["confusion"])) == len(ROWS)


def test_training_is_deterministic_for_a_seed(tiny_csv, tmp_path):
    common = ["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", "none",
              "--embedding-mode", "rand", "--embed-dim", "8", "--num-filters", "3", "--dry-run"]
    for name in ("a", "b"):
        assert main(common + ["--seed", "5", "--output", str(tmp_path / name)]) == 0
    assert main(common + ["--seed", "6", "--output", str(tmp_path / "c")]) == 0
    a, b, c = (text_cnn.load(tmp_path / n)[0].state_dict() for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    # --restarts 3: seeds 5, 6, 7, the best on dev kept, and it is the very model a single run of that seed makes
    assert main(common + ["--seed", "5", "--restarts", "3", "--output", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert [x["seed"] for x in metrics["restarts"]] == [5, 6, 7]
    chosen = max(metrics["restarts"], key=lambda x: (x["dev_accuracy"], -x["dev_loss"]))
    assert metrics["selected_seed"] == chosen["seed"] and metrics["dev"]["accuracy"] == chosen["dev_accuracy"]
    single = {5: a, 6: c}.get(chosen["seed"])
    if single is None:
        assert main(common + ["--seed", str(chosen["seed"]), "--output", str(tmp_path / "s")]) == 0
        single = text_cnn.load(tmp_path / "s")[0].state_dict()
    r = text_cnn.load(tmp_path / "r")[0].state_dict()
    assert all(torch.equal(r[k], single[k]) for k in r)


def test_a_vector_text_file_fills_the_embeddings(tiny_csv, tmp_path):
    vec = tmp_path / "vec.txt"
    vec.write_text("3 4\nwho 1 0 0 0\nwhere 0 1 0 0\nhow 0 0 1 0\n", encoding="utf-8")
    vocab = build_vocab([t for t, _ in ROWS])
    vectors, found, desc = load_vectors(str(vec), vocab)
    assert desc["dim"] == 4 and desc["found"] == 3
    assert torch.equal(vectors[vocab.id("where")], torch.tensor([0.0, 1.0, 0.0, 0.0]))
    assert found[vocab.id("who")] and not found[vocab.id("river")]
    assert torch.count_nonzero(vectors[vocab.pad_id]) == 0
    out = tmp_path / "static"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", str(vec),
                 "--embedding-mode", "static", "--num-filters", "3", "--dry-run", "--output", str(out)]) == 0
    model = text_cnn.load(out)[0]
    saved_vocab = text_cnn.load(out)[1]
    assert torch.allclose(model.embedding.weight[saved_vocab.id("how")].float(), torch.tensor([0.0, 0.0, 1.0, 0.0]))


def test_stratified_split_is_seeded_and_keeps_every_label():
    items = [LabelledText(f"t{i}", "rare" if i < 3 else "common") for i in range(40)]
    kept, held = stratified_split(items, 0.1, seed=1)
    assert len(kept) + len(held) == 40 and not set(kept) & set(held)
    assert sum(x.label == "rare" for x in held) == 1 and sum(x.label == "common" for x in held) == 4
    assert stratified_split(items, 0.1, seed=1) == (kept, held)
    assert stratified_split(items, 0.1, seed=2)[1] != held


def test_balanced_weights_and_parser_defaults():
    w = balanced_class_weights([0, 0, 0, 1], 2)
    assert torch.allclose(w, torch.tensor([4 / 6, 4 / 2]))
    args = build_parser().parse_args([])
    assert (args.data, args.filter_sizes, args.num_filters, args.dropout, args.batch_size) == ("trec", (3, 4, 5), 100, 0.5, 50)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--filter-sizes", "3,x"])


def test_read_labelled_file_formats(tmp_path):
    (tmp_path / "a.tsv").write_text("label\ttext\nx\thello world\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"t": "hi", "y": 1}\n\n{"t": "yo", "y": 2}\n', encoding="utf-8")
    assert read_labelled_file(tmp_path / "a.tsv") == [LabelledText("hello world", "x")]
    assert read_labelled_file(tmp_path / "a.jsonl", text_column="t", label_column="y") == [
        LabelledText("hi", "1"), LabelledText("yo", "2")]
    with pytest.raises(ValueError, match="no column"):
        read_labelled_file(tmp_path / "a.tsv", text_column="body")


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "kind"])
        w.writerows(rows)
    return path


def test_lexiflow_train_and_eval_classifier_end_to_end(tiny_csv, tmp_path, capsys):
    """Through ``lexiflow train|eval classifier``: a separate test file, the artifact given positionally,
    the recorded test accuracy reproduced from the saved (fp16) weights, the layer table printed."""
    from lexiflow.cli import main as lexiflow

    test_csv = _write_csv(tmp_path / "test.csv", ROWS[:12])
    out = tmp_path / "cli-model"
    assert lexiflow(["train", "classifier", "--data", str(tiny_csv), "--test", str(test_csv), "--text-column",
                     "question", "--label-column", "kind", "--vectors", "none", "--embedding-mode", "rand",
                     "--embed-dim", "8", "--num-filters", "4", "--filter-sizes", "2,3", "--conv-padding", "valid",
                     "--optimizer", "nesterov", "--lr", "0.05", "--schedule", "step", "--init", "xavier",
                     "--class-weights", "balanced", "--dry-run", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "convs.1 (width 3) + ReLU" in err and "total parameters" in err
    model, _, _, meta = text_cnn.load(out)
    assert model.config.conv_padding == "valid" and meta["metrics"]["weights_dtype"] == "float16"
    assert meta["data_card"]["hyperparameters"]["optimizer"] == "nesterov"
    recorded = meta["metrics"]["test"]["accuracy"]
    common = ["--data", str(test_csv), "--text-column", "question", "--label-column", "kind"]
    assert lexiflow(["eval", "classifier", str(out), *common, "--check-metrics", "--summary"]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {recorded:.4f}" in printed and "total parameters" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["test"]["accuracy"] = recorded + 0.5
    (out / "metrics.json").write_text(json.dumps(metrics))
    assert eval_main([str(out), *common, "--check-metrics"]) == 1
    with pytest.raises(SystemExit):
        eval_main([])  # no artifact named


def test_vectors_vocab_adds_pretrained_words_never_seen_in_training(tiny_csv, tmp_path):
    vec = tmp_path / "vec.txt"
    vec.write_text("4 3\nwho 1 0 0\nmoon 0 1 0\nsun 0 0 1\nzebra 1 1 1\n", encoding="utf-8")
    assert vector_words(str(vec), 3) == ["who", "moon", "sun"]
    out = tmp_path / "extra"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", str(vec),
                 "--vectors-vocab", "3", "--embedding-mode", "non-static", "--num-filters", "3", "--dry-run",
                 "--output", str(out)]) == 0
    model, vocab, _, _ = text_cnn.load(out)
    assert "sun" in vocab and "zebra" not in vocab and vocab.itos.count("who") == 1
    assert torch.allclose(model.embedding.weight[vocab.id("sun")].float(), torch.tensor([0.0, 0.0, 1.0]), atol=1e-3)
    # rand mode has no use for pretrained words: the vocabulary stays the training words
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", str(vec),
                 "--vectors-vocab", "3", "--embedding-mode", "rand", "--embed-dim", "4", "--num-filters", "3",
                 "--dry-run", "--output", str(tmp_path / "rand")]) == 0
    assert "sun" not in text_cnn.load(tmp_path / "rand")[1]


def test_embed_std_rescales_pretrained_rows_and_the_words_added_after_training(tiny_csv, tmp_path):
    vec = tmp_path / "vec.txt"
    vec.write_text("who 2 0\nwhere 0 2\nhow -2 0\nzebra 0 -2\n", encoding="utf-8")  # GloVe text: no header
    out = tmp_path / "scaled"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", str(vec),
                 "--embed-std", "0.5", "--vectors-vocab", "4", "--embedding-mode", "static", "--num-filters", "3",
                 "--dry-run", "--output", str(out)]) == 0
    model, vocab, _, meta = text_cnn.load(out)
    # the found training rows [2,0], [0,2], [-2,0]: six entries, mean 1/3, sample variance (102/9)/5
    factor = 0.5 / (102 / 45) ** 0.5
    assert meta["data_card"]["vectors"]["scaled_by"] == pytest.approx(factor, rel=1e-5)
    table = model.embedding.weight.float()  # static: frozen, so exactly the scaled vectors (fp16-rounded)
    assert torch.allclose(table[vocab.id("where")], torch.tensor([0.0, 2 * factor]), atol=1e-3)
    assert torch.allclose(table[vocab.id("zebra")], torch.tensor([0.0, -2 * factor]), atol=1e-3)  # added after training
    rand = tmp_path / "rand"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", "none",
                 "--embedding-mode", "rand", "--embed-dim", "64", "--embed-std", "0.01", "--num-filters", "3",
                 "--epochs", "1", "--dry-run", "--lr", "1e-9", "--optimizer", "sgd", "--output", str(rand)]) == 0
    w = text_cnn.load(rand)[0].embedding.weight.detach()[2:]
    assert float(w.abs().max()) <= 0.01 * 3 ** 0.5 + 1e-4 and 0.005 < float(w.std()) < 0.015


@pytest.mark.slow
def test_contextual_dry_run_caches_features_and_ships_a_loadable_cnn(tiny_csv, tmp_path, monkeypatch):
    """The shipped encoder (frozen) feeds the CNN; its per-word features are cached once."""
    from training import contextual_features

    monkeypatch.setattr(contextual_features, "CACHE", tmp_path / "features")
    out = tmp_path / "ctx"
    argv = ["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--embeddings", "contextual",
            "--encoder-layers", "4,6", "--dry-run",
            "--epochs", "1", "--progress", "never", "--output", str(out)]
    assert main(argv) == 0
    cached = sorted((tmp_path / "features").glob("*.npz"))
    assert len(cached) == 2  # train and dev (no test split for this file)
    model, vocab, labels, meta = text_cnn.load(out)
    assert model.config.contextual and model.config.encoder_layers == (4, 6) and model.config.tokenizer == "ptb"
    assert len(vocab) == 2 and meta["data_card"]["vectors"]["name"] == "contextual"
    mtimes = [p.stat().st_mtime_ns for p in cached]
    assert main(argv) == 0  # the second run reads the cache
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path / "features").glob("*.npz"))] == mtimes

    from pipelines.classify import TextClassifier

    clf = TextClassifier.load(out, encoder=contextual_features.load_encoder())
    (r,) = clf.classify(["who's the king of spain ?"])
    assert r.label in labels and r.num_tokens == 7 and r.unknown_tokens == 0


def test_tokenizer_flag_is_recorded_and_used_for_the_vocabulary(tiny_csv, tmp_path):
    out = tmp_path / "words"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--vectors", "none",
                 "--embedding-mode", "rand", "--tokenizer", "words",
                 "--dry-run", "--epochs", "1", "--progress", "never", "--output", str(out)]) == 0
    model, vocab, _, _ = text_cnn.load(out)
    assert model.config.tokenizer == "words"
    assert build_vocab(["what's it ?"], scheme="ptb").itos[2:] == sorted(["'s", "?", "it", "what"])
    assert "what's" in build_vocab(["what's it ?"], scheme="words").itos


@pytest.mark.slow
def test_word2vec_embeddings_read_the_shipped_word2vec_artifact(tiny_csv, tmp_path):
    out = tmp_path / "w2v"
    assert main(["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--embeddings",
                 "word2vec", "--dry-run", "--epochs", "1", "--progress", "never", "--output", str(out)]) == 0
    model, vocab, _, meta = text_cnn.load(out)
    vectors = meta["data_card"]["vectors"]
    assert vectors["name"] == "wikitext2-sg" and vectors["dim"] == model.config.embed_dim == 100
    assert vectors["found"] >= len(vocab) // 2  # plain English words are in the WikiText-2 vocabulary


@pytest.mark.slow
def test_fine_tuning_dry_run_trains_the_top_layers_and_ships_them(tiny_csv, tmp_path, monkeypatch):
    """--finetune-layers 1: the shipped encoder's layer-5 wordpiece states are cached once; the
    artifact holds the CNN and its own trained copy of layer 6, and serves through the pipeline."""
    from models.bert_top import load_bert_layers
    from models.text_cnn import TextCNN
    from training import classifier_eval, contextual_features

    monkeypatch.setattr(contextual_features, "CACHE", tmp_path / "features")
    out = tmp_path / "ft"
    argv = ["--data", str(tiny_csv), "--text-column", "question", "--label-column", "kind", "--embeddings", "contextual",
            "--finetune-layers", "1", "--encoder-lr", "1e-3", "--filter-sizes", "1,2", "--num-filters", "8",
            "--batch-size", "8", "--dry-run", "--progress", "never", "--output", str(out)]
    assert main(argv) == 0
    assert len(sorted((tmp_path / "features").glob("*pieces5*.npz"))) == 2  # train and dev
    model, vocab, labels, meta = text_cnn.load(out)
    cfg = model.config
    assert (cfg.encoder_top_layers, cfg.cut_layer, cfg.encoder_layers) == (1, 5, (5, 6))
    assert meta["data_card"]["vectors"]["fine_tuned_layers"] == [6] and "--finetune-layers" in meta["data_card"]["command"]
    assert meta["metrics"]["history"] and meta["metrics"]["dev"]["accuracy"] >= 0
    encoder = contextual_features.load_encoder()
    start = TextCNN(cfg)
    load_bert_layers(start.encoder_top, encoder.model.state_dict(), first=5)
    moved = [not torch.allclose(a, b.to(a.dtype), atol=1e-3) for a, b in
             zip(model.encoder_top.state_dict().values(), start.encoder_top.state_dict().values())]
    assert any(moved)  # the copy was trained (the shared encoder is not: it is never saved)
    size = sum(p.stat().st_size for p in out.iterdir())
    assert size < 10e6  # one fp16 layer + the CNN

    from pipelines.classify import TextClassifier

    clf = TextClassifier.load(out, encoder=encoder)
    (r,) = clf.classify(["who's the king of spain ?"], top_k=3)
    assert r.label in labels and r.num_tokens == 7 and r.evidence
    monkeypatch.setattr(contextual_features, "CACHE", tmp_path / "features-eval")
    assert classifier_eval.eval_main([str(out), "--data", str(tiny_csv), "--text-column", "question",
                                      "--label-column", "kind"]) == 0
