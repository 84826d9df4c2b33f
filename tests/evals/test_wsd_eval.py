"""The WordNet WSD evaluation's own arithmetic (no models): the conditional logit, scores, splits."""

from __future__ import annotations

import numpy as np

from evals.wic import WicPair
from evals.wsd import WsdItem, choose_frequency_prior, fit_weights, frequency_weights, grouping_cosine, lemma_split, \
    wsd_scores
from pipelines.wsd import FEATURES


def _items(n: int, seed: int = 0) -> list[WsdItem]:
    """Candidates whose 'gloss' feature is higher for the gold one (noisy); other features are noise."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        c = int(rng.integers(2, 6))
        gold = int(rng.integers(c))
        f = rng.normal(0, 0.1, (c, len(FEATURES)))
        f[gold, 0] += 0.15
        out.append(WsdItem("w", "nvar"[i % 4], gold, 0, f, np.zeros(c)))
    return out


def test_fit_weights_finds_the_informative_feature():
    w = fit_weights(_items(400))
    assert w["gloss"] > 3 * max(abs(w[k]) for k in FEATURES if k != "gloss")


def test_scores_against_baselines():
    items = _items(300, seed=1)
    w = fit_weights(items)
    s = wsd_scores(items, w)
    assert s["all"]["n"] == 300 and set(s) >= {"all", "n", "v", "a", "r"}
    assert s["all"]["accuracy"] > s["all"]["random"] + 0.1
    first = np.mean([it.gold == it.first for it in items])
    assert abs(s["all"]["first_sense"] - first) < 1e-4
    # a frequency prior that favours candidate 0 moves answers towards it
    boosted = [WsdItem(it.lemma, it.pos, it.gold, it.first, it.features, np.r_[1e6, np.zeros(len(it.counts) - 1)])
               for it in items]
    assert wsd_scores(boosted, w, frequency_prior=1.0)["all"]["accuracy"] == round(
        float(np.mean([it.gold == 0 for it in items])), 4)


def test_lemma_split_keeps_wic_lemmas_on_their_side():
    pair = lambda t: WicPair(t, "n", "a", (0, 1), "b", (0, 1), 1, "x", "x")  # noqa: E731
    wic = {"dev": [pair("bank")], "test": [pair("bass")]}
    dev, test = lemma_split(["bank", "bass", "crane", "mole", "seal", "bark"], wic)
    assert "bank" in dev and "bass" in test and not dev & test
    assert dev | test == {"bank", "bass", "crane", "mole", "seal", "bark"}


def test_grouping_cosine_mixes_unit_vectors():
    t = np.array([[1.0, 0.0]])
    s = np.array([[0.0, 1.0]])
    assert np.allclose(grouping_cosine(t, t, s, s, 0.5), 1.0)
    assert np.allclose(grouping_cosine(t, t, s, -s, 1.0), 0.0)


def test_frequency_weights_follow_the_smoothed_counts():
    f = np.zeros((2, len(FEATURES)))
    counts = np.array([9.0, 0.0])  # add-one: shares 10/11 and 1/11
    items = [WsdItem("w", "n", 0, 0, f, counts), WsdItem("w", "n", 0, 0, f, counts), WsdItem("w", "n", 1, 0, f, counts),
             WsdItem("v", "n", 0, 0, f, np.array([0.0, 0.0]))]
    w = frequency_weights(items)
    assert np.allclose(w[:3], [10 / 11 / 2 * 3, 10 / 11 / 2 * 3, 1 / 11 * 3])
    assert np.isclose(w[:3].sum(), 3) and np.isclose(w[3], 1.0)  # each lemma keeps its weight
    s = wsd_scores(items, {k: 0.0 for k in FEATURES})  # ties: argmax picks candidate 0
    assert s["all"]["accuracy"] == 0.75 and s["all"]["frequency_weighted"] == round((30 / 11 + 1) / 4, 4)


def test_frequency_prior_is_chosen_per_part_of_speech():
    rng = np.random.default_rng(3)
    items = []
    for i in range(200):  # nouns: the frequent sense is usually gold; verbs: the counts say nothing
        pos = "n" if i % 2 else "v"
        f = rng.normal(0, 0.1, (3, len(FEATURES)))
        counts = np.array([50.0, 1.0, 0.0]) if pos == "n" else np.array([0.0, 0.0, 50.0])
        gold = 0 if (pos == "n" and rng.random() < 0.8) else int(rng.integers(2))
        f[gold, 0] += 0.1
        items.append(WsdItem("w%d" % i, pos, gold, 0, f, counts))
    w = fit_weights(items)
    beta, table = choose_frequency_prior(items, w)
    assert beta["n"] > 0 and beta["v"] == 0.0
    assert set(table) == {"n", "v"} and "frequency_weighted" in table["n"]["0.0"]


def test_case_rule_drops_proper_names_for_lower_case():
    f = np.zeros((2, len(FEATURES)))
    f[1, 0] = 1.0  # the proper-name candidate scores higher
    it = WsdItem("w", "n", 0, 0, f, np.zeros(2), np.array([False, True]))
    w = {k: float(k == "gloss") for k in FEATURES}
    assert wsd_scores([it], w)["all"]["accuracy"] == 0.0
    assert wsd_scores([it], w, case_rule=True)["all"]["accuracy"] == 1.0


def test_parameters_file_is_written(tmp_path):
    import json

    from evals.wsd import _atomic_json

    _atomic_json(tmp_path / "wsd.json", {"format": "wsd-v1", "frequency_prior": {"n": 0.1}})
    assert json.loads((tmp_path / "wsd.json").read_text())["frequency_prior"] == {"n": 0.1}


def test_same_supersense_homonyms_share_no_close_hypernym():
    """The WordNet grouping set's third kind of case: a diamond ring and a boxing ring (both
    noun.artifact) have no hypernym in common up to three levels; two slopes of 'bank' do."""
    from pipelines.loading import DEFAULT_WORDNET
    from pipelines.wordnet import SenseInventory

    inv = SenseInventory.load(DEFAULT_WORDNET)
    jewel, boxing = inv.ancestors("04092609-n"), inv.ancestors("04092959-n")
    assert "04092609-n" in jewel and len(jewel) > 1 and not jewel & boxing
    assert inv.ancestors("09213565-n") & inv.ancestors("09213828-n")  # river bank, banked turn: slopes


def test_homonym_check_sets_name_real_senses_of_their_words():
    """bench/data/homonyms.json: every synset a check accepts is a WordNet sense of its word, and each
    word has two senses of three sentences that contain it."""
    import json
    from pathlib import Path

    from pipelines.loading import DEFAULT_WORDNET
    from pipelines.wordnet import SenseInventory

    inv = SenseInventory.load(DEFAULT_WORDNET)
    data = json.loads((Path(__file__).resolve().parents[2] / "bench" / "data" / "homonyms.json").read_text())
    assert sorted(data["sets"]) == ["1", "2", "3", "4", "5"]
    for number, block in data["sets"].items():
        assert len(block["words"]) == 10, number
        for word, senses in block["words"].items():
            known = {s.synset for s in inv.senses(word)}
            assert len(senses) == 2 and all(len(s["sentences"]) == 3 for s in senses), (number, word)
            for s in senses:
                assert set(s["synsets"]) <= known, (number, word, s["synsets"])
                assert all(word[:3] in t.lower() for t in s["sentences"]), (number, word)
