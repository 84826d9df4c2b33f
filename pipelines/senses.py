"""Does a word mean the same thing in these sentences?

Static vectors give a word one vector whatever the context; the contextual encoder gives each
occurrence its own. ``SenseComparer.compare`` puts both side by side, groups the occurrences
into senses with a threshold calibrated on a WordNet WiC benchmark (``lexiflow eval senses``),
and says how sure it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from pipelines.embeddings.contextual import ContextualEncoder, Forward, LayerChoice, cosine_matrix
from pipelines.errors import InputError, ResourceError
from pipelines.lemmatize import Lemmatizer


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
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResourceError(f"{path}: missing; make it with `lexiflow eval senses --write-calibration {path}`") \
                from None
        except ValueError as exc:
            raise ResourceError(f"{path}: not valid JSON ({exc})") from exc
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
    count: int  # occurrences of the target in this sentence (the first one is compared)


@dataclass(frozen=True, slots=True)
class Sense:
    id: int
    members: tuple[int, ...]  # sentence indices
    label: str | None  # from labelled examples, when given


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


class SenseComparer:
    def __init__(self, *, lemmatizer: Lemmatizer, encoder: ContextualEncoder, calibration: Calibration,
                 forward: Forward | None = None) -> None:
        self.forward = forward  # e.g. the service's dynamic batcher; default: the encoder itself
        self.lemmatizer = lemmatizer
        self.encoder = encoder
        self.calibration = calibration

    # ----- finding the target ------------------------------------------------------------------------
    def find(self, target: str, sentences: Sequence[str]) -> tuple[str, list[Occurrence | None]]:
        """The target's lemma and its first occurrence in each sentence (case- and inflection-insensitive)."""
        target_doc, *docs = self.lemmatizer.lemmatize([target, *sentences])
        words = [t for t in target_doc.tokens if not t.is_space]
        if len(words) != 1:
            raise InputError(f"target must be one word; {target!r} has {len(words)} tokens",
                             code="bad-target", given=target)
        surface = words[0].text.lower()
        lemma = words[0].lemma.lower()
        found: list[Occurrence | None] = []
        for i, doc in enumerate(docs):
            hits = [t for t in doc.tokens if t.text.lower() == surface or t.lemma.lower() in (lemma, surface)]
            found.append(None if not hits else Occurrence(i, hits[0].text, hits[0].start, hits[0].end,
                                                          hits[0].lemma, hits[0].pos, len(hits)))
        return lemma, found

    # ----- the comparison ----------------------------------------------------------------------------
    def compare(self, target: str, sentences: Sequence[str], *, static: StaticModel | None = None,
                examples: Mapping[str, Sequence[str]] | None = None, neighbours: int = 10) -> SenseComparison:
        if len(sentences) < 2:
            raise InputError("give at least 2 sentences", code="too-few-sentences", limit=2, given=len(sentences))
        lemma, occ = self.find(target, sentences)
        missing = [i for i, o in enumerate(occ) if o is None]
        if missing:
            raise InputError(
                f"the target {target!r} (lemma {lemma!r}) does not occur in sentence(s) {missing}: "
                + "; ".join(f"{i}: {_clip(sentences[i])!r}" for i in missing[:5]),
                code="target-not-found", given=missing, missing=missing)
        occurrences: list[Occurrence] = [o for o in occ if o is not None]

        ex_occ: list[Occurrence] = []
        ex_labels: list[str] = []
        if examples:
            flat = [(label, s) for label, group in examples.items() for s in group]
            _, ex_found = self.find(target, [s for _, s in flat])
            bad = [s for (_, s), o in zip(flat, ex_found) if o is None]
            if bad:
                raise InputError(f"the target {target!r} does not occur in example sentence(s): "
                                 + "; ".join(repr(_clip(b)) for b in bad[:5]),
                                 code="target-not-found", given=bad[:5])
            ex_occ = [o for o in ex_found if o is not None]
            ex_labels = [label for label, _ in flat]

        texts = list(sentences) + [s for group in (examples or {}).values() for s in group]
        spans = [(o.start, o.end) for o in occurrences] + [(o.start, o.end) for o in ex_occ]
        vectors = self.encoder.span_vectors(texts, spans, forward=self.forward)  # (N + E, L+1, H)
        cal = self.calibration
        chosen = np.stack([cal.choice.select(v) for v in vectors])  # (N + E, H)
        n = len(occurrences)
        sims = cosine_matrix(chosen[:n])
        p = np.asarray(cal.p_same(sims))

        senses = _cluster(sims, cal.threshold)
        assignments = None
        if ex_occ:
            assignments = _assign(chosen[:n], chosen[n:], ex_labels)
            senses = tuple(Sense(s.id, s.members, _majority([assignments[m].label for m in s.members]))
                           for s in senses)
        confidence = _confidence(p, senses)

        if assignments is not None:  # labelled examples with their labels, sentences with the label they got
            groups = [a.label for a in assignments] + ex_labels
        else:
            label_of = {m: s.id for s in senses for m in s.members}
            groups = [str(label_of[i]) for i in range(n)]
        curve = tuple(LayerSeparation(layer, _separation(cosine_matrix(vectors[:, layer]), groups))
                      for layer in range(vectors.shape[1]))
        projection, explained = _pca2(chosen)
        static_view = _static_view(static, occurrences, lemma, neighbours) if static is not None else None
        verdict = _verdict(target, occurrences, senses, sims, p, cal, confidence, static_view)
        return SenseComparison(
            target=target, lemma=lemma, occurrences=tuple(occurrences), static=static_view,
            encoder=self.encoder.name, layer=cal.choice.describe(self.encoder.num_layers),
            contextual_similarity=_rounded(sims), p_same=_rounded(p), threshold=cal.threshold, senses=senses,
            confidence=round(confidence, 4), verdict=verdict, layers=curve,
            grouping="labels" if ex_occ else "senses", projection=_rounded(projection),
            explained_variance=[round(float(x), 4) for x in explained], assignments=assignments,
            example_occurrences=tuple(ex_occ) if ex_occ else None)


