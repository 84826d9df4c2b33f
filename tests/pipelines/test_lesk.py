"""The static-vector gloss overlap of the disambiguation (``pipelines.lesk``), with the real GloVe
vectors and the shipped WordNet inventory."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.lesk import WordBags, signature_text, signatures, unit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bags(real_pipelines):
    return WordBags(next(s for s in real_pipelines.static.values() if s.format == "glove-6b-package"))


@pytest.fixture(scope="module")
def inventory(real_pipelines):
    return real_pipelines.wsd.inventory


def test_bags_add_up_and_leave_out_stop_words_and_the_target(bags):
    a, b = "kitchen scales weigh flour", "grams of sugar"
    assert np.allclose(bags.total(a + " " + b), bags.total(a) + bags.total(b))
    assert bags.words("The bank of the river, banks and a bank", drop=bags.forms("bank")) == ["river"]
    assert not bags.total("the of and").any()  # only stop words: an empty bag
    ctx = bags.context("I sat on the bank of the river", 13, 17)
    assert np.isclose(np.linalg.norm(ctx), 1.0)
    assert np.allclose(ctx, unit(bags.total("I sat on the of the river")))


def test_rare_words_weigh_more_than_frequent_ones(bags):
    # smooth inverse frequency: a word low in GloVe's frequency order moves the bag more
    common, rare = bags.total("people"), bags.total("sommelier")
    assert np.linalg.norm(rare) / np.linalg.norm(bags.static.vector("sommelier")) > \
        np.linalg.norm(common) / np.linalg.norm(bags.static.vector("people"))


def test_signature_reads_the_neighbourhood(inventory):
    flora = next(s for s in inventory.senses("plant", "n") if s.synset == "00017222-n")
    text = signature_text(inventory, flora)
    assert text.startswith("plant flora plant life (botany) a living organism") and "organism" in text
    assert len(text.split()) > 40  # hyponyms' names and definitions, not only the short gloss


@pytest.mark.parametrize(("lemma", "sentence", "expected", "other"), [
    ("scale", "Weigh 200 grams of flour on the kitchen scale.", "04141975-n", "01902877-n"),
    ("scale", "Scrape the scale off the fish before you grill it.", "01902877-n", "04141975-n"),
    ("tank", "The army sent a tank and heavy artillery to the front.", "04389033-n", "04388743-n"),
    ("tank", "The water tank on the roof leaks into the bathroom.", "04388743-n", "04389033-n"),
])
def test_the_topic_decides_between_coarse_senses(bags, inventory, lemma, sentence, expected, other):
    senses = inventory.senses(lemma, "n")
    base, examples = signatures(bags, inventory, lemma, senses)
    start = sentence.lower().index(lemma)
    ctx = bags.context(sentence, start, start + len(lemma))
    score = {s.synset: float(unit(base[i] + examples[i].sum(axis=0)) @ ctx) for i, s in enumerate(senses)}
    assert score[expected] > score[other]


def test_disambiguator_leaves_an_example_out_of_the_signature(real_pipelines):
    dis = real_pipelines.wsd
    assert dis.params.weights["lesk"] > 0 and dis.words is not None  # the shipped wsd.json uses the feature
    sv = dis.sense_vectors("bank")
    row = next(i for i, s in enumerate(sv.senses) if s.examples)
    ctx = dis.context("he cashed a check at the bank", 23, 27, "bank")
    assert sv.lesk(row, ctx) != sv.lesk(row, ctx, frozenset({sv.senses[row].examples[0]}))


def test_an_older_wsd_json_without_the_feature_still_loads():
    import json

    from pipelines.loading import DEFAULT_WSD
    from pipelines.wsd import WsdParams

    data = json.loads(DEFAULT_WSD.read_text())
    del data["weights"]["lesk"]
    assert WsdParams.from_dict(data).weights["lesk"] == 0.0


def test_the_whole_signature_is_kept_once_and_the_constant_comes_from_wsd_json(real_pipelines):
    import json

    from pipelines.loading import DEFAULT_WSD
    from pipelines.wsd import WsdParams

    dis = real_pipelines.wsd
    sv = dis.sense_vectors("bank")
    ctx = dis.context("we sat on the grassy bank of the river", 21, 25, "bank")
    for row in range(len(sv.senses)):  # the kept unit signature is the sum of its parts
        whole = unit(sv.signature[row] + sv.signature_examples[row].sum(axis=0))
        assert np.isclose(sv.lesk(row, ctx), float(whole @ ctx))
        assert np.isclose(sv.lesk(row, ctx, frozenset({"an example of another sense"})), sv.lesk(row, ctx))
    data = json.loads(DEFAULT_WSD.read_text())
    assert dis.words.a == dis.params.lesk_a == data["lesk"]["sif_a"]
    assert WsdParams.from_dict({**data, "lesk": {"sif_a": 0.01}}).lesk_a == 0.01
