"""Embeddings: OpenAI-compatible sentence embeddings, contextual vectors from any layer, and
static word vectors (GloVe / word2vec) with explicit out-of-vocabulary words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import numpy as np
from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo,
                      model_validator)
from pydantic_core import PydanticCustomError

from pipelines.errors import InputError, NotFound
from pipelines.limits import MAX_POSITIONS
from tasks.base import Batch, Operation, Request, Task, build, option
from tasks.inputs import Text, TextInput, as_list, check_pair, check_text, check_total, pair_list
from tasks.limits import MaxLen, current, described
from tasks.tokenize import CutTokenOut, cut_tokens

if TYPE_CHECKING:
    from pipelines import LayerChoice, Pipelines, TokenStates

Vector = list[float] | str  # floats, or base64 little-endian float32


# ----- requests ------------------------------------------------------------------------------------
MAX_TOKEN_IDS = 8192  # ids in one pre-tokenized input (the model reads at most MAX_POSITIONS)
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=MAX_TOKEN_IDS)]
EmbeddingTexts = Annotated[list[Text], Field(min_length=1),
                           MaxLen("max_embedding_inputs", describe="1 to {} texts (their tokens are bounded by "
                                                                   "max_total_tokens)")]
ManyTokenIds = Annotated[list[TokenIds], Field(min_length=1), MaxLen("max_embedding_inputs")]


def _input_kind(value: Any) -> str:
    if isinstance(value, str):
        return "one"
    if isinstance(value, list) and value and not isinstance(value[0], str):
        return "ids_many" if isinstance(value[0], list) else "ids"
    return "many"


EmbeddingInput = Annotated[Union[Annotated[Text, Tag("one")], Annotated[EmbeddingTexts, Tag("many")],
                                 Annotated[TokenIds, Tag("ids")], Annotated[ManyTokenIds, Tag("ids_many")]],
                           Discriminator(_input_kind)]


class EmbeddingsRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "OpenAI-compatible sentence embeddings (mean pooling, L2-normalised). Up to {max_embedding_inputs} "
        "inputs and {max_total_tokens} tokens in all per request; {max_text_chars} characters per text, "
        "{max_body_bytes} bytes per body.", examples=[
            {"input": ["The bank raised interest rates.", "We sat on the river bank."]},
            {"input": "one sentence", "encoding_format": "base64"},
            {"input": [[1996, 2924, 2992, 3037, 6165, 1012]]},
        ]))

    input: EmbeddingInput = Field(
        description="one text, a list of texts, or pre-tokenized input: a list of token ids or a list of such "
                    "lists. Token ids are this model's WordPiece ids (input_ids of POST /v1/tokenize, with or "
                    "without [CLS]/[SEP]), not OpenAI's: LangChain's OpenAIEmbeddings needs "
                    "check_embedding_ctx_length=False, else it sends tiktoken ids")
    model: str | None = Field(None, description="the loaded encoder's name (optional; there is one)")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, description="must equal the encoder's size if given")
    user: str | None = Field(None, max_length=256, description="accepted for compatibility; not stored")
    max_length: int | None = Field(
        None, ge=3, le=MAX_POSITIONS,
        description="tokens per input, [CLS] and [SEP] included. Default: the length the model is configured for "
                    "as a sentence encoder (sentence-transformers' max_seq_length: 256 for all-MiniLM-L6-v2), "
                    "so the vectors are sentence-transformers'; up to the model's 512 positions when asked")
    truncate: bool = Field(False, description="cut inputs over max_length to it (as sentence-transformers does) "
                                              "instead of 422; the answer lists the inputs cut")


class ContextualRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "Contextual vectors from the encoder, per token, per word or pooled. {note}", examples=[
            {"text": "I sat on the bank.", "pooling": "none", "granularity": "words", "layer": -1},
            {"text": "The bank raised rates.", "text_pair": "Rates rose.", "pooling": "mean", "mean_last": 4},
        ]))

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
    max_length: int | None = Field(None, ge=1, le=MAX_POSITIONS)
    truncation: Literal["none", "longest_first", "only_first", "only_second"] = "none"

    @model_validator(mode="after")
    def _pairs(self, info: ValidationInfo) -> ContextualRequest:
        given = self.model_fields_set  # options the request named (defaults never contradict)
        if "layer" in given and self.mean_last is not None:
            raise PydanticCustomError("contradicting_options",
                                      "give layer (one layer) or mean_last (the mean of the last k), not both")
        if "granularity" in given and self.pooling != "none":
            raise PydanticCustomError("contradicting_options",
                                      "granularity applies to pooling none; with pooling {pooling} there is one "
                                      "vector per text", {"pooling": self.pooling})
        check_pair(self.text, self.text_pair)
        check_total(info, self.text, self.text_pair)
        return self


Word = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_text)]


class StaticRequest(Request):
    """Static word vectors (GloVe / word2vec): one vector per word, whatever the context."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"words": ["bank", "river", "money"], "neighbours": 5},
        {"text": "The bank by the river.", "model": "glove-6b-50d"},
    ]})

    words: Annotated[list[Word], Field(min_length=1), MaxLen("max_items")] | None = None
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


