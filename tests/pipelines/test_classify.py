import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from models import text_cnn
from models.text_cnn import TextCNN, TextCNNConfig
from models.vocab import Vocab, tokenize, tokenize_with_spans
from pipelines.classify import Classification, Evidence, TextClassifier
from pipelines.errors import ResourceError

ROOT = Path(__file__).resolve().parents[2]
TREC_ARTIFACT = ROOT / "artifacts" / "classifier" / "trec-cnn"

WORDS = ["who", "what", "where", "wrote", "hamlet", "how", "far", "is", "it", "the", "café", "river", "?", "'"]
LABELS = ["HUM", "LOC", "NUM"]


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    vocab = Vocab(["<pad>", "<unk>"] + WORDS)
    cfg = TextCNNConfig(vocab_size=len(vocab), embed_dim=8, num_classes=3, filter_sizes=(1, 2, 4), num_filters=6,
                        embedding_mode="non-static")
    torch.manual_seed(0)
    model = TextCNN(cfg)
    folder = tmp_path_factory.mktemp("clf") / "tiny-cnn"
    text_cnn.save(model, folder, vocab=vocab, labels=LABELS, metrics={"test": {"accuracy": 0.25}},
                  data_card={"name": "tiny-cnn", "version": "0.1", "source": "unit test"}, dtype=None)
    return TextClassifier.load(folder)


TEXTS = [
    "Who wrote Hamlet ?",
    "  Where is   the Café by the river?  ",
    "how",
    "What is it ' far ... unknownword zzz",
]


def test_probabilities_cover_every_label_sorted(tiny_classifier):
    results = tiny_classifier.classify(TEXTS)
    assert len(results) == len(TEXTS)
    for r in results:
        assert isinstance(r, Classification)
        assert list(r.probabilities) == sorted(r.probabilities, key=r.probabilities.get, reverse=True)
        assert set(r.probabilities) == set(LABELS)
        assert math.isclose(sum(r.probabilities.values()), 1.0, abs_tol=1e-9)
        assert r.label == next(iter(r.probabilities))
        assert r.score == pytest.approx(r.probabilities[r.label])
        for field in (r.score, r.logit, r.bias):
            assert type(field) is float


def test_evidence_spans_are_exact_substrings_and_contributions_add_up(tiny_classifier):
    for text, r in zip(TEXTS, tiny_classifier.classify(TEXTS, top_k=1000)):
        tokens = tokenize(text)
        assert r.num_tokens == len(tokens)
        assert r.evidence, text
        for ev in r.evidence:
            assert isinstance(ev, Evidence)
            assert ev.text == text[ev.start:ev.end]
            assert ev.text.lower().startswith(tokens[ev.token_start])
            assert 1 <= ev.token_end - ev.token_start <= ev.width
            assert ev.filters and all(isinstance(f, int) for f in ev.filters)
        contributions = [ev.contribution for ev in r.evidence]
        assert contributions == sorted(contributions, reverse=True)
        # every n-gram with a firing filter is listed, so bias + contributions == the logit, exactly
        # (the decomposition is float64 arithmetic on the pooled features: only float64 rounding differs)
        assert r.bias + sum(contributions) == pytest.approx(r.logit, rel=1e-12, abs=1e-12)
        assert r.truncated_tokens == 0
        assert not any(isinstance(v, torch.Tensor) for v in vars(r).values())


def test_top_k_limits_evidence_to_the_largest(tiny_classifier):
    full = tiny_classifier.classify([TEXTS[1]], top_k=1000)[0]
    top2 = tiny_classifier.classify([TEXTS[1]], top_k=2)[0]
    assert top2.evidence == full.evidence[:2]
    assert tiny_classifier.classify([TEXTS[1]], top_k=0)[0].evidence == ()
    with pytest.raises(ValueError):
        tiny_classifier.classify(TEXTS, top_k=-1)
    with pytest.raises(TypeError):
        tiny_classifier.classify("Who wrote Hamlet ?")


