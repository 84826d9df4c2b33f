"""WordNet disambiguation and sense grouping with the real encoder, spaCy model and shipped inventory."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.errors import InputError, ResourceError
from pipelines.wsd import FORMAT, WsdParams

MONEY = ["I deposited my salary at the bank this morning.",
         "The bank raised its interest rates on loans again."]
RIVER = ["We had a picnic on the grassy bank of the river.",
         "The fisherman sat on the muddy bank and watched the stream."]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wsd(real_pipelines):
    return real_pipelines.wsd


@pytest.fixture(scope="module")
def comparer(real_pipelines):
    return real_pipelines.senses


def test_money_and_river_banks_get_their_wordnet_senses(wsd):
    r = wsd.disambiguate("bank", MONEY + RIVER)
    tops = [s.occurrences[0].candidates[0] for s in r.results]
    assert [t.synset for t in tops[:2]] == ["08420278-n", "08420278-n"]  # depository financial institution
    assert [t.synset for t in tops[2:]] == ["09213565-n", "09213565-n"]  # sloping land beside water
    for s in r.results:
        cands = s.occurrences[0].candidates
        assert all(c.pos == "n" for c in cands) and len(cands) == 10  # spaCy's NOUN: the ten noun senses
        assert abs(sum(c.score for c in cands) - 1) < 1e-3 and cands[0].score >= cands[-1].score
    assert tops[0].sense_number == 2 and tops[0].lexname == "noun.group"
    assert "bank" in tops[0].lemma_names and tops[0].gloss.startswith("a financial institution")


def test_every_occurrence_and_pos_filter(wsd):
    r = wsd.disambiguate("bank", ["They bank with the bank by the river bank."], top_k=3)
    occ = r.results[0].occurrences
    assert [o.occurrence.index for o in occ] == [0, 1, 2]
    assert [o.occurrence.start for o in occ] == [5, 19, 37]
    assert occ[0].occurrence.wordnet_pos == "v" and all(c.pos == "v" for c in occ[0].candidates)
    assert all(len(o.candidates) == 3 for o in occ)
    hinted = wsd.disambiguate("bank", ["They bank with us."], pos="n").results[0].occurrences[0]
    assert all(c.pos == "n" for c in hinted.candidates)


def test_unknown_word_is_a_per_result_answer(wsd):
    r = wsd.disambiguate("zorblax", ["The zorblax glowed.", "Two zorblax sat."])
    assert r.known is False and "not in WordNet" in r.note
    assert all(o.candidates == () and o.lemma is None for s in r.results for o in s.occurrences)


def test_missing_target_is_an_input_error(wsd):
    with pytest.raises(InputError) as e:
        wsd.disambiguate("bank", ["The bank is closed.", "I like pizza."])
    assert e.value.code == "target-not-found" and e.value.given == [1]


def test_gloss_cache_is_bounded(real_pipelines):
    from pipelines.wsd import Disambiguator

    w = real_pipelines.wsd
    d = Disambiguator(lemmatizer=w.lemmatizer, encoder=w.encoder, inventory=w.inventory, params=w.params,
                      cache_size=2)
    for word in ("cat", "dog", "tree"):
        d.sense_vectors(word)
    assert d.cached_lemmas() == ["dog", "tree"]


def test_params_checked_against_the_encoder(real_pipelines):
    h = real_pipelines.encoder.hidden_size
    good = {"format": FORMAT, "layers": [2, 3, 4], "background": {"target_mean": [0.0] * h,
            "target_std": [1.0] * h, "sentence_mean": [0.0] * h},
            "weights": {"gloss": 1, "gloss_target": 1, "example": 1, "example_sentence": 1, "prior": 1}}
    WsdParams.from_dict(good).check(real_pipelines.encoder)
    small = {**good, "background": {k: [0.0] * 8 for k in ("target_mean", "target_std", "sentence_mean")}}
    with pytest.raises(ResourceError, match="hidden size"):
        WsdParams.from_dict(small).check(real_pipelines.encoder)
    with pytest.raises(ResourceError, match="format"):
        WsdParams.from_dict({**good, "format": "x"})


def test_compare_bank_two_groups_named_by_wordnet(comparer):
    c = comparer.compare("bank", MONEY + RIVER)
    assert sorted(sorted(s.members) for s in c.senses) == [[0, 1], [2, 3]]
    names = {tuple(sorted(s.members)): s.sense.synset for s in c.senses}
    assert names == {(0, 1): "08420278-n", (2, 3): "09213565-n"}
    p = np.array(c.p_same)
    assert np.allclose(np.diag(p), 1.0) and p[0, 1] > 0.5 > p[0, 2]
    assert "2 senses" in c.verdict and "financial institution" in c.verdict and "sloping land" in c.verdict
    assert len(c.sense_points) == 2 and all(len(pt) == 2 for _, pt in c.sense_points)


CATS = ["The cat slept on the warm windowsill.", "Our cat caught a mouse in the garden.",
        "She fed the hungry cat some fish."]


def test_compare_one_sense_word_is_one_group(comparer):
    c = comparer.compare("cat", CATS)
    assert len(c.senses) == 1 and c.senses[0].members == (0, 1, 2)
    assert c.senses[0].sense is not None and "same sense" in c.verdict


def test_compare_one_sense_word_is_named_right(comparer):
    c = comparer.compare("cat", CATS)
    assert c.senses[0].sense.lexname == "noun.animal", c.senses[0].sense


def test_compare_names_the_money_group_after_the_financial_institution(comparer):
    c = comparer.compare("bank", ["Banks raised their rates", "The BANK closed early"])
    assert len(c.senses) == 1 and c.senses[0].sense.synset == "08420278-n", c.senses[0].sense


def test_lower_case_occurrence_never_takes_a_proper_name(wsd):
    def proper(c):
        return any(n.lower() == "crane" and n[:1].isupper() for n in c.lemma_names)

    lower, upper = wsd.disambiguate("crane", ["The operator climbed into the cab of the crane.",
                                              "Crane wrote The Red Badge of Courage."]).results
    cands = lower.occurrences[0].candidates
    assert any(proper(c) for c in cands) and all(c.score == 0 for c in cands if proper(c))
    assert not proper(cands[0]) and cands[0].score > 0
    assert any(c.score > 0 for c in upper.occurrences[0].candidates if proper(c))  # capitalised: allowed


def test_frequent_sense_of_an_everyday_word(wsd):
    r = wsd.disambiguate("cat", ["My cat purrs when I scratch behind her ears.", "The cat chased a bird."])
    assert [s.occurrences[0].candidates[0].synset for s in r.results] == ["02121620-n", "02121620-n"]  # feline


def test_compare_uses_every_occurrence(comparer):
    c = comparer.compare("bank", ["The bank manager walked along the river bank.", MONEY[1]])
    assert [(o.sentence, o.index) for o in c.occurrences] == [(0, 0), (0, 1), (1, 0)]
    assert np.array(c.contextual_similarity).shape == (3, 3)
    assert sorted(i for s in c.senses for i in s.occurrences) == [0, 1, 2]


def test_two_senses_in_one_supersense_are_two_groups(comparer):
    """A diamond ring and a boxing ring are both noun.artifact: the shipped parameters (the supersense
    rule off, chosen on WordNet dev) let the occurrence vectors split them."""
    assert comparer.disambiguator.params.lexname_rule is False
    jewel = ["He gave her a gold ring with a large diamond.", "She wore her grandmother's silver ring on her finger."]
    boxing = ["The two boxers stepped into the ring for the final round.",
              "The referee stopped the fight in the middle of the ring."]
    c = comparer.compare("ring", jewel + boxing)
    assert len(c.senses) == 2 and sorted(s.members for s in c.senses) == [(0, 1), (2, 3)], c.verdict


def test_the_supersense_rule_when_on_makes_one_group(comparer):
    from dataclasses import replace

    from pipelines.senses import group_occurrences

    prep = comparer.prepare("ring", ["He gave her a gold ring with a large diamond.",
                                     "The two boxers stepped into the ring for the final round."])
    tops = [d.candidates[0] for d in prep.disambiguations]
    assert [t.synset for t in tops] == ["04092609-n", "04092959-n"]  # jewelry, boxing ring
    assert {t.lexname for t in tops} == {"noun.artifact"}
    params = comparer.disambiguator.params
    on, how, _ = group_occurrences(prep.sims, prep.disambiguations, replace(params, lexname_rule=True))
    off, _, _ = group_occurrences(prep.sims, prep.disambiguations, replace(params, lexname_rule=False))
    assert on == [0, 0] and "noun.artifact" in how and off == [0, 1]


def test_accented_spellings_find_the_wordnet_lemma(wsd):
    """WordNet writes cafe, resume, naive: an accented spelling is looked up without its accents."""
    r = wsd.disambiguate("café", ["We met at the café.", "The CAFÉ was closed."])
    assert r.known and all(s.occurrences[0].lemma == "cafe" for s in r.results)
    assert "restaurant" in r.results[0].occurrences[0].candidates[0].gloss
    assert wsd.disambiguate("naïve", ["That was a naïve plan."]).results[0].occurrences[0].lemma == "naive"


FILLER = ("The committee met on Tuesday to discuss the schedule for the coming season, and several members "
          "asked for more time to read the proposals. ")


def test_a_word_deep_in_a_long_text_is_read_in_its_own_sentence(wsd):
    """Past the model's 512 wordpieces a word used to be cut away (a 422); it is now read in its
    sentence, and the unrelated paragraph around it does not decide its sense."""
    text = FILLER * 30 + "She deposited the cheque at the bank before noon. " + FILLER * 3
    assert len(wsd.encoder.tokenizer.encode([text], truncation="longest_first")[0].truncated) > 0
    occ = wsd.disambiguate("bank", [text]).results[0].occurrences
    assert len(occ) == 1 and occ[0].occurrence.start == text.index("bank")
    assert occ[0].candidates[0].synset == "08420278-n"
    river = "We sat on the grassy bank of the river and watched the boats."
    mixed = wsd.disambiguate("bank", [FILLER * 2 + text[-500:] + river]).results[0].occurrences
    assert [o.candidates[0].synset for o in mixed] == ["08420278-n", "09213565-n"]


def test_a_long_sentence_is_read_in_a_window_around_the_word(wsd):
    words = ("money " * 700).strip()  # one sentence far longer than the model
    text = words + " and then the bank of the river flooded"
    got = wsd.encode_occurrences([text], [[(text.index("bank"), text.index("bank") + 4)]])
    read, (s, t) = got[2][0][0]
    assert read[s:t] == "bank" and len(read) < len(text) and read.endswith("flooded")
    assert got[0][0].shape == (1, wsd.encoder.hidden_size) and np.isfinite(got[1][0]).all()


def test_too_many_occurrences_is_an_input_error_with_the_limit(wsd):
    from pipelines.limits import MAX_OCCURRENCES

    with pytest.raises(InputError) as e:
        wsd.disambiguate("bank", ["The bank. " * (MAX_OCCURRENCES // 2 + 1), "A bank. " * (MAX_OCCURRENCES // 2)])
    assert e.value.code == "too-many-occurrences"
    assert e.value.limit == MAX_OCCURRENCES and e.value.given == MAX_OCCURRENCES + 1


def test_a_multiword_expression_is_a_target(wsd):
    """WordNet's compounds are asked about as people write them: "ice cream", "T-shirt", "hot dog"."""
    r = wsd.disambiguate("ice cream", ["Two ice creams, please.", "I love ice-cream on hot days."])
    occ = [s.occurrences[0] for s in r.results]
    assert [o.occurrence.text for o in occ] == ["ice creams", "ice-cream"]
    assert all(o.lemma == "ice_cream" and o.candidates[0].gloss.startswith("frozen dessert") for o in occ)
    food, show_off = (s.occurrences[0].candidates[0] for s in wsd.disambiguate("hot dog", [
        "I ate a hot dog with mustard at the game.",
        "He is such a hot dog on the ski slopes, always showing off."]).results)
    assert "frankfurter" in food.gloss and "stunts" in show_off.gloss
    shirts = wsd.disambiguate("T-shirt", ["She packed three T-shirts."]).results[0].occurrences[0]
    assert shirts.occurrence.text == "T-shirts" and shirts.lemma == "t-shirt"


