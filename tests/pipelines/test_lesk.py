"""The static-vector gloss overlap of the disambiguation (``pipelines.lesk``), with the real GloVe
vectors and the shipped WordNet inventory."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.lesk import StaticContext, WordBags, alignment, signature_text, signature_words, signatures, unit

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
    assert sv.lesk(row, ctx.bag) != sv.lesk(row, ctx.bag, frozenset({sv.senses[row].examples[0]}))


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
    ctx = dis.context("we sat on the grassy bank of the river", 21, 25, "bank").bag
    for row in range(len(sv.senses)):  # the kept unit signature is the sum of its parts
        whole = unit(sv.signature[row] + sv.signature_examples[row].sum(axis=0))
        assert np.isclose(sv.lesk(row, ctx), float(whole @ ctx))
        assert np.isclose(sv.lesk(row, ctx, frozenset({"an example of another sense"})), sv.lesk(row, ctx))
    data = json.loads(DEFAULT_WSD.read_text())
    assert dis.words.a == dis.params.lesk_a == data["lesk"]["sif_a"]
    assert WsdParams.from_dict({**data, "lesk": {"sif_a": 0.01}}).lesk_a == 0.01


# ----- align: the sentence's words matched one by one ---------------------------------------------
def test_alignment_counts_an_exact_match_in_full_and_weighs_by_rarity(bags):
    ctx = bags.static_context("The space key on my keyboard keeps sticking.", 10, 13)
    assert np.isclose(np.linalg.norm(ctx.bag), 1.0)
    assert len(ctx.vectors) == len(ctx.weights) and np.allclose(np.linalg.norm(ctx.vectors, axis=1), 1.0)
    words = bags.words("The space on my keyboard keeps sticking.")
    assert len(ctx.weights) == len(set(words))  # each distinct content word once
    keyboard, _ = bags.unit_vectors(["keyboard"])
    lock, _ = bags.unit_vectors(["lock"])
    # "keyboard" itself in the signature: its best cosine is 1, cubed 1, so the score is at least
    # its share of the weights; a signature of an unrelated word scores less
    share = bags.unit_vectors(["keyboard"])[1][0] / ctx.weights.sum()
    assert alignment(ctx, keyboard) >= share - 1e-6
    assert alignment(ctx, keyboard) > alignment(ctx, lock)
    # the best match per word: adding words to a signature never lowers the score
    both = np.concatenate([keyboard, lock])
    assert alignment(ctx, both) >= max(alignment(ctx, keyboard), alignment(ctx, lock)) - 1e-9
    # a rare word weighs more than a frequent one, in the context and in what the bag adds up
    (_, w_common), (_, w_rare) = bags.unit_vectors(["people"]), bags.unit_vectors(["sommelier"])
    assert w_rare[0] > w_common[0] > 0
    assert np.allclose(ctx.bag, bags.context("The space key on my keyboard keeps sticking.", 10, 13))
    empty = StaticContext(ctx.bag, ctx.vectors[:0], ctx.weights[:0])
    assert alignment(empty, keyboard) == 0.0 and alignment(ctx, keyboard[:0]) == 0.0


def test_a_word_of_the_definition_in_the_sentence_favours_that_sense(bags, inventory):
    # WordNet's key #15, "a lever (as in a keyboard) that actuates a mechanism when depressed",
    # against #1, the metal device for a lock: "keyboard" in the sentence is in #15's definition
    senses = inventory.senses("key", "n")
    base, examples = signature_words(bags, inventory, "key", senses)
    assert len(base) == len(examples) == len(senses)
    assert all(len(e) == len(s.examples) for e, s in zip(examples, senses))
    lever = next(i for i, s in enumerate(senses) if "keyboard" in s.definition)
    lock = next(i for i, s in enumerate(senses) if s.sense_number == 1)
    sentence = "The space key on my keyboard keeps sticking."
    ctx = bags.static_context(sentence, 10, 13, bags.forms("key"))
    assert base[lever].dtype == np.int32  # rows of the static vectors, read at scoring time
    assert alignment(ctx, bags.static.unit_rows(base[lever])) > alignment(ctx, bags.static.unit_rows(base[lock]))


def test_disambiguator_leaves_an_example_out_of_the_alignment(real_pipelines):
    dis = real_pipelines.wsd
    assert dis.params.weights["align"] != 0  # the shipped wsd.json uses the feature
    sv = dis.sense_vectors("bank")
    ctx = dis.context("he cashed a check at the bank", 23, 27, "bank")
    rows = [r for r, s in enumerate(sv.senses) if s.examples]
    changed = [sv.align(r, ctx) != sv.align(r, ctx, frozenset(sv.senses[r].examples)) for r in rows]
    assert any(changed)
    for r in range(len(sv.senses)):  # leaving out no example, or another sense's, changes nothing
        assert sv.align(r, ctx, frozenset({"an example of another sense"})) == sv.align(r, ctx)
