"""Carry names over: repair an output word that the model garbled from a source name.

A subword model can copy a name it never saw piece by piece, but a small model often garbles it
("Svetlana" -> "Svetana"). After decoding, for every name in the source that is missing from the
output, the output word that attended most to that name (its word-attention argmax) is replaced by
the name when it looks like a copy of it (similar spelling, the same first letter, or capitalised
inside the sentence) and is not itself a common word (a deliberate translation such as "Londres"). This is the attention-guided replacement of Luong et al. (2015, "Addressing
the rare word problem") applied to garbled copies instead of ``<unk>``. A name that the model
dropped altogether is left alone (there is no word to replace); ``missing_names`` lists it, so
that the caller can say so.

A source word counts as a name when it is capitalised (``Olga``, ``McDonald``) and either not the
first word of a sentence, or, when it is, not a common lowercase word (``common(word)``, decided by
the caller, e.g. "a single piece of the subword vocabulary").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

_SENTENCE_START = {".", "!", "?", "¿", "¡", '"', ":", ";", "(", "«", "“", "-", "—"}


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def is_name_shaped(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and any(ch.islower() for ch in word[1:]) and word.isalpha()


def name_positions(source_words: Sequence[str], common: Callable[[str], bool]) -> list[int]:
    out = []
    for j, w in enumerate(source_words):
        if not is_name_shaped(w):
            continue
        first = j == 0 or source_words[j - 1] in _SENTENCE_START
        if first and common(w.lower()):
            continue
        out.append(j)
    return out


def repair_names(
    source_words: Sequence[str], target_words: Sequence[str], word_attention: Sequence[Sequence[float]],
    common: Callable[[str], bool], *, min_similarity: float = 0.5,
) -> tuple[list[str], list[tuple[str, str]]]:
    """New target words and the (garbled, name) replacements made. ``word_attention`` has one row per
    target word over the source words. An output word that is itself a common word (``common``, e.g.
    one piece of the vocabulary: "Japón", "Londres", "inglés", "María") is a deliberate translation
    and is never replaced; only a rare or made-up word is."""
    words = list(target_words)
    if not word_attention or not words:
        return words, []
    text = " ".join(words)
    used: set[int] = set()
    done = []
    for j in name_positions(source_words, common):
        name = source_words[j]
        if _has_word(text, name):
            continue
        best, best_score = None, -1.0
        for i, row in enumerate(word_attention):
            if i in used or not row or max(range(len(row)), key=row.__getitem__) != j:
                continue
            cand = words[i]
            # a capitalised beginning of the name ("Tor" for "Toronto") is a copy cut short, even when it
            # is a common piece; a deliberate translation ("Londres") is never a prefix of the name
            cut_short = 2 <= len(cand) < len(name) and cand[:1].isupper() and name.startswith(cand)
            if not any(ch.isalpha() for ch in cand) or (not cut_short and (common(cand.lower()) or common(cand))):
                continue
            sim = SequenceMatcher(None, cand.lower(), name.lower()).ratio()
            looks_like = sim >= min_similarity or cand[:1].lower() == name[:1].lower() or (i > 0 and cand[:1].isupper())
            if looks_like and sim > best_score:
                best, best_score = i, sim
        if best is not None:
            done.append((words[best], name))
            words[best] = name
            used.add(best)
            text = " ".join(words)
    return words, done


def missing_names(source_words: Sequence[str], target_words: Sequence[str], common: Callable[[str], bool]) -> list[str]:
    """The source's names (``name_positions``) that the target does not contain as a word: dropped,
    or translated (London -> Londres); either way, worth telling the reader."""
    text = " ".join(target_words)
    out = []
    for j in name_positions(source_words, common):
        name = source_words[j]
        if name not in out and not _has_word(text, name):
            out.append(name)
    return out
