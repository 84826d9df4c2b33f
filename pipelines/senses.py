"""Does a word mean the same thing in these sentences?

Static vectors give a word one vector whatever the context; the contextual encoder gives each
occurrence its own. ``SenseComparer.compare`` puts both side by side and groups every occurrence
of the target into senses:

- each occurrence is disambiguated against WordNet (``pipelines.wsd``);
- one sense when all occurrences' most probable WordNet senses are the same synset or share a
  lexicographer file (supersense, e.g. ``noun.group``);
- otherwise spectral clustering of the occurrence vectors (the target's vector, standardised,
  concatenated with a fraction of the centred sentence embedding; affinity from their cosine),
  k from 2 to 4 chosen by silhouette;
- each group is named by the WordNet sense most probable over its members; groups that get the
  same sense are one group, so the verdict never contradicts the labels it shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipelines.embeddings.contextual import ContextualEncoder, Forward, LayerChoice, cosine_matrix
from pipelines.errors import InputError, ResourceError, read_resource_json
from pipelines.lemmatize import Lemmatizer
from pipelines.sense_groups import (  # noqa: F401 - the grouping's pieces re-exported
    Sense,
    _same_synset,
    choose_split,
    group_and_name,
    group_occurrences,
    label_groups,
    spectral_splits,
    split_similarity,
)
from pipelines.wsd import Candidate, Disambiguation, Disambiguator


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


class StaticModel(Protocol):
    name: str

    def lookup(self, word: str) -> str | None: ...
    def vector(self, word: str) -> np.ndarray | None: ...
    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]: ...


@dataclass(frozen=True)
class Calibration:
    """p(same sense | cosine) = sigmoid(a * cosine + b), fitted on the WiC dev split."""

    layer: int | None
    mean_last: int | None
    threshold: float
    a: float
    b: float
    encoder: str
    source: str
    test_accuracy: float | None = None

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        path = Path(path)
        data = read_resource_json(path, make=f"`lexiflow eval senses --write-calibration {path}`")
        if data.get("format") != "sense-calibration-v1":
            raise ResourceError(f"{path}: format {data.get('format')!r}, expected 'sense-calibration-v1'")
        try:
            return cls(layer=data.get("layer"), mean_last=data.get("mean_last"), threshold=float(data["threshold"]),
                       a=float(data["logistic"]["a"]), b=float(data["logistic"]["b"]),
                       encoder=str(data.get("encoder", "")), source=str(path),
                       test_accuracy=(data.get("test") or {}).get("accuracy"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResourceError(f"{path}: missing or invalid field ({exc})") from exc

    @property
    def choice(self) -> LayerChoice:
        return LayerChoice(layer=self.layer if self.layer is not None else -1, mean_last=self.mean_last)

    def p_same(self, cos: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-(self.a * np.asarray(cos) + self.b)))


@dataclass(frozen=True, slots=True)
class Occurrence:
    sentence: int
    text: str
    start: int
    end: int
    lemma: str
    pos: str | None
    count: int  # occurrences of the target in this sentence (all are compared)
    index: int = 0  # which of them (0-based)
    sense: Candidate | None = None  # its most probable WordNet sense
    note: str | None = None  # e.g. not in WordNet


@dataclass(frozen=True, slots=True)
class Assignment:
    sentence: int
    label: str
    score: float
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class LayerSeparation:
    layer: int  # 0 = embeddings
    separation: float | None  # mean cosine within groups minus mean cosine between groups


@dataclass(frozen=True)
class StaticView:
    model: str
    words: tuple[str, ...]
    found: tuple[bool, ...]
    similarity: list[list[float | None]]
    all_ones: bool
    neighbours: tuple[tuple[str, float], ...]
    note: str


@dataclass(frozen=True)
class SenseComparison:
    target: str
    lemma: str
    occurrences: tuple[Occurrence, ...]
    static: StaticView | None
    encoder: str
    layer: str
    contextual_similarity: list[list[float]]
    p_same: list[list[float]]
    threshold: float
    senses: tuple[Sense, ...]
    confidence: float
    verdict: str
    layers: tuple[LayerSeparation, ...]
    grouping: str  # what the layer curve separates: "labels" or "senses"
    projection: list[list[float]]  # 2-D PCA of the occurrences (then of the examples, if any)
    explained_variance: list[float]
    assignments: tuple[Assignment, ...] | None
    example_occurrences: tuple[Occurrence, ...] | None
    sense_points: tuple[tuple[Candidate, list[float]], ...] = ()  # the groups' senses (gloss) in the projection
    method: str = ""  # how the number of groups was decided
    silhouette: float | None = None


@dataclass(frozen=True)
class Prepared:
    lemma: str
    disambiguations: list[Disambiguation]  # one per occurrence, in sentence order
    occurrences: list[Occurrence]
    hidden: np.ndarray  # (M, L+1, H) every layer of each occurrence's vector
    vectors: np.ndarray  # (M, 2H) grouping vectors
    sims: np.ndarray  # (M, M) their cosines


class SenseComparer:
    def __init__(self, *, lemmatizer: Lemmatizer, encoder: ContextualEncoder, disambiguator: Disambiguator,
                 calibration: Calibration | None = None, forward: Forward | None = None) -> None:
        self.forward = forward  # e.g. the service's dynamic batcher; default: the encoder itself
        self.lemmatizer = lemmatizer
        self.encoder = encoder
        self.disambiguator = disambiguator
        self.calibration = calibration  # the older WiC calibration (layer-3 cosine), reported only

    # ----- the comparison ----------------------------------------------------------------------------
    def prepare(self, target: str, sentences: Sequence[str], *, exclude: frozenset[str] = frozenset()) -> Prepared:
        """Find and disambiguate every occurrence; their grouping vectors and cosine similarities."""
        dis = self.disambiguator
        if self.forward is not None:
            dis.forward = self.forward
        try:
            result, sent, hidden = dis.analyse(target, sentences, exclude=exclude, require_all=True)
        except InputError as exc:
            if exc.code == "target-not-found":
                missing = exc.extra.get("missing", [])
                raise InputError(
                    f"the target {target!r} does not occur in sentence(s) {missing}: "
                    + "; ".join(f"{i}: {_clip(sentences[i])!r}" for i in missing[:5]),
                    code="target-not-found", given=missing, missing=missing) from None
            raise
        flat = [d for r in result.results for d in r.occurrences]
        counts = [len(r.occurrences) for r in result.results]
        occurrences = [Occurrence(d.occurrence.sentence, d.occurrence.text, d.occurrence.start, d.occurrence.end,
                                  d.occurrence.lemma, d.occurrence.pos, counts[d.occurrence.sentence],
                                  d.occurrence.index, d.candidates[0] if d.candidates else None, d.note)
                       for d in flat]
        layers_all = np.concatenate(hidden)  # (M, L+1, H)
        params = dis.params
        vecs = params.grouping_vector(params.target(layers_all), params.sentence(np.concatenate(sent)))  # (M, 2H)
        return Prepared(result.lemma, flat, occurrences, layers_all, vecs, cosine_matrix(vecs))

    def compare(self, target: str, sentences: Sequence[str], *, static: StaticModel | None = None,
                examples: Mapping[str, Sequence[str]] | None = None, neighbours: int = 10,
                exclude: frozenset[str] = frozenset()) -> SenseComparison:
        """``exclude``: WordNet example sentences the disambiguation must not use (evaluation only)."""
        if len(sentences) < 2:
            raise InputError("give at least 2 sentences", code="too-few-sentences", limit=2, given=len(sentences))
        prep = self.prepare(target, sentences, exclude=exclude)
        dis, params = self.disambiguator, self.disambiguator.params
        lemma, flat, occurrences = prep.lemma, prep.disambiguations, prep.occurrences
        sims, vecs, layers_all = prep.sims, prep.vectors, prep.hidden
        sent_of = np.array([o.sentence for o in occurrences])
        n = len(occurrences)
        score = sims + params.wsd_weight * _same_synset(flat) if params.wsd_weight else sims
        p = 1.0 / (1.0 + np.exp(-(params.p_same[0] * score + params.p_same[1])))
        np.fill_diagonal(p, 1.0)

        senses, sense_of, method, silhouette = group_and_name(sims, flat, occurrences, params, inventory=dis.inventory)

        ex_occ: list[Occurrence] = []
        ex_labels: list[str] = []
        ex_vecs = np.zeros((0, vecs.shape[1]), np.float32)
        assignments = None
        if examples:
            flat_ex = [(label, s) for label, group in examples.items() for s in group]
            ex_result, ex_sent, ex_hidden = dis.analyse(target, [s for _, s in flat_ex], require_all=False)
            bad = [s for (_, s), r in zip(flat_ex, ex_result.results) if not r.occurrences]
            if bad:
                raise InputError(f"the target {target!r} does not occur in example sentence(s): "
                                 + "; ".join(repr(_clip(b)) for b in bad[:5]),
                                 code="target-not-found", given=bad[:5])
            for r in ex_result.results:  # the first occurrence of each example sentence
                d = r.occurrences[0].occurrence
                ex_occ.append(Occurrence(r.sentence, d.text, d.start, d.end, d.lemma, d.pos, len(r.occurrences)))
            first = np.stack([h[0] for h in ex_hidden])
            ex_vecs = params.grouping_vector(params.target(first), params.sentence(np.stack([s[0] for s in ex_sent])))
            ex_labels = [label for label, _ in flat_ex]
            assignments = _assign(vecs, ex_vecs, ex_labels, sent_of)
            senses = tuple(Sense(s.id, s.members, _majority([assignments[m].label for m in s.occurrences]),
                                 s.occurrences, s.sense) for s in senses)
        confidence = _confidence(p, senses)

        if assignments is not None:  # labelled examples with their labels, occurrences with the label they got
            groups = [a.label for a in assignments] + ex_labels
            curve_vectors = np.concatenate([layers_all, np.stack([h[0] for h in ex_hidden])])
        else:
            groups = [str(sense_of[i]) for i in range(n)]
            curve_vectors = layers_all
        curve = tuple(LayerSeparation(layer, _separation(cosine_matrix(curve_vectors[:, layer]), groups))
                      for layer in range(curve_vectors.shape[1]))
        used = _used_senses(senses, flat)
        gloss_vecs = np.zeros((0, vecs.shape[1]), np.float32)
        if used:
            gloss_vecs = np.stack([params.grouping_vector(sv.gloss_target[row], sv.gloss_sentence[row])
                                   for sv, row, _ in used])
        projection, explained = _pca2(np.concatenate([vecs, ex_vecs, gloss_vecs]))
        k = n + len(ex_occ)
        sense_points = tuple((cand, [round(float(x), 4) for x in projection[k + i]]) for i, (_, _, cand) in
                             enumerate(used))
        static_view = _static_view(static, occurrences, lemma, neighbours) if static is not None else None
        verdict = _verdict(target, occurrences, senses, p, confidence, static_view, method)
        return SenseComparison(
            target=target, lemma=lemma, occurrences=tuple(occurrences), static=static_view,
            encoder=self.encoder.name, layer=_describe_layers(params.layers, params.sentence_weight),
            contextual_similarity=_rounded(sims), p_same=_rounded(p), threshold=params.threshold, senses=senses,
            confidence=round(confidence, 4), verdict=verdict, layers=curve,
            grouping="labels" if ex_occ else "senses", projection=_rounded(projection[:k]),
            explained_variance=[round(float(x), 4) for x in explained], assignments=assignments,
            example_occurrences=tuple(ex_occ) if ex_occ else None, sense_points=sense_points, method=method,
            silhouette=None if silhouette is None else round(silhouette, 4))


# ----- helpers -----------------------------------------------------------------------------------------
def _rounded(matrix: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 4) for x in row] for row in np.asarray(matrix)]


def _describe_layers(layers: Sequence[int], weight: float) -> str:
    span = f"{layers[0]}-{layers[-1]}" if list(layers) == list(range(layers[0], layers[-1] + 1)) else str(layers)
    return (f"mean of layers {span} (standardised) + {weight:g} x centred sentence embedding")


def _used_senses(senses: Sequence[Sense], dis: Sequence[Disambiguation]) -> list[tuple[Any, int, Candidate]]:
    """(sense vectors, row, candidate) of each group's WordNet sense, for the projection."""
    out = []
    for s in senses:
        if s.sense is None:
            continue
        d = dis[s.occurrences[0]]
        sv = d.vectors
        if sv is None:
            continue
        row = next((i for i, ws in enumerate(sv.senses) if ws.synset == s.sense.synset), None)
        if row is not None:
            out.append((sv, row, s.sense))
    return out


