"""Grouping a word's occurrences into senses, and naming each group by a WordNet sense
(``pipelines.senses`` shows the result; ``evals.grouping`` scores it on WordNet with the same
``group_and_name``, so the evaluation measures the groups the service returns).

- one group when all occurrences' most probable WordNet senses are one synset (or, with the rule
  on, share a supersense);
- otherwise spectral clustering of the occurrence vectors, k from 2 to 4 by silhouette, one group
  when no split's silhouette reaches the floor;
- each group named by the sense most probable over its members; groups named by one synset merged
  (or given distinct senses, ``distinct_loss``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pipelines.wsd import Candidate, Disambiguation, WsdParams


class _Placed(Protocol):
    sentence: int  # the sentence an occurrence is in


@dataclass(frozen=True, slots=True)
class Sense:
    id: int
    members: tuple[int, ...]  # sentence indices (sorted, distinct)
    label: str | None  # from labelled examples, when given
    occurrences: tuple[int, ...] = ()  # indices into SenseComparison.occurrences
    sense: Candidate | None = None  # the WordNet sense most probable over the members (score: mean probability)


def group_and_name(sims: np.ndarray, dis: Sequence[Disambiguation], occ: Sequence[_Placed], params: WsdParams, *,
                   split: list[tuple[int, float, list[int]]] | None = None, inventory: Any = None
                   ) -> tuple[tuple[Sense, ...], dict[int, int], str, float | None]:
    """The named groups (``label_groups`` of ``group_occurrences``), each occurrence's group, how
    they were made, and the split's silhouette."""
    labels, method, silhouette = group_occurrences(sims, dis, params, split=split, inventory=inventory)
    senses, sense_of, distinct = label_groups(labels, dis, occ, distinct_loss=params.distinct_loss)
    if len(senses) < len(set(labels)):
        method += (f"; its {len(set(labels))} groups named by {len(senses)} WordNet sense"
                   f"{'s' if len(senses) != 1 else ''}, and groups with one name merged")
    elif distinct:
        method += f"; {distinct}"
    return senses, sense_of, method, silhouette


def group_occurrences(sims: np.ndarray, dis: Sequence[Disambiguation], params: WsdParams,
                      split: list[tuple[int, float, list[int]]] | None = None, inventory: Any = None
                      ) -> tuple[list[int], str, float | None]:
    """Group labels per occurrence, how k was decided, and the silhouette of the chosen k.
    ``split``: ``spectral_splits(...)`` of the occurrences when already computed."""
    n = sims.shape[0]
    if n == 1:
        return [0], "one occurrence", None
    if all(d.candidates for d in dis):
        tops = [d.candidates[0] for d in dis]
        if len({c.synset for c in tops}) == 1:
            return [0] * n, "one group: every occurrence's most probable WordNet sense is the same synset", None
        if params.lexname_rule and len({c.lexname for c in tops}) == 1:
            return [0] * n, (f"one group: every occurrence's most probable WordNet sense is in "
                             f"{tops[0].lexname}"), None
        shared = _shared_lexname(dis, params.lexname_ratio)
        if shared is not None:
            return [0] * n, (f"one group: {shared} is at least {params.lexname_ratio:g} x the most probable "
                             "supersense of every occurrence"), None
    if n == 2:
        if all(d.candidates for d in dis):
            return [0, 1], "two occurrences with different WordNet senses", None
        same = bool(sims[0, 1] >= params.threshold)  # not in WordNet: the WiC-calibrated threshold decides
        return [0, 0] if same else [0, 1], (f"cosine {sims[0, 1]:.2f} {'>=' if same else '<'} the calibrated "
                                            f"threshold {params.threshold:.2f} (the word is not in WordNet)"), None
    splits = split if split is not None else spectral_splits(split_similarity(
        sims, dis, params.split_wsd_weight, inventory, params.split_coarse_depth))
    best = choose_split(splits, params.k_penalty)
    if best is None or best[0] < params.silhouette_min:
        return [0] * n, "one group: no split with a silhouette above the floor", None if best is None else best[0]
    how = "silhouette" if not params.k_penalty else f"silhouette less {params.k_penalty:g} per group beyond 2"
    return best[1], f"spectral clustering, k = {len(set(best[1]))} by {how} (k = 2..4)", best[0]


