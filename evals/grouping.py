"""(c) Coarse grouping on WordNet, the silhouette floor chosen on dev lemmas, and per-query latency.

Coarse set, built from WordNet alone: for a (lemma, part of speech) whose example sentences (those
containing the lemma) fall in two or more lexicographer files, a seeded sample of up to 8 of them
labelled by lexname; ``SenseComparer.compare`` groups them with k chosen automatically (the
examples themselves are excluded from the disambiguation's example feature). Adjusted Rand index
against the lexname labels (first occurrence per sentence). Lemmas with a single sense and two or
more examples must come back as one group. A third kind of case, homonyms inside one supersense:
two senses of a (lemma, pos) in the same lexicographer file whose hypernyms up to three levels
up have nothing in common (a diamond *ring* and a boxing *ring* are both ``noun.artifact``), up to
4 examples each, which must come back as two groups. The knobs of the one-group decision (a
silhouette floor for the spectral split, how close a shared supersense must come to each
occurrence's most probable one, and whether one shared supersense alone makes one group) are
chosen on dev lemmas by the mean ARI of the three sets; test lemmas are reported with them and
without.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class GroupingCase:
    lemma: str
    pos: str
    sentences: list[str]
    labels: list[str]  # lexname per sentence
    synsets: list[str] | None = None  # the WordNet sense of each sentence (the example's own synset)
    prepared: object | None = None  # SenseComparer.prepare's output
    first: list[int] | None = None  # per sentence, the index of its first occurrence
    splits: dict | None = None  # (split weight, split depth) -> spectral_splits of the occurrences


def coarse_cases(dis, keys: Sequence[tuple[str, str]], *, per_lemma: int = 8, seed: int = 13,  # noqa: ANN001
                 multi: bool = True) -> list[GroupingCase]:
    """``multi``: lemmas whose examples span 2+ lexnames; else lemmas with exactly one sense."""
    rng = random.Random(seed)
    out = []
    for lemma, pos in keys:
        senses = dis.inventory.senses(lemma)
        if multi:
            if len({s.lexname for s in senses if s.pos == pos and s.examples}) < 2:
                continue  # cheap check before encoding anything
            sv = dis.sense_vectors(lemma)
            pairs = [(t, sv.senses[r].lexname, sv.senses[r].synset) for r in range(len(sv.senses))
                     if sv.senses[r].pos == pos for t in sv.example_text[r]]
            texts = [p[0] for p in pairs]
            pairs = [p for p in pairs if texts.count(p[0]) == 1]
            if len({p[1] for p in pairs}) < 2:
                continue
        else:
            if len(senses) != 1 or len(senses[0].examples) < 2:
                continue
            sv = dis.sense_vectors(lemma)
            pairs = [(t, senses[0].lexname, senses[0].synset) for t in sv.example_text[0]]
            if len(pairs) < 2:
                continue
        if len(pairs) > per_lemma:
            pairs = rng.sample(pairs, per_lemma)
        out.append(GroupingCase(lemma, pos, [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]))
    return out


def homonym_cases(dis, keys: Sequence[tuple[str, str]], *, per_sense: int = 4, seed: int = 13  # noqa: ANN001
                  ) -> list[GroupingCase]:
    """Two unrelated senses in one supersense (see the module's docstring): the first such pair in
    WordNet's sense order, each with 2+ examples that contain the lemma; labelled by synset."""
    rng = random.Random(seed)
    out = []
    for lemma, pos in keys:
        senses = [s for s in dis.inventory.senses(lemma, pos) if len(s.examples) >= 2]
        by_lex: dict[str, int] = {}
        for s in senses:
            by_lex[s.lexname] = by_lex.get(s.lexname, 0) + 1
        if max(by_lex.values(), default=0) < 2:
            continue  # cheap check before encoding anything
        sv = dis.sense_vectors(lemma)
        texts = [t for r in range(len(sv.senses)) for t in sv.example_text[r]]
        usable = {r: [t for t in sv.example_text[r] if texts.count(t) == 1] for r in range(len(sv.senses))
                  if sv.senses[r].pos == pos}
        rows = [r for r, ts in usable.items() if len(ts) >= 2]
        pair = next(((a, b) for i, a in enumerate(rows) for b in rows[i + 1:]
                     if sv.senses[a].lexname == sv.senses[b].lexname
                     and not dis.inventory.ancestors(sv.senses[a].synset)
                     & dis.inventory.ancestors(sv.senses[b].synset)), None)
        if pair is None:
            continue
        sentences, labels = [], []
        for r in pair:
            chosen = usable[r] if len(usable[r]) <= per_sense else rng.sample(usable[r], per_sense)
            sentences += chosen
            labels += [sv.senses[r].synset] * len(chosen)
        out.append(GroupingCase(lemma, pos, sentences, labels, list(labels)))
    return out


# The spectral split's weight of p(same sense) and its depth (0 the same synset, d hypernyms meeting
# within d levels). Only the cosine by default: the dev grid prefers weight 1, depth 1 (the WordNet
# sets are labelled by synset and supersense, what p(same synset) estimates), but on everyday
# homonyms written after it (bench/homonyms.py --set 4) it lowered the mean ARI from 0.800 to 0.735
# (BENCHMARKS.md). Explore with --split-weights 0 0.5 1 2 --split-depths 0 1 2.
SPLIT_WEIGHTS: tuple[float, ...] = (0.0,)
SPLIT_DEPTHS: tuple[int, ...] = (0,)
# Naming (``pipelines.senses.label_groups``): how many nats per occurrence distinct names may cost
# before two groups whose best sense is one synset are merged (0: always merged). Merged by default:
# the dev grid over 0 0.05 0.1 0.25 0.5 1 2 prefers 1 (test ARI after naming, supersense cases 0.224
# -> 0.228, same-supersense homonyms 0.224 -> 0.282), but on the everyday homonyms of
# bench/homonyms.py it split bat, pen, club, organ and nail into 3-4 named groups (mean ARI over
# the five sets 0.833 -> 0.822; BENCHMARKS.md), as the split weight above did. Explore with
# --distinct-losses 0 0.1 0.5 1.
DISTINCT_LOSSES: tuple[float, ...] = (0.0,)
# The spectral split's k (2..4): the best silhouette less this much per group beyond two.
K_PENALTIES: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2)