def _confidence(p_same: np.ndarray, senses: Sequence[Sense]) -> float:
    """Mean probability, over all pairs, that the calibrated model agrees with the grouping."""
    n = p_same.shape[0]
    if n < 2:
        return 1.0
    label = {m: s.id for s in senses for m in s.occurrences}
    agree = [p_same[i, j] if label[i] == label[j] else 1.0 - p_same[i, j]
             for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(agree))


def _assign(vectors: np.ndarray, example_vectors: np.ndarray, labels: Sequence[str], sentence_of: Sequence[int]
            ) -> tuple[Assignment, ...]:
    """Per occurrence, the caller's label whose examples' centroid is nearest."""
    names = list(dict.fromkeys(labels))
    centroids = np.stack([example_vectors[[i for i, lab in enumerate(labels) if lab == name]].mean(axis=0)
                          for name in names])
    sims = cosine_matrix(np.concatenate([vectors, centroids]))[: len(vectors), len(vectors):]
    out = []
    for i, row in enumerate(sims):
        best = int(np.argmax(row))
        out.append(Assignment(int(sentence_of[i]), names[best], round(float(row[best]), 4),
                              {name: round(float(s), 4) for name, s in zip(names, row)}))
    return tuple(out)


def _majority(labels: Sequence[str]) -> str | None:
    if not labels:
        return None
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    return max(counts, key=lambda k: (counts[k], -labels.index(k)))


