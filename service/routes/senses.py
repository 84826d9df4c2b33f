"""POST /v1/senses/compare and POST /v1/senses/disambiguate."""

from typing import Any

from fastapi import APIRouter

from pipelines import SenseComparison
from service.deps import ForwardDep, MetricsDep, PipelinesDep
from service.errors import Problem
from service.routes.embeddings import QUEUE_PROBLEMS
from service.responses import FastJSONResponse
from service.schemas import RequestModels, SensesResponse
from service.schemas_wsd import DisambiguateResponse


def _cand(c: Any) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"synset": c.synset, "pos": c.pos, "sense_number": c.sense_number, "lemma_names": list(c.lemma_names),
            "gloss": c.gloss, "lexname": c.lexname, "score": c.score}


def _occ(o: Any) -> dict[str, Any]:
    return {"sentence": o.sentence, "text": o.text, "start": o.start, "end": o.end, "lemma": o.lemma, "pos": o.pos,
            "count": o.count, "index": o.index, "sense": _cand(o.sense), "note": o.note}


def _disambiguation(result: Any, encoder: str, inventory: str) -> dict[str, Any]:
    return {
        "target": result.target, "lemma": result.lemma, "known": result.known, "note": result.note,
        "encoder": encoder, "inventory": inventory,
        "results": [{"sentence": r.sentence, "text": r.text, "occurrences": [
            {"start": d.occurrence.start, "end": d.occurrence.end, "text": d.occurrence.text,
             "lemma": d.occurrence.lemma, "pos": d.occurrence.pos, "index": d.occurrence.index,
             "wordnet_lemma": d.lemma, "wordnet_pos": d.occurrence.wordnet_pos,
             "candidates": [_cand(c) for c in d.candidates], "note": d.note} for d in r.occurrences]}
            for r in result.results],
    }


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
        "senses": [{"id": s.id, "sentences": list(s.members), "occurrences": list(s.occurrences), "label": s.label,
                    "sense": _cand(s.sense)} for s in c.senses],
        "occurrences": [_occ(o) for o in c.occurrences],
        "method": c.method,
        "static": static,
        "contextual": {"encoder": c.encoder, "layer": c.layer, "similarity": c.contextual_similarity,
                       "p_same": c.p_same, "threshold": c.threshold, "silhouette": c.silhouette},
        "layers": [{"layer": lay.layer, "separation": lay.separation} for lay in c.layers],
        "grouping": c.grouping,
        "projection": {"method": "pca", "explained_variance": c.explained_variance,
                       "sentences": c.projection[:n], "examples": c.projection[n:],
                       "senses": [{"synset": cand.synset, "sense_number": cand.sense_number, "gloss": cand.gloss,
                                   "point": point} for cand, point in c.sense_points]},
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

    DisambiguateRequest = models.DisambiguateRequest

    @r.post("/senses/disambiguate", response_model=DisambiguateResponse, response_class=FastJSONResponse,
            responses=QUEUE_PROBLEMS, summary="Which WordNet sense does a word have in each sentence?")
    def disambiguate(body: DisambiguateRequest, pipelines: PipelinesDep,  # type: ignore[valid-type]
                     forward: ForwardDep, metrics: MetricsDep) -> FastJSONResponse:
        """Every occurrence of the target in each sentence (found by lemma with spaCy) with its WordNet 3.0
        senses ranked by a calibrated probability: the sentence against each sense's gloss, the word's
        contextual vector against its vector in the gloss and in WordNet's examples, and WordNet's sense
        order. A word WordNet does not know gets `known: false` and no candidates, not an error."""
        if pipelines.wsd is None:
            raise Problem(404, "not-loaded", "sense disambiguation is not loaded in this service (LEXIFLOW_TASKS)")
        result = pipelines.wsd.disambiguate(body.target, body.sentences, pos=body.pos, top_k=body.top_k)
        metrics.items.labels("senses").inc(len(body.sentences))
        return FastJSONResponse(_disambiguation(result, pipelines.wsd.encoder.name,
                                                pipelines.wsd.inventory.describe()["name"]))

    return r