def split_similarity(sims: np.ndarray, dis: Sequence[Disambiguation], weight: float, inventory: Any = None,
                     depth: int = 0) -> np.ndarray:
    """What the spectral split reads: the occurrences' cosine, or with ``weight`` > 0
    ``(cosine + weight x p(same sense)) / (1 + weight)``, so that two occurrences the disambiguation
    gives different senses are pulled apart and two it gives one sense are drawn together; the same
    sense is the same synset, or with ``depth`` > 0 the same coarse sense (``_same_synset``)."""
    if weight <= 0 or not all(d.candidates for d in dis):
        return sims
    return (sims + weight * _same_synset(dis, inventory, depth)) / (1.0 + weight)


def choose_split(splits: Sequence[tuple[int, float, list[int]]], k_penalty: float = 0.0
                 ) -> tuple[float, list[int]] | None:
    """The split with the best silhouette less ``k_penalty`` per group beyond two (a preference for
    fewer groups, like an information criterion's penalty): (its own silhouette, labels)."""
    best: tuple[float, float, list[int]] | None = None
    for k, score, labels in splits:
        penalised = score - k_penalty * (k - 2)
        if best is None or penalised > best[0] + 1e-9:
            best = (penalised, score, labels)
    return None if best is None else (best[1], best[2])


def spectral_splits(sims: np.ndarray, max_k: int = 4) -> list[tuple[int, float, list[int]]]:
    """Spectral clustering of the occurrences for k = 2..max_k (affinity: a Gaussian of the cosine
    distance, width the median distance): (k, silhouette, labels) for each k that gave k groups."""
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import silhouette_score

    n = sims.shape[0]
    if n < 3:
        return []
    dist = np.clip(1.0 - sims, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    sigma = max(float(np.median(dist[np.triu_indices(n, k=1)])), 1e-3)
    affinity = np.exp(-(dist**2) / (2 * sigma**2))
    out = []
    for k in range(2, min(max_k, n - 1) + 1):
        labels = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=0,
                                    assign_labels="cluster_qr").fit_predict(affinity)
        if len(set(labels)) < 2:
            continue
        out.append((len(set(labels)), float(silhouette_score(dist, labels, metric="precomputed")),
                    [int(x) for x in labels]))
    return out


def _same_synset(dis: Sequence[Disambiguation], related: Any = None, depth: int = 0) -> np.ndarray:
    """(M, M): the probability that two occurrences get the same synset, sum_c p_i(c) p_j(c); with
    ``depth`` > 0 (and ``related``, a SenseInventory), the same *coarse* sense: two synsets count as
    one when their hypernyms up to ``depth`` levels meet (bank's *sloping land* and *a slope in the
    turn of a road*, both slopes), sum_{c,c'} p_i(c) p_j(c') [c ~ c']."""
    ids = sorted({c.synset for d in dis for c in d.candidates})
    col = {sid: k for k, sid in enumerate(ids)}
    probs = np.zeros((len(dis), len(ids)))
    for i, d in enumerate(dis):
        for c in d.candidates:
            probs[i, col[c.synset]] = c.score
    if depth <= 0 or related is None:
        return probs @ probs.T
    up = [related.ancestors(sid, depth) for sid in ids]
    same = np.array([[1.0 if a & b else 0.0 for b in up] for a in up])
    return probs @ same @ probs.T