def _separation(sims: np.ndarray, groups: Sequence[str]) -> float | None:
    n = len(groups)
    within, between = [], []
    for i in range(n):
        for j in range(i + 1, n):
            (within if groups[i] == groups[j] else between).append(sims[i, j])
    if not within or not between:
        return None
    return round(float(np.mean(within) - np.mean(between)), 4)


def _pca2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centred = x - x.mean(axis=0, keepdims=True)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2)), np.zeros(2)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    coords = u[:, :2] * s[:2]
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    var = s**2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return coords, np.pad(explained, (0, 2 - len(explained)))


def _static_view(static: StaticModel, occurrences: Sequence[Occurrence], lemma: str, topn: int) -> StaticView:
    words = tuple(o.text.lower() for o in occurrences)
    vecs = [static.vector(w) for w in words]
    found = tuple(v is not None for v in vecs)
    n = len(words)
    sim: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if vecs[i] is not None and vecs[j] is not None:
                a, b = vecs[i], vecs[j]
                sim[i][j] = round(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)), 4)
    all_ones = all(v is not None and math.isclose(v, 1.0, abs_tol=1e-4) for row in sim for v in row)
    key = lemma if static.lookup(lemma) is not None else next((w for w, f in zip(words, found) if f), None)
    neighbours = tuple((w, round(float(s), 4)) for w, s in static.most_similar(key, topn)) if key else ()
    if all_ones:
        note = (f"the static model gives {words[0]!r} one vector whatever the context, so every pair scores 1.0: "
                "it cannot tell senses apart; its nearest neighbours show what that one vector holds "
                "(often one dominant sense, or a mix)")
    elif not all(found):
        note = f"no static vector for: {sorted({w for w, f in zip(words, found) if not f})}"
    else:
        note = "static similarities differ only because the word forms differ (inflections), not the contexts"
    return StaticView(static.name, words, found, sim, all_ones, neighbours, note)


