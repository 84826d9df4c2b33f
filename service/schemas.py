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
MAX_TRANSLATE_CHARS = 1000   # the model was trained on sentences of up to 20 words; longer ones get a warning
MAX_SOURCE_TOKENS = 100
MAX_OUTPUT_TOKENS = 200
MAX_BEAM = 16
MAX_ATTENTION_DIM = 4096
MAX_ATTENTION_KEYS = 1024
MAX_ATTENTION_VALUE = 1e6  # |x| at most: dot products of 4096 such numbers stay finite in float32


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


def _total_chars(value: Any) -> int:
    if isinstance(value, list):
        return sum(_total_chars(v) for v in value)
    return len(value) if isinstance(value, str) else 0


def _check_total(limits: Limits, *values: Any) -> None:
    total = sum(_total_chars(v) for v in values)
    if total > limits.max_total_chars:
        raise PydanticCustomError(
            "too_many_characters",
            "the request has {given} characters in all; the limit is {limit} per request "
            "(LEXIFLOW_MAX_TOTAL_CHARS): split it into several requests",
            {"limit": limits.max_total_chars, "given": total},
        )


def _check_pair(text: str | list[str], pair: str | list[str] | None) -> None:
    if pair is None:
        return
    if isinstance(text, str) != isinstance(pair, str):
        raise PydanticCustomError("pair_shape", "text and text_pair must both be a text or both be lists")
    if isinstance(text, list) and len(text) != len(pair):
        raise PydanticCustomError("pair_length", "text has {limit} items but text_pair has {given}",
                                  {"limit": len(text), "given": len(pair)})


@dataclass(frozen=True)
class RequestModels:
    LemmatizeRequest: type[BaseModel]
    TokenizeRequest: type[BaseModel]
    EmbeddingsRequest: type[BaseModel]
    ContextualRequest: type[BaseModel]
    StaticRequest: type[BaseModel]
    SensesRequest: type[BaseModel]
    ClassifyRequest: type[BaseModel]
    TranslateRequest: type[BaseModel]
    HeatmapRequest: type[BaseModel]
    AttentionRequest: type[BaseModel]


TokenizeField = Literal["tokens", "input_ids", "token_type_ids", "position_ids", "attention_mask",
                        "special_tokens_mask", "offsets", "sequence_ids", "word_ids", "unknown", "truncated",
                        "alignment"]