def _shared_lexname(dis: Sequence[Disambiguation], ratio: float) -> str | None:
    """The supersense (lexname) with the most probability over all occurrences, when each occurrence gives
    it at least ``ratio`` times its own most probable supersense's probability; else None."""
    if ratio >= 1.0:
        return None
    per: list[dict[str, float]] = []
    for d in dis:
        mass: dict[str, float] = {}
        for c in d.candidates:
            mass[c.lexname] = mass.get(c.lexname, 0.0) + c.score
        per.append(mass)
    total: dict[str, float] = {}
    for mass in per:
        for k, v in mass.items():
            total[k] = total.get(k, 0.0) + v
    best = max(total, key=lambda k: total[k])
    return best if all(m.get(best, 0.0) >= ratio * max(m.values()) for m in per) else None


def label_groups(labels: Sequence[int], dis: Sequence[Disambiguation], occ: Sequence[_Placed], *,
                 distinct_loss: float = 0.0) -> tuple[tuple[Sense, ...], dict[int, int], str | None]:
    """Name each group by the WordNet sense most probable for all its members together (the largest
    sum of log probabilities: the joint answer if they share one sense). When two groups' best is one
    synset, either they become one group, or, if giving every group a different synset costs at most
    ``distinct_loss`` nats of that sum per occurrence (the best such assignment, Hungarian method),
    the groups stay apart with those names: the split then rests on the occurrence vectors *and* on
    a sense each group can be given. Groups are ordered by their first member. Returns the groups,
    each occurrence's group, and a note when distinct names were given (else None)."""
    members: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        members.setdefault(lab, []).append(i)
    cand_of = {c.synset: c for d in dis for c in d.candidates}  # (scores aside, one synset is one candidate)
    ids = sorted(cand_of, key=lambda k: (cand_of[k].sense_number, k))
    col = {sid: j for j, sid in enumerate(ids)}
    prob = np.zeros((len(dis), len(ids)))
    for i, d in enumerate(dis):
        prob[i, [col[c.synset] for c in d.candidates]] = [c.score for c in d.candidates]
    groups = list(members.items())
    named_groups = [(lab, idx) for lab, idx in groups if any(dis[i].candidates for i in idx)]
    mass = np.stack([np.log(np.maximum(prob[idx], 1e-6)).sum(axis=0) for _, idx in named_groups]) \
        if named_groups else np.zeros((0, 0))
    # the best per group (ties: the lower WordNet sense number, the ids' order); a synset none of the
    # group's members has as a candidate is never chosen
    allowed = np.stack([(prob[idx] > 0).any(axis=0) for _, idx in named_groups]) if named_groups else mass
    best = [int(np.argmax(row)) for row in np.where(allowed, mass, -np.inf)] if named_groups else []
    choice = dict(zip((lab for lab, _ in named_groups), best))
    note = None
    if distinct_loss > 0 and len(set(best)) < len(best) and len(ids) >= len(best):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-np.where(allowed, mass, -1e9))
        if all(allowed[r, c] for r, c in zip(rows, cols)):
            loss = float(sum(mass[r, best[r]] - mass[r, c] for r, c in zip(rows, cols))) / len(dis)
            if loss <= distinct_loss:
                choice = {named_groups[r][0]: int(c) for r, c in zip(rows, cols)}
                note = (f"groups given distinct WordNet senses (a second choice where two groups' first was one "
                        f"sense, {loss:.2f} nats per occurrence)")
    named: dict[str, list[int]] = {}  # synset (or a group key when unknown) -> occurrence indices
    for lab, idx in groups:
        key = ids[choice[lab]] if lab in choice else f"group-{lab}"
        named.setdefault(key, []).extend(idx)
    senses = []
    sense_of: dict[int, int] = {}
    for gid, (key, idx) in enumerate(sorted(named.items(), key=lambda kv: min(kv[1]))):
        idx = sorted(idx)
        cand = None
        if key in col:
            c = cand_of[key]
            cand = Candidate(c.synset, c.pos, c.sense_number, c.lemma_names, c.gloss, c.lexname,
                             round(float(np.mean(prob[idx, col[key]])), 4))
        for i in idx:
            sense_of[i] = gid
        senses.append(Sense(gid, tuple(sorted({occ[i].sentence for i in idx})), None, tuple(idx), cand))
    return tuple(senses), sense_of, note
