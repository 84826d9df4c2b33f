"""POST /v1/classify."""

from typing import Any

from fastapi import APIRouter

from pipelines import Classification
from service.deps import MetricsDep, PipelinesDep
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import ClassifyResponse, RequestModels


def _result(c: Classification) -> dict[str, Any]:
    return {
        "label": c.label, "score": c.score, "probabilities": dict(c.probabilities),
        "evidence": [{"text": e.text, "start": e.start, "end": e.end, "token_start": e.token_start,
                      "token_end": e.token_end, "width": e.width, "contribution": e.contribution,
                      "filters": list(e.filters), "widths": list(e.widths)} for e in c.evidence],
        "logit": c.logit, "bias": c.bias, "num_tokens": c.num_tokens, "unknown_tokens": c.unknown_tokens,
    }


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["classify"])
    ClassifyRequest = models.ClassifyRequest

    @r.post("/classify", response_model=ClassifyResponse, response_class=FastJSONResponse,
            responses={**PROBLEMS, **UNKNOWN_MODEL}, summary="Classify texts, with the n-grams that decided")
    def classify(body: ClassifyRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> FastJSONResponse:
        """A Kim (2014) CNN: every filter is an n-gram detector; max-pooling keeps each filter's best
        n-gram. The evidence lists the n-grams whose filters added most to the predicted label's logit
        (exact contributions: pooled activation x output weight; they sum with the bias to the logit)."""
        clf = pipelines.classifier(body.model)
        texts = [body.text] if isinstance(body.text, str) else body.text
        results = clf.classify(texts, top_k=body.top_k)
        metrics.items.labels("classify").inc(len(texts))
        info = clf.info()
        return FastJSONResponse({"model": clf.name, "model_version": str(info.get("version", "1")),
                                 "labels": list(info.get("labels", [])), "results": [_result(c) for c in results]})

    return r