TOKENIZE_ALWAYS = ("length", "num_unk", "num_truncated")


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
        fields: list[TokenizeField] | None = Field(
            None, min_length=1,
            description="return only these per-sequence fields (`length`, `num_unk` and `num_truncated` always "
                        "come back); default: all. A model input needs only input_ids, token_type_ids and "
                        "attention_mask, under a third of the response")

        @model_validator(mode="after")
        def _pairs(self) -> TokenizeRequest:
            _check_pair(self.text, self.text_pair)
            _check_total(limits, self.text, self.text_pair)
            return self

    class EmbeddingsRequest(BaseModel):
        __doc__ = f"OpenAI-compatible sentence embeddings (mean pooling, L2-normalised). {limit_note}"
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"input": ["The bank raised interest rates.", "We sat on the river bank."]},
            {"input": "one sentence", "encoding_format": "base64"},
        ]})

        input: TextInput = Field(description="one text or a list of texts")
        model: str | None = Field(None, description="the loaded encoder's name (optional; there is one)")
        encoding_format: Literal["float", "base64"] = "float"
        dimensions: int | None = Field(None, ge=1, description="must equal the encoder's size if given")
        user: str | None = Field(None, max_length=256, description="accepted for compatibility; not stored")
        truncate: bool = Field(False, description="cut over-long texts to the model's length instead of 422")

        @model_validator(mode="after")
        def _total(self) -> EmbeddingsRequest:
            _check_total(limits, self.input)
            return self

    class ContextualRequest(BaseModel):
        __doc__ = f"Contextual vectors from the encoder, per token, per word or pooled. {limit_note}"
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"text": "I sat on the bank.", "pooling": "none", "granularity": "words", "layer": -1},
            {"text": "The bank raised rates.", "text_pair": "Rates rose.", "pooling": "mean", "mean_last": 4},
        ]})

        text: TextInput
        text_pair: TextInput | None = None
        layer: int = Field(-1, ge=-64, le=64, description="0 = embedding layer, 1..L = transformer layers, "
                                                           "negative counts from the top (-1 = last)")
        mean_last: int | None = Field(None, ge=1, le=64, description="average the last k layers instead")
        pooling: Literal["mean", "cls", "none"] = Field(
            "mean", description="mean over the attention mask, the [CLS] vector, or none (one vector per token/word)")
        granularity: Literal["tokens", "words"] = Field(
            "tokens", description="with pooling none: per wordpiece, or per word (mean of its wordpieces)")
        normalize: bool = Field(False, description="L2-normalise every returned vector")
        encoding_format: Literal["float", "base64"] = Field(
            "float", description="base64: little-endian float32 bytes, for large outputs")
        max_length: int | None = Field(None, ge=1, le=MODEL_MAX_LENGTH)
        truncation: Literal["none", "longest_first", "only_first", "only_second"] = "none"

        @model_validator(mode="after")
        def _pairs(self) -> ContextualRequest:
            _check_pair(self.text, self.text_pair)
            _check_total(limits, self.text, self.text_pair)
            return self

    Word = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_text)]

    class StaticRequest(BaseModel):
        __doc__ = "Static word vectors (GloVe / word2vec): one vector per word, whatever the context."
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"words": ["bank", "river", "money"], "neighbours": 5},
            {"text": "The bank by the river.", "model": "glove-6b-50d"},
        ]})

        words: Annotated[list[Word], Field(min_length=1, max_length=limits.max_items)] | None = None
        text: Text | None = Field(None, description="split into words with spaCy (punctuation and spaces dropped)")
        model: str | None = Field(None, description="a loaded static model; default: the first configured")
        neighbours: int = Field(0, ge=0, le=50, description="nearest neighbours to return per word")
        include_vectors: bool = True
        encoding_format: Literal["float", "base64"] = "float"

        @model_validator(mode="after")
        def _one_source(self) -> StaticRequest:
            if (self.words is None) == (self.text is None):
                raise PydanticCustomError("one_of", "give exactly one of `words` or `text`")
            return self

    max_sentences = min(limits.max_items, 64)
    Sentences = Annotated[list[Text], Field(min_length=2, max_length=max_sentences)]

    class SensesRequest(BaseModel):
        __doc__ = ("Does a word mean the same thing in these sentences? Static vs contextual similarity, "
                   f"senses found in the data, a verdict with its confidence. {limit_note}")
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"target": "bank", "sentences": ["I deposited the cheque at the bank.",
                                             "We had a picnic on the bank of the river.",
                                             "The bank raised its interest rates.",
                                             "Reeds grew along the muddy banks."]},
            {"target": "bank", "sentences": ["She works at the bank.", "They fished from the bank."],
             "examples": {"finance": ["The bank approved the loan."], "river": ["The river overflowed its bank."]}},
        ]})

        target: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text)] = Field(
            description="one word; found in each sentence by surface form or lemma (case-insensitive)")
        sentences: Sentences = Field(description=f"2 to {max_sentences} sentences, each containing the target")
        examples: Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)],
                                 Annotated[list[Text], Field(min_length=1, max_length=16)]],
                            Field(min_length=1, max_length=16)] | None = Field(
            None, description="labelled example sentences per sense; each sentence then gets the nearest label")
        static_model: str | None = None
        neighbours: int = Field(10, ge=0, le=50)

        @model_validator(mode="after")
        def _total(self) -> SensesRequest:
            extra = [s for group in (self.examples or {}).values() for s in group]
            _check_total(limits, self.sentences, extra)
            return self

    class ClassifyRequest(BaseModel):
        __doc__ = f"One text or a list of texts to classify with a CNN n-gram classifier. {limit_note}"
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"text": "How far is it from Denver to Aspen?"},
            {"text": ["Who wrote Hamlet?", "What is the capital of Peru?"], "top_k": 3, "model": "trec-cnn"},
        ]})

        text: TextInput = Field(description="one text, or a list of texts")
        model: str | None = Field(None, description="a loaded classifier (GET /v1/models); default: the first")
        top_k: int = Field(5, ge=0, le=50, description="n-grams of evidence to return per text")

        @model_validator(mode="after")
        def _total(self) -> ClassifyRequest:
            _check_total(limits, self.text)
            return self

    TranslateText = Annotated[
        str, Field(min_length=1, max_length=MAX_TRANSLATE_CHARS,
                   description=f"a non-empty text of at most {MAX_TRANSLATE_CHARS} characters"),
        AfterValidator(check_text)]
    max_translate_items = min(limits.max_items, 64)
    TranslateInput = Annotated[
        Union[Annotated[TranslateText, Tag("one")],
              Annotated[list[TranslateText], Field(min_length=1, max_length=max_translate_items), Tag("many")]],
        Discriminator(_one_or_many)]

    class DecodingOptions(BaseModel):
        beam_size: int = Field(5, ge=1, le=MAX_BEAM, description="1 = greedy decoding")
        length_penalty: float | None = Field(
            None, ge=0.0, le=5.0,
            description="GNMT length penalty alpha for ranking beam hypotheses; default: the model's (chosen on dev)")
        coverage_penalty: float | None = Field(
            None, ge=0.0, le=5.0,
            description="GNMT coverage penalty beta (penalises source words left unattended); default: the model's")
        no_repeat_ngram: int | None = Field(
            None, ge=0, le=6, description="forbid repeating any subword n-gram of this size (0 = off); "
                                          "default: the model's")
        copy_names: bool | None = Field(
            None, description="replace an output word garbled from a source name by the name (attention-guided); "
                              "default: the model's")
        max_length: int | None = Field(None, ge=1, le=MAX_OUTPUT_TOKENS,
                                       description="output tokens at most; default: 2 x source tokens + 10")

    class TranslateRequest(DecodingOptions):
        __doc__ = (f"English -> Spanish with the LSTM encoder-decoder. At most {MAX_TRANSLATE_CHARS} characters "
                   f"and {MAX_SOURCE_TOKENS} tokens per text, {max_translate_items} texts per request.")
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"text": "I am hungry.", "return_attention": True},
            {"text": ["Where is the station?", "Tom likes cats."], "beam_size": 1},
        ]})

        text: TranslateInput = Field(description="one text, or a list of texts")
        model: str | None = Field(None, description="a loaded translation model; default: the first")
        return_attention: bool = Field(False, description="include the attention matrix (target x source)")

    class HeatmapRequest(DecodingOptions):
        __doc__ = f"Translate one text and draw its attention matrix as SVG (at most {MAX_TRANSLATE_CHARS} characters)."
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "I am hungry."}]})

        text: TranslateText
        model: str | None = None
        view: Literal["words", "pieces"] = Field(
            "words", description="words (a word's subword pieces merged) or the model's subword pieces")

    Number = Annotated[float, Field(ge=-MAX_ATTENTION_VALUE, le=MAX_ATTENTION_VALUE, allow_inf_nan=False)]
    Vector = Annotated[list[Number], Field(min_length=1, max_length=MAX_ATTENTION_DIM)]

    class AttentionRequest(BaseModel):
        __doc__ = ("The attention computation itself: scores = query . key (optionally / sqrt(d_k), or cosine), "
                   "masked softmax, context = weights . values.")
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"query": [10, 5, 10], "keys": [[0, 1, 1], [5, 0, 1], [1, 1, 0], [0, 5, 1]]},
            {"query": [[1, 0], [0, 1]], "keys": [[1, 0], [0, 1], [1, 1]], "scale": True, "mask": [True, True, False]},
        ]})

        query: Vector | Annotated[list[Vector], Field(min_length=1, max_length=MAX_ATTENTION_KEYS)] = Field(
            description="one query vector (a decoder state), or a list of them")
        keys: Annotated[list[Vector], Field(min_length=1, max_length=MAX_ATTENTION_KEYS)] = Field(
            description="the encoder states to score against")
        values: Annotated[list[Vector], Field(min_length=1, max_length=MAX_ATTENTION_KEYS)] | None = Field(
            None, description="what the weights average; default: the keys")
        mask: Annotated[list[bool], Field(min_length=1, max_length=MAX_ATTENTION_KEYS)] | None = Field(
            None, description="one per key; false = padding, never attended")
        scale: bool = Field(False, description="divide the scores by sqrt(d_k) (scaled dot-product)")
        scoring: Literal["dot", "cosine"] = "dot"

        @model_validator(mode="after")
        def _shapes(self) -> AttentionRequest:
            queries = self.query if self.query and isinstance(self.query[0], list) else [self.query]
            d = len(self.keys[0])
            for name, rows in (("keys", self.keys), ("query", queries)):
                for row in rows:
                    if len(row) != d:  # type: ignore[arg-type]
                        raise PydanticCustomError("dimension_mismatch",
                                                  "every query and key needs {limit} dimensions; one has {given}",
                                                  {"limit": d, "given": len(row)})  # type: ignore[arg-type]
            if self.values is not None:
                if len(self.values) != len(self.keys):
                    raise PydanticCustomError("values_count", "there are {limit} keys but {given} values",
                                              {"limit": len(self.keys), "given": len(self.values)})
                if len({len(v) for v in self.values}) != 1:
                    raise PydanticCustomError("values_shape", "every value vector needs the same length")
            if self.mask is not None and len(self.mask) != len(self.keys):
                raise PydanticCustomError("mask_length", "the mask needs one entry per key: {limit}, not {given}",
                                          {"limit": len(self.keys), "given": len(self.mask)})
            if self.mask is not None and not any(self.mask):
                raise PydanticCustomError("mask_empty", "the mask hides every key: at least one must be true")
            return self

    return RequestModels(LemmatizeRequest=LemmatizeRequest, TokenizeRequest=TokenizeRequest,
                         EmbeddingsRequest=EmbeddingsRequest, ContextualRequest=ContextualRequest,
                         StaticRequest=StaticRequest, SensesRequest=SensesRequest, ClassifyRequest=ClassifyRequest,
                         TranslateRequest=TranslateRequest, HeatmapRequest=HeatmapRequest,
                         AttentionRequest=AttentionRequest)


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
    """One sequence. Every field comes back unless the request's `fields` leaves it out
    (`length`, `num_unk` and `num_truncated` always do)."""

    tokens: list[str] = Field(default_factory=list)
    input_ids: list[int] = Field(default_factory=list)
    token_type_ids: list[int] = Field(default_factory=list,
                                      description="segment ids: 0 for [CLS] A [SEP], 1 for B [SEP]")
    position_ids: list[int] = Field(default_factory=list)
    attention_mask: list[int] = Field(default_factory=list)
    special_tokens_mask: list[int] = Field(default_factory=list)
    offsets: list[tuple[int, int]] = Field(default_factory=list,
                                           description="character [start, end) in the text named by sequence_ids")
    sequence_ids: list[int | None] = Field(default_factory=list,
                                           description="0 = text, 1 = text_pair, null = special or padding")
    word_ids: list[int | None] = Field(default_factory=list,
                                       description="pre-tokenized word index within its own text")
    length: int = Field(description="tokens before padding")
    num_unk: int
    unknown: list[UnknownOut] = Field(default_factory=list)
    num_truncated: int
    truncated: list[CutTokenOut] = Field(default_factory=list,
                                         description="tokens removed by truncation, in text order")
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