def run_cases(comparer, cases: Sequence[GroupingCase], *, log=None,  # noqa: ANN001
              weights: Sequence[float] = SPLIT_WEIGHTS, depths: Sequence[int] = SPLIT_DEPTHS) -> None:
    """Disambiguate and embed each case's occurrences once (the grouping rules are applied afterwards)."""
    from pipelines.senses import spectral_splits, split_similarity

    t0 = time.perf_counter()
    for n, case in enumerate(cases):
        prep = comparer.prepare(case.lemma, case.sentences, exclude=frozenset(case.sentences))
        first = {o.sentence: i for i, o in reversed(list(enumerate(prep.occurrences)))}
        case.prepared = prep
        case.splits = {(w, d): spectral_splits(split_similarity(prep.sims, prep.disambiguations, w,
                                                                comparer.disambiguator.inventory, d))
                       for w in weights for d in (depths if w > 0 else (0,))}
        case.first = [first[k] for k in range(len(case.sentences))]
        if log and (n + 1) % 50 == 0:
            log(f"grouping: {n + 1}/{len(cases)} ({time.perf_counter() - t0:.0f} s)")


def predict(case: GroupingCase, params, *, named: bool = True) -> list[int]:  # noqa: ANN001
    """The group of each sentence (its first occurrence's): after naming, as the service returns them
    (``named``), or the split's own labels."""
    if named:
        _, sense_of = named_groups(case, params)
        return [sense_of[i] for i in case.first or []]
    from pipelines.senses import group_occurrences

    prep = case.prepared
    labels, _, _ = group_occurrences(prep.sims, prep.disambiguations, params,  # type: ignore[union-attr]
                                     split=_split(case, params))
    return [labels[i] for i in case.first or []]


