"""POST /v1/embeddings (OpenAI-compatible), /v1/embeddings/contextual and /v1/embeddings/static."""

from typing import Any

import numpy as np
from fastapi import APIRouter

from pipelines import LayerChoice, TokenStates, encode_base64
from service.deps import ForwardDep, MetricsDep, PipelinesDep
from service.errors import Problem
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import ContextualResponse, EmbeddingsResponse, RequestModels, StaticResponse

QUEUE_PROBLEMS = {**PROBLEMS, **UNKNOWN_MODEL, 429: {"description": "encoder queue full (see Retry-After)"},
                  504: {"description": "the encoder did not answer in time"}}


def _out(vector: np.ndarray, encoding: str, normalize: bool = False) -> list[float] | str:
    v = np.asarray(vector, dtype=np.float32)
    if normalize:
        v = v / max(float(np.linalg.norm(v)), 1e-12)
    return encode_base64(v) if encoding == "base64" else [round(float(x), 6) for x in v]


def _cut(e: Any) -> list[dict[str, Any]]:
    return [{"sequence": c.sequence, "token": c.token, "id": c.id, "start": c.start, "end": c.end}
            for c in e.truncated]


def contextual_results(encoder: Any, states: list[TokenStates], choice: LayerChoice, options: Any,
                       texts: list[str], pairs: list[str] | None) -> list[dict[str, Any]]:
    """The ``results`` items of ``/v1/embeddings/contextual`` (also written by ``lexiflow batch
    embed``): ``options`` carries the request's pooling, granularity, encoding_format and normalize."""
    results = []
    for i, st in enumerate(states):
        e = st.encoded
        res: dict[str, Any] = {"tokens": e.tokens[:e.length], "length": e.length,
                               "num_truncated": len(e.truncated), "truncated": _cut(e)}
        fmt, norm = options.encoding_format, options.normalize
        if options.pooling != "none":
            res["pooled"] = _out(encoder.pool(st, choice, options.pooling), fmt, norm)
        elif options.granularity == "tokens":
            tokens = choice.select(st.hidden)
            res["vectors"] = [{"index": k, "text": e.tokens[k], "sequence": e.sequence_ids[k],
                               "start": e.offsets[k][0], "end": e.offsets[k][1], "wordpieces": [k],
                               "vector": _out(tokens[k], fmt, norm)}
                              for k in range(e.length)]
        else:
            seq_texts = (texts[i], pairs[i] if pairs is not None else None)
            res["vectors"] = [{"index": w.word, "text": w.text, "sequence": w.sequence, "start": w.start,
                               "end": w.end, "wordpieces": list(w.wordpieces), "vector": _out(w.vector, fmt, norm)}
                              for w in encoder.word_vectors(st, choice, seq_texts)]
        results.append(res)
    return results