# ----- helpers -----------------------------------------------------------------------------------------
def _rounded(matrix: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 4) for x in row] for row in np.asarray(matrix)]


def _cluster(sims: np.ndarray, threshold: float) -> tuple[Sense, ...]:
    """Average-linkage clustering cut where the mean similarity falls below the calibrated threshold."""
    n = sims.shape[0]
    if n == 1:
        return (Sense(0, (0,), None),)
    dist = np.clip(1.0 - sims, 0.0, 2.0)
    condensed = dist[np.triu_indices(n, k=1)]
    labels = fcluster(linkage(condensed, method="average"), t=1.0 - threshold, criterion="distance")
    order: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        order.setdefault(int(lab), []).append(i)
    groups = sorted(order.values(), key=lambda g: g[0])
    return tuple(Sense(k, tuple(g), None) for k, g in enumerate(groups))


def _confidence(p_same: np.ndarray, senses: Sequence[Sense]) -> float:
    """Mean probability, over all pairs, that the calibrated model agrees with the grouping."""
    n = p_same.shape[0]
    if n < 2:
        return 1.0
    label = {m: s.id for s in senses for m in s.members}
    agree = [p_same[i, j] if label[i] == label[j] else 1.0 - p_same[i, j]
             for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(agree))


def _assign(vectors: np.ndarray, example_vectors: np.ndarray, labels: Sequence[str]) -> tuple[Assignment, ...]:
    names = list(dict.fromkeys(labels))
    centroids = np.stack([example_vectors[[i for i, lab in enumerate(labels) if lab == name]].mean(axis=0)
                          for name in names])
    sims = cosine_matrix(np.concatenate([vectors, centroids]))[: len(vectors), len(vectors):]
    out = []
    for i, row in enumerate(sims):
        best = int(np.argmax(row))
        out.append(Assignment(i, names[best], round(float(row[best]), 4),
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


def _verdict(target: str, occ: Sequence[Occurrence], senses: Sequence[Sense], sims: np.ndarray, p: np.ndarray,
             cal: Calibration, confidence: float, static: StaticView | None) -> str:
    n = len(occ)
    static_note = " The static vector scores every pair 1.0 and cannot tell." if static and static.all_ones else ""
    if n == 2:
        same = len(senses) == 1
        return (f"{target!r} is used in {'the same sense' if same else 'different senses'} in the two sentences "
                f"(contextual similarity {sims[0, 1]:.2f} {'≥' if same else '<'} calibrated threshold "
                f"{cal.threshold:.2f}; p(same sense) = {p[0, 1]:.2f}, confidence {confidence:.2f})." + static_note)
    parts = []
    for s in senses:
        members = ", ".join(str(m + 1) for m in s.members)
        parts.append(f"{{{members}}}" + (f" ({s.label})" if s.label else ""))
    k = len(senses)
    return (f"{target!r} is used in {k} sense{'s' if k != 1 else ''} across {n} sentences: {'; '.join(parts)} "
            f"(sentences numbered from 1; confidence {confidence:.2f})." + static_note)


def describe(calibration: Calibration) -> dict[str, Any]:
    return {"threshold": calibration.threshold, "layer": calibration.layer, "mean_last": calibration.mean_last,
            "source": calibration.source, "test_accuracy": calibration.test_accuracy}