def named_groups(case: GroupingCase, params) -> tuple[tuple, dict[int, int]]:  # noqa: ANN001
    """The service's groups of every occurrence (``pipelines.sense_groups.group_and_name``, the split
    computed once by ``run_cases``) and each occurrence's group."""
    from pipelines.senses import group_and_name

    prep = case.prepared
    senses, sense_of, _, _ = group_and_name(prep.sims, prep.disambiguations,  # type: ignore[union-attr]
                                            prep.occurrences, params, split=_split(case, params))  # type: ignore[union-attr]
    return senses, sense_of


def _split(case: GroupingCase, params) -> list | None:  # noqa: ANN001
    key = (params.split_wsd_weight, params.split_coarse_depth if params.split_wsd_weight > 0 else 0)
    return (case.splits or {}).get(key)


def group_senses(senses, dis) -> list:  # noqa: ANN001
    """Per occurrence, its group's WordNet sense (the most probable for the group's occurrences
    together: one sense per group, like Yarowsky's one sense per discourse) when that sense is among
    its candidates; else its own most probable sense."""
    out = [d.candidates[0] if d.candidates else None for d in dis]
    for s in senses:
        for i in s.occurrences if s.sense is not None else ():
            mine = next((c for c in dis[i].candidates if c.synset == s.sense.synset), None)
            out[i] = mine or out[i]
    return out


def sense_scores(cases: Sequence[GroupingCase], params) -> dict[str, float]:  # noqa: ANN001
    """Is each sentence's WordNet sense (its first occurrence's) the example's own synset: read alone
    (the most probable for the sentence, what the service shows) and, as an alternative measured and
    not shipped, the sense of the group the comparison put it in (``group_senses``)?"""
    alone = grouped = n = 0
    for c in cases:
        dis = c.prepared.disambiguations  # type: ignore[union-attr]
        senses, _ = named_groups(c, params)
        shown = group_senses(senses, dis)
        for k, i in enumerate(c.first or []):
            gold = (c.synsets or [])[k]
            alone += bool(dis[i].candidates) and dis[i].candidates[0].synset == gold
            grouped += shown[i] is not None and shown[i].synset == gold  # type: ignore[union-attr]
            n += 1
    return {"sentences": n, "top_sense_alone": round(alone / max(n, 1), 4),
            "top_sense_grouped": round(grouped / max(n, 1), 4)}


def ari_scores(cases: Sequence[GroupingCase], params, *, named: bool = True) -> dict[str, float]:  # noqa: ANN001
    from sklearn.metrics import adjusted_rand_score

    aris, exact = [], 0
    for c in cases:
        pred = predict(c, params, named=named)
        if len(set(c.labels)) == 1:
            ok = len(set(pred)) == 1
            aris.append(1.0 if ok else 0.0)
        else:
            aris.append(float(adjusted_rand_score(c.labels, pred)))
            ok = aris[-1] > 0.999
        exact += ok
    return {"n": len(cases), "ari": round(float(np.mean(aris)), 4) if aris else float("nan"),
            "exact": exact, "exact_fraction": round(exact / max(len(cases), 1), 4)}