def static_words(model: Any, words: list[str], tokenizer: Any, options: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``words`` and ``oov`` of ``/v1/embeddings/static`` (also written by ``lexiflow batch
    embed --static``): ``options`` carries include_vectors, encoding_format and neighbours. An
    unknown word gets its WordPiece split instead of a vector."""
    out, oov = [], []
    for word in words:
        key = model.lookup(word)
        item: dict[str, Any] = {"word": word, "key": key, "found": key is not None}
        if key is None:
            oov.append(word)
            if tokenizer is not None:
                item["wordpieces"] = tokenizer.encode([word], add_special_tokens=False,
                                                      truncation="longest_first")[0].tokens
        else:
            if options.include_vectors:
                item["vector"] = _out(model.vector(word), options.encoding_format)
            if options.neighbours:
                item["neighbours"] = [{"word": w, "similarity": round(float(s), 4)}
                                      for w, s in model.most_similar(key, topn=options.neighbours)]
        out.append(item)
    return out, oov


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["embeddings"])
    EmbeddingsRequest = models.EmbeddingsRequest
    ContextualRequest = models.ContextualRequest
    StaticRequest = models.StaticRequest

    @r.post("/embeddings", response_model=EmbeddingsResponse, response_class=FastJSONResponse, responses=QUEUE_PROBLEMS,
            summary="Sentence embeddings, OpenAI-compatible")
    def embeddings(body: EmbeddingsRequest, pipelines: PipelinesDep, forward: ForwardDep,
                   metrics: MetricsDep) -> FastJSONResponse:
        """Mean-pooled, L2-normalised sentence embeddings (what sentence-transformers gives for this model).

        Drop-in for OpenAI's `POST /v1/embeddings`: same request and response shape.
        """
        encoder = pipelines.encoder
        assert encoder is not None  # ForwardDep checked it
        if body.model is not None and body.model not in (encoder.name, encoder.name.split("/")[-1]):
            raise Problem(404, "unknown-model", f"model {body.model!r} is not loaded; this service embeds with "
                                                f"{encoder.name!r}", given=body.model)
        if body.dimensions is not None and body.dimensions != encoder.hidden_size:
            raise Problem(422, "unsupported-dimensions", f"this model gives {encoder.hidden_size} dimensions",
                          limit=encoder.hidden_size, given=body.dimensions)
        texts = [body.input] if isinstance(body.input, str) else body.input
        states = encoder.encode(texts, truncation="longest_first" if body.truncate else "none", forward=forward)
        choice = LayerChoice(-1)
        data = [{"object": "embedding", "index": i,
                 "embedding": _out(encoder.pool(s, choice, "mean"), body.encoding_format, normalize=True)}
                for i, s in enumerate(states)]
        tokens = sum(s.encoded.length for s in states)
        metrics.items.labels("embeddings").inc(len(texts))
        return FastJSONResponse({"object": "list", "data": data, "model": encoder.name,
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    @r.post("/embeddings/contextual", response_model=ContextualResponse, response_class=FastJSONResponse, responses=QUEUE_PROBLEMS,
            summary="Contextual vectors per wordpiece, per word, or pooled, from any layer")
    def contextual(body: ContextualRequest, pipelines: PipelinesDep, forward: ForwardDep,
                   metrics: MetricsDep) -> FastJSONResponse:
        """Every wordpiece (or word: the mean of its wordpieces) gets its own vector, from the layer you choose."""
        encoder = pipelines.encoder
        assert encoder is not None
        single = isinstance(body.text, str)
        texts = [body.text] if single else body.text
        pairs = None if body.text_pair is None else ([body.text_pair] if single else body.text_pair)
        choice = LayerChoice(body.layer, body.mean_last)
        states: list[TokenStates] = encoder.encode(texts, pairs, max_length=body.max_length,
                                                   truncation=body.truncation, forward=forward)
        results = contextual_results(encoder, states, choice, body, texts, pairs)
        metrics.items.labels("embeddings").inc(len(texts))
        return FastJSONResponse({
            "model": encoder.name, "layer": choice.describe(encoder.num_layers), "pooling": body.pooling,
            "granularity": body.granularity if body.pooling == "none" else None,
            "dimensions": encoder.hidden_size, "encoding_format": body.encoding_format, "results": results})

    @r.post("/embeddings/static", response_model=StaticResponse, response_class=FastJSONResponse, responses={**PROBLEMS, **UNKNOWN_MODEL},
            summary="Static word vectors (GloVe / word2vec), with explicit out-of-vocabulary words")
    def static(body: StaticRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> FastJSONResponse:
        """One vector per word type. A word with no vector is listed in `oov` with its WordPiece split."""
        model = pipelines.static_model(body.model)
        if body.words is not None:
            words = body.words
        else:
            spans = pipelines.word_splitter().words([body.text])[0]
            words = [w.text for w in spans if not w.is_space and any(ch.isalnum() for ch in w.text)]
        out, oov = static_words(model, words, pipelines.tokenizer, body)
        metrics.items.labels("static").inc(len(words))
        return FastJSONResponse({"model": model.name, "dimensions": model.dim, "vocab_size": model.vocab_size,
                                 "words": out, "oov": oov})

    return r
