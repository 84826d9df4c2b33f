"""Which WordNet sense does a word have in this sentence?

For every occurrence of the target (all of them, found by lemma with spaCy), each candidate
WordNet sense of the occurrence's part of speech gets nine features:

1. ``gloss``: cosine of the encoder's sentence embedding (mean pooling, as sentence-transformers
   does) with the embedding of the sense's gloss written as ``lemma (synonyms): definition``;
2. ``gloss_target``: cosine of the target word's contextual vector with the vector of the lemma
   at the head of that gloss;
3. ``example``: the best cosine of the target's vector with its vector in the sense's WordNet
   examples that contain the lemma (``gloss_target`` again where the sense has none);
4. ``example_sentence``: the best cosine of the sentence embedding with those examples' (``gloss``
   again where the sense has none);
5. ``prior``: ``-log(sense number)``, WordNet's order (most frequent first);
6. ``lesk``: the cosine of the sentence's bag of static word vectors (GloVe, the target left out)
   with the sense's signature bag: its names, definition, examples and WordNet neighbourhood
   (``pipelines.lesk``). 0 when no static vectors are given (and an artifact without the feature
   gives it weight 0).
7. ``compound``: 1 when the word and its neighbour form a WordNet compound whose synset, or a
   hypernym up to 3 levels above it, is the candidate (*date palm*: the tree);
8. ``align``: the same words as ``lesk`` matched one by one: each content word of the sentence to
   its closest word of the signature, the best cosines cubed and averaged (``pipelines.lesk``);
9. ``related_gloss``: the best cosine of the sentence embedding with the gloss of the sense or of
   one of its nearest WordNet relatives (3 hypernyms, 12 hyponyms most tagged first): *a fly
   buzzing around the kitchen* is closer to *housefly: common fly that frequents human
   habitations* than to the insect's own gloss.

Features 6-9 are 0 (or ``gloss`` again for 9) when their inputs are missing, and an artifact
without one gives it weight 0.

The score is their weighted sum and the probability a softmax over the candidates: a conditional
logit whose weights (and so its temperature) are fitted on held-out WordNet examples by
``lexiflow eval senses`` and shipped in ``artifacts/senses/wsd.json``. Two things are added to
that score, both general (never per word):

- **how often each sense occurs in real text**: ``+ beta_pos x log(tag count + 1)``, the add-one
  smoothed SemCor count of the sense (WordNet's ``index.sense``). WordNet's examples illustrate
  every sense about evenly, so the weights above learn an even prior; this moves it towards the
  corpus one (Bayes' rule for a change of prior, tempered by ``beta``, one per part of speech,
  chosen on dev lemmas by the leave-one-out accuracy weighted by each sense's share of its lemma's
  smoothed count, i.e. an estimate of accuracy on real text's sense distribution);
- **case**: an occurrence written in lower case never takes a sense whose WordNet spelling of the
  lemma is capitalised (a proper name: *Stephen Crane*, *Navy SEAL*), unless every candidate is
  one. In WordNet's own examples no lower-case occurrence has such a sense. Target vectors are the mean
of the encoder's layers 2-4, standardised per dimension against a background of ordinary
occurrences (anisotropy correction).

Gloss, relatives' gloss and example vectors are computed lazily per lemma and kept in a bounded LRU cache.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipelines.embeddings.contextual import ContextualEncoder, Forward, TokenStates
from pipelines.errors import InputError
from pipelines.lemmatize import LemmaToken, Lemmatizer
from pipelines.lesk import StaticContext, WordBags, alignment, signature_words, signatures, unit
from pipelines.limits import MAX_OCCURRENCES
from pipelines.occurrences import (  # noqa: F401 - find_occurrences and MAX_TARGET_TOKENS re-exported
    MAX_TARGET_TOKENS,
    find_occurrences,
    find_occurrences_in_context,
    unaccented,
)
from pipelines.wordnet import UPOS_TO_WN, SenseInventory, WordSense
from pipelines.wsd_params import FEATURES, FORMAT, OPTIONAL_FEATURES, WsdParams  # noqa: F401 - re-exported

# the relatives whose glosses ``related_gloss`` reads, and how many relatives' gloss embeddings
# are kept across lemmas (a hypernym is shared by many lemmas' senses)
RELATED_HYPERNYMS, RELATED_HYPONYMS = 3, 12
RELATED_CACHE = 8192
_NEIGHBOUR = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\S")  # words (and single other characters) next to a target
_AGREEING_UPOS = {"n": {"NOUN", "PROPN"}, "v": {"VERB", "AUX"}, "a": {"ADJ"}, "r": {"ADV"}}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def sentence_embedding(states: TokenStates) -> np.ndarray:
    """Mean over all tokens of the last layer (specials included), unit length: sentence-transformers' pooling."""
    return _unit(states.hidden[-1].mean(axis=0))


