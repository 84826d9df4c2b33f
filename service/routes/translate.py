"""POST /v1/translate, /v1/translate/heatmap (SVG) and /v1/attention."""

import math
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from pipelines import Translation, Translator, attention_svg
from service.deps import MetricsDep, PipelinesDep
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import MAX_SOURCE_TOKENS, AttentionResponse, RequestModels, TranslateResponse


def _tokens(tokens: Any) -> list[dict[str, Any]]:
    return [{"text": s.text, "start": s.start, "end": s.end, "known": s.known} for s in tokens]


def _result(t: Translation) -> dict[str, Any]:
    return {
        "source": t.source, "text": t.text, "tokens": list(t.tokens), "source_tokens": _tokens(t.source_tokens),
        "score": t.score, "normalized_score": t.normalized_score, "finished": t.finished,
        "attention": None if t.attention is None else [list(row) for row in t.attention],
        "attention_entropy": list(t.attention_entropy),
        "pieces": list(t.pieces), "source_pieces": _tokens(t.source_pieces),
        "piece_attention": None if t.piece_attention is None else [list(row) for row in t.piece_attention],
        "mean_logprob": _finite(t.mean_logprob), "low_score": t.low_score,
        "warnings": [{"code": w.code, "message": w.message, "limit": w.limit, "given": w.given} for w in t.warnings],
    }


def _options(body: Any) -> dict[str, Any]:
    return {"beam_size": body.beam_size, "length_penalty": body.length_penalty,
            "coverage_penalty": body.coverage_penalty, "no_repeat_ngram": body.no_repeat_ngram,
            "copy_names": body.copy_names,
            "max_length": body.max_length, "max_source_tokens": MAX_SOURCE_TOKENS}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["translate"])
    TranslateRequest = models.TranslateRequest
    HeatmapRequest = models.HeatmapRequest
    AttentionRequest = models.AttentionRequest

    @r.post("/translate", response_model=TranslateResponse, response_class=FastJSONResponse,
            responses={**PROBLEMS, **UNKNOWN_MODEL}, summary="Translate with the attention encoder-decoder")
    def translate(body: TranslateRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> FastJSONResponse:
        """Greedy (`beam_size` 1) or beam search; with `return_attention`, the full attention matrix
        (one row per output step, ending with `<eos>`, one column per source token) and each row's entropy."""
        tr = pipelines.translator(body.model)
        texts = [body.text] if isinstance(body.text, str) else body.text
        results = tr.translate(texts, return_attention=body.return_attention, **_options(body))
        metrics.items.labels("translate").inc(len(texts))
        info = tr.info()
        return FastJSONResponse({"model": tr.name, "model_version": str(info.get("version", "1")),
                                 "attention": info.get("attention"), "beam_size": body.beam_size,
                                 "results": [_result(t) for t in results]})

    @r.post("/translate/heatmap", response_class=Response, responses={
        **PROBLEMS, **UNKNOWN_MODEL, 200: {"content": {"image/svg+xml": {}}, "description": "an SVG heatmap"}},
        summary="The attention matrix of a translation, drawn as SVG")
    def heatmap(body: HeatmapRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> Response:
        """Rows: output words (or subword pieces with `view: pieces`); columns: source words (pieces);
        darker = more attention."""
        tr = pipelines.translator(body.model)
        [t] = tr.translate([body.text], return_attention=True, **_options(body))
        if not t.attention:
            from service.errors import Problem

            raise Problem(422, "no-attention", f"model {tr.name!r} has no attention to draw")
        if body.view == "pieces":
            source, target, weights = [s.text for s in t.source_pieces], list(t.pieces), t.piece_attention or ()
        else:
            source, target, weights = [s.text for s in t.source_tokens], list(t.tokens), t.attention
        svg = attention_svg(source, target, weights, title=f"{t.source} \u2192 {t.text}")
        metrics.items.labels("translate").inc(1)
        return Response(svg, media_type="image/svg+xml")

    @r.post("/attention", response_model=AttentionResponse, response_class=FastJSONResponse, responses=PROBLEMS,
            summary="The attention computation itself: scores, softmax weights, context vector")
    def attention(body: AttentionRequest) -> FastJSONResponse:
        """For teaching and debugging: give a query (a decoder state) and keys/values (encoder states).
        For query [10, 5, 10] and keys [0,1,1], [5,0,1], [1,1,0], [0,5,1] the scores are 15, 60, 15, 35
        and the context is essentially [5, 0, 1]."""
        res = Translator.attention(body.query, body.keys, body.values, mask=body.mask, scale=body.scale,
                                   scoring=body.scoring)
        d = len(body.keys[0])
        keep = body.mask or [True] * len(body.keys)
        scores = [[_finite(x) if k else None for x, k in zip(row, keep)] for row in res.scores]
        return FastJSONResponse({"scores": scores,
                                 "weights": res.weights, "context": res.context,
                                 "scale": math.sqrt(d) if body.scale else 1.0})

    return r
