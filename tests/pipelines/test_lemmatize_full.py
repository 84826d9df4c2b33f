"""The ``full`` lemmatizer engine: spaCy's pipeline with its dependency parser (issue 17, point 7)."""

from __future__ import annotations

import pytest

from pipelines import ENGINES, Lemmatizer, load_pipelines
from tests.pipelines.lemma_gold import GOLD
from tests.pipelines.test_lemmatize import _lemma_accuracy


@pytest.fixture(scope="module")
def full():
    return Lemmatizer.load("full")


def test_full_keeps_the_parser_and_takes_sentences_from_it(full):
    assert "parser" in full.nlp.pipe_names and "ner" not in full.nlp.pipe_names
    assert "senter" not in full.nlp.pipe_names  # disabled: the parser sets sentence starts
    assert full.engine == "full" and full.info()["engine"] == "full"
    doc = full.lemmatize(["Dr. Smith isn't here.  She left!\nBye."])[0]
    assert len(doc.sentences) >= 2 and doc.sentences[0].text.startswith("Dr. Smith")


def test_possession_have_is_a_verb_with_the_parser_and_aux_without(full, real_pipelines):
    """What the parser changes: the attribute ruler reads dependency labels, so main-verb "have"
    is VERB (spaCy's full pipeline) where the parser-less rule engine says AUX; auxiliary "had"
    (followed by a participle) is AUX in both."""
    text = "She had a dog. They had eaten when we arrived."
    rule = real_pipelines.lemmatizer("rule").lemmatize([text])[0]
    with_parser = full.lemmatize([text])[0]
    had = lambda doc: [(t.pos, t.lemma) for t in doc.tokens if t.text == "had"]  # noqa: E731
    assert had(with_parser) == [("VERB", "have"), ("AUX", "have")]
    assert had(rule) == [("AUX", "have"), ("AUX", "have")]
    assert [t.text for t in rule.tokens] == [t.text for t in with_parser.tokens]


def test_full_is_at_least_as_good_on_the_lemma_gold_set(full, real_pipelines):
    full_acc, misses = _lemma_accuracy(full)
    rule_acc, _ = _lemma_accuracy(real_pipelines.lemmatizer("rule"))
    assert full_acc >= 0.95 and full_acc >= rule_acc - 1 / sum(len(i) for _, i in GOLD), misses


def test_full_is_opt_in_and_loads_by_name():
    from service.settings import Settings

    assert "full" in ENGINES
    assert "full" not in Settings().load_plan().lemmatize_engines
    p = load_pipelines(Settings(lemmatize_engines=["full"], tasks=["lemmatize"], torch_threads=1).load_plan())
    assert p.lemmatizer("full").engine == "full"
    assert any(m["task"] == "lemmatize" and m["engine"] == "full" for m in p.describe())