def test_accents_and_invisible_characters_do_not_hide_the_target(wsd):
    r = wsd.disambiguate("café", ["We met at the cafe.", "The caf\u00e9 was busy.", "The \u200bcafe\u200b closed."])
    assert [len(s.occurrences) for s in r.results] == [1, 1, 1]
    assert all(s.occurrences[0].lemma == "cafe" for s in r.results)


def test_a_target_of_too_many_tokens_names_the_limit(wsd):
    from pipelines.wsd import MAX_TARGET_TOKENS

    with pytest.raises(InputError) as e:
        wsd.disambiguate("a b c d e f g h i", ["a b c d e f g h i"])
    assert e.value.code == "bad-target" and e.value.limit == MAX_TARGET_TOKENS and e.value.given == 9


def test_compounds_around_the_word_name_its_sense(wsd):
    """A date palm is a kind of palm the tree, a fish tank of tank the vessel: WordNet's compounds
    made with the neighbouring word, and their hypernyms, mark the candidates they belong to."""
    def marked(text, word):
        i = text.index(word)
        found = wsd.compounds(text, i, i + len(word), word)
        return [s.definition for s in wsd.sense_vectors(word).senses if s.synset in found]

    assert [d[:23] for d in marked("They rested in the shade of a date palm.", "palm")] == ["any plant of the family"]
    assert [d[:18] for d in marked("Our fish tank needs cleaning.", "tank")] == ["a large (usually m"]
    assert marked("I went to the bank today.", "bank") == []
    sv = wsd.sense_vectors("palm")
    rows = wsd.candidate_rows(sv, "n")
    tree = next(j for j, r in enumerate(rows) if sv.senses[r].definition.startswith("any plant"))
    text = "They rested in the shade of a date palm."
    i = text.index("palm")
    feats = wsd.features(sv, rows, np.zeros(wsd.encoder.hidden_size), np.zeros(wsd.encoder.hidden_size),
                         compound=wsd.compounds(text, i, i + 4, "palm"))
    from pipelines.wsd import FEATURES

    column = list(feats[:, FEATURES.index("compound")])
    assert column[tree] == 1.0 and sum(column) == 1.0


