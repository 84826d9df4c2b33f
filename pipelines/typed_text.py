"""Text as people type it, read the way a model's training sentences were written.

Tatoeba's English (the translation model's training data) is carefully written: "I", apostrophes
in contractions, a final mark on every sentence. Typed text often has none of these: "i dont
know", "he doesnt like it". Read literally, the model guesses ("he doesnt like it" gave "A él le
gusta.", the opposite). ``read_typed`` returns the text the model should read together with, for
each of its characters, where it came from in the typed text, so that offsets, source tokens and
attention still point at what the user typed:

- a contraction typed without its apostrophe gets it back ("dont" -> "don't", "Im" -> "I'm"), only
  for forms that are not also English words ("cant" and "wont" are, but are rare enough in typed
  text to read as "can't" and "won't"; "its", "were", "well", "ill", "id", "hell", "shell", "lets",
  "wed" and "hed" are left alone);
- a lone "i" is "I", and a sentence's first word starts with a capital ("youre late" reads as
  "You're late."; a word with digits or inner capitals, such as "iPhone", is kept as typed);
- a sentence without final punctuation gets a full stop, or a question mark when it opens like a
  question ("where is ...", "can you ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# each bare form -> where its apostrophe goes, counted from the end of the word
_BARE: dict[str, int] = {}
for _w in ("dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "havent", "hasnt", "hadnt", "couldnt",
           "shouldnt", "wouldnt", "mustnt", "neednt", "mightnt", "cant", "wont", "aint"):
    _BARE[_w] = 1                                           # n't
for _w in ("youre", "theyre"):
    _BARE[_w] = 2                                           # 're
for _w in ("ive", "youve", "weve", "theyve", "wouldve", "couldve", "shouldve", "mightve", "mustve"):
    _BARE[_w] = 2                                           # 've
for _w in ("youll", "theyll", "itll", "thatll"):
    _BARE[_w] = 2                                           # 'll
for _w in ("youd", "theyd"):
    _BARE[_w] = 1                                           # 'd
for _w in ("thats", "whats", "wheres", "whos", "hows", "theres", "heres", "hes", "shes", "whens", "whys"):
    _BARE[_w] = 1                                           # 's
_BARE["im"] = 1                                             # 'm

_BARE_WORD = re.compile(r"(?<![\w'’])(" + "|".join(sorted(_BARE, key=len, reverse=True)) + r")(?![\w'’])",
                        re.IGNORECASE)
_LOWER_I = re.compile(r"(?<![\w'’])i(?![\w])")  # "i" typed for "I" ("i'm", "i think")
_FINAL = set(".!?…;:\"'»”)]")
# a sentence opening like this, typed without its final mark, is a question
_QUESTION_START = re.compile(r"^\W*(what|what's|where|where's|when|who|who's|whom|whose|why|how|how's|which|is|are|"
                             r"am|was|were|do|does|did|can|could|will|would|should|shall|may|might|have|has|had|"
                             r"isn't|aren't)\b",
                             re.IGNORECASE)
_FIRST_LETTER = re.compile(r"^[\s\"'“‘(¿¡]*(\w)")
ADDED = -1  # the origin of a character the typed text does not have at all (an added final mark)


@dataclass(frozen=True)
class TypedText:
    """``text`` for the model; ``origin[k]`` is the typed text's index of ``text[k]`` (an inserted
    apostrophe counts as part of the character after it), ``ADDED`` for an added final mark."""
    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The typed text's span of the model text's ``[start, end)``; None if all of it was added."""
        typed = [self.origin[k] for k in range(start, end) if self.origin[k] != ADDED]
        return (min(typed), max(typed) + 1) if typed else None


def _word_at(text: str, k: int) -> str:
    """The run of word characters and apostrophes starting at ``k``."""
    m = re.match(r"[\w']+", text[k:])
    return m.group(0).replace("'", "") if m else ""


def read_typed(text: str, *, sentence: bool = True) -> TypedText:
    """``sentence=False``: restore apostrophes only (no capital, no final mark), for models that
    read text in any case and without sentence marks, such as the classifiers."""
    chars: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _BARE_WORD.finditer(text):
        cut = m.end() - _BARE[m.group(1).lower()]
        chars += text[last:cut]
        origin += range(last, cut)
        chars.append("'")
        origin.append(cut)
        last = cut
    chars += text[last:]
    origin += range(last, len(text))
    out = "".join(chars)
    if not sentence:
        return TypedText(out, tuple(origin))
    out = _LOWER_I.sub("I", out)  # same length
    first = _FIRST_LETTER.search(out)
    word = _word_at(out, first.start(1)) if first else ""
    if word.isalpha() and word.islower():
        k = first.start(1)
        out = out[:k] + out[k].upper() + out[k + 1:]   # same length
    stripped = out.rstrip()
    if stripped and stripped[-1] not in _FINAL and any(ch.isalnum() for ch in stripped):
        mark = "?" if _QUESTION_START.match(stripped) else "."
        n = len(stripped)
        out = stripped + mark + out[n:]
        origin = origin[:n] + [ADDED] + origin[n:]
    return TypedText(out, tuple(origin))
