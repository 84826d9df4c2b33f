"""Request and response schemas. Every limit is declared here, so it shows in OpenAPI.

Request models are built per app from its ``Limits`` (``build_request_models``), so a
configured limit is the one the schema documents and the one a request is checked against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from service.settings import Limits

# C0 controls except tab, line feed and carriage return; DEL; lone UTF-16 surrogates
# (JSON can spell them as "\ud800", and they cannot be encoded back to UTF-8).
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MODEL_MAX_LENGTH = 512


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


def _one_or_many(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


def _total_chars(value: str | list[str] | None) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, str) else sum(len(v) for v in value)


def _check_total(limits: Limits, *values: str | list[str] | None) -> None:
    total = sum(_total_chars(v) for v in values)
    if total > limits.max_total_chars:
        raise PydanticCustomError(
            "too_many_characters",
            "the request has {given} characters in all; the limit is {limit} per request "
            "(LEXIFLOW_MAX_TOTAL_CHARS): split it into several requests",
            {"limit": limits.max_total_chars, "given": total},
        )


@dataclass(frozen=True)
class RequestModels:
    LemmatizeRequest: type[BaseModel]
    TokenizeRequest: type[BaseModel]


def build_request_models(limits: Limits) -> RequestModels:
    Text = Annotated[
        str,
        Field(min_length=1, max_length=limits.max_text_chars,
              description=f"a non-empty text of at most {limits.max_text_chars} characters"),
        AfterValidator(check_text),
    ]
    Texts = Annotated[
        list[Text],
        Field(min_length=1, max_length=limits.max_items,
              description=f"1 to {limits.max_items} texts, processed as one batch"),
    ]
    TextInput = Annotated[
        Union[Annotated[Text, Tag("one")], Annotated[Texts, Tag("many")]],
        Discriminator(_one_or_many),
    ]
    limit_note = (f"Limits: {limits.max_text_chars} characters per text, {limits.max_items} texts per request, "
                  f"{limits.max_total_chars} characters per request, {limits.max_body_bytes} bytes per body.")

    class LemmatizeRequest(BaseModel):
        __doc__ = f"One text or a list of texts to lemmatize. {limit_note}"
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"text": "The striped bats were hanging on their feet and ate best fishes."},
            {"text": ["I'm going to the bank.", "The geese swam by."], "engine": "lookup"},
        ]})

        text: TextInput = Field(description="one text, or a list of texts")
        engine: Literal["rule", "lookup"] = Field(
            "rule", description="rule: POS-aware lemmas from the trained English pipeline; "
                                "lookup: fast table lookup without context")

        @model_validator(mode="after")
        def _total(self) -> LemmatizeRequest:
            _check_total(limits, self.text)
            return self

    class TokenizeRequest(BaseModel):
        __doc__ = f"One text, a pair, or lists of either, to split into WordPieces. {limit_note}"
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"text": "The kids were playing.", "text_pair": "Who was playing?", "align_with": "spacy"},
            {"text": ["a first text", "a second one"], "max_length": 8, "truncation": "longest_first",
             "padding": "longest"},
        ]})

        text: TextInput = Field(description="one text (segment A), or a list of texts")
        text_pair: TextInput | None = Field(
            None, description="segment B: a text if `text` is one, a list of the same length if `text` is a list")
        add_special_tokens: bool = Field(True, description="add [CLS] and [SEP] as the tokenizer template says")
        max_length: int | None = Field(
            None, ge=1, le=MODEL_MAX_LENGTH,
            description=f"tokens per sequence, special tokens included; default and ceiling {MODEL_MAX_LENGTH}")
        truncation: Literal["none", "longest_first", "only_first", "only_second"] = Field(
            "none", description="none: an over-long input is refused with 422; otherwise cut and report what was cut")
        truncation_side: Literal["right", "left"] = "right"
        padding: Literal["none", "longest", "max_length"] = Field(
            "none", description="pad to the longest sequence of the request, or to max_length")
        pad_to_multiple_of: int | None = Field(None, ge=1, le=MODEL_MAX_LENGTH)
        split_special_tokens: bool = Field(
            False, description="treat special-token strings typed in the text (e.g. '[SEP]') as plain text")
        align_with: Literal["spacy"] | None = Field(
            None, description="add the alignment from spaCy tokens to wordpieces")

        @model_validator(mode="after")
        def _pairs(self) -> TokenizeRequest:
            if self.text_pair is not None:
                if isinstance(self.text, str) != isinstance(self.text_pair, str):
                    raise PydanticCustomError(
                        "pair_shape", "text and text_pair must both be a text or both be lists")
                if isinstance(self.text, list) and len(self.text) != len(self.text_pair):
                    raise PydanticCustomError(
                        "pair_length", "text has {limit} items but text_pair has {given}",
                        {"limit": len(self.text), "given": len(self.text_pair)})
            _check_total(limits, self.text, self.text_pair)
            return self

    return RequestModels(LemmatizeRequest=LemmatizeRequest, TokenizeRequest=TokenizeRequest)


# ----- responses ---------------------------------------------------------------------------------
class LemmaTokenOut(BaseModel):
    text: str
    lemma: str
    pos: str | None = Field(description="universal POS tag (null for the lookup engine)")
    tag: str | None = Field(description="fine-grained (Penn Treebank) tag (null for the lookup engine)")
    morph: str | None = Field(description="morphological features, e.g. Number=Plur")
    start: int = Field(description="character offset of the token in its text")
    end: int
    whitespace: str = Field(description="whitespace after the token")
    is_punct: bool
    is_stop: bool
    is_space: bool
    sentence: int = Field(description="index into `sentences`")


class SentenceOut(BaseModel):
    start: int
    end: int
    text: str


class LemmatizeResult(BaseModel):
    tokens: list[LemmaTokenOut]
    sentences: list[SentenceOut]


class LemmatizeResponse(BaseModel):
    engine: Literal["rule", "lookup"]
    model: str
    model_version: str
    spacy_version: str
    results: list[LemmatizeResult] = Field(description="one result per input text, in order")


class CutTokenOut(BaseModel):
    sequence: int = Field(description="0 = text, 1 = text_pair")
    token: str
    id: int
    start: int
    end: int


class UnknownOut(BaseModel):
    index: int = Field(description="position of the [UNK] in the sequence")
    sequence: int
    start: int
    end: int
    text: str = Field(description="the characters that became [UNK]")


class AlignmentOut(BaseModel):
    sequence: int
    text: str = Field(description="the spaCy token")
    start: int
    end: int
    wordpieces: list[int] = Field(description="positions of the wordpieces covering the token")


class TokenizeResult(BaseModel):
    tokens: list[str]
    input_ids: list[int]
    token_type_ids: list[int] = Field(description="segment ids: 0 for [CLS] A [SEP], 1 for B [SEP]")
    position_ids: list[int]
    attention_mask: list[int]
    special_tokens_mask: list[int]
    offsets: list[tuple[int, int]] = Field(description="character [start, end) in the text named by sequence_ids")
    sequence_ids: list[int | None] = Field(description="0 = text, 1 = text_pair, null = special or padding")
    word_ids: list[int | None] = Field(description="pre-tokenized word index within its own text")
    length: int = Field(description="tokens before padding")
    num_unk: int
    unknown: list[UnknownOut]
    num_truncated: int
    truncated: list[CutTokenOut] = Field(description="tokens removed by truncation, in text order")
    alignment: list[AlignmentOut] | None = None


class TokenizeResponse(BaseModel):
    model: str
    model_version: str
    vocab_size: int
    max_length: int
    truncation: str
    padding: str
    results: list[TokenizeResult] = Field(description="one result per input (or pair), in order")


class ModelOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: str
    name: str
    version: str


class ReadyResponse(BaseModel):
    status: Literal["ready", "loading", "failed"]
    models: list[ModelOut]
    load_seconds: float | None = None
    error: str | None = None


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    limit: Any | None = None
    given: Any | None = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details, served as application/problem+json."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="a URI reference naming the problem, e.g. /problems/validation-error")
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    limit: Any | None = Field(None, description="the limit that was exceeded")
    given: Any | None = Field(None, description="the value the request gave")
    errors: list[ProblemError] | None = None