def _sense_name(c: Candidate) -> str:
    return f"{c.lemma_names[0].replace('_', ' ')}#{c.pos}{c.sense_number} \u201c{_clip(c.gloss, 70)}\u201d"


def _members(s: Sense, occ: Sequence[Occurrence]) -> str:
    """Sentence numbers from 1; "2.1" for the first of several occurrences in sentence 2."""
    return ", ".join(f"{occ[i].sentence + 1}" + (f".{occ[i].index + 1}" if occ[i].count > 1 else "")
                     for i in s.occurrences)


def _verdict(target: str, occ: Sequence[Occurrence], senses: Sequence[Sense], p: np.ndarray, confidence: float,
             static: StaticView | None, method: str) -> str:
    n = len(occ)
    n_sent = len({o.sentence for o in occ})
    static_note = " The static vector scores every pair 1.0 and cannot tell." if static and static.all_ones else ""
    compared = f"{n} occurrence{'s' if n != 1 else ''} in {n_sent} sentences"
    k = len(senses)
    if k == 1:
        s = senses[0]
        named = f" as {_sense_name(s.sense)}" if s.sense else ""
        return (f"{target!r} is used in the same sense in all {compared}{named} ({method}; confidence "
                f"{confidence:.2f})." + static_note)
    parts = []
    for s in senses:
        parts.append(f"{{{_members(s, occ)}}}" + (f" {_sense_name(s.sense)}" if s.sense else "")
                     + (f" (label {s.label})" if s.label else ""))
    if n == 2:
        return (f"{target!r} is used in different senses in the two sentences: {'; '.join(parts)} "
                f"(p(same sense) = {p[0, 1]:.2f}; confidence {confidence:.2f})." + static_note)
    return (f"{target!r} is used in {k} senses across {n_sent} sentences: {'; '.join(parts)} "
            f"(sentences numbered from 1; {compared} compared; {method}; confidence {confidence:.2f})."
            + static_note)


def describe(calibration: Calibration) -> dict[str, Any]:
    return {"threshold": calibration.threshold, "layer": calibration.layer, "mean_last": calibration.mean_last,
            "source": calibration.source, "test_accuracy": calibration.test_accuracy}