def test_split_similarity_and_the_palm_groups(comparer):
    from pipelines.senses import split_similarity

    sentences = ["She read the lines on his palm.", "He held the coin in the palm of his hand.",
                 "The palm swayed in the tropical breeze.", "Coconuts fell from the tall palm."]
    prep = comparer.prepare("palm", sentences)
    dis, inventory = prep.disambiguations, comparer.disambiguator.inventory
    assert split_similarity(prep.sims, dis, 0.0) is prep.sims
    mixed = split_similarity(prep.sims, dis, 1.0, inventory, 1)
    assert mixed.shape == prep.sims.shape and np.allclose(mixed, mixed.T)
    assert np.all(mixed <= 1.0 + 1e-9)
    # the hand pair and the tree pair come closer, the hand-tree pairs stay apart
    assert mixed[0, 1] - mixed[0, 2] > prep.sims[0, 1] - prep.sims[0, 2]
    c = comparer.compare("palm", sentences)
    assert [list(s.members) for s in c.senses] == [[0, 1], [2, 3]]
    assert "hand" in c.senses[0].sense.gloss and "Palmae" in c.senses[1].sense.gloss


def test_related_gloss_reads_the_relatives_and_is_at_least_the_own_gloss(real_pipelines, monkeypatch):
    import dataclasses

    import pipelines.wsd as wsd_module
    from pipelines.wsd import FEATURES, RELATED_HYPERNYMS, RELATED_HYPONYMS, Disambiguator

    w = real_pipelines.wsd
    assert w.params.weights["related_gloss"] != 0  # the shipped wsd.json uses the feature
    monkeypatch.setattr(wsd_module, "RELATED_CACHE", 6)
    d = Disambiguator(lemmatizer=w.lemmatizer, encoder=w.encoder, inventory=w.inventory, params=w.params,
                      cache_size=2, words=w.words)
    sv = d.sense_vectors("fly")
    rows = d.candidate_rows(sv, "n")
    insect = next(r for r in rows if "insect" in sv.senses[r].definition)
    hyper, hypo, _ = sv.senses[insect].related
    relatives = list(dict.fromkeys((*hyper[:RELATED_HYPERNYMS], *hypo[:RELATED_HYPONYMS])))
    assert sv.related_gloss[insect].shape == (len(relatives), w.encoder.hidden_size)
    # each row is the relative's own gloss, encoded as the disambiguator encodes glosses
    first = w.inventory.synset(relatives[0])
    own, _ = d.encode_hidden([first.gloss_text(first.lemma_names[0])], [[]])
    assert np.allclose(sv.related_gloss[insect][0].astype(np.float32), own[0], atol=2e-3)
    assert len(d._related) <= 6  # the shared cache of relatives' glosses is bounded
    sentence, _ = d.encode_hidden(["A fly keeps buzzing around the kitchen."], [[]])
    feats = d.features(sv, rows, sentence[0], np.zeros(w.encoder.hidden_size))
    g, rel = FEATURES.index("gloss"), FEATURES.index("related_gloss")
    assert (feats[:, rel] >= feats[:, g] - 1e-6).all()
    assert (feats[:, rel] > feats[:, g] + 1e-6).any()  # some relative's gloss is closer than the sense's own
    # without the feature's weight nothing is encoded for it and the column is the gloss again
    params = dataclasses.replace(w.params, weights={**w.params.weights, "related_gloss": 0.0})
    plain = Disambiguator(lemmatizer=w.lemmatizer, encoder=w.encoder, inventory=w.inventory, params=params,
                          words=w.words)
    sv0 = plain.sense_vectors("fly")
    assert sv0.related_gloss == () and not plain._related
    feats0 = plain.features(sv0, rows, sentence[0], np.zeros(w.encoder.hidden_size))
    assert np.allclose(feats0[:, rel], feats0[:, g])


