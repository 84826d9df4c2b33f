from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines import InputError, WordPieceTokenizer, WordSpan
from pipelines.loading import default_encoder_path


# ----- the tiny in-test vocabulary -------------------------------------------------------------
def test_single_text(tiny_tokenizer):
    e = tiny_tokenizer.encode(["The kids playing."])[0]
    assert e.tokens == ["[CLS]", "the", "kid", "##s", "play", "##ing", ".", "[SEP]"]
    assert e.token_type_ids == [0] * 8
    assert e.position_ids == list(range(8))
    assert e.attention_mask == [1] * 8
    assert e.special_tokens_mask == [1, 0, 0, 0, 0, 0, 0, 1]
    assert e.sequence_ids == [None, 0, 0, 0, 0, 0, 0, None]
    assert e.word_ids == [None, 0, 1, 1, 2, 2, 3, None]
    assert e.offsets[2:4] == [(4, 7), (7, 8)]
    assert e.length == 8 and e.truncated == () and e.num_unk == 0


def test_pair_segments_offsets_and_unknowns(tiny_tokenizer):
    a, b = "Kids playing", "Who was Qwerty?"
    e = tiny_tokenizer.encode([a], [b])[0]
    assert e.tokens == ["[CLS]", "kid", "##s", "play", "##ing", "[SEP]", "who", "was", "[UNK]", "?", "[SEP]"]
    assert e.token_type_ids == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert e.sequence_ids == [None, 0, 0, 0, 0, None, 1, 1, 1, 1, None]
    for tok, (s, e_), seq in zip(e.tokens, e.offsets, e.sequence_ids):
        if seq is not None and tok != "[UNK]":
            assert (a, b)[seq][s:e_].lower().startswith(tok.removeprefix("##"))
    assert e.num_unk == 1
    assert (e.unknown[0].index, e.unknown[0].sequence, e.unknown[0].text) == (8, 1, "Qwerty")


def test_truncation_none_refuses_with_counts(tiny_tokenizer):
    with pytest.raises(InputError) as info:
        tiny_tokenizer.encode(["a b c x y z"], max_length=5)
    assert info.value.code == "too-many-tokens"
    assert (info.value.limit, info.value.given) == (5, 8)


def test_default_max_length_is_the_models(tiny_tokenizer):
    with pytest.raises(InputError) as info:
        tiny_tokenizer.encode(["a " * 40])
    assert (info.value.limit, info.value.given) == (32, 42)
    with pytest.raises(InputError, match="exceeds the model"):
        tiny_tokenizer.encode(["a"], max_length=33)


@pytest.mark.parametrize("side", ["right", "left"])
def test_truncation_reports_what_was_cut(tiny_tokenizer, side):
    text = "a b c x y z"
    e = tiny_tokenizer.encode([text], max_length=5, truncation="longest_first", truncation_side=side)[0]
    kept = ["a", "b", "c"] if side == "right" else ["x", "y", "z"]
    cut = ["x", "y", "z"] if side == "right" else ["a", "b", "c"]
    assert e.tokens == ["[CLS]", *kept, "[SEP]"]
    assert [c.token for c in e.truncated] == cut
    assert all(text[c.start:c.end] == c.token for c in e.truncated)


def test_pair_truncation_strategies(tiny_tokenizer):
    a, b = "a b c x y z", "a b"
    longest = tiny_tokenizer.encode([a], [b], max_length=7, truncation="longest_first")[0]
    assert longest.tokens == ["[CLS]", "a", "b", "[SEP]", "a", "b", "[SEP]"]
    assert [(c.sequence, c.token) for c in longest.truncated] == [(0, "c"), (0, "x"), (0, "y"), (0, "z")]
    only_second = tiny_tokenizer.encode([b], [a], max_length=8, truncation="only_second")[0]
    assert only_second.tokens == ["[CLS]", "a", "b", "[SEP]", "a", "b", "c", "[SEP]"]
    assert {c.sequence for c in only_second.truncated} == {1}
    with pytest.raises(InputError) as info:  # the first text has 2 tokens; 5 must go
        tiny_tokenizer.encode([b], [a], max_length=6, truncation="only_first")
    assert info.value.code == "cannot-truncate"
    with pytest.raises(InputError, match="needs a text_pair"):
        tiny_tokenizer.encode([a], truncation="only_second")