# ----- per-lemma sense vectors ---------------------------------------------------------------------
@dataclass(frozen=True)
class SenseVectors:
    """One lemma's candidate senses and their vectors (rows follow ``senses``)."""

    lemma: str
    senses: tuple[WordSense, ...]
    gloss: np.ndarray  # (S, H) unit sentence embeddings of the glosses
    gloss_sentence: np.ndarray  # (S, H) centred unit gloss embeddings (for plots and grouping)
    gloss_target: np.ndarray  # (S, H) target vector of the lemma heading each gloss
    example_target: tuple[np.ndarray, ...]  # per sense, (E_s, H) target vectors in its examples
    example_sentence: tuple[np.ndarray, ...]  # per sense, (E_s, H) unit sentence embeddings of those examples
    example_text: tuple[tuple[str, ...], ...]  # per sense, the examples those rows come from
    example_span: tuple[tuple[tuple[int, int], ...], ...] = ()  # per sense, where the lemma is in those examples
    # the static-vector signature (``pipelines.lesk``): per sense without its examples (S, d), each of
    # ``senses[r].examples``' own bag (E, d), and the whole signature, unit length (S, d)
    signature: np.ndarray | None = None
    signature_examples: tuple[np.ndarray, ...] = ()
    signature_unit: np.ndarray | None = None
    # ``align``: per sense the static-vector rows (int32) of its signature's words without its
    # examples, and per example its own words' (so that evaluation can leave one out); ``words`` reads
    # their unit vectors at scoring time
    align_signature: tuple[np.ndarray, ...] = ()
    align_examples: tuple[tuple[np.ndarray, ...], ...] = ()
    words: WordBags | None = None
    # ``related_gloss``: per sense the unit sentence embeddings (R_s, H) float16 of its nearest
    # relatives' glosses (``RELATED_HYPERNYMS`` hypernyms, ``RELATED_HYPONYMS`` hyponyms)
    related_gloss: tuple[np.ndarray, ...] = ()

    def lesk(self, row: int, context: np.ndarray, exclude: frozenset[str] = frozenset()) -> float:
        """Cosine of a unit context bag with sense ``row``'s signature (``exclude``: examples left out)."""
        if self.signature is None or self.signature_unit is None:
            return 0.0
        examples = self.senses[row].examples
        if not exclude or not any(e in exclude for e in examples):
            return float(self.signature_unit[row] @ context)
        total = self.signature[row] + sum((bag for e, bag in zip(examples, self.signature_examples[row])
                                           if e not in exclude), np.zeros_like(self.signature[row]))
        return float(unit(total) @ context)

    def align(self, row: int, context: StaticContext, exclude: frozenset[str] = frozenset()) -> float:
        """The ``align`` feature of sense ``row`` for a sentence (``exclude``: examples left out)."""
        if not self.align_signature or self.words is None:
            return 0.0
        parts = [self.align_signature[row]] + [rows for e, rows in zip(self.senses[row].examples,
                                                                       self.align_examples[row]) if e not in exclude]
        return alignment(context, self.words.static.unit_rows(np.unique(np.concatenate(parts))))

    def related(self, row: int, sentence: np.ndarray) -> float:
        """The ``related_gloss`` feature: the best cosine of ``sentence`` with the sense's gloss or a
        relative's."""
        own = float(self.gloss[row] @ sentence)
        if not self.related_gloss or not len(self.related_gloss[row]):
            return own
        return max(own, float((self.related_gloss[row] @ sentence.astype(np.float32)).max()))

    def capitalised(self, row: int) -> bool:
        """WordNet spells this lemma with a capital in the sense (a proper name: Crane, SEAL)."""
        names = [n for n in self.senses[row].lemma_names if n.lower() == self.lemma]
        return bool(names) and all(n[:1].isupper() for n in names)