# ----- responses -----------------------------------------------------------------------------------
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
    max_length: int = Field(description="tokens per input this answer used ([CLS] and [SEP] included): the "
                                        "request's max_length, else the model's sentence length (256)")
    truncated: list[int] = Field(description="indexes of the inputs cut to max_length (with truncate: true)")


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


# ----- runs ----------------------------------------------------------------------------------------
def vector_out(vector: np.ndarray, encoding: str, normalize: bool = False) -> list[float] | str:
    """A vector as the API writes it: rounded floats, or base64 little-endian float32."""
    from pipelines import encode_base64

    v = np.asarray(vector, dtype=np.float32)
    if normalize:
        v = v / max(float(np.linalg.norm(v)), 1e-12)
    # numpy's rounding, then one C-level tolist(): the same floats as round(float(x), 6) (checked on
    # 768,000 values), 25x faster, which is a tenth of the request thread's time for one sentence
    return encode_base64(v) if encoding == "base64" else np.round(v.astype(np.float64), 6).tolist()


def _encoder(pipelines: Pipelines) -> Any:
    if pipelines.encoder is None:
        raise NotFound("the contextual encoder is not loaded in this service (LEXIFLOW_TASKS)", code="not-loaded")
    return pipelines.encoder


OPENAI_CHUNK = 64  # inputs per forward pass: the hidden states of one chunk at a time are held


def run_openai(pipelines: Pipelines, request: EmbeddingsRequest, *, forward: Any = None) -> EmbeddingsResponse:
    """Mean-pooled, L2-normalised sentence embeddings (what sentence-transformers gives for this model).

    Drop-in for OpenAI's `POST /v1/embeddings`: same request and response shape. Inputs are cut
    at the model's configured sentence length (256 tokens for all-MiniLM-L6-v2) unless `max_length`
    asks for more (up to 512); over it, 422 naming `truncate` and `max_length`. A request is
    bounded by its tokens in all (`max_total_tokens`), not by a small count of inputs.
    """
    encoder = _encoder(pipelines)
    if request.model is not None and request.model not in (encoder.name, encoder.name.split("/")[-1]):
        raise NotFound(f"model {request.model!r} is not loaded; this service embeds with {encoder.name!r}",
                       code="unknown-model", given=request.model)
    if request.dimensions is not None and request.dimensions != encoder.hidden_size:
        raise InputError(f"this model gives {encoder.hidden_size} dimensions", code="unsupported-dimensions",
                         limit=encoder.hidden_size, given=request.dimensions)
    from pipelines import LayerChoice, TokenStates

    max_length = request.max_length or encoder.sentence_max_length
    value = request.input
    try:
        if isinstance(value, list) and value and isinstance(value[0], int):
            encoded = encoder.tokenizer.encode_ids([value], max_length=max_length, truncate=request.truncate)
        elif isinstance(value, list) and value and isinstance(value[0], list):
            encoded = encoder.tokenizer.encode_ids(value, max_length=max_length, truncate=request.truncate)
        else:
            encoded = encoder.tokenizer.encode(as_list(value), max_length=max_length,
                                               truncation="longest_first" if request.truncate else "none")
    except InputError as exc:
        if exc.code != "too-many-tokens":
            raise
        item = exc.extra.get("item")
        raise InputError(
            f"{f'input {item}: ' if item else ''}{exc.given} tokens ([CLS] and [SEP] included) exceed max_length "
            f"{exc.limit}; send a shorter text, \"truncate\": true to cut it to {exc.limit} tokens (as "
            f"sentence-transformers does), or a larger \"max_length\" (up to {encoder.tokenizer.model_max_length}; "
            f"this model is configured for {encoder.sentence_max_length} as a sentence encoder)",
            code="too-many-tokens", limit=exc.limit, given=exc.given, item=item) from None
    tokens = sum(e.length for e in encoded)
    limit = current().max_total_tokens
    if tokens > limit:
        raise InputError(f"the request has {tokens} tokens in all; the limit is {limit} per request "
                         "(LEXIFLOW_MAX_TOTAL_TOKENS): send fewer inputs per request (LangChain: a smaller "
                         "chunk_size)", code="too-many-tokens-total", limit=limit, given=tokens)
    choice = LayerChoice(-1)
    run = forward or encoder.forward
    data = []
    for start in range(0, len(encoded), OPENAI_CHUNK):  # pool each chunk as it comes: bounded memory
        chunk = encoded[start:start + OPENAI_CHUNK]
        for k, (e, hidden) in enumerate(zip(chunk, run(chunk))):
            vector = encoder.pool(TokenStates(e, hidden), choice, "mean")
            data.append(build(EmbeddingItem, object="embedding", index=start + k,
                              embedding=vector_out(vector, request.encoding_format, normalize=True)))
    return build(EmbeddingsResponse, object="list", data=data, model=encoder.name,
                 usage=build(Usage, prompt_tokens=tokens, total_tokens=tokens), max_length=max_length,
                 truncated=[i for i, e in enumerate(encoded) if e.truncated])