def test_an_older_wsd_json_without_the_new_features_loads_them_at_weight_zero():
    import json

    from pipelines.loading import DEFAULT_WSD

    data = json.loads(DEFAULT_WSD.read_text())
    for name in ("align", "related_gloss"):
        del data["weights"][name]
    params = WsdParams.from_dict(data)
    assert params.weights["align"] == params.weights["related_gloss"] == 0.0
    assert params.uses_static_words  # lesk still reads GloVe
    data["weights"]["lesk"] = 0.0
    assert not WsdParams.from_dict(data).uses_static_words


# ----- naming the groups ------------------------------------------------------------------------------
def _occurrences(scores: list[dict[str, float]]):
    """Disambiguations whose candidates have these probabilities (synset -> score), one per sentence."""
    from pipelines.senses import Occurrence
    from pipelines.wsd import Candidate, Disambiguation, TargetOccurrence

    number = {"a": 1, "b": 2, "c": 3}
    dis, occ = [], []
    for k, row in enumerate(scores):
        cands = tuple(Candidate(sid, "n", number[sid], (sid,), f"gloss {sid}", "noun.artifact", p)
                      for sid, p in sorted(row.items(), key=lambda kv: -kv[1]))
        dis.append(Disambiguation(TargetOccurrence(k, 0, 0, 4, "word", "word", "NOUN", "n"), "word", cands))
        occ.append(Occurrence(k, "word", 0, 4, "word", "NOUN", 1, 0, cands[0]))
    return dis, occ