def test_padding(tiny_tokenizer):
    out = tiny_tokenizer.encode(["a", "a b c"], padding="longest")
    assert [len(e.input_ids) for e in out] == [5, 5]
    short = out[0]
    assert short.tokens[-2:] == ["[PAD]", "[PAD]"] and short.attention_mask == [1, 1, 1, 0, 0]
    assert short.special_tokens_mask[-2:] == [1, 1] and short.sequence_ids[-2:] == [None, None]
    assert short.length == 3 and short.position_ids == list(range(5))
    fixed = tiny_tokenizer.encode(["a"], padding="max_length", max_length=6)[0]
    assert len(fixed.input_ids) == 6 and fixed.input_ids[-1] == 0
    multiple = tiny_tokenizer.encode(["a b c"], padding="longest", pad_to_multiple_of=4)[0]
    assert len(multiple.input_ids) == 8


def test_alignment_from_words_to_wordpieces(tiny_tokenizer):
    a, b = "the kids playing", "unbelievable replay"
    words = ([WordSpan("the", 0, 3, False), WordSpan("kids", 4, 8, False), WordSpan("playing", 9, 16, False)],
             [WordSpan("unbelievable", 0, 12, False), WordSpan("replay", 13, 19, False)])
    e = tiny_tokenizer.encode([a], [b], words=[words])[0]
    pieces = {(w.sequence, w.text): [e.tokens[i] for i in w.wordpieces] for w in e.alignment}
    assert pieces == {
        (0, "the"): ["the"], (0, "kids"): ["kid", "##s"], (0, "playing"): ["play", "##ing"],
        (1, "unbelievable"): ["un", "##believ", "##able"], (1, "replay"): ["re", "##play"],
    }


def test_special_token_strings_in_text(tiny_tokenizer):
    as_special = tiny_tokenizer.encode(["a [SEP] b"])[0]
    assert as_special.tokens == ["[CLS]", "a", "[SEP]", "b", "[SEP]"]
    assert as_special.special_tokens_mask == [1, 0, 0, 0, 1]  # typed by the user, not added by the template
    literal = tiny_tokenizer.encode(["a [SEP] b"], split_special_tokens=True)[0]
    assert literal.tokens == ["[CLS]", "a", "[UNK]", "[UNK]", "[UNK]", "b", "[SEP]"]  # "[", "sep", "]" not in vocab
    assert [u.text for u in literal.unknown] == ["[", "SEP", "]"]


def test_without_special_tokens(tiny_tokenizer):
    e = tiny_tokenizer.encode(["a b"], ["c"], add_special_tokens=False)[0]
    assert e.tokens == ["a", "b", "c"] and e.sequence_ids == [0, 0, 1] and e.token_type_ids == [0, 0, 1]


