"""Does the sentence talk about what a sense's WordNet entry talks about? Gloss overlap measured in
static word vectors (an "embedding Lesk": Lesk 1986, Banerjee & Pedersen 2003's extended gloss
overlap, with the word-overlap count replaced by a cosine of weighted bags of word vectors).

A *bag* is the sum of the GloVe vectors of a text's content words (spaCy's stop words, one-letter
words and the target word itself left out), each weighted by ``a / (a + p(w))``, the smooth
inverse frequency of Arora et al. (2017), with ``p(w)`` from the word's frequency rank (Zipf's
law; the vocabulary is ordered most frequent first). A sense's *signature* bag reads its lemma
names, definition and examples and its neighbourhood: the first lemma name of its hypernyms,
hyponyms (most tagged first) and other related synsets, and the definitions of its hypernyms, its
first hyponyms and the other related synsets. The feature is the cosine of the sentence's bag
(the target left out) with each candidate's signature.

Bags of word vectors share a common direction, so the cosines of any two bags sit near 0.7 and
their differences are small; the fitted weight scales them. (Projecting the first principal
component out of every bag, as SIF does, was measured on WordNet dev and not kept: 0.564 against
0.571 leave-one-out accuracy.)

The contextual encoder's sentence-to-gloss cosine leans on the words the two texts share, often
the target word itself; this feature reads the topic (a kitchen, grams and weighing against
fish, skin and shedding) from a vocabulary of 400,000 words.

A second feature, ``align``, reads the same words one by one instead of as one bag: each content
word of the sentence is matched to its most similar word of the signature (cosine of unit GloVe
vectors), that best cosine is cubed (so a near-exact match, *keyboard* in the sentence and in the
definition, counts far more than many loose ones) and the cubes are averaged with the words'
smooth-inverse-frequency weights. A bag's sum drowns a single telling word in the signature's
hundred others; the alignment keeps it (as BERTScore does for the words of two sentences).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.embeddings.static import StaticVectors
from pipelines.wordnet import SenseInventory, WordSense

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
SIF_A = 1e-3
# how much of a sense's neighbourhood the signature reads (the artifact keeps up to 12 of each)
HYPERNYMS, HYPONYM_NAMES, HYPONYM_DEFINITIONS, OTHERS = 2, 10, 5, 10


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


class WordBags:
    """Weighted bags of static word vectors (see the module's docstring)."""

    def __init__(self, static: StaticVectors, *, a: float = SIF_A) -> None:
        self.static = static
        self.a = a
        self.dim = static.dim
        self._log_n = math.log(max(len(static), 2))
        self._stop = _stop_words()

    @staticmethod
    def forms(word: str) -> set[str]:
        """The word and its regular plural / third-person forms (left out of both bags)."""
        w = word.lower().replace("_", " ")
        parts = set(w.split())
        return parts | {w, w + "s", w + "es"} | {p + "s" for p in parts} | {p + "es" for p in parts}

    def words(self, text: str, drop: Iterable[str] = ()) -> list[str]:
        skip = set(drop)
        return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in self._stop and w not in skip]

    def total(self, text: str, drop: Iterable[str] = ()) -> np.ndarray:
        """The unnormalised weighted sum (dim,) float64: bags add up, so parts can be added or left out."""
        return self._bag(self.static.word_indices(self.words(text, drop)))

    def _bag(self, idx: np.ndarray) -> np.ndarray:
        if not len(idx):
            return np.zeros(self.dim)
        return (self.static.rows(idx).astype(np.float64) * self._sif(idx)[:, None]).sum(axis=0)

    def _sif(self, idx: np.ndarray) -> np.ndarray:
        """Smooth-inverse-frequency weights ``a / (a + p(w))`` of rows ``idx`` (p from the frequency rank)."""
        return self.a / (self.a + 1.0 / ((idx + 1.0) * self._log_n))

    def context(self, text: str, start: int, end: int, drop: Iterable[str] = ()) -> np.ndarray:
        """The unit bag of a sentence with the target (``text[start:end]``) left out (zeros when empty)."""
        return unit(self.total(text[:start] + " " + text[end:], drop))

    def rows(self, words: Iterable[str]) -> np.ndarray:
        """The static vectors' rows (int32, sorted) of the distinct in-vocabulary ``words``: what a
        signature keeps for ``align`` (a few hundred bytes a sense instead of its vectors)."""
        return np.unique(self.static.word_indices(sorted(set(words)))).astype(np.int32)

    def unit_vectors(self, words: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """The unit vectors (n, dim) float32 of the distinct in-vocabulary ``words`` and their
        smooth-inverse-frequency weights (n,)."""
        idx = self.rows(words)
        return self.static.unit_rows(idx), self._sif(idx)

    def static_context(self, text: str, start: int, end: int, drop: Iterable[str] = ()) -> StaticContext:
        """The sentence's bag (``context``) and its distinct words' unit vectors and weights, the target
        left out; the words are looked up once for both."""
        idx = self.static.word_indices(self.words(text[:start] + " " + text[end:], drop))
        distinct = np.unique(idx)
        return StaticContext(unit(self._bag(idx)), self.static.unit_rows(distinct), self._sif(distinct))


@dataclass(frozen=True)
class StaticContext:
    """A sentence's content words around the target: their unit bag (``bag``), and each word's unit
    vector (n, dim) with its smooth-inverse-frequency weight (n,) for the ``align`` feature."""

    bag: np.ndarray
    vectors: np.ndarray
    weights: np.ndarray


def alignment(context: StaticContext, signature: np.ndarray) -> float:
    """The ``align`` feature: the weighted mean over the context's words of the cube of each one's
    best cosine with the signature's unit word vectors (m, dim) (``WordBags.static.unit_rows`` of
    its rows); 0 when either side is empty."""
    if not len(context.weights) or not len(signature):
        return 0.0
    best = (context.vectors @ signature.T).max(axis=1).astype(np.float64)
    return float((context.weights * best ** 3).sum() / context.weights.sum())


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def signature_text(inventory: SenseInventory, sense: WordSense) -> str:
    """What a sense's signature reads besides its examples (see the module's docstring)."""
    hyper, hypo, other = sense.related if sense.related else ((), (), ())
    parts = [" ".join(n.replace("_", " ") for n in sense.lemma_names), sense.definition]
    neighbours = [*hyper[:HYPERNYMS], *hypo[:HYPONYM_NAMES], *other[:OTHERS]]
    parts += [inventory.lemma_names(sid)[0].replace("_", " ") for sid in neighbours]
    parts += [inventory.definition(sid) for sid in (*hyper[:HYPERNYMS], *hypo[:HYPONYM_DEFINITIONS], *other[:OTHERS])]
    return " ".join(parts)


def signature_words(bags: WordBags, inventory: SenseInventory, lemma: str, senses: Sequence[WordSense]
                    ) -> tuple[tuple[np.ndarray, ...], tuple[tuple[np.ndarray, ...], ...]]:
    """For ``align``: per sense the static-vector rows of its signature's distinct words without its
    examples (``WordBags.rows``), and per example those of its words (kept apart, so that evaluation
    can leave an example out)."""
    drop = bags.forms(lemma)
    base = tuple(bags.rows(bags.words(signature_text(inventory, s), drop)) for s in senses)
    examples = tuple(tuple(bags.rows(bags.words(e, drop)) for e in s.examples) for s in senses)
    return base, examples


def signatures(bags: WordBags, inventory: SenseInventory, lemma: str, senses: Sequence[WordSense]
               ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Per sense, the unnormalised signature without its examples (S, dim), and each example's own
    bag (E_s, dim) in the order of ``sense.examples`` (added at scoring time, so that evaluation can
    leave an example out)."""
    drop = bags.forms(lemma)
    base = np.stack([bags.total(signature_text(inventory, s), drop) for s in senses]) if senses \
        else np.zeros((0, bags.dim))
    examples = tuple(np.stack([bags.total(e, drop) for e in s.examples]) if s.examples else np.zeros((0, bags.dim))
                     for s in senses)
    return base, examples