def test_groups_named_by_one_sense_merge_unless_distinct_names_are_cheap():
    from pipelines.senses import label_groups

    # group 0 clearly "a"; group 1 leans to "a" but "b" is a close second
    dis, occ = _occurrences([{"a": 0.8, "b": 0.1, "c": 0.1}, {"a": 0.7, "b": 0.2, "c": 0.1},
                             {"a": 0.45, "b": 0.4, "c": 0.15}, {"a": 0.5, "b": 0.35, "c": 0.15}])
    labels = [0, 0, 1, 1]
    merged, sense_of, note = label_groups(labels, dis, occ)  # the default: one name, one group
    assert len(merged) == 1 and merged[0].sense.synset == "a" and note is None
    assert set(sense_of.values()) == {0}
    kept, sense_of, note = label_groups(labels, dis, occ, distinct_loss=0.5)
    assert [(s.occurrences, s.sense.synset) for s in kept] == [((0, 1), "a"), ((2, 3), "b")]
    assert note is not None and "distinct" in note
    # each group's score is its members' mean probability of the name it was given
    assert kept[1].sense.score == round((0.4 + 0.35) / 2, 4)
    # the cost: (log .45 + log .5) - (log .4 + log .35) nats over 4 occurrences, about 0.12
    cost = (np.log(0.45) + np.log(0.5) - np.log(0.4) - np.log(0.35)) / 4
    assert len(label_groups(labels, dis, occ, distinct_loss=cost - 0.01)[0]) == 1
    assert len(label_groups(labels, dis, occ, distinct_loss=cost + 0.01)[0]) == 2