def test_from_folder_with_only_a_vocab(tmp_path: Path):
    from tests.conftest import TINY_VOCAB

    (tmp_path / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text('{"model_max_length": 16}', encoding="utf-8")
    tok = WordPieceTokenizer.from_folder(tmp_path, name="from-vocab")
    assert tok.model_max_length == 16
    assert tok.encode(["The kids"])[0].tokens == ["[CLS]", "the", "kid", "##s", "[SEP]"]


def test_vocab_without_specials_is_refused():
    from pipelines import ResourceError

    with pytest.raises(ResourceError, match=r"\[CLS\]"):
        WordPieceTokenizer.from_vocab(["[PAD]", "[UNK]", "a"])


# ----- the real BERT uncased vocabulary, checked against transformers ------------------------------
@pytest.fixture(scope="module")
def hf_reference():
    from transformers import BertTokenizer

    vocab_file = default_encoder_path() / "vocab.txt"
    vocab = {w: i for i, w in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
    return BertTokenizer(vocab=vocab, do_lower_case=True)


PAIRS = [
    ("The kids were playing in the park.", "Who was playing?"),
    ("Räksmörgås and naïve café owners don't like URLs like https://x.io/a?b=1.", "¿Dónde está el baño? 東京"),
    ("  Leading   spaces,\ttabs and\nnewlines ", "It's 3.14159 — or so; e-mail me@ex.com!"),
]


@pytest.mark.parametrize("a,b", PAIRS)
def test_pair_matches_transformers_exactly(real_pipelines, hf_reference, a, b):
    ours = real_pipelines.tokenizer.encode([a], [b])[0]
    ref = hf_reference(a, b, return_offsets_mapping=True, return_special_tokens_mask=True)
    assert ours.input_ids == ref["input_ids"]
    assert ours.token_type_ids == ref["token_type_ids"]
    assert ours.attention_mask == ref["attention_mask"]
    assert ours.special_tokens_mask == ref["special_tokens_mask"]
    assert ours.offsets == [tuple(o) for o in ref["offset_mapping"]]
    assert ours.word_ids == ref.word_ids()
    assert ours.sequence_ids == ref.sequence_ids()


def test_known_ids_for_a_pair(real_pipelines):
    e = real_pipelines.tokenizer.encode(["The kids were playing."], ["Who plays?"])[0]
    # ids of the standard BERT uncased vocab.txt
    assert e.input_ids == [101, 1996, 4268, 2020, 2652, 1012, 102, 2040, 3248, 1029, 102]


def test_truncation_matches_transformers(real_pipelines, hf_reference):
    rng = random.Random(7)
    words = "the bank of the river was steep and money in the bank grew slowly over many years".split()
    for _ in range(60):
        a = " ".join(rng.choices(words, k=rng.randint(1, 25)))
        b = " ".join(rng.choices(words, k=rng.randint(1, 25)))
        max_length = rng.randint(4, 40)
        for strategy in ("longest_first", "only_first", "only_second"):
            try:
                ref = hf_reference(a, b, truncation=strategy, max_length=max_length)["input_ids"]
            except Exception:
                with pytest.raises(InputError):
                    real_pipelines.tokenizer.encode([a], [b], truncation=strategy, max_length=max_length)
                continue
            ours = real_pipelines.tokenizer.encode([a], [b], truncation=strategy, max_length=max_length)[0]
            assert ours.input_ids == ref, (a, b, strategy, max_length)
            full = real_pipelines.tokenizer.encode([a], [b])[0]
            assert len(ours.truncated) == full.length - ours.length


def test_unknown_characters_are_counted(real_pipelines):
    e = real_pipelines.tokenizer.encode(["smile 🙂 and 🤖"])[0]
    assert e.num_unk == 2 and [u.text for u in e.unknown] == ["🙂", "🤖"]


def test_windows_fit_the_model_and_hold_their_span(tiny_tokenizer):
    # model_max_length 32: 30 wordpieces of text at most
    assert tiny_tokenizer.windows("the kids playing by the river bank.", [(29, 33)]) is None
    words = ["the", "kids", "playing", "unbelievable", "replayed", "river", "money"]
    rng = random.Random(3)
    text = " ".join(rng.choice(words) for _ in range(200)) + " bank the kids"
    spans = [(4, 8), (text.index("unbelievable"), text.index("unbelievable") + 12), (len(text) - 13, len(text) - 9)]
    for size in (None, 12, 30):
        wins = tiny_tokenizer.windows(text, spans, size)
        assert wins is not None and len(wins) == len(spans)
        limit = size or 30
        for (s, t), (a, b) in zip(spans, wins):
            assert a <= s and t <= b  # the span is inside its window
            assert a == 0 or text[a - 1] == " "  # starts on a word ...
            assert b == len(text) or text[b] == " "  # ... and ends on one
            assert len(tiny_tokenizer.encode([text[a:b]])[0].input_ids) - 2 <= limit
    # the span sits near the middle when the text allows
    a, b = tiny_tokenizer.windows(text, [(len(text) // 2, len(text) // 2 + 1)], 12)[0]
    assert a > 0 and b < len(text)


def test_windows_are_shared_by_nearby_spans(tiny_tokenizer):
    text = " ".join(["the kids playing"] * 40)
    spans = [(i, i + 4) for i in range(len(text)) if text.startswith("kids", i)]
    wins = tiny_tokenizer.windows(text, spans, 24)
    assert len(set(wins)) < len(spans) / 2  # a few windows, not one per span
