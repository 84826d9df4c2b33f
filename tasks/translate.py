"""Translate: English -> Spanish with the attention encoder-decoder, its attention heatmap, and the
attention computation itself."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from pipelines.errors import InputError
from pipelines.limits import MAX_BEAM
from tasks.base import Batch, Operation, Request, Task, build, option
from tasks.inputs import as_list, check_text, one_or_many
from tasks.limits import MaxLen, described

if TYPE_CHECKING:
    from pipelines import Pipelines, Translation

MAX_TRANSLATE_CHARS = 1000   # the model was trained on sentences of up to 20 words; longer ones get a warning
MAX_SOURCE_TOKENS = 100
MAX_OUTPUT_TOKENS = 200
MAX_TRANSLATE_ITEMS = 64     # at most this many texts per request (and per batch call): beam search runs them at once
MAX_ATTENTION_DIM = 4096
MAX_ATTENTION_KEYS = 1024
MAX_ATTENTION_VALUE = 1e6  # |x| at most: dot products of 4096 such numbers stay finite in float32

TranslateText = Annotated[
    str, Field(min_length=1, max_length=MAX_TRANSLATE_CHARS,
               description=f"a non-empty text of at most {MAX_TRANSLATE_CHARS} characters"),
    AfterValidator(check_text)]
TranslateInput = Annotated[
    Union[Annotated[TranslateText, Tag("one")],
          Annotated[list[TranslateText], Field(min_length=1), MaxLen("max_items", cap=MAX_TRANSLATE_ITEMS),
                    Tag("many")]],
    Discriminator(one_or_many)]


class DecodingOptions(Request):
    beam_size: int = Field(5, ge=1, le=MAX_BEAM, description="1 = greedy decoding")
    length_penalty: float | None = Field(
        None, ge=0.0, le=5.0, description="GNMT length penalty alpha for ranking beam hypotheses (beam search only: "
                                          "with beam_size 1 it is refused); default: the model's, chosen on dev")
    coverage_penalty: float | None = Field(
        None, ge=0.0, le=5.0, description="GNMT coverage penalty beta, against source words left unattended (beam "
                                          "search only); default: the model's")
    no_repeat_ngram: int | None = Field(
        None, ge=0, le=6, description="forbid repeating any subword n-gram of this size (0 = off); default: the "
                                      "model's")
    copy_names: bool | None = Field(
        None, description="replace an output word garbled from a source name by the name (attention-guided); "
                          "default: the model's")
    max_length: int | None = Field(None, ge=1, le=MAX_OUTPUT_TOKENS,
                                   description="output subword pieces at most; default: 2 x source pieces + 10")

    @model_validator(mode="after")
    def _beam_only(self) -> DecodingOptions:
        for name in ("length_penalty", "coverage_penalty"):
            if self.beam_size == 1 and name in self.model_fields_set and getattr(self, name) is not None:
                raise PydanticCustomError("contradicting_options",
                                          "{name} ranks beam hypotheses; greedy decoding (beam_size 1) has none: "
                                          "drop {name} or use a beam_size over 1", {"name": name})
        return self

    def decoding(self) -> dict[str, object]:
        return {"beam_size": self.beam_size, "length_penalty": self.length_penalty,
                "coverage_penalty": self.coverage_penalty, "no_repeat_ngram": self.no_repeat_ngram,
                "copy_names": self.copy_names, "max_length": self.max_length, "max_source_tokens": MAX_SOURCE_TOKENS}


class TranslateRequest(DecodingOptions):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        f"English -> Spanish with the LSTM encoder-decoder. At most {MAX_TRANSLATE_CHARS} characters "
        f"and {MAX_SOURCE_TOKENS} tokens per text, {{max_items_64}} texts per request.", examples=[
            {"text": "I am hungry.", "return_attention": True},
            {"text": ["Where is the station?", "Tom likes cats."], "beam_size": 1},
        ]))

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


class AttentionRequest(Request):
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


class SourceTokenOut(BaseModel):
    text: str
    start: int
    end: int
    known: bool = Field(description="false: holds characters the model never saw whole (read as bytes)")


class TranslationWarningOut(BaseModel):
    code: str = Field(description="long-input, unfinished, low-score, unseen-characters, no-letters, name-copied, "
                                  "name-missing")
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
                        "no-letters; name-copied when a garbled name was replaced by the source's; name-missing when a "
                        "source name is not in the translation")


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


def _tokens(tokens: object) -> list[SourceTokenOut]:
    return [build(SourceTokenOut, text=s.text, start=s.start, end=s.end, known=s.known) for s in tokens]


def result(t: Translation) -> TranslationOut:
    return build(
        TranslationOut, source=t.source, text=t.text, tokens=list(t.tokens), source_tokens=_tokens(t.source_tokens),
        score=t.score, normalized_score=t.normalized_score, finished=t.finished,
        attention=None if t.attention is None else [list(row) for row in t.attention],
        attention_entropy=list(t.attention_entropy), pieces=list(t.pieces), source_pieces=_tokens(t.source_pieces),
        piece_attention=None if t.piece_attention is None else [list(row) for row in t.piece_attention],
        mean_logprob=_finite(t.mean_logprob), low_score=t.low_score,
        warnings=[build(TranslationWarningOut, code=w.code, message=w.message, limit=w.limit, given=w.given)
                  for w in t.warnings])


def run(pipelines: Pipelines, request: TranslateRequest) -> TranslateResponse:
    """Greedy (`beam_size` 1) or beam search; with `return_attention`, the full attention matrix
    (one row per output step, ending with `<eos>`, one column per source token) and each row's entropy."""
    tr = pipelines.translator(request.model)
    results = tr.translate(as_list(request.text), return_attention=request.return_attention, **request.decoding())
    info = tr.info()
    return build(TranslateResponse, model=tr.name, model_version=str(info.get("version", "1")),
                 attention=info.get("attention"), beam_size=request.beam_size, results=[result(t) for t in results])