def test_distinct_names_need_a_sense_each_group_can_take():
    from pipelines.senses import label_groups

    # every occurrence has the one candidate "a" (a word WordNet gives one sense): always one group
    dis, occ = _occurrences([{"a": 1.0}] * 4)
    senses, _, note = label_groups([0, 0, 1, 1], dis, occ, distinct_loss=100.0)
    assert len(senses) == 1 and note is None
    # two groups that already have different names are left as they are
    dis, occ = _occurrences([{"a": 0.9, "b": 0.1}, {"a": 0.8, "b": 0.2}, {"a": 0.2, "b": 0.8}])
    senses, sense_of, note = label_groups([0, 0, 1], dis, occ, distinct_loss=1.0)
    assert [s.sense.synset for s in senses] == ["a", "b"] and note is None and sense_of == {0: 0, 1: 0, 2: 1}


def test_the_split_prefers_fewer_groups_by_the_penalty():
    from pipelines.senses import choose_split, spectral_splits

    splits = [(2, 0.30, [0, 0, 1, 1, 1]), (3, 0.36, [0, 0, 1, 1, 2]), (4, 0.37, [0, 1, 2, 2, 3])]
    assert choose_split(splits) == (0.37, [0, 1, 2, 2, 3])  # silhouette alone
    assert choose_split(splits, 0.02) == (0.36, [0, 0, 1, 1, 2])  # 0.36 - 0.02 > 0.37 - 0.04, > 0.30
    assert choose_split(splits, 0.1) == (0.30, [0, 0, 1, 1, 1])  # the chosen split keeps its own silhouette
    assert choose_split([]) is None
    # two tight pairs and a fifth point far from both: every k is tried and reported
    x = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0.14, 0.99, 0], [0, 0, 1]], dtype=float)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    found = spectral_splits(x @ x.T)
    assert [k for k, _, _ in found] == [2, 3, 4]
    k3 = next(labels for k, _, labels in found if k == 3)
    assert k3[0] == k3[1] and k3[2] == k3[3] and len({k3[0], k3[2], k3[4]}) == 3
    assert spectral_splits(np.eye(2)) == []  # fewer than three occurrences: no split to choose
