"""pipelines.translate: plain-dataclass translations from an artifact folder."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from models.seq2seq import Seq2Seq, Seq2SeqConfig
from training.seq2seq import save
from models.vocab import BOS, EOS, PAD, UNK, Vocab
from pipelines.errors import InputError, ResourceError
from pipelines.translate import Translation, Translator



@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SHIPPED = Path(__file__).resolve().parents[2] / "artifacts" / "seq2seq" / "en-es-attn"

SRC_WORDS = ["i", "am", "hungry", "the", "cat", "sleeps", ".", "?", "where", "is"]
TGT_WORDS = ["tengo", "hambre", "el", "gato", "duerme", ".", "?", "¿", "dónde", "está", "Tom"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    src = Vocab([PAD, UNK, BOS, EOS, *SRC_WORDS])
    tgt = Vocab([PAD, UNK, BOS, EOS, *TGT_WORDS])
    cfg = Seq2SeqConfig(src_vocab_size=len(src), tgt_vocab_size=len(tgt), embed_dim=8, hidden=12,
                        attention="general", dropout=0.0)
    folder = tmp_path_factory.mktemp("art") / "tiny-en-es"
    save(folder, Seq2Seq(cfg), cfg, src, tgt, {"Tom"}, {"best_epoch": 1}, {"split": {"seed": 1}})
    return folder


@pytest.fixture(scope="module")
def translator(tiny_folder) -> Translator:
    return Translator.load(tiny_folder, name="tiny")


def test_translate_returns_plain_dataclasses_with_offsets_and_attention(translator):
    texts = ["I am  hungry.", "Where is the zebra?"]
    out = translator.translate(texts, beam_size=3, max_length=6, return_attention=True)
    assert len(out) == 2 and all(isinstance(t, Translation) for t in out)
    for text, t in zip(texts, out):
        assert t.source == text
        for st in t.source_tokens:
            assert text[st.start:st.end].lower() == st.text
        assert len(t.tokens) <= 6
        assert len(t.attention) == len(t.tokens) == len(t.attention_entropy)
        for row, h in zip(t.attention, t.attention_entropy):
            assert len(row) == len(t.source_tokens)
            assert sum(row) == pytest.approx(1.0, abs=1e-5)
            assert 0.0 <= h <= math.log(len(row)) + 1e-6
        assert math.isfinite(t.score)
        json.dumps(dataclasses.asdict(t))  # nothing but plain values
    assert [st.known for st in out[1].source_tokens] == [True, True, True, False, True]


def test_batched_translation_equals_one_at_a_time(translator):
    texts = ["The cat sleeps.", "I am hungry.", "Where is the cat?"]
    together = translator.translate(texts, beam_size=4, max_length=7)
    for text, t in zip(texts, together):
        [alone] = translator.translate([text], beam_size=4, max_length=7)
        assert alone.tokens == t.tokens and alone.score == pytest.approx(t.score, abs=1e-5)
    assert all(t.attention is None for t in together)


def test_max_length_cuts_unfinished_translations(translator):
    for beam in (1, 3):
        [t] = translator.translate(["The cat sleeps."], beam_size=beam, max_length=1, return_attention=True)
        assert len(t.tokens) <= 1 and len(t.attention) == len(t.tokens)
        assert t.finished == (len(t.tokens) == 0)


def test_empty_and_tokenless_inputs_do_not_crash(translator):
    out = translator.translate(["", "   ", "I am hungry."], return_attention=True, max_length=4)
    assert [t.text for t in out[:2]] == ["", ""]
    assert out[0].tokens == () and out[0].source_tokens == () and out[0].attention == ()
    assert len(out[2].source_tokens) == 4
    assert translator.translate([]) == []


def test_invalid_options_raise_input_error(translator):
    with pytest.raises(InputError):
        translator.translate(["hi"], beam_size=0)
    with pytest.raises(InputError):
        translator.translate(["hi"], max_length=0)


def test_info_is_a_plain_dict(translator):
    info = translator.info()
    assert info["name"] == "tiny" and info["format"] == "seq2seq-attn-v1" and info["attention"] == "general"
    assert info["src_vocab_size"] == 4 + len(SRC_WORDS) and info["tgt_vocab_size"] == 4 + len(TGT_WORDS)
    assert info["metrics"] == {"best_epoch": 1} and info["data_card"]["split"]["seed"] == 1
    json.dumps(info)


def test_attention_passthrough_teaching_example():
    r = Translator.attention([10, 5, 10], [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]])
    assert r.scores == [[15.0, 60.0, 15.0, 35.0]]
    assert r.context[0] == pytest.approx([5.0, 0.0, 1.0], abs=1e-6)
    masked = Translator.attention([10, 5, 10], [[0, 1, 1], [5, 0, 1]], [[1, 0], [0, 1]], mask=[True, False],
                                  scale=True)
    assert masked.weights == [[1.0, 0.0]] and masked.context == [[1.0, 0.0]]
    with pytest.raises(InputError):
        Translator.attention([1, 2], [[1, 2, 3]])


def test_missing_artifact_is_a_resource_error(tmp_path):
    with pytest.raises(ResourceError, match="config.json"):
        Translator.load(tmp_path / "nothing")


def test_shipped_model_translates_a_simple_sentence():
    tr = Translator.load(SHIPPED)
    info = tr.info()
    assert info["attention"] != "none" and info["data_card"]["data"]["licence"].startswith("CC-BY 2.0")
    [t] = tr.translate(["I am hungry."], beam_size=5, return_attention=True)
    assert "hambre" in t.text.lower()
    assert t.text[0].isupper() and t.text.endswith(".")
    # one attention row per output step, a distribution over the source tokens
    assert len(t.attention) >= len(t.tokens)
    assert all(len(row) == len(t.source_tokens) and abs(sum(row) - 1) < 1e-4 for row in t.attention)
