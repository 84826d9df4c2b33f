"""The input types every task shares: a checked text, a batch of texts, one-or-many, pairs, and
the per-request character budget. Limits come from ``tasks.limits`` (configured, documented)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationInfo
from pydantic_core import PydanticCustomError

from tasks.limits import MaxLen, current

# C0 controls except tab, line feed and carriage return; DEL; lone UTF-16 surrogates
# (JSON can spell them as "\ud800", and they cannot be encoded back to UTF-8).
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_text(value: str) -> str:
    m = _BAD_CHARS.search(value)
    if m is not None:
        ch = m.group(0)
        kind = "a lone surrogate" if "\ud800" <= ch <= "\udfff" else "a control character"
        raise PydanticCustomError(
            "invalid_character",
            "text contains {kind} U+{codepoint} at position {position}; only tab, newline and carriage "
            "return are allowed among control characters",
            {"kind": kind, "codepoint": f"{ord(ch):04X}", "position": m.start()},
        )
    return value


def one_or_many(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


Text = Annotated[str, Field(min_length=1),
                 MaxLen("max_text_chars", describe="a non-empty text of at most {} characters"), AfterValidator(check_text)]
Texts = Annotated[list[Text], Field(min_length=1),
                  MaxLen("max_items", describe="1 to {} texts, processed as one batch")]
TextInput = Annotated[Union[Annotated[Text, Tag("one")], Annotated[Texts, Tag("many")]], Discriminator(one_or_many)]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def pair_list(text: str | list[str], pair: str | list[str] | None) -> list[str] | None:
    """``text_pair`` as a list aligned with ``as_list(text)`` (None when absent)."""
    if pair is None:
        return None
    return [pair] if isinstance(text, str) else list(pair)


def _total_chars(value: Any) -> int:
    if isinstance(value, list):
        return sum(_total_chars(v) for v in value)
    return len(value) if isinstance(value, str) else 0


def check_total(info: ValidationInfo | None, *values: Any) -> None:
    limit = current(info).max_total_chars
    total = sum(_total_chars(v) for v in values)
    if total > limit:
        raise PydanticCustomError(
            "too_many_characters",
            "the request has {given} characters in all; the limit is {limit} per request "
            "(LEXIFLOW_MAX_TOTAL_CHARS): split it into several requests",
            {"limit": limit, "given": total},
        )


def check_pair(text: str | list[str], pair: str | list[str] | None) -> None:
    if pair is None:
        return
    if isinstance(text, str) != isinstance(pair, str):
        raise PydanticCustomError("pair_shape", "text and text_pair must both be a text or both be lists")
    if isinstance(text, list) and len(text) != len(pair):
        raise PydanticCustomError("pair_length", "text has {limit} items but text_pair has {given}",
                                  {"limit": len(text), "given": len(pair)})