def choose_rules(multi: Sequence[GroupingCase], single: Sequence[GroupingCase], params,  # noqa: ANN001
                 homonyms: Sequence[GroupingCase] = (),
                 floors: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
                 ratios: Sequence[float] = (1.0, 0.75, 0.5, 0.35, 0.25),
                 rules: Sequence[bool] = (True, False), weights: Sequence[float] = SPLIT_WEIGHTS,
                 depths: Sequence[int] = SPLIT_DEPTHS, losses: Sequence[float] = DISTINCT_LOSSES,
                 penalties: Sequence[float] = K_PENALTIES
                 ) -> tuple[tuple[float, float, bool, float, int, float, float], dict]:
    """The (lexname ratio, silhouette floor, supersense rule, split weight, split depth, distinct-names
    loss, k penalty) maximising the mean of the dev sets' mean ARI (ties: the rule on, the stricter
    ratio, the lowest floor, the lowest weight, the lowest depth, the lowest loss, the lowest penalty)."""
    from dataclasses import replace

    table = {}
    for rule, w, d, x, kp in ((rule, w, d, x, kp) for rule in rules for w in weights
                              for d in (depths if w > 0 else (0,)) for x in losses for kp in penalties):
        for r in ratios:
            for f in floors:
                q = replace(params, silhouette_min=f, lexname_ratio=r, lexname_rule=rule, split_wsd_weight=w,
                            split_coarse_depth=d, distinct_loss=x, k_penalty=kp)
                a, b = ari_scores(multi, q), ari_scores(single, q)
                aris = [a["ari"], b["ari"]]
                row = {"multi_ari": a["ari"], "one_sense_exact": b["exact_fraction"]}
                if homonyms:
                    c = ari_scores(homonyms, q)
                    aris.append(c["ari"])
                    row["same_supersense_homonyms_ari"] = c["ari"]
                table[f"rule {rule} split weight {w} depth {d} distinct loss {x} k penalty {kp} ratio {r} "
                      f"floor {f}"] = {
                    **row, "mean": round(float(np.mean(aris)), 4), "ratio": r, "floor": f, "lexname_rule": rule,
                    "split_wsd_weight": w, "split_coarse_depth": d, "distinct_loss": x, "k_penalty": kp}
    best = max(table.values(), key=lambda t: (t["mean"], t["lexname_rule"], t["ratio"], -t["floor"],
                                              -t["split_wsd_weight"], -t["split_coarse_depth"], -t["distinct_loss"],
                                              -t["k_penalty"]))
    return (best["ratio"], best["floor"], best["lexname_rule"], best["split_wsd_weight"],
            best["split_coarse_depth"], best["distinct_loss"], best["k_penalty"]), table


def latency(dis, target: str, sentence: str, *, runs: int = 30) -> dict[str, float]:  # noqa: ANN001
    """Disambiguating one sentence with a warm cache: p50 and p90 in milliseconds."""
    dis.disambiguate(target, [sentence])  # warm the lemma's sense vectors
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        dis.disambiguate(target, [sentence])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    enc = []  # the encoder's forward pass alone, for scale (the machine's load moves both)
    for _ in range(runs):
        t0 = time.perf_counter()
        dis.encoder.encode([sentence])
        enc.append((time.perf_counter() - t0) * 1000)
    return {"target": target, "senses": len(dis.inventory.senses(target)), "runs": runs,
            "p50_ms": round(statistics.median(times), 1), "p90_ms": round(times[int(0.9 * (runs - 1))], 1),
            "encoder_forward_p50_ms": round(statistics.median(enc), 1)}


def single_sense_keys(inventory, lemmas: set[str]) -> list[tuple[str, str]]:  # noqa: ANN001
    out = []
    for lemma in sorted(lemmas):
        if "_" in lemma or "-" in lemma:
            continue
        senses = inventory.senses(lemma)
        if len(senses) == 1 and len(senses[0].examples) >= 2:
            out.append((lemma, senses[0].pos))
    return out


