"""The classifier's tokenizer schemes: PTB clitics as TREC and MR are tokenised, spans into the text."""

from __future__ import annotations

import pytest

from models.vocab import TOKENIZERS, tokenize, tokenize_with_spans


@pytest.mark.parametrize(("text", "tokens"), [
    ("What's the capital?", ["what", "'s", "the", "capital", "?"]),
    ("What 's the capital ?", ["what", "'s", "the", "capital", "?"]),  # TREC's own tokenisation
    ("Who’s going to be the next pope?", ["who", "'s", "going", "to", "be", "the", "next", "pope", "?"]),
    ("Whoʼs there", ["who", "'s", "there"]),
    ("How long's the Nile?", ["how", "long", "'s", "the", "nile", "?"]),
    ("Where's it", ["where", "'s", "it"]),
    ("I don't know", ["i", "do", "n't", "know"]),
    ("What do n't they border ?", ["what", "do", "n't", "they", "border", "?"]),
    ("Why can 't ostriches fly ?", ["why", "can", "n't", "ostriches", "fly", "?"]),  # TREC's variant
    ("Why doesn 't it", ["why", "does", "n't", "it"]),
    ("can't won't CAN'T isn’t", ["can", "n't", "will", "n't", "can", "n't", "is", "n't"]),
    ("they're we've you'll I'd I'm", ["they", "'re", "we", "'ve", "you", "'ll", "i", "'d", "i", "'m"]),
    ("John's car", ["john", "'s", "car"]),
    ("the students' books", ["the", "students", "'", "books"]),
    ("O'Neill at five o'clock", ["o'neill", "at", "five", "o'clock"]),
    ("an X-ray", ["an", "x-ray"]),
    ("``Conan'' and ''Rings''", ['"', "conan", '"', "and", '"', "rings", '"']),
])
def test_ptb_scheme_splits_clitics_like_the_training_data(text, tokens):
    assert tokenize(text, scheme="ptb") == tokens


def test_attached_and_pre_split_forms_give_the_same_tokens():
    for typed, treebank in [("What's a dog?", "What 's a dog ?"), ("It doesn't work.", "It does n't work ."),
                            ("They’re here", "They 're here"), ("You'll see", "You 'll see")]:
        assert tokenize(typed, scheme="ptb") == tokenize(treebank, scheme="ptb")


@pytest.mark.parametrize("text", ["What’s up? Don't, can't; o'clock ``x'' y", "", "   ", "naïve café's", "a--b '' '"])
@pytest.mark.parametrize("scheme", TOKENIZERS)
def test_spans_point_into_the_text_in_order(text, scheme):
    spans = tokenize_with_spans(text, lower=False, scheme=scheme)
    last = 0
    for tok, start, end in spans:
        assert last <= start < end <= len(text)
        assert text[start:end].strip() == text[start:end]
        last = end


def test_words_scheme_is_unchanged():
    # the scheme artifacts saved before the tokenizer was recorded were trained with
    assert tokenize("What's it? What 's it", scheme="words") == ["what's", "it", "?", "what", "'", "s", "it"]
    assert tokenize("What's it?") == ["what's", "it", "?"]  # still the default


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        tokenize("x", scheme="spacy")