def contextual_result(encoder: Any, st: TokenStates, choice: LayerChoice, request: ContextualRequest,
                      seq_texts: tuple[str, str | None]) -> ContextualResult:
    e = st.encoded
    values: dict[str, Any] = {"tokens": e.tokens[:e.length], "length": e.length,
                              "num_truncated": len(e.truncated), "truncated": cut_tokens(e)}
    fmt, norm = request.encoding_format, request.normalize
    if request.pooling != "none":
        values["pooled"] = vector_out(encoder.pool(st, choice, request.pooling), fmt, norm)
    elif request.granularity == "tokens":
        tokens = choice.select(st.hidden)
        values["vectors"] = [build(ContextualVector, index=k, text=e.tokens[k], sequence=e.sequence_ids[k],
                                   start=e.offsets[k][0], end=e.offsets[k][1], wordpieces=[k],
                                   vector=vector_out(tokens[k], fmt, norm))
                             for k in range(e.length)]
    else:
        values["vectors"] = [build(ContextualVector, index=w.word, text=w.text, sequence=w.sequence, start=w.start,
                                   end=w.end, wordpieces=list(w.wordpieces), vector=vector_out(w.vector, fmt, norm))
                             for w in encoder.word_vectors(st, choice, seq_texts)]
    return build(ContextualResult, **values)


def run_contextual(pipelines: Pipelines, request: ContextualRequest, *, forward: Any = None) -> ContextualResponse:
    """Every wordpiece (or word: the mean of its wordpieces) gets its own vector, from the layer you choose."""
    from pipelines import LayerChoice

    encoder = _encoder(pipelines)
    texts = as_list(request.text)
    pairs = pair_list(request.text, request.text_pair)
    choice = LayerChoice(request.layer, request.mean_last)
    states = encoder.encode(texts, pairs, max_length=request.max_length, truncation=request.truncation,
                            forward=forward)
    results = [contextual_result(encoder, st, choice, request, (texts[i], pairs[i] if pairs is not None else None))
               for i, st in enumerate(states)]
    return build(ContextualResponse, model=encoder.name, layer=choice.describe(encoder.num_layers),
                 pooling=request.pooling, granularity=request.granularity if request.pooling == "none" else None,
                 dimensions=encoder.hidden_size, encoding_format=request.encoding_format, results=results)


def run_static(pipelines: Pipelines, request: StaticRequest) -> StaticResponse:
    """One vector per word type. A word with no vector is listed in `oov` with its WordPiece split."""
    model = pipelines.static_model(request.model)
    if request.words is not None:
        words = request.words
    else:
        spans = pipelines.word_splitter().words([request.text])[0]
        words = [w.text for w in spans if not w.is_space and any(ch.isalnum() for ch in w.text)]
    out, oov = [], []
    for word in words:
        key = model.lookup(word)
        item: dict[str, Any] = {"word": word, "key": key, "found": key is not None}
        if key is None:
            oov.append(word)
            if pipelines.tokenizer is not None:
                item["wordpieces"] = pipelines.tokenizer.encode([word], add_special_tokens=False,
                                                                truncation="longest_first")[0].tokens
        else:
            if request.include_vectors:
                item["vector"] = vector_out(model.vector(word), request.encoding_format)
            if request.neighbours:
                item["neighbours"] = [build(Neighbour, word=w, similarity=round(float(s), 4))
                                      for w, s in model.most_similar(key, topn=request.neighbours)]
        out.append(build(StaticWordOut, **item))
    return build(StaticResponse, model=model.name, dimensions=model.dim, vocab_size=model.vocab_size,
                 words=out, oov=oov)