def test_unknown_words_are_counted(tiny_classifier):
    r = tiny_classifier.classify([TEXTS[3]])[0]
    assert r.unknown_tokens == 5  # three '.' tokens, 'unknownword' and 'zzz'
    assert tiny_classifier.classify([TEXTS[0]])[0].unknown_tokens == 0


def test_texts_without_tokens_still_classify(tiny_classifier):
    results = tiny_classifier.classify(["", "   ", "\n\t"])
    assert len({r.label for r in results}) == 1  # all three are the same (empty) input to the model
    for r in results:
        assert r.num_tokens == 0 and r.evidence == ()
        assert r.label in LABELS and 0 < r.score <= 1
    assert tiny_classifier.classify([]) == []


def _same(a, b):
    assert a.label == b.label
    assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)
    assert a.logit == pytest.approx(b.logit, abs=1e-5)
    assert a.bias + sum(e.contribution for e in a.evidence) == pytest.approx(
        b.bias + sum(e.contribution for e in b.evidence), abs=1e-5)


def _same_evidence(a, b):
    assert [(e.start, e.end, e.width, e.filters) for e in a.evidence] == [(e.start, e.end, e.width, e.filters)
                                                                          for e in b.evidence]
    assert [e.contribution for e in a.evidence] == pytest.approx([e.contribution for e in b.evidence], abs=1e-5)


def test_batching_does_not_change_results(tiny_classifier):
    # "who who who ..." repeats its n-grams: they tie, and which copy wins a filter's max may change
    # with the batch layout (float rounding), so only its decision and its logit are compared
    texts = TEXTS + ["far", "who " * 40]
    together = tiny_classifier.classify(texts, top_k=100)
    for options in ({"batch_size": 1}, {"batch_size": 2}, {"max_batch_tokens": 5}):
        alone = TextClassifier.load(tiny_classifier.path, **options).classify(texts, top_k=100)
        for i, (a, b) in enumerate(zip(alone, together)):
            _same(a, b)
            if i < len(texts) - 1:
                _same_evidence(a, b)
    for text, b in zip(texts, together):  # alone, in input order
        _same(tiny_classifier.classify([text], top_k=100)[0], b)


def test_the_decision_matches_the_model_forward(tiny_classifier):
    from models.tensors import pad_batch

    vocab, model = tiny_classifier.vocab, tiny_classifier.model
    ids, lengths = pad_batch([vocab.encode(tokenize(t)) for t in TEXTS], pad_id=vocab.pad_id)
    with torch.inference_mode():
        probs = torch.softmax(model(ids, lengths), dim=1)
    for row, r in zip(probs, tiny_classifier.classify(TEXTS)):
        assert r.label == LABELS[int(row.argmax())]
        assert [r.probabilities[lab] for lab in LABELS] == pytest.approx(row.tolist(), abs=1e-6)


def test_long_texts_run_whole_or_are_truncated_explicitly(tiny_classifier):
    long = "where is the river ? " * 2000  # 10,000 tokens
    whole = tiny_classifier.classify([long, "who"])
    assert whole[0].num_tokens == 10_000 and whole[0].truncated_tokens == 0
    everything = tiny_classifier.classify([long], top_k=10_000)[0]
    assert everything.bias + sum(e.contribution for e in everything.evidence) == pytest.approx(
        whole[0].logit, rel=1e-12, abs=1e-12)
    cut = tiny_classifier.classify([long, "who"], max_tokens=7, top_k=100)
    assert (cut[0].num_tokens, cut[0].truncated_tokens) == (7, 9_993)
    assert (cut[1].num_tokens, cut[1].truncated_tokens) == (1, 0)
    assert all(e.end <= len("where is the river ? where is") for e in cut[0].evidence)
    _same(cut[0], tiny_classifier.classify(["where is the river ? where is"], top_k=100)[0])
    limited = TextClassifier.load(tiny_classifier.path, max_tokens=3)
    assert limited.classify([long])[0].truncated_tokens == 9_997
    assert limited.info()["max_tokens"] == 3
    with pytest.raises(ValueError):
        tiny_classifier.classify(["x"], max_tokens=0)


