"""Tokenize: WordPiece ids, segment ids, positions, masks, offsets and word alignment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from pipelines.errors import NotFound
from pipelines.limits import MAX_POSITIONS
from tasks.base import Batch, Operation, Request, Task, build, option
from tasks.inputs import TextInput, as_list, check_pair, check_total, pair_list
from tasks.limits import described

if TYPE_CHECKING:
    from pipelines import Encoded, Pipelines

TokenizeField = Literal["tokens", "input_ids", "token_type_ids", "position_ids", "attention_mask",
                        "special_tokens_mask", "offsets", "sequence_ids", "word_ids", "unknown", "truncated",
                        "alignment"]
TOKENIZE_ALWAYS = ("length", "num_unk", "num_truncated")


class TokenizeRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "One text, a pair, or lists of either, to split into WordPieces. {note}", examples=[
            {"text": "The kids were playing.", "text_pair": "Who was playing?", "align_with": "spacy"},
            {"text": ["a first text", "a second one"], "max_length": 8, "truncation": "longest_first",
             "padding": "longest"},
        ]))

    text: TextInput = Field(description="one text (segment A), or a list of texts")
    text_pair: TextInput | None = Field(
        None, description="segment B: a text if `text` is one, a list of the same length if `text` is a list")
    add_special_tokens: bool = Field(True, description="add [CLS] and [SEP] as the tokenizer template says")
    max_length: int | None = Field(
        None, ge=1, le=MAX_POSITIONS,
        description=f"tokens per sequence, special tokens included; default and ceiling {MAX_POSITIONS}")
    truncation: Literal["none", "longest_first", "only_first", "only_second"] = Field(
        "none", description="none: an over-long input is refused with 422; otherwise cut and report what was cut")
    truncation_side: Literal["right", "left"] = "right"
    padding: Literal["none", "longest", "max_length"] = Field(
        "none", description="pad to the longest sequence of the request, or to max_length")
    pad_to_multiple_of: int | None = Field(None, ge=1, le=MAX_POSITIONS)
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
    def _pairs(self, info: ValidationInfo) -> TokenizeRequest:
        check_pair(self.text, self.text_pair)
        check_total(info, self.text, self.text_pair)
        return self


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


def cut_tokens(e: Encoded) -> list[CutTokenOut]:
    return [build(CutTokenOut, sequence=c.sequence, token=c.token, id=c.id, start=c.start, end=c.end)
            for c in e.truncated]


def _fields(e: Encoded) -> dict[str, Any]:
    return {
        "tokens": e.tokens, "input_ids": e.input_ids, "token_type_ids": e.token_type_ids,
        "position_ids": e.position_ids, "attention_mask": e.attention_mask,
        "special_tokens_mask": e.special_tokens_mask, "offsets": e.offsets, "sequence_ids": e.sequence_ids,
        "word_ids": e.word_ids, "length": e.length, "num_unk": e.num_unk,
        "unknown": [build(UnknownOut, index=u.index, sequence=u.sequence, start=u.start, end=u.end, text=u.text)
                    for u in e.unknown],
        "num_truncated": len(e.truncated), "truncated": cut_tokens(e),
        "alignment": None if e.alignment is None else [
            build(AlignmentOut, sequence=a.sequence, text=a.text, start=a.start, end=a.end,
                  wordpieces=list(a.wordpieces)) for a in e.alignment],
    }


def result(e: Encoded, keep: set[str] | None = None) -> TokenizeResult:
    values = _fields(e)
    if keep is not None:
        values = {k: v for k, v in values.items() if k in keep}
    return build(TokenizeResult, **values)


def run(pipelines: Pipelines, request: TokenizeRequest) -> TokenizeResponse:
    """BERT uncased WordPiece tokenization of a text, a pair, or a batch of either.

    Truncation is explicit: with `truncation: none` (the default) an input over `max_length`
    tokens is refused with 422 giving its token count; any other strategy cuts and lists the
    tokens it cut in `truncated`.
    """
    tokenizer = pipelines.tokenizer
    if tokenizer is None:
        raise NotFound("no WordPiece tokenizer is loaded in this service", code="not-loaded")
    texts = as_list(request.text)
    pairs = pair_list(request.text, request.text_pair)
    words = None
    if request.align_with == "spacy":
        splitter = pipelines.word_splitter()
        words_a = splitter.words(texts)
        words_b = splitter.words(pairs) if pairs is not None else [None] * len(texts)
        words = list(zip(words_a, words_b))
    encoded = tokenizer.encode(
        texts, pairs, add_special_tokens=request.add_special_tokens, max_length=request.max_length,
        truncation=request.truncation, truncation_side=request.truncation_side, padding=request.padding,
        pad_to_multiple_of=request.pad_to_multiple_of, split_special_tokens=request.split_special_tokens,
        words=words)
    keep = None if request.fields is None else set(request.fields) | set(TOKENIZE_ALWAYS)
    return build(TokenizeResponse, model=tokenizer.name, model_version=tokenizer.version,
                 vocab_size=tokenizer.vocab_size, max_length=request.max_length or tokenizer.model_max_length,
                 truncation=request.truncation, padding=request.padding,
                 results=[result(e, keep) for e in encoded])


def _narrow(plan: dict, options: dict) -> dict:
    return {"lemmatize_engines": ("rule",) if options.get("align_with") else ()}


TASK = Task(
    name="tokenize",
    needs=("tokenizer",),
    operations=(Operation(
        name="tokenize", path="/tokenize", request=TokenizeRequest, response=TokenizeResponse, run=run,
        summary="WordPiece ids, segment ids, positions, masks, offsets and word alignment", tag="tokenize",
        metric="tokenize", problems=(),
        batch=Batch(
            command="tokenize", help="WordPiece ids, offsets ... (as POST /v1/tokenize); lines may have text_pair",
            header=("model", "model_version", "vocab_size", "max_length", "truncation", "padding"), pairs=True,
            narrow=_narrow, options=(
                option("--max-length", type=int),
                option("--truncation", choices=["none", "longest_first", "only_first", "only_second"],
                       help="none (default): an over-long text is an error line"),
                option("--truncation-side", choices=["right", "left"]),
                option("--padding", choices=["none", "max_length"],
                       help="per text ('longest' has no meaning per line)"),
                option("--pad-to-multiple-of", type=int),
                option("--no-special-tokens", dest="add_special_tokens", action="store_const", const=False),
                option("--split-special-tokens", action="store_const", const=True),
                option("--align-with", choices=["spacy"]),
                # not a batch option: every field is written (--fields would need its own parsing)
            )),
    ),),
)