def run_heatmap(pipelines: Pipelines, request: HeatmapRequest) -> str:
    """Rows: output words (or subword pieces with `view: pieces`); columns: source words (pieces);
    darker = more attention."""
    tr = pipelines.translator(request.model)
    [t] = tr.translate([request.text], return_attention=True, **request.decoding())
    if not t.attention:
        raise InputError(f"model {tr.name!r} has no attention to draw", code="no-attention")
    from pipelines import attention_svg

    if request.view == "pieces":
        source, target, weights = [s.text for s in t.source_pieces], list(t.pieces), t.piece_attention or ()
    else:
        source, target, weights = [s.text for s in t.source_tokens], list(t.tokens), t.attention
    return attention_svg(source, target, weights, title=f"{t.source} \u2192 {t.text}")


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def run_attention(pipelines: Pipelines | None, request: AttentionRequest) -> AttentionResponse:
    """For teaching and debugging: give a query (a decoder state) and keys/values (encoder states).
    For query [10, 5, 10] and keys [0,1,1], [5,0,1], [1,1,0], [0,5,1] the scores are 15, 60, 15, 35
    and the context is essentially [5, 0, 1]."""
    from pipelines import Translator

    res = Translator.attention(request.query, request.keys, request.values, mask=request.mask, scale=request.scale,
                               scoring=request.scoring)
    d = len(request.keys[0])
    keep = request.mask or [True] * len(request.keys)
    scores = [[_finite(x) if k else None for x, k in zip(row, keep)] for row in res.scores]
    return build(AttentionResponse, scores=scores, weights=res.weights, context=res.context,
                 scale=math.sqrt(d) if request.scale else 1.0)


def _narrow(plan: dict, options: dict) -> dict:
    return {"translators": {options["model"]: plan["translators"][options["model"]]}}


def _one(request: object, response: object) -> int:
    return 1


TASK = Task(
    name="translate",
    needs=("translators",),
    operations=(
        Operation(name="translate", path="/translate", request=TranslateRequest, response=TranslateResponse,
                  run=run, summary="Translate with the attention encoder-decoder", tag="translate",
                  metric="translate",
                  batch=Batch(command="translate", help="English -> Spanish (as POST /v1/translate)",
                              header=("model", "model_version", "attention", "beam_size"), narrow=_narrow,
                              model_choice="translators", max_texts=MAX_TRANSLATE_ITEMS, options=(
                                  option("--model", help="a translation artifact name (default: the service's "
                                                         "default)"),
                                  option("--beam-size", type=int, help="1 = greedy (default 5)"),
                                  option("--length-penalty", type=float),
                                  option("--coverage-penalty", type=float),
                                  option("--no-repeat-ngram", type=int),
                                  option("--max-length", type=int),
                                  option("--return-attention", action="store_const", const=True)))),
        Operation(name="heatmap", path="/translate/heatmap", request=HeatmapRequest, response=None,
                  run=run_heatmap, summary="The attention matrix of a translation, drawn as SVG", tag="translate",
                  metric="translate", count=_one, media_type="image/svg+xml",
                  media_description="an SVG heatmap"),
        Operation(name="attention", path="/attention", request=AttentionRequest, response=AttentionResponse,
                  run=run_attention, summary="The attention computation itself: scores, softmax weights, "
                                             "context vector", tag="translate", problems=(),
                  needs_pipelines=False),
    ),
)