def test_info_is_plain_json(tiny_classifier):
    info = tiny_classifier.info()
    assert info["name"] == "tiny-cnn" and info["version"] == "0.1" and info["format"] == "textcnn-v1"
    assert info["labels"] == LABELS
    assert info["metrics"]["test"]["accuracy"] == 0.25
    assert info["data_card"]["source"] == "unit test"
    assert (info["embedding_mode"], info["filter_sizes"], info["num_filters"]) == ("non-static", [1, 2, 4], 6)
    summary = info["summary"]
    # by hand: embedding 16 words x 8 = 128; convs 1*8*6+6 = 54, 2*8*6+6 = 102, 4*8*6+6 = 198; fc 18*3+3 = 57
    assert [layer["parameters"] for layer in summary["layers"]] == [128, 54, 102, 198, 0, 0, 57]
    assert summary["total"] == 539 == sum(p.numel() for p in tiny_classifier.model.parameters())
    assert all({"name", "input_shape", "output_shape", "parameters"} <= set(layer) for layer in summary["layers"])
    assert "path" not in info  # no server paths through the API
    json.dumps(info)
    assert TextClassifier.load(tiny_classifier.path, name="other").info()["name"] == "other"


def test_load_reports_the_broken_file(tmp_path, tiny_classifier):
    with pytest.raises(ResourceError, match="config.json"):
        TextClassifier.load(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_classifier.path, broken)
    with open(broken / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ResourceError, match=r"vocab\.txt: 17 tokens .*vocab_size=16"):
        TextClassifier.load(broken)
    shutil.rmtree(broken)
    shutil.copytree(tiny_classifier.path, broken)
    (broken / "labels.json").write_text(json.dumps(["HUM", "LOC"]))
    with pytest.raises(ResourceError, match=r"labels\.json: 2 labels .*num_classes=3"):
        TextClassifier.load(broken)
    (broken / "labels.json").write_text(json.dumps(LABELS))
    cfg = json.loads((broken / "config.json").read_text())
    cfg["num_filters"] = 7
    (broken / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ResourceError, match=r"model\.safetensors: does not match its config\.json"):
        TextClassifier.load(broken)


@pytest.mark.slow
def test_shipped_trec_model_classifies_real_questions():
    clf = TextClassifier.load(TREC_ARTIFACT)
    assert set(clf.labels) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    questions = {
        "Who wrote Hamlet ?": "HUM",
        "How far is it from Denver to Aspen ?": "NUM",
        "What does NASA stand for ?": "ABBR",
        "Where is the Eiffel Tower ?": "LOC",
    }
    results = clf.classify(list(questions), top_k=3)
    assert [r.label for r in results] == list(questions.values())
    who = results[0]
    assert who.score > 0.5
    assert any("who" in ev.text.lower() for ev in who.evidence)
    info = clf.info()
    assert info["metrics"]["test"]["accuracy"] >= 0.9
    assert info["data_card"]["sizes"]["test"] == 500


def test_contractions_typed_without_apostrophes_read_as_written():
    """"whats" is read as "what's" (TREC writes "What 's"): the same answer and scores as the text
    with its apostrophes, and the evidence still quotes what was typed."""
    clf = TextClassifier.load(TREC_ARTIFACT)
    typed = ["whats a neutron star", "wheres the statue of liberty", "whos the richest man in the world"]
    written = ["what's a neutron star", "where's the statue of liberty", "who's the richest man in the world"]
    got, want = clf.classify(typed, top_k=5), clf.classify(written, top_k=5)
    for text, g, w in zip(typed, got, want):
        assert g.label == w.label and g.probabilities == pytest.approx(w.probabilities)
        assert g.evidence and all(text[ev.start:ev.end] == ev.text for ev in g.evidence)
    assert [r.label for r in got] == ["DESC", "LOC", "HUM"]
    # a word that is also an English word is read as typed: "its" stays one token ("it's" is "it" + "'s")
    its, it_is = clf.classify(["its tail is long", "it's long"], top_k=0)
    assert (its.num_tokens, it_is.num_tokens) == (4, 3)


