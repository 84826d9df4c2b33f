"""Where a target word or expression occurs in sentences, and what each occurrence is read in.

Matching is spaCy's: token by token, by surface form, the last token also by lemma; words compared
in lower case, without accents and invisible format characters; hyphens between the words of an
expression ignored. Each occurrence is read in its own sentence (spaCy's ``senter``) unless asked
otherwise (``bench/long_context.py`` measures why).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from pipelines.errors import InputError
from pipelines.lemmatize import LemmaToken, Lemmatizer

MAX_TARGET_TOKENS = 8  # a WordNet multiword expression ("ice cream", "T-shirt") has a few tokens
_HYPHENS = frozenset({"-", "\u2010", "\u2011"})


def find_occurrences(lemmatizer: Lemmatizer, target: str, sentences: Sequence[str]
                     ) -> tuple[str, str, list[list[tuple[LemmaToken, int]]]]:
    """(target surface, target lemma, per sentence every token that is the target: by surface form or lemma)."""
    surface, lemma, found, _ = find_occurrences_in_context(lemmatizer, target, sentences, context=None)
    return surface, lemma, found


def find_occurrences_in_context(lemmatizer: Lemmatizer, target: str, sentences: Sequence[str], *,
                                context: int | None = 0
                                ) -> tuple[str, str, list[list[tuple[LemmaToken, int]]], list[list[tuple[int, int]]]]:
    """``find_occurrences``, and per occurrence the characters it is read in: the sentence spaCy puts it
    in (``senter``) with ``context`` sentences on each side, or the whole text when ``context`` is None.

    The target is one word or a multiword expression of up to ``MAX_TARGET_TOKENS`` spaCy tokens
    ("ice cream", "T-shirt"); an occurrence matches the target token by token, by surface form, the
    last token also by lemma ("ice creams", "T-shirts"). Words are compared in lower case, without
    accents and without invisible format characters (café = cafe, a zero-width space ignored); a
    multiword occurrence is one token spanning its words, with the lemma of its last word."""
    target_doc, *docs = lemmatizer.lemmatize([target, *sentences])
    words = [t for t in target_doc.tokens if not t.is_space]
    if not words or len(words) > MAX_TARGET_TOKENS:
        raise InputError(f"target must be a word or an expression of at most {MAX_TARGET_TOKENS} tokens; "
                         f"{target!r} has {len(words)}", code="bad-target", limit=MAX_TARGET_TOKENS,
                         given=len(words))
    head = target[words[0].start:words[-1].start]
    surface = (head + words[-1].text).lower()
    lemma = (head + words[-1].lemma).lower()
    if len(words) > 1:  # "ice-cream" is "ice cream": hyphens between words are not compared
        words = [w for w in words if w.text not in _HYPHENS] or words
    forms = [folded(w.text) for w in words]
    last_forms = {forms[-1], folded(words[-1].lemma)}
    found, reads = [], []
    for text, doc in zip(sentences, docs):
        tokens = [t for t in doc.tokens if not t.is_space and (len(words) == 1 or t.text not in _HYPHENS)]
        hits = []
        n = len(words)
        for i in range(len(tokens) - n + 1):
            run = tokens[i:i + n]
            if any(folded(t.text) != f for t, f in zip(run[:-1], forms[:-1])):
                continue
            last = run[-1]
            if not ({folded(last.text), folded(last.lemma)} & last_forms):
                continue
            if n > 1:
                last = replace(last, text=text[run[0].start:last.end], start=run[0].start, sentence=run[0].sentence,
                               lemma=text[run[0].start:last.start] + last.lemma)
            hits.append(last)
        found.append([(t, i) for i, t in enumerate(hits)])
        if context is None or len(doc.sentences) < 2:
            reads.append([(0, len(text))] * len(hits))
            continue
        end = len(doc.sentences) - 1
        reads.append([(doc.sentences[max(0, t.sentence - context)].start,
                       doc.sentences[min(end, t.sentence + context)].end) for t in hits])
    return surface, lemma, found, reads


def folded(word: str) -> str:
    """How words are compared: lower case, no accents, no invisible format characters (Cf)."""
    return unaccented("".join(c for c in word if unicodedata.category(c) != "Cf").lower())


def unaccented(word: str) -> str:
    """``word`` without combining accents (NFKD, marks dropped): café -> cafe."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