# ----- embeddings -------------------------------------------------------------------------------------
Vector = list[float] | str  # floats, or base64 little-endian float32


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: Vector


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


class ContextualVector(BaseModel):
    index: int = Field(description="token position, or word index within its sequence")
    text: str
    sequence: int | None = Field(description="0 = text, 1 = text_pair, null = special token")
    start: int
    end: int
    wordpieces: list[int] = Field(description="positions of the wordpieces averaged into this vector")
    vector: Vector


class ContextualResult(BaseModel):
    tokens: list[str]
    length: int
    num_truncated: int
    truncated: list[CutTokenOut]
    pooled: Vector | None = Field(None, description="with pooling mean or cls")
    vectors: list[ContextualVector] | None = Field(None, description="with pooling none")


class ContextualResponse(BaseModel):
    model: str
    layer: str
    pooling: str
    granularity: str | None
    dimensions: int
    encoding_format: str
    results: list[ContextualResult]


class Neighbour(BaseModel):
    word: str
    similarity: float


class StaticWordOut(BaseModel):
    word: str
    key: str | None = Field(description="the vocabulary entry used (e.g. lowercased), null when OOV")
    found: bool
    vector: Vector | None = None
    wordpieces: list[str] | None = Field(None, description="for an OOV word: its WordPiece split, for comparison")
    neighbours: list[Neighbour] | None = None