@pytest.fixture(scope="module")
def wide_classifier(tmp_path_factory):
    """Wide windows of several widths hang over the edges of short texts: many cover the same words."""
    vocab = Vocab(["<pad>", "<unk>"] + WORDS + ["'s", "n't", "do"])
    cfg = TextCNNConfig(vocab_size=len(vocab), embed_dim=8, num_classes=3, filter_sizes=(2, 3, 5), num_filters=8,
                        embedding_mode="non-static", conv_padding="wide", tokenizer="ptb")
    torch.manual_seed(1)
    model = TextCNN(cfg)
    folder = tmp_path_factory.mktemp("clf") / "wide-cnn"
    text_cnn.save(model, folder, vocab=vocab, labels=LABELS, metrics={}, data_card={"name": "wide-cnn"}, dtype=None)
    return TextClassifier.load(folder)


def test_evidence_has_one_entry_per_span_with_the_widest_filter(wide_classifier):
    texts = ["Who's it?", "how", "Where is the river", "What's far ? Who wrote Hamlet"]
    for text, r in zip(texts, wide_classifier.classify(texts, top_k=1000)):
        spans = [(e.token_start, e.token_end) for e in r.evidence]
        assert len(spans) == len(set(spans)), text
        for e in r.evidence:
            assert e.widths == tuple(sorted(e.widths)) and e.width == e.widths[-1]
            assert e.token_end - e.token_start <= min(e.widths)
            assert e.text == text[e.start:e.end]
        # nothing lost in the merge: the spans still add up to the logit
        assert r.bias + sum(e.contribution for e in r.evidence) == pytest.approx(r.logit, abs=1e-9)
    # a one-word text: every firing window covers that word, so there is exactly one entry
    (one,) = wide_classifier.classify(["how"], top_k=10)
    assert len(one.evidence) == 1 and len(one.evidence[0].widths) >= 2


def test_the_recorded_tokenizer_is_used(wide_classifier, tiny_classifier):
    (ptb,) = wide_classifier.classify(["Who’s it?"])
    (words,) = tiny_classifier.classify(["Who’s it?"])
    assert (ptb.num_tokens, ptb.unknown_tokens) == (4, 0)  # who 's it ?
    assert (words.num_tokens, words.unknown_tokens) == (3, 1)  # who’s it ?
    assert wide_classifier.info()["tokenizer"] == "ptb" and tiny_classifier.info()["tokenizer"] == "words"


@pytest.fixture(scope="module")
def contextual_folder(tmp_path_factory):
    cfg = TextCNNConfig(vocab_size=2, embed_dim=16, num_classes=3, filter_sizes=(1, 2, 3), num_filters=5,
                        embedding_mode="contextual", encoder="tiny-bert", encoder_layers=(0, 1, 2),
                        encoder_num_layers=2, tokenizer="ptb", conv_padding="wide")
    torch.manual_seed(2)
    model = TextCNN(cfg)
    folder = tmp_path_factory.mktemp("clf") / "ctx-cnn"
    text_cnn.save(model, folder, vocab=Vocab(["<pad>", "<unk>"]), labels=LABELS, metrics={},
                  data_card={"name": "ctx-cnn"}, dtype=None)
    return folder


