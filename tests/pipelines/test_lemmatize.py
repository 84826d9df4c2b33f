from __future__ import annotations

import pytest

from pipelines import Lemmatizer
from tests.pipelines.lemma_gold import GOLD


def _lemma_accuracy(lemmatizer: Lemmatizer) -> tuple[float, list[str]]:
    docs = lemmatizer.lemmatize([s for s, _ in GOLD])
    total = correct = 0
    misses = []
    for (sentence, items), doc in zip(GOLD, docs):
        for text, occurrence, expected in items:
            found = [t for t in doc.tokens if t.text == text]
            assert len(found) > occurrence, f"{text!r} not tokenized as expected in {sentence!r}"
            total += 1
            got = found[occurrence].lemma
            if got == expected:
                correct += 1
            else:
                misses.append(f"{text}->{got} (want {expected})")
    return correct / total, misses


def test_gold_set_is_large_enough():
    assert sum(len(items) for _, items in GOLD) >= 50


def test_rule_engine_on_the_gold_set(real_pipelines):
    accuracy, misses = _lemma_accuracy(real_pipelines.lemmatizer("rule"))
    assert accuracy >= 0.95, misses


def test_rule_engine_uses_part_of_speech(real_pipelines):
    doc = real_pipelines.lemmatizer("rule").lemmatize(["He saw the saw. The striped bats ate best fishes."])[0]
    saws = [t for t in doc.tokens if t.text == "saw"]
    assert [(t.pos, t.lemma) for t in saws] == [("VERB", "see"), ("NOUN", "saw")]
    by_text = {t.text: t for t in doc.tokens}
    assert (by_text["striped"].pos, by_text["striped"].lemma) == ("ADJ", "striped")
    assert by_text["best"].lemma == "good"
    assert by_text["bats"].tag == "NNS" and by_text["bats"].morph == "Number=Plur"


def test_lookup_engine_is_context_free_and_worse_on_the_gold_set(real_pipelines):
    lookup = real_pipelines.lemmatizer("lookup")
    rule_acc, _ = _lemma_accuracy(real_pipelines.lemmatizer("rule"))
    lookup_acc, _ = _lemma_accuracy(lookup)
    assert lookup_acc < rule_acc
    doc = lookup.lemmatize(["The striped bats ate best fishes."])[0]
    by_text = {t.text: t for t in doc.tokens}
    assert by_text["striped"].lemma == "stripe"  # no context: the verb reading wins
    assert by_text["best"].lemma == "well"
    assert by_text["bats"].pos is None and by_text["bats"].tag is None


def test_offsets_whitespace_and_sentences(real_pipelines):
    text = "Dr. Smith isn't here.  She left!\nBye."
    doc = real_pipelines.lemmatizer("rule").lemmatize([text])[0]
    rebuilt = "".join(t.text + t.whitespace for t in doc.tokens)
    assert rebuilt == text
    for t in doc.tokens:
        assert text[t.start:t.end] == t.text
    assert len(doc.sentences) >= 2
    for s in doc.sentences:
        assert text[s.start:s.end] == s.text
    for t in doc.tokens:
        s = doc.sentences[t.sentence]
        assert s.start <= t.start and t.end <= s.end
    neg = next(t for t in doc.tokens if t.text == "n't")
    assert neg.lemma == "not" and neg.is_stop
    assert next(t for t in doc.tokens if t.text == "!").is_punct


@pytest.mark.parametrize("engine", ["rule", "lookup"])
def test_batch_equals_one_by_one(real_pipelines, engine):
    lemmatizer = real_pipelines.lemmatizer(engine)
    texts = [s for s, _ in GOLD] + ["", "   ", "A.", "Ünïcödé wörds — and emoji 🙂 too."]
    batch = lemmatizer.lemmatize(texts)
    alone = [lemmatizer.lemmatize([t])[0] for t in texts]
    assert batch == alone


def test_tiny_lookup_pipeline(tiny_lemmatizer):
    doc = tiny_lemmatizer.lemmatize(["The mice ran. The geese were here."])[0]
    assert [t.lemma for t in doc.tokens if t.text in {"mice", "ran", "geese", "were"}] == ["mouse", "run", "goose", "be"]
    assert len(doc.sentences) == 2
    assert doc.tokens[0].pos is None


def test_words_gives_spacy_tokens_with_spans(tiny_lemmatizer):
    text = "Don't re-play it!"
    words = tiny_lemmatizer.words([text])[0]
    assert [w.text for w in words] == ["Do", "n't", "re", "-", "play", "it", "!"]
    assert all(text[w.start:w.end] == w.text for w in words)


def test_unknown_engine_is_named():
    with pytest.raises(ValueError, match="unknown lemmatizer engine"):
        Lemmatizer.load("neural")  # type: ignore[arg-type]