class StaticResponse(BaseModel):
    model: str
    dimensions: int
    vocab_size: int
    words: list[StaticWordOut]
    oov: list[str] = Field(description="words without a vector (never a silent zero)")


# ----- senses -------------------------------------------------------------------------------------------
class OccurrenceOut(BaseModel):
    sentence: int
    text: str
    start: int
    end: int
    lemma: str
    pos: str | None
    count: int = Field(description="how often the target occurs in the sentence (the first is compared)")


class StaticSensesOut(BaseModel):
    model: str
    words: list[str]
    found: list[bool]
    similarity: list[list[float | None]]
    all_ones: bool
    neighbours: list[Neighbour]
    note: str


class SenseOut(BaseModel):
    id: int
    sentences: list[int]
    label: str | None


class AssignmentOut(BaseModel):
    sentence: int
    label: str
    score: float
    scores: dict[str, float]


class LayerOut(BaseModel):
    layer: int = Field(description="0 = embedding layer")
    separation: float | None = Field(description="mean cosine within groups minus mean cosine between groups")


class SensesResponse(BaseModel):
    target: str
    lemma: str
    verdict: str
    num_senses: int
    confidence: float = Field(description="mean probability, over sentence pairs, that the calibrated model "
                                          "agrees with the grouping")
    senses: list[SenseOut]
    occurrences: list[OccurrenceOut]
    static: StaticSensesOut | None
    contextual: dict[str, Any] = Field(description="encoder, layer, similarity matrix, p(same) matrix, threshold")
    layers: list[LayerOut]
    grouping: str
    projection: dict[str, Any] = Field(description="2-D PCA of the occurrences (and examples), for plotting")
    assignments: list[AssignmentOut] | None = None
    example_occurrences: list[OccurrenceOut] | None = None