def test_contextual_classifier_reads_the_encoders_word_vectors(contextual_folder, tiny_encoder):
    assert TextClassifier.needs_encoder(contextual_folder)
    clf = TextClassifier.load(contextual_folder, encoder=tiny_encoder)
    texts = ["Who was the kid playing ?", "the river bank", "x", "", "Who is unbelievable zzz"]
    results = clf.classify(texts, top_k=100)
    for text, r in zip(texts, results):
        words = tokenize(text, scheme="ptb")
        assert r.num_tokens == len(words)
        if words:  # (an empty text's filters fire on padding only: no span to show)
            assert r.bias + sum(e.contribution for e in r.evidence) == pytest.approx(r.logit, abs=1e-9)
        for e in r.evidence:
            assert e.text == text[e.start:e.end]
    assert results[4].unknown_tokens == 1  # zzz is [UNK] to the tiny wordpiece vocabulary
    assert results[0].unknown_tokens == 0
    # the same answer one by one as in a batch, and the same as the model on the encoder's features
    assert [clf.classify([t])[0].label for t in texts] == [r.label for r in results]
    layers = clf.model.config.encoder_layers
    (states,) = tiny_encoder.word_features([texts[0]], [[(s, e) for _, s, e in tokenize_with_spans(texts[0], scheme="ptb")]],
                                           layers)
    logits = clf.model(torch.as_tensor(states.vectors)[None], torch.tensor([len(states.vectors)]))[0]
    assert clf.labels[int(logits.argmax())] == results[0].label
    info = clf.info()
    assert info["encoder"]["name"] == "tiny-bert" and len(info["encoder"]["layer_weights"]) == 3
    assert info["summary"]["layers"][0]["parameters"] == 0
    json.dumps(info)


def test_contextual_texts_longer_than_the_encoder_are_cut_and_reported(contextual_folder, tiny_encoder):
    clf = TextClassifier.load(contextual_folder, encoder=tiny_encoder)
    text = " ".join(["the kid"] * 40)  # 80 words, the tiny encoder takes 30 wordpieces
    (r,) = clf.classify([text])
    assert r.num_tokens + r.truncated_tokens == 80 and r.truncated_tokens > 0


def test_contextual_artifact_checks_the_encoder(contextual_folder, tiny_encoder, tiny_tokenizer):
    from transformers import BertConfig, BertModel

    from pipelines import ContextualEncoder

    with pytest.raises(ResourceError, match="tiny-bert.*not loaded"):
        TextClassifier.load(contextual_folder)
    renamed = ContextualEncoder(tiny_encoder.model, tiny_tokenizer, name="other-bert", version="test")
    with pytest.raises(ResourceError, match="trained on encoder 'tiny-bert'"):
        TextClassifier.load(contextual_folder, encoder=renamed)
    wider = ContextualEncoder(BertModel(BertConfig(vocab_size=tiny_tokenizer.vocab_size, hidden_size=8,
                                                   num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
                                                   max_position_embeddings=32)),
                              tiny_tokenizer, name="tiny-bert", version="test")
    with pytest.raises(ResourceError, match="16-d.*8-d"):
        TextClassifier.load(contextual_folder, encoder=wider)


# ---------------------------------------------------------------------- fine-tuned top layers


def _finetuned_pair(tiny_encoder, tmp_path, layers=(1, 2)):
    """A frozen contextual CNN over the encoder's states 1, 2 and a fine-tuned one (k = 1, its own copy
    of layer 2 taken from the encoder) with the same CNN weights: saved, then loaded as classifiers."""
    from models.bert_top import load_bert_layers

    common = dict(vocab_size=2, embed_dim=16, num_classes=3, filter_sizes=(1, 2, 3), num_filters=5,
                  embedding_mode="contextual", encoder="tiny-bert", encoder_layers=layers, encoder_num_layers=2,
                  tokenizer="ptb", conv_padding="wide")
    torch.manual_seed(4)
    frozen = TextCNN(TextCNNConfig(**common))
    tuned = TextCNN(TextCNNConfig(**common, encoder_top_layers=1, encoder_num_heads=2, encoder_intermediate_size=32))
    missing, _ = tuned.load_state_dict(frozen.state_dict(), strict=False)
    assert all(m.startswith("encoder_top.") for m in missing)
    load_bert_layers(tuned.encoder_top, tiny_encoder.model.state_dict(), first=1)
    out = []
    for name, model in (("frozen", frozen), ("tuned", tuned)):
        text_cnn.save(model, tmp_path / name, vocab=Vocab(["<pad>", "<unk>"]), labels=LABELS, metrics={},
                      data_card={"name": name}, dtype=None)
        out.append(TextClassifier.load(tmp_path / name, encoder=tiny_encoder))
    return out