def group_main(argv: list[str] | None = None) -> int:
    """(c) on WordNet: choose the silhouette floor on dev lemmas, report test; latency. Updates wsd.json."""
    import argparse
    import json
    from pathlib import Path

    import torch

    from evals.wic import DEFAULT_CACHE, DEFAULT_SEED, load_wic
    from evals.wsd import _atomic_json, _log, eval_components, lemma_split, polysemous_keys
    from pipelines.loading import DEFAULT_WSD
    from pipelines.senses import SenseComparer
    from pipelines.wsd import Disambiguator, WsdParams

    p = argparse.ArgumentParser(prog="lexiflow eval senses --wordnet --stage group")
    p.add_argument("--out", type=Path, default=DEFAULT_WSD)
    p.add_argument("--dev-cases", type=int, default=150)
    p.add_argument("--test-cases", type=int, default=250)
    p.add_argument("--single-cases", type=int, default=100, help="one-sense lemmas per split")
    p.add_argument("--homonym-cases", type=int, default=100,
                   help="homonyms inside one supersense per split (fewer when WordNet has fewer)")
    p.add_argument("--split-weights", type=float, nargs="+", default=list(SPLIT_WEIGHTS),
                   help="weights of p(same sense) in the spectral split for the dev grid (default: 0, the cosine)")
    p.add_argument("--split-depths", type=int, nargs="+", default=list(SPLIT_DEPTHS),
                   help="hypernym depths at which two synsets count as one sense, for the dev grid (default 0)")
    p.add_argument("--distinct-losses", type=float, nargs="+", default=list(DISTINCT_LOSSES),
                   help="nats per occurrence distinct group names may cost before groups named by one sense "
                        "are merged, for the dev grid (default: %(default)s)")
    p.add_argument("--k-penalties", type=float, nargs="+", default=list(K_PENALTIES),
                   help="silhouette subtracted per group beyond two when the split's k is chosen, for the dev grid "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--threads", type=int, default=1)
    args, _ = p.parse_known_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config = json.loads(args.out.read_text(encoding="utf-8"))
    params = WsdParams.from_dict(config, source=str(args.out))
    from pipelines.lesk import WordBags

    encoder, lemmatizer, inventory, glove = eval_components(args.threads)
    dis = Disambiguator(lemmatizer=lemmatizer, encoder=encoder, inventory=inventory, params=params, cache_size=64,
                        words=WordBags(glove, a=params.lesk_a) if params.uses_static_words else None)
    comparer = SenseComparer(lemmatizer=lemmatizer, encoder=encoder, disambiguator=dis)
    dev_lemmas, test_lemmas = lemma_split(inventory.lemmas(), load_wic(DEFAULT_CACHE, seed=args.seed),
                                          seed=args.seed)
    rng = random.Random(args.seed)
    sets = {}
    for split, lemmas, n_multi in (("dev", dev_lemmas, args.dev_cases), ("test", test_lemmas, args.test_cases)):
        keys = polysemous_keys(inventory, lemmas)
        rng.shuffle(keys)
        multi: list[GroupingCase] = []
        for start in range(0, len(keys), 50):  # only lemmas whose examples span 2+ lexnames qualify
            multi += coarse_cases(dis, keys[start:start + 50], seed=args.seed)
            if len(multi) >= n_multi:
                break
        multi = multi[:n_multi]
        singles = single_sense_keys(inventory, lemmas)
        single = coarse_cases(dis, rng.sample(singles, min(len(singles), 3 * args.single_cases)), seed=args.seed,
                              multi=False)[: args.single_cases]
        homonyms: list[GroupingCase] = []
        for start in range(0, len(keys), 200):
            homonyms += homonym_cases(dis, keys[start:start + 200], seed=args.seed)
            if len(homonyms) >= args.homonym_cases:
                break
        homonyms = homonyms[: args.homonym_cases]
        _log(f"grouping {split}: {len(multi)} multi-supersense cases, {len(single)} one-sense cases, "
             f"{len(homonyms)} same-supersense homonym cases")
        run_cases(comparer, multi + single + homonyms, log=_log, weights=args.split_weights, depths=args.split_depths)
        sets[split] = (multi, single, homonyms)
    from dataclasses import replace

    (ratio, floor, rule, weight, depth, loss, penalty), table = choose_rules(
        *sets["dev"][:2], params, homonyms=sets["dev"][2], weights=args.split_weights, depths=args.split_depths,
        losses=args.distinct_losses, penalties=args.k_penalties)
    chosen = replace(params, silhouette_min=floor, lexname_ratio=ratio, lexname_rule=rule, split_wsd_weight=weight,
                     split_coarse_depth=depth, distinct_loss=loss, k_penalty=penalty)
    merged = replace(chosen, distinct_loss=0.0)
    unpenalised = replace(chosen, k_penalty=0.0)
    plain = replace(params, silhouette_min=-1.0, lexname_ratio=1.0, split_wsd_weight=0.0)
    cosine_split = replace(chosen, split_wsd_weight=0.0)
    flipped = replace(chosen, lexname_rule=not rule)
    test_multi, test_single, test_homonyms = sets["test"]
    coarse = {"silhouette_min": floor, "lexname_ratio": ratio, "lexname_rule": rule, "split_wsd_weight": weight,
              "split_coarse_depth": depth, "distinct_loss": loss, "k_penalty": penalty,
              "dev_grid": table,
              "test": {"multi_supersense": ari_scores(test_multi, chosen), "one_sense": ari_scores(test_single, chosen),
                       "same_supersense_homonyms": ari_scores(test_homonyms, chosen),
                       "split_on_cosine_alone": {"multi_supersense": ari_scores(test_multi, cosine_split),
                                                 "one_sense": ari_scores(test_single, cosine_split),
                                                 "same_supersense_homonyms": ari_scores(test_homonyms, cosine_split)},
                       "k_by_silhouette_alone": {
                           "multi_supersense": ari_scores(test_multi, unpenalised),
                           "one_sense": ari_scores(test_single, unpenalised),
                           "same_supersense_homonyms": ari_scores(test_homonyms, unpenalised)},
                       "groups_with_one_name_always_merged": {
                           "multi_supersense": ari_scores(test_multi, merged), "one_sense": ari_scores(test_single, merged),
                           "same_supersense_homonyms": ari_scores(test_homonyms, merged)},
                       "split_labels_before_naming": {
                           "multi_supersense": ari_scores(test_multi, chosen, named=False),
                           "one_sense": ari_scores(test_single, chosen, named=False),
                           "same_supersense_homonyms": ari_scores(test_homonyms, chosen, named=False)},
                       "multi_supersense_rules_off": ari_scores(test_multi, plain),
                       "one_sense_rules_off": ari_scores(test_single, plain),
                       f"lexname_rule_{not rule}": {"multi_supersense": ari_scores(test_multi, flipped),
                                                    "one_sense": ari_scores(test_single, flipped),
                                                    "same_supersense_homonyms": ari_scores(test_homonyms, flipped)}},
              "sense_of_each_sentence": {split: {"multi_supersense": sense_scores(sets[split][0], chosen),
                                                 "same_supersense_homonyms": sense_scores(sets[split][2], chosen)}
                                         for split in ("dev", "test")},
              "cases": {"per_lemma_max_examples": 8, "dev": [len(x) for x in sets["dev"]],
                        "test": [len(x) for x in sets["test"]]}}
    dis.params = chosen
    lat = [latency(dis, w, s) for w, s in (("bank", "I deposited my salary at the bank this morning."),
                                           ("bass", "He plays the bass in a jazz band."),
                                           ("crane", "The crane lifted the steel beam onto the roof."))]
    config["grouping"]["silhouette_min"] = floor
    config["grouping"]["lexname_ratio"] = ratio
    config["grouping"]["lexname_rule"] = rule
    config["grouping"]["split_wsd_weight"] = weight
    config["grouping"]["split_coarse_depth"] = depth
    config["grouping"]["distinct_loss"] = loss
    config["grouping"]["k_penalty"] = penalty
    config.setdefault("metrics", {})["coarse"] = coarse
    config["metrics"]["latency"] = {"one_sentence_warm_cache": lat, "torch_threads": args.threads}
    config["data_card"]["grouping_seconds"] = round(time.perf_counter() - started, 1)
    _atomic_json(args.out, config)
    print(json.dumps({"coarse": coarse, "latency": lat}, indent=1))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(group_main())