# ----- classify -------------------------------------------------------------------------------------
class EvidenceOut(BaseModel):
    text: str = Field(description="the n-gram, exactly text[start:end]")
    start: int
    end: int
    token_start: int
    token_end: int
    width: int = Field(description="filter width (n)")
    contribution: float = Field(description="sum over its winning filters of pooled activation x output weight "
                                            "of the predicted label")
    filters: list[int]


class ClassificationOut(BaseModel):
    label: str
    score: float
    probabilities: dict[str, float] = Field(description="every label, most probable first")
    evidence: list[EvidenceOut] = Field(description="the n-grams that added most to the predicted label's logit")
    logit: float = Field(description="the predicted label's logit = bias + the contributions of all winning n-grams")
    bias: float
    num_tokens: int
    unknown_tokens: int


class ClassifyResponse(BaseModel):
    model: str
    model_version: str
    labels: list[str]
    results: list[ClassificationOut]


# ----- translate -------------------------------------------------------------------------------------
class SourceTokenOut(BaseModel):
    text: str
    start: int
    end: int
    known: bool = Field(description="false: holds characters the model never saw whole (read as bytes)")


class TranslationWarningOut(BaseModel):
    code: str = Field(description="long-input, unfinished, low-score, unseen-characters, no-letters or name-copied")
    message: str
    limit: float | None = None
    given: float | None = None


class TranslationOut(BaseModel):
    source: str
    text: str
    tokens: list[str] = Field(description="output words (subword pieces merged)")
    source_tokens: list[SourceTokenOut] = Field(description="source words with character offsets")
    score: float = Field(description="sum of the output tokens' log-probabilities")
    normalized_score: float
    finished: bool = Field(description="false when decoding stopped at max_length before <eos>")
    attention: list[list[float]] | None = Field(
        None, description="rows: output words, columns: source words; each row sums to 1")
    attention_entropy: list[float] = Field(description="entropy of each row, in nats")
    pieces: list[str] = Field([], description="output subword pieces (a leading \u2581 marks a space)")
    source_pieces: list[SourceTokenOut] = Field([], description="source subword pieces with character offsets")
    piece_attention: list[list[float]] | None = Field(
        None, description="rows: output pieces, columns: source pieces (with return_attention)")
    mean_logprob: float | None = Field(None, description="score per output step (<eos> included)")
    low_score: bool = Field(False, description="true when mean_logprob is under the model's threshold")
    warnings: list[TranslationWarningOut] = Field(
        [], description="reasons to doubt this result: long-input, unfinished, low-score, unseen-characters, "
                        "no-letters; and name-copied when a garbled name was replaced by the source's")


class TranslateResponse(BaseModel):
    model: str
    model_version: str
    attention: str = Field(description="the model's attention scoring (dot, general, additive or none)")
    beam_size: int
    results: list[TranslationOut]


class AttentionResponse(BaseModel):
    scores: list[list[float | None]] = Field(description="one row per query, one column per key; null where masked")
    weights: list[list[float]]
    context: list[list[float]]
    scale: float = Field(description="what the scores were divided by (1 or sqrt(d_k))")


class ModelDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: str
    name: str
    version: str