@dataclass(frozen=True, slots=True)
class Candidate:
    synset: str
    pos: str
    sense_number: int
    lemma_names: tuple[str, ...]
    gloss: str
    lexname: str
    score: float  # probability
    features: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class TargetOccurrence:
    sentence: int
    index: int  # 0-based among this sentence's occurrences of the target
    start: int
    end: int
    text: str
    lemma: str
    pos: str | None  # spaCy's universal POS
    wordnet_pos: str | None  # the WordNet part of speech its candidates were drawn from


@dataclass(frozen=True, slots=True)
class Disambiguation:
    occurrence: TargetOccurrence
    lemma: str | None  # the WordNet lemma looked up; None when WordNet does not know the word
    candidates: tuple[Candidate, ...]  # most probable first
    note: str | None = None
    vectors: SenseVectors | None = field(default=None, repr=False, compare=False)  # for plots


@dataclass(frozen=True)
class SentenceResult:
    sentence: int
    text: str
    occurrences: tuple[Disambiguation, ...]


@dataclass(frozen=True)
class DisambiguationResult:
    target: str
    lemma: str
    known: bool  # WordNet has at least one sense for the target
    note: str | None
    results: tuple[SentenceResult, ...]


class Disambiguator:
    def __init__(self, *, lemmatizer: Lemmatizer, encoder: ContextualEncoder, inventory: SenseInventory,
                 params: WsdParams, forward: Forward | None = None, cache_size: int = 512,
                 words: WordBags | None = None) -> None:
        """``words``: the static-vector bags of the ``lesk`` feature (None: that feature is 0)."""
        params.check(encoder)
        self.words = words
        self.lemmatizer = lemmatizer
        self.encoder = encoder
        self.inventory = inventory
        self.params = params
        self.forward = forward
        self.cache_size = cache_size
        self._cache: OrderedDict[str, SenseVectors] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._related: OrderedDict[str, np.ndarray] = OrderedDict()  # synset -> its gloss embedding (float16)
        # an occurrence is read in its sentence and this many on each side (None: the whole text)
        self.context_sentences: int | None = 0

    def cached_lemmas(self) -> list[str]:
        """The lemmas whose sense vectors are cached, least recently used first."""
        with self._cache_lock:
            return list(self._cache)

    # ----- encoding ------------------------------------------------------------------------------
    def encode_hidden(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                      ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit sentence embeddings (N, H) and, per text, every layer of its spans' vectors (k, L+1, H)."""
        h, n_layers = self.encoder.hidden_size, self.encoder.num_layers + 1
        if not texts:
            return np.zeros((0, h), np.float32), []
        states = self.encoder.encode(texts, max_length=self.encoder.tokenizer.model_max_length,
                                     truncation="longest_first", forward=self.forward)
        sent = np.stack([sentence_embedding(st) for st in states])
        hidden = []
        for n, (st, sp) in enumerate(zip(states, spans)):
            if not sp:
                hidden.append(np.zeros((0, n_layers, h), np.float32))
                continue
            hidden.append(self.encoder.span_vectors([texts[n]] * len(sp), list(sp), states=[st] * len(sp)))
        return sent, hidden

    def encode_occurrences(self, sentences: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                           contexts: Sequence[Sequence[tuple[int, int]]] | None = None
                           ) -> tuple[list[np.ndarray], list[np.ndarray], list[list[tuple[str, tuple[int, int]]]]]:
        """Per text, for each occurrence (character span): the unit sentence embedding it is read with
        (k, H), every layer of its vector (k, L+1, H), and the text it was read in with its span there.

        ``contexts``: per occurrence the characters to read it in (its sentence, see
        ``find_occurrences_in_context``; default the whole text). Occurrences with the same context
        share one encoding. A context longer than the model is read in a window around each occurrence
        (``WordPieceTokenizer.windows``), never cut away."""
        texts: list[str] = []
        unit_spans: list[list[tuple[int, int]]] = []
        where: list[list[tuple[int, int]]] = []  # per text, per occurrence: (unit, index among its spans)
        reads: list[list[tuple[str, tuple[int, int]]]] = []
        for n, (text, sp) in enumerate(zip(sentences, spans)):
            ctx = contexts[n] if contexts is not None else [(0, len(text))] * len(sp)
            by_context: dict[tuple[int, int], list[int]] = {}
            for k, c in enumerate(ctx):
                by_context.setdefault(c, []).append(k)
            unit_of: dict[tuple[int, int], int] = {}  # characters read -> unit
            row: list[tuple[int, int]] = [(0, 0)] * len(sp)
            read: list[tuple[str, tuple[int, int]]] = [("", (0, 0))] * len(sp)
            for (c0, c1), ks in by_context.items():
                wins = self.encoder.tokenizer.windows(text[c0:c1], [(sp[k][0] - c0, sp[k][1] - c0) for k in ks])
                for k, (w0, w1) in zip(ks, wins or [(0, c1 - c0)] * len(ks)):
                    a, b = c0 + w0, c0 + w1
                    if (a, b) not in unit_of:
                        unit_of[(a, b)] = len(texts)
                        texts.append(text[a:b])
                        unit_spans.append([])
                    u = unit_of[(a, b)]
                    local = (sp[k][0] - a, sp[k][1] - a)
                    row[k] = (u, len(unit_spans[u]))
                    read[k] = (texts[u], local)
                    unit_spans[u].append(local)
            where.append(row)
            reads.append(read)
        sent_u, hidden_u = self.encode_hidden(texts, unit_spans)
        h, n_layers = self.encoder.hidden_size, self.encoder.num_layers + 1
        sent = [np.stack([sent_u[u] for u, _ in row]) if row else np.zeros((0, h), np.float32) for row in where]
        hidden = [np.stack([hidden_u[u][j] for u, j in row]) if row else np.zeros((0, n_layers, h), np.float32)
                  for row in where]
        return sent, hidden, reads

    def encode(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
               ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit sentence embeddings (N, H) and, per text, the target vectors of its spans (k, H)."""
        sent, hidden = self.encode_hidden(texts, spans)
        return sent, [self.params.target(x) for x in hidden]

    def sense_vectors(self, lemma: str) -> SenseVectors:
        """The lemma's senses with their gloss and example vectors (cached, least recently used out)."""
        key = SenseInventory.key(lemma)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        built = self._build(key)
        with self._cache_lock:
            self._cache[key] = built
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return built

    def _build(self, key: str) -> SenseVectors:
        senses = self.inventory.senses(key)
        shown = key.replace("_", " ")
        glosses = [s.gloss_text(shown) for s in senses]
        examples = sorted({e for s in senses for e in s.examples})
        spans_of = self._example_spans(key, examples, senses)
        texts = glosses + examples
        spans = [[(0, len(shown))] for _ in glosses] + [[spans_of[e]] if e in spans_of else [] for e in examples]
        sent, targets = self.encode(texts, spans)
        h = self.encoder.hidden_size
        ex_vec = {e: targets[len(glosses) + i][0] for i, e in enumerate(examples) if e in spans_of}
        ex_sent = {e: sent[len(glosses) + i] for i, e in enumerate(examples) if e in spans_of}
        per_text = tuple(tuple(e for e in s.examples if e in ex_vec) for s in senses)
        empty = np.zeros((0, h), np.float32)
        per_sense = tuple(np.stack([ex_vec[e] for e in t]) if t else empty for t in per_text)
        per_sentence = tuple(np.stack([ex_sent[e] for e in t]) if t else empty for t in per_text)
        span = tuple(tuple(spans_of[e] for e in t) for t in per_text)
        g = sent[: len(glosses)] if senses else np.zeros((0, h), np.float32)
        gt = np.stack([t[0] for t in targets[: len(glosses)]]) if senses else np.zeros((0, h), np.float32)
        signature, signature_examples, whole = None, (), None
        align_signature: tuple[np.ndarray, ...] = ()
        align_examples: tuple[tuple[np.ndarray, ...], ...] = ()
        if self.words is not None:
            signature, signature_examples = signatures(self.words, self.inventory, key, senses)
            whole = np.stack([unit(signature[r] + signature_examples[r].sum(axis=0)) for r in range(len(senses))]) \
                if senses else signature
            if self.params.weights.get("align"):
                align_signature, align_examples = signature_words(self.words, self.inventory, key, senses)
        related = self.related_glosses(senses) if self.params.weights.get("related_gloss") else ()
        return SenseVectors(key, senses, g, self.params.sentence(g) if len(g) else g, gt, per_sense, per_sentence,
                            per_text, span, signature, signature_examples, whole, align_signature, align_examples,
                            self.words if align_signature else None, related)

    def related_glosses(self, senses: Sequence[WordSense]) -> tuple[np.ndarray, ...]:
        """Per sense, the gloss embeddings (R, H) float16 of its nearest relatives (``RELATED_HYPERNYMS``
        hypernyms, ``RELATED_HYPONYMS`` hyponyms), each gloss written as ``name (synonyms): definition``;
        encoded once per synset and kept in a bounded cache shared by every lemma."""
        wanted = [tuple(dict.fromkeys((*s.related[0][:RELATED_HYPERNYMS], *s.related[1][:RELATED_HYPONYMS])))
                  if s.related else () for s in senses]
        with self._cache_lock:
            known = {sid: self._related[sid] for ids in wanted for sid in ids if sid in self._related}
        missing = sorted({sid for ids in wanted for sid in ids} - known.keys())
        if missing:
            texts = []
            for sid in missing:
                relative = self.inventory.synset(sid)
                texts.append(relative.gloss_text(relative.lemma_names[0]))
            sent, _ = self.encode_hidden(texts, [[] for _ in texts])
            known.update(zip(missing, sent.astype(np.float16)))
        with self._cache_lock:
            for sid in (sid for ids in wanted for sid in ids):
                self._related[sid] = known[sid]
                self._related.move_to_end(sid)
            while len(self._related) > RELATED_CACHE:
                self._related.popitem(last=False)
        h = self.encoder.hidden_size
        return tuple(np.stack([known[sid] for sid in ids]) if ids else np.zeros((0, h), np.float16) for ids in wanted)

    def _example_spans(self, key: str, examples: Sequence[str], senses: Sequence[WordSense]
                       ) -> dict[str, tuple[int, int]]:
        """Where the lemma occurs in each example (spaCy lemmas; the first token agreeing in POS)."""
        if "_" in key or not examples:
            return {}
        pos_of: dict[str, set[str]] = {}
        for s in senses:
            for e in s.examples:
                pos_of.setdefault(e, set()).add(s.pos)
        out = {}
        for text, doc in zip(examples, self.lemmatizer.lemmatize(list(examples))):
            hits = [t for t in doc.tokens if t.lemma.lower() == key or t.text.lower() == key]
            if not hits:
                continue
            agreeing = [t for t in hits if any(t.pos in _AGREEING_UPOS[p] for p in pos_of.get(text, ()))]
            best = (agreeing or hits)[0]
            out[text] = (best.start, best.end)
        return out

    # ----- scoring -------------------------------------------------------------------------------
    def compounds(self, text: str, start: int, end: int, lemma: str) -> frozenset[str]:
        """The synsets, and their hypernyms three levels up, of the WordNet compounds the occurrence at
        ``start:end`` forms with the words next to it: "date palm", "power plant", "fish tank",
        "capital letter" (one or two words before it, one after it, that one also without a plural
        s). The ``compound`` feature is 1 for a candidate among them: a *date palm* is a kind of
        *palm* the tree, a *fish tank* of *tank* the vessel."""
        left = _NEIGHBOUR.findall(text[:start])[-2:]
        right = _NEIGHBOUR.findall(text[end:])[:1]
        keys = [f"{left[-1]}_{lemma}"] if left else []
        if len(left) == 2:
            keys.append(f"{left[0]}_{left[1]}_{lemma}")
        if right:
            keys += [f"{lemma}_{right[0]}"] + ([f"{lemma}_{right[0][:-1]}"] if right[0].lower().endswith("s") else [])
        out: set[str] = set()
        for key in keys:
            key = SenseInventory.key(key)
            if key != lemma and key in self.inventory:
                for s in self.inventory.senses(key):
                    out |= self.inventory.ancestors(s.synset, 3)
        return frozenset(out)

    def context(self, text: str, start: int, end: int, lemma: str) -> StaticContext | None:
        """The static-vector context of ``text`` without the target at ``start:end``: its unit bag and
        its words' unit vectors (None without ``words``)."""
        if self.words is None:
            return None
        return self.words.static_context(text, start, end, self.words.forms(lemma) | {text[start:end].lower()})

    @staticmethod
    def features(sv: SenseVectors, rows: Sequence[int], sentence: np.ndarray, target: np.ndarray,
                 exclude: frozenset[str] = frozenset(), context: StaticContext | None = None,
                 compound: frozenset[str] = frozenset()) -> np.ndarray:
        """(len(rows), len(FEATURES)) features of the candidate senses ``rows`` for one occurrence.

        ``exclude``: example sentences not to use (leave-one-out evaluation); ``context``: the
        sentence's static-vector context (``context``; None: ``lesk`` and ``align`` are 0);
        ``compound``: the synsets of the compounds around the occurrence (``compounds``)."""
        out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
        for j, r in enumerate(rows):
            g = float(sv.gloss[r] @ sentence)
            gt = float(sv.gloss_target[r] @ target)
            ex, es = sv.example_target[r], sv.example_sentence[r]
            if exclude and len(ex):
                keep = [i for i, t in enumerate(sv.example_text[r]) if t not in exclude]
                ex, es = ex[keep], es[keep]
            out[j] = (g, gt, float((ex @ target).max()) if len(ex) else gt,
                      float((es @ sentence).max()) if len(es) else g, -np.log(sv.senses[r].sense_number),
                      sv.lesk(r, context.bag, exclude) if context is not None else 0.0,
                      1.0 if sv.senses[r].synset in compound else 0.0,
                      sv.align(r, context, exclude) if context is not None else 0.0,
                      sv.related(r, sentence))
        return out

    def log_prior(self, sv: SenseVectors, rows: Sequence[int]) -> np.ndarray:
        """Per candidate, ``frequency_prior[its pos] x log(tag count + 1)``: the smoothed SemCor count."""
        beta = self.params.frequency_prior
        return np.array([beta.get(sv.senses[r].pos, 0.0) * np.log(sv.senses[r].tag_count + 1.0) for r in rows])

    def probabilities(self, feats: np.ndarray, log_prior: np.ndarray | None = None,
                      excluded: np.ndarray | None = None) -> np.ndarray:
        """Softmax of the weighted features plus ``log_prior`` (see ``log_prior``); ``excluded``
        candidates (the case rule) get probability 0 unless all are excluded."""
        w = np.array([self.params.weights[k] for k in FEATURES])
        z = feats @ w
        if log_prior is not None:
            z = z + log_prior
        if excluded is not None and excluded.any() and not excluded.all():
            z = np.where(excluded, -np.inf, z)
        z = z - z.max()
        p = np.exp(z)
        return p / p.sum()

    def excluded(self, sv: SenseVectors, rows: Sequence[int], surface: str | None) -> np.ndarray | None:
        """The case rule: for an occurrence written in lower case, the candidates that are proper names."""
        if not self.params.case_rule or not surface or not surface[:1].islower():
            return None
        return np.array([sv.capitalised(r) for r in rows], dtype=bool)

    def occurrence_probabilities(self, sv: SenseVectors, rows: Sequence[int], sentence: np.ndarray,
                                 target: np.ndarray, surface: str | None,
                                 exclude: frozenset[str] = frozenset(), context: StaticContext | None = None,
                                 compound: frozenset[str] = frozenset()) -> np.ndarray:
        """The candidates' probabilities for one occurrence (features, frequency prior, case rule)."""
        feats = self.features(sv, rows, sentence, target, exclude, context, compound)
        return self.probabilities(feats, self.log_prior(sv, rows), self.excluded(sv, rows, surface))

    def candidate_rows(self, sv: SenseVectors, pos: str | None) -> list[int]:
        rows = [i for i, s in enumerate(sv.senses) if pos is None or s.pos == pos]
        return rows or list(range(len(sv.senses)))

    def lookup_lemma(self, token: LemmaToken, target_lemma: str) -> str | None:
        """The WordNet lemma of an occurrence: its spaCy lemma, the target's, or the word as written;
        each also without accents (WordNet writes *cafe*, *resume*, *naive*)."""
        for word in (token.lemma, target_lemma, token.text):
            for form in (word.lower(), unaccented(word.lower())) if word else ():
                if form in self.inventory:
                    return SenseInventory.key(form)  # WordNet's spelling: "ice_cream"
        return None

    # ----- the task ------------------------------------------------------------------------------
    def disambiguate(self, target: str, sentences: Sequence[str], *, pos: str | None = None,
                     top_k: int | None = None, exclude: frozenset[str] = frozenset(),
                     require_all: bool = True) -> DisambiguationResult:
        return self.analyse(target, sentences, pos=pos, top_k=top_k, exclude=exclude, require_all=require_all)[0]

    def analyse(self, target: str, sentences: Sequence[str], *, pos: str | None = None,
                top_k: int | None = None, exclude: frozenset[str] = frozenset(), require_all: bool = True
                ) -> tuple[DisambiguationResult, list[np.ndarray], list[np.ndarray]]:
        """The disambiguation plus what the encoder gave, per sentence: the unit sentence embedding
        each of its occurrences was read with (k, H) and every layer of each occurrence's vector
        (k, L+1, H) (see ``encode_occurrences``)."""
        if pos is not None and pos not in ("n", "v", "a", "r"):
            raise InputError(f"pos must be one of n, v, a, r; got {pos!r}", code="bad-pos", given=pos)
        surface, lemma, found, contexts = find_occurrences_in_context(self.lemmatizer, target, sentences,
                                                                      context=self.context_sentences)
        missing = [i for i, hits in enumerate(found) if not hits]
        if missing and require_all:
            raise InputError(
                f"the target {target!r} (lemma {lemma!r}) does not occur in sentence(s) {missing}",
                code="target-not-found", given=missing, missing=missing)
        n_occ = sum(len(hits) for hits in found)
        if n_occ > MAX_OCCURRENCES:
            raise InputError(f"the target {target!r} occurs {n_occ} times in these sentences; the limit is "
                             f"{MAX_OCCURRENCES} occurrences per request", code="too-many-occurrences",
                             limit=MAX_OCCURRENCES, given=n_occ)
        known = any(w in self.inventory for w in (lemma, surface, unaccented(lemma), unaccented(surface)))
        sent, hidden, reads = self.encode_occurrences(sentences, [[(t.start, t.end) for t, _ in hits]
                                                                 for hits in found], contexts)
        targets = [self.params.target(x) for x in hidden]
        results = []
        for i, hits in enumerate(found):
            occs = []
            for k, (tok, index) in enumerate(hits):
                wn_lemma = self.lookup_lemma(tok, lemma) if known else None
                wn_pos = pos or UPOS_TO_WN.get(tok.pos or "")
                occ = TargetOccurrence(i, index, tok.start, tok.end, tok.text, tok.lemma, tok.pos, None)
                if wn_lemma is None:
                    occs.append(Disambiguation(occ, None, (), f"{tok.text!r} is not in WordNet"))
                    continue
                sv = self.sense_vectors(wn_lemma)
                rows = self.candidate_rows(sv, wn_pos)
                note = None
                if wn_pos is not None and sv.senses[rows[0]].pos != wn_pos:
                    note = (f"WordNet has no {wn_pos!r} sense of {wn_lemma!r}"
                            + (" (spaCy's tag)" if pos is None else "") + "; all its senses are candidates")
                text, (start, end) = reads[i][k]
                probs = self.occurrence_probabilities(sv, rows, sent[i][k], targets[i][k], tok.text, exclude,
                                                      self.context(text, start, end, wn_lemma),
                                                      self.compounds(text, start, end, wn_lemma)
                                                      if self.params.weights.get("compound") else frozenset())
                order = np.argsort(-probs, kind="stable")[: top_k or None]
                cands = tuple(_candidate(sv, rows[j], float(probs[j]), wn_lemma) for j in order)
                used_pos = sv.senses[rows[0]].pos if note is None else None
                occs.append(Disambiguation(
                    TargetOccurrence(i, index, tok.start, tok.end, tok.text, tok.lemma, tok.pos, used_pos),
                    wn_lemma, cands, note, sv))
            results.append(SentenceResult(i, sentences[i], tuple(occs)))
        note = None if known else f"{target!r} (lemma {lemma!r}) is not in WordNet: no senses to choose from"
        return DisambiguationResult(target, lemma, known, note, tuple(results)), sent, hidden


def _candidate(sv: SenseVectors, row: int, prob: float, lemma: str) -> Candidate:
    s = sv.senses[row]
    return Candidate(s.synset, s.pos, s.sense_number, s.lemma_names, s.definition, s.lexname, round(prob, 4))
