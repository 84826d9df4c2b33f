"""pipelines.translate: plain-dataclass translations from an artifact folder."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.seq2seq_artifact import save
from pipelines.errors import InputError, ResourceError
from pipelines.subword import WORD_START, train_subword, word_groups
from pipelines.translate import DECODING_FILE, Translation, Translator, printable
from pipelines.typed_text import read_typed


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SHIPPED = Path(__file__).resolve().parents[2] / "artifacts" / "seq2seq" / "en-es-attn"

TEXTS = ["I am hungry.", "Tengo hambre.", "The cat sleeps.", "El gato duerme.", "Where is the cat?",
         "¿Dónde está el gato?", "Tom is here.", "Tom está aquí."]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    sw = train_subword(TEXTS * 2, vocab_size=300, min_frequency=1)
    V = sw.vocab_size
    cfg = Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, embed_dim=8, hidden=12, attention="general",
                        dropout=0.0, input_feeding=True, share_embeddings=True, tie_output=True)
    folder = tmp_path_factory.mktemp("art") / "tiny-en-es"
    save(folder, Seq2Seq(cfg), sw.to_str(), {"best_epoch": 1}, {"split": {"seed": 1, "train_max_words": 6}})
    return folder


@pytest.fixture(scope="module")
def translator(tiny_folder) -> Translator:
    return Translator.load(tiny_folder, name="tiny")


def test_translate_returns_plain_dataclasses_with_offsets_and_both_attention_views(translator):
    texts = ["I am  hungry.", "Where is the 猫?"]
    out = translator.translate(texts, beam_size=3, max_length=6, return_attention=True)
    assert len(out) == 2 and all(isinstance(t, Translation) for t in out)
    for text, t in zip(texts, out):
        assert t.source == text
        for st in (*t.source_tokens, *t.source_pieces):
            assert text[st.start:st.end] == st.text and st.text.strip() == st.text
        assert len(t.pieces) <= 6 and len(t.tokens) <= len(t.pieces)
        assert len(t.attention) == len(t.tokens) == len(t.attention_entropy)
        assert len(t.piece_attention) == len(t.pieces)
        for rows, cols in ((t.attention, t.source_tokens), (t.piece_attention, t.source_pieces)):
            for row in rows:
                assert len(row) == len(cols) and sum(row) == pytest.approx(1.0, abs=1e-5)
        for row, h in zip(t.attention, t.attention_entropy):
            assert 0.0 <= h <= math.log(len(row)) + 1e-6
        assert math.isfinite(t.score) and "<unk>" not in t.text
        json.dumps(dataclasses.asdict(t))  # nothing but plain values
    assert [st.text for st in out[0].source_tokens] == ["I", "am", "hungry", "."]
    assert [st.known for st in out[1].source_tokens] == [True, True, True, False, True]
    assert "unseen-characters" in [w.code for w in out[1].warnings]


def test_word_attention_merges_the_piece_attention(translator):
    [t] = translator.translate(["Tomás is hungry."], beam_size=1, max_length=8, return_attention=True)
    cols: dict[int, list[int]] = {}
    for k, p in enumerate(t.source_pieces):
        w = next(i for i, st in enumerate(t.source_tokens) if st.start <= p.start < st.end)
        cols.setdefault(w, []).append(k)
    assert sorted(k for ks in cols.values() for k in ks) == list(range(len(t.source_pieces)))
    rows = word_groups([" " + p[1:] if p.startswith(WORD_START) else p for p in t.pieces])
    assert len(rows) == len(t.tokens) == len(t.attention)
    for i, g in enumerate(rows):  # a target word's row: the mean of its pieces' rows, summed per source word
        for w, ks in cols.items():
            want = sum(t.piece_attention[r][k] for r in g for k in ks) / len(g)
            assert t.attention[i][w] == pytest.approx(want, abs=1e-6)


def test_batched_translation_equals_one_at_a_time(translator):
    texts = ["The cat sleeps.", "I am hungry.", "Where is the cat?"]
    for opts in ({"beam_size": 4}, {"beam_size": 3, "coverage_penalty": 0.4, "no_repeat_ngram": 2}, {"beam_size": 1}):
        together = translator.translate(texts, max_length=7, **opts)
        for text, t in zip(texts, together):
            [alone] = translator.translate([text], max_length=7, **opts)
            assert alone.pieces == t.pieces and alone.score == pytest.approx(t.score, abs=1e-5)
        assert all(t.attention is None for t in together)


def test_max_length_cuts_unfinished_translations_with_a_warning(translator):
    for beam in (1, 3):
        [t] = translator.translate(["The cat sleeps."], beam_size=beam, max_length=1, return_attention=True)
        assert len(t.pieces) <= 1 and len(t.piece_attention) == len(t.pieces)
        assert t.finished == (len(t.pieces) == 0)
        assert ("unfinished" in [w.code for w in t.warnings]) == (not t.finished)


def test_empty_and_tokenless_inputs_do_not_crash(translator):
    out = translator.translate(["", "   ", "I am hungry.", "?!..."], return_attention=True, max_length=4)
    assert [t.text for t in out[:2]] == ["", ""]
    assert out[0].tokens == () and out[0].source_tokens == () and out[0].attention == ()
    assert len(out[2].source_tokens) == 4
    assert [w.code for w in out[3].warnings if w.code == "no-letters"] == ["no-letters"]
    assert translator.translate([]) == []


def test_long_input_and_low_score_warnings(tiny_folder, tmp_path):
    tr = Translator.load(tiny_folder)
    [short, long] = tr.translate(["I am hungry.", "I am hungry and the cat sleeps here."], beam_size=1,
                                 max_length=3)
    assert "long-input" not in [w.code for w in short.warnings]
    [w] = [w for w in long.warnings if w.code == "long-input"]
    assert w.limit == 6 and w.given == 8 and "6 words" in w.message
    # a threshold above any possible mean log-probability marks every result
    folder = tmp_path / "strict"
    shutil.copytree(tiny_folder, folder)
    (folder / DECODING_FILE).write_text(json.dumps({"low_score_mean_logprob": 0.5, "no_repeat_ngram": 2}))
    strict = Translator.load(folder)
    assert strict.decoding["no_repeat_ngram"] == 2 and strict.decoding["length_penalty"] == 1.0
    [t] = strict.translate(["I am hungry."], beam_size=2, max_length=3)
    assert t.low_score and "low-score" in [w.code for w in t.warnings]


def test_unseen_names_are_pieces_not_unknown(translator):
    sw = translator.subword
    for name in ("Zorglub", "Wrocław", "Nguyễn", "O'Neill-Smith", "3.14159"):
        ids = sw.encode(f"{name} lives here.")
        assert sw.unk_id not in ids and sw.decode(ids) == f"{name} lives here."
    [t] = translator.translate(["Zorglub lives here."], beam_size=2, max_length=5)
    assert t.source_tokens[0].text == "Zorglub" and t.source_tokens[0].known
    assert "<unk>" not in t.text and "<unk>" not in t.tokens


def test_invalid_options_raise_input_error(translator):
    for opts in ({"beam_size": 0}, {"max_length": 0}, {"coverage_penalty": -1.0}, {"no_repeat_ngram": 7},
                 {"length_penalty": -0.5}):
        with pytest.raises(InputError):
            translator.translate(["hi"], **opts)
    text = "the cat " * 15
    with pytest.raises(InputError) as err:
        translator.translate(["hi", text], max_source_tokens=20)
    assert err.value.limit == 20 and err.value.given == len(translator.subword.encode(text)) > 20
    assert "text 1" in err.value.detail


def test_info_is_a_plain_dict(translator):
    info = translator.info()
    assert info["name"] == "tiny" and info["format"] == "seq2seq-attn-v2" and info["attention"] == "general"
    assert info["src_vocab_size"] == translator.subword.vocab_size and info["input_feeding"] is True
    assert info["metrics"] == {"best_epoch": 1} and info["data_card"]["split"]["seed"] == 1
    assert info["max_words"] == 6 and set(info["decoding"]) >= {"length_penalty", "coverage_penalty"}
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
    [t, named] = tr.translate(["I am hungry.", "Zorglub lives in Wrocław."], beam_size=5, return_attention=True)
    assert "hambr" in t.text.lower()  # "Tengo hambre." or "Estoy hambriento."
    assert t.text[0].isupper() and t.text.endswith(".")
    # one attention row per output word, a distribution over the source words
    assert len(t.attention) == len(t.tokens)
    assert all(len(row) == len(t.source_tokens) and abs(sum(row) - 1) < 1e-4 for row in t.attention)
    assert "<unk>" not in named.text


def _read(text: str) -> str:
    return read_typed(text).text


def test_model_input_keeps_every_offset_and_adds_the_final_mark_a_sentence_lacks():
    assert _read("I am here.") == "I am here."
    assert _read("i think i'm lost") == "I think I'm lost."  # same length up to the added mark
    assert _read("where is the station  ") == "Where is the station?  "
    assert _read("Can you help me") == "Can you help me?"
    assert _read("ski in Italy, iPhone") == "Ski in Italy, iPhone."  # only a lone "i" changes
    assert _read("iPhone sales") == "iPhone sales."  # a first word with inner capitals is kept
    assert _read("...") == "..." and _read("") == ""


def test_read_typed_restores_apostrophes_and_maps_every_character_back():
    t = read_typed("i dont know")
    assert t.text == "I don't know."
    assert len(t.origin) == len(t.text)
    assert t.span(2, 7) == (2, 6)                          # "don't" is the typed "dont"
    assert t.span(len(t.text) - 1, len(t.text)) is None    # the added full stop is not typed text
    assert read_typed("Im sure youre right").text == "I'm sure you're right."
    assert read_typed("DONT").text == "DON'T."
    assert read_typed("whats that").text == "What's that?"
    # words that are also English words are left alone, and a typed apostrophe is kept
    assert read_typed("its well were ill").text == "Its well were ill."
    assert read_typed("don't, isn't").text == "Don't, isn't."
    assert read_typed("Dont go").text == "Don't go."  # an imperative, not a question


def test_shipped_model_reads_contractions_typed_without_apostrophes():
    """"he doesnt like it" was translated as "A él le gusta." (the opposite); read as "doesn't" it
    is negative, and its source tokens are the words the user typed."""
    tr = Translator.load(SHIPPED)
    typed, full = tr.translate(["he doesnt like it", "He doesn't like it."], beam_size=5)
    assert " no " in f" {typed.text.lower()} " and " no " in f" {full.text.lower()} "
    # the same words as with the apostrophe ("doesn" + "'t"), each pointing at what was typed
    assert [w.text for w in full.source_tokens] == ["He", "doesn", "'t", "like", "it", "."]
    assert [(w.text, w.start, w.end) for w in typed.source_tokens] == [
        ("he", 0, 2), ("doesn", 3, 8), ("t", 8, 9), ("like", 10, 14), ("it", 15, 17)]


def test_shipped_model_on_text_as_people_type_it():
    """No final punctuation, a lowercase "i": the answer is the one for the full sentence, and the
    source tokens and attention cover only what the user typed."""
    tr = Translator.load(SHIPPED)
    typed, full = tr.translate(["i can't find my keys", "I can't find my keys."], beam_size=5,
                               return_attention=True)
    assert typed.text.rstrip(".") == full.text.rstrip(".")
    assert typed.text.lower().count("llaves") == 1  # it used to repeat "mis llaves las llaves ..."
    assert typed.source_tokens[-1].text == "keys" and typed.source_tokens[-1].end == len("i can't find my keys")
    assert all(len(row) == len(typed.source_tokens) and abs(sum(row) - 1) < 1e-4 for row in typed.attention)


def test_printable_drops_control_characters_and_broken_bytes():
    assert printable("Hola\x0b  mundo \ufffd!") == "Hola mundo !"
    assert printable("¿Dónde está? ❤") == "¿Dónde está? ❤"