def test_fine_tuned_top_reads_the_shared_encoders_lower_layer_and_runs_its_own(tiny_encoder, tmp_path):
    frozen, tuned = _finetuned_pair(tiny_encoder, tmp_path)
    texts = ["Who was the kid playing ?", "the river bank", "x", "", "Who is unbelievable zzz", "It wasn't bad."]
    a, b = frozen.classify(texts, top_k=100), tuned.classify(texts, top_k=100)
    # an unchanged copy of layer 2 gives the frozen model's answers: same words, states, evidence
    for text, x, y in zip(texts, a, b):
        assert (x.label, x.num_tokens, x.unknown_tokens) == (y.label, y.num_tokens, y.unknown_tokens)
        assert y.logit == pytest.approx(x.logit, abs=1e-5)
        assert [(e.start, e.end, e.widths) for e in y.evidence] == [(e.start, e.end, e.widths) for e in x.evidence]
        if y.num_tokens:
            assert y.bias + sum(e.contribution for e in y.evidence) == pytest.approx(y.logit, abs=1e-9)
        for e in y.evidence:
            assert e.text == text[e.start:e.end]
    assert b[4].unknown_tokens == 1
    # one by one as in a batch
    for text, y in zip(texts, b):
        assert tuned.classify([text], top_k=100)[0].logit == pytest.approx(y.logit, abs=1e-5)
    # the classifier's own layer is what runs: changing it changes the answer, never the shared encoder
    before = {k: v.clone() for k, v in tiny_encoder.model.state_dict().items()}
    with torch.no_grad():
        for p in tuned.model.encoder_top.parameters():
            p.add_(0.5 * torch.randn_like(p))
    changed = tuned.classify(texts)
    assert any(abs(c.logit - y.logit) > 1e-3 for c, y in zip(changed, b))
    assert all(torch.equal(v, tiny_encoder.model.state_dict()[k]) for k, v in before.items())
    info = tuned.info()
    assert info["encoder"]["fine_tuned_layers"] == [2] and frozen.info()["encoder"]["fine_tuned_layers"] == []
    rows = info["summary"]["layers"]
    assert "hidden state 1" in rows[0]["name"] and rows[0]["parameters"] == 0
    assert "own fine-tuned copy" in rows[1]["name"] and rows[1]["parameters"] > 0
    assert info["summary"]["total"] == sum(p.numel() for p in tuned.model.parameters())
    json.dumps(info)


def test_fine_tuned_top_with_frozen_lower_states_in_the_mix(tiny_encoder, tmp_path):
    frozen, tuned = _finetuned_pair(tiny_encoder, tmp_path, layers=(0, 1, 2))  # reads states 0 and 1, computes 2
    assert tuned.model.config.shared_layers == (0, 1)
    texts = ["Who was the kid playing ?", "the river bank", "It wasn't bad."]
    for x, y in zip(frozen.classify(texts, top_k=10), tuned.classify(texts, top_k=10)):
        assert x.label == y.label and y.logit == pytest.approx(x.logit, abs=1e-5)
    assert "hidden states 0, 1" in tuned.info()["summary"]["layers"][0]["name"]


def test_fine_tuned_top_cuts_long_texts_like_the_frozen_one(tiny_encoder, tmp_path):
    frozen, tuned = _finetuned_pair(tiny_encoder, tmp_path)
    text = " ".join(["the kid"] * 40)
    (x,), (y,) = frozen.classify([text]), tuned.classify([text])
    assert (y.num_tokens, y.truncated_tokens) == (x.num_tokens, x.truncated_tokens) and y.truncated_tokens > 0
