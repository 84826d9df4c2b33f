"""POST /v1/senses/compare."""

from typing import Any

from fastapi import APIRouter

from pipelines import SenseComparison
from service.deps import ForwardDep, MetricsDep, PipelinesDep
from service.errors import Problem
from service.routes.embeddings import QUEUE_PROBLEMS
from service.responses import FastJSONResponse
from service.schemas import RequestModels, SensesResponse


def _occ(o: Any) -> dict[str, Any]:
    return {"sentence": o.sentence, "text": o.text, "start": o.start, "end": o.end, "lemma": o.lemma, "pos": o.pos,
            "count": o.count}


def _response(c: SenseComparison) -> dict[str, Any]:
    n = len(c.occurrences)
    static = None
    if c.static is not None:
        s = c.static
        static = {"model": s.model, "words": list(s.words), "found": list(s.found), "similarity": s.similarity,
                  "all_ones": s.all_ones, "neighbours": [{"word": w, "similarity": v} for w, v in s.neighbours],
                  "note": s.note}
    return {
        "target": c.target, "lemma": c.lemma, "verdict": c.verdict, "num_senses": len(c.senses),
        "confidence": c.confidence,
        "senses": [{"id": s.id, "sentences": list(s.members), "label": s.label} for s in c.senses],
        "occurrences": [_occ(o) for o in c.occurrences],
        "static": static,
        "contextual": {"encoder": c.encoder, "layer": c.layer, "similarity": c.contextual_similarity,
                       "p_same": c.p_same, "threshold": c.threshold},
        "layers": [{"layer": lay.layer, "separation": lay.separation} for lay in c.layers],
        "grouping": c.grouping,
        "projection": {"method": "pca", "explained_variance": c.explained_variance,
                       "sentences": c.projection[:n], "examples": c.projection[n:]},
        "assignments": None if c.assignments is None else [
            {"sentence": a.sentence, "label": a.label, "score": a.score, "scores": a.scores} for a in c.assignments],
        "example_occurrences": None if c.example_occurrences is None else [_occ(o) for o in c.example_occurrences],
    }


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["senses"])
    SensesRequest = models.SensesRequest

    @r.post("/senses/compare", response_model=SensesResponse, response_class=FastJSONResponse, responses=QUEUE_PROBLEMS,
            summary="Does a word mean the same thing in these sentences?")
    def compare(body: SensesRequest, pipelines: PipelinesDep, forward: ForwardDep,
                metrics: MetricsDep) -> FastJSONResponse:
        """Static vs contextual similarity of the target's occurrences, the senses found in the data
        (threshold calibrated on a WordNet WiC benchmark), a one-sentence verdict with its confidence,
        nearest static neighbours, a per-layer separation curve and a 2-D projection."""
        if pipelines.senses is None:
            raise Problem(404, "not-loaded", "sense comparison is not loaded in this service (LEXIFLOW_TASKS)")
        static = pipelines.static_model(body.static_model) if pipelines.static else None
        result = pipelines.senses.compare(body.target, body.sentences, static=static, examples=body.examples,
                                          neighbours=body.neighbours)
        metrics.items.labels("senses").inc(len(body.sentences))
        return FastJSONResponse(_response(result))

    return r
