"""Names for training the translation model to copy them: which words of a pair are names written
alike on both sides, and made-up names to put in their place (``--augment-names`` in
training/seq2seq.py)."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_ONSETS = ("b", "br", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kh", "l", "m", "n", "p", "pr", "r", "s",
           "sh", "sv", "t", "th", "tr", "v", "w", "y", "z", "zh", "")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "a", "ai", "ei", "ou", "y", "á", "é")
_CODAS = ("", "", "", "n", "r", "s", "l", "m", "k", "t", "v", "sk", "nd")


def common_lowercase(examples: Sequence[Any], min_count: int = 5) -> set[str]:
    """Words seen lowercased at least ``min_count`` times: "No", "Oh" or "Park" are words, not names."""
    counts: Counter[str] = Counter()
    for e in examples:
        counts.update(w for w in re.findall(r"\b[a-z]+\b", f"{e.source} {e.target}"))
    return {w for w, c in counts.items() if c >= min_count}


def copyable_names(e: Any, common: set[str] = frozenset()) -> list[str]:
    """Capitalised words written identically in the source and the target (names such as Tom, Boston)
    and not common as lowercase words: what a translation should carry over unchanged."""
    target = set(_CAPITALISED.findall(e.target))
    return sorted({w for w in _CAPITALISED.findall(e.source) if w in target and w.lower() not in common})


def random_name(rng: random.Random) -> str:
    """A pronounceable made-up name (2 to 4 syllables), so the model learns to copy any name."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4))) + rng.choice(_CODAS)
    return word[0].upper() + word[1:]
