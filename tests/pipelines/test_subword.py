"""pipelines.subword: the byte-level BPE of the translation model (real tokenizers, trained in the test)."""

from __future__ import annotations

import pytest

from pipelines.subword import SPECIALS, Subword, normalise, train_subword, word_groups

CORPUS = ["¿Dónde está Tom?", "Where is Tom?", "Meet me at 10:30.", "Nos vemos a las 10:30.",
          "Tom's car is red.", "El coche de Tom es rojo.", "¡Qué día tan bonito!", "What a nice day!"] * 4


@pytest.fixture(scope="module")
def sw() -> Subword:
    return train_subword(CORPUS, vocab_size=400, min_frequency=1)


@pytest.mark.parametrize("text", [
    "¿Dónde está?", "10:30", "Tom's", "¡Hola, señor Müller!", "Él dijo: «ya voy».", "3,5 % de 1.000.000",
    "Nguyễn Thị Minh Khai", "Ça va? Ωμέγα — 東京 😀", "tab\there", "a  b", "  lead and trail  ",
])
def test_decode_restores_the_normalised_text_exactly(sw, text):
    ids = sw.encode(text)
    assert sw.unk_id not in ids
    assert sw.decode(ids) == normalise(text)
    if text == " ".join(text.split()):
        assert sw.decode(ids) == text            # clean text round-trips byte for byte


def test_normalise_maps_curly_apostrophes_and_spaces():
    assert normalise("Tom\u2019s   car\n") == "Tom's car"


def test_specials_are_ids_0_to_3_and_skipped_when_decoding(sw):
    assert [sw.tokenizer.token_to_id(t) for t in SPECIALS] == [0, 1, 2, 3]
    ids = sw.encode("Where is Tom?")
    assert sw.decode([sw.bos_id, *ids, sw.eos_id, sw.pad_id]) == "Where is Tom?"
    assert Subword.from_str(sw.to_str()).encode("Where is Tom?") == ids


def test_offsets_point_into_the_original_text(sw):
    text = "  Tom\u2019s car"
    [enc] = sw.encode_batch([text])
    pieces = [text[a:b].strip() for a, b in enc.offsets]
    assert "".join(pieces) == "Tom\u2019scar"


def test_display_marks_word_starts(sw):
    shown = sw.display(sw.encode("Where is Tom?"))
    assert shown[0].startswith("\u2581") and shown[-1] == "?"
    assert "".join(shown).replace("\u2581", " ").strip() == "Where is Tom?"


def test_word_groups_split_on_spaces_and_punctuation():
    assert word_groups([" ¿", "D", "ónde", " está", "?"]) == [[0], [1, 2], [3], [4]]
    assert word_groups([" Tom", "'s", " car", "."]) == [[0], [1], [2], [3]]
    assert word_groups([" 10", ":", "30"]) == [[0], [1], [2]]
    assert word_groups([]) == []