# ----- batch: which pipelines a run needs --------------------------------------------------------------
def _narrow_contextual(plan: dict, options: dict) -> dict:
    static = dict(plan["static_models"])
    return {"static_models": {next(iter(static)): static[next(iter(static))]}}


def _narrow_static(plan: dict, options: dict) -> dict:
    # the tokenizer (out-of-vocabulary words get their WordPiece split) and spaCy's word splitter, as
    # the service uses them, and the one static model: not the encoder
    name = options["model"]
    return {"components": ("lemmatizers", "tokenizer", "static"),
            "lemmatize_engines": ("rule",), "static_models": {name: plan["static_models"][name]}}


def _words(request: Any, response: Any) -> int:
    return len(response.words)


_ENCODING = option("--encoding-format", choices=["float", "base64"])

TASK = Task(
    name="embeddings",
    aliases=("embed",),
    needs=("tokenizer", "encoder", "static"),
    operations=(
        Operation(name="embeddings", path="/embeddings", request=EmbeddingsRequest, response=EmbeddingsResponse,
                  run=run_openai, summary="Sentence embeddings, OpenAI-compatible", tag="embeddings",
                  metric="embeddings", problems=("unknown-model", "queue"), encoder=True),
        Operation(name="contextual", path="/embeddings/contextual", request=ContextualRequest,
                  response=ContextualResponse, run=run_contextual,
                  summary="Contextual vectors per wordpiece, per word, or pooled, from any layer", tag="embeddings",
                  metric="embeddings", problems=("unknown-model", "queue"), encoder=True,
                  batch=Batch(
                      command="embed", pairs=True, narrow=_narrow_contextual,
                      help="contextual vectors (as POST /v1/embeddings/contextual; default: mean-pooled last layer) "
                           "or, with --static, static word vectors (as /v1/embeddings/static)",
                      header=("model", "layer", "pooling", "granularity", "dimensions", "encoding_format"),
                      options=(
                          option("--layer", type=int, group="contextual (the encoder)",
                                 help="0 = embeddings, 1..L, negative from the top (default -1)"),
                          option("--mean-last", type=int, group="contextual (the encoder)",
                                 help="average the last k layers instead"),
                          option("--pooling", choices=["mean", "cls", "none"], group="contextual (the encoder)",
                                 help="default mean; none = one vector per token/word"),
                          option("--granularity", choices=["tokens", "words"], group="contextual (the encoder)",
                                 help="with --pooling none"),
                          option("--normalize", action="store_const", const=True, group="contextual (the encoder)",
                                 help="L2-normalise (mean + normalize = the vectors of POST /v1/embeddings)"),
                          option("--max-length", type=int, group="contextual (the encoder)"),
                          option("--truncation", choices=["none", "longest_first", "only_first", "only_second"],
                                 group="contextual (the encoder)",
                                 help="none (default): a text over the encoder's length is an error line"),
                          _ENCODING))),
        Operation(name="static", path="/embeddings/static", request=StaticRequest, response=StaticResponse,
                  run=run_static,
                  summary="Static word vectors (GloVe / word2vec), with explicit out-of-vocabulary words",
                  tag="embeddings", metric="static", count=_words,
                  batch=Batch(
                      command="embed", flag="--static", results=None, narrow=_narrow_static,
                      model_choice="static_models", header=("model", "dimensions", "vocab_size"),
                      help="GloVe / word2vec vectors of each text's words",
                      options=(
                          option("--model", group="static (--static)",
                                 help="a configured static model (default: the first, glove-6b-50d)"),
                          option("--neighbours", type=int, group="static (--static)",
                                 help="nearest neighbours per word (default 0)"),
                          option("--no-vectors", dest="include_vectors", action="store_const", const=False,
                                 group="static (--static)"),
                          _ENCODING))),
    ),
)
