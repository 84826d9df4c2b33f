"""POST /v1/lemmatize."""

from typing import Any

from fastapi import APIRouter

from pipelines import LemmatizedText
from service.deps import MetricsDep, PipelinesDep
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import LemmatizeResponse, RequestModels

_TOKEN_FIELDS = ("text", "lemma", "pos", "tag", "morph", "start", "end", "whitespace", "is_punct", "is_stop",
                 "is_space", "sentence")


def _result(doc: LemmatizedText) -> dict[str, Any]:
    return {
        "tokens": [{f: getattr(t, f) for f in _TOKEN_FIELDS} for t in doc.tokens],
        "sentences": [{"start": s.start, "end": s.end, "text": s.text} for s in doc.sentences],
    }


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["lemmatize"])
    LemmatizeRequest = models.LemmatizeRequest

    @r.post("/lemmatize", response_model=LemmatizeResponse, response_class=FastJSONResponse, responses={**PROBLEMS, **UNKNOWN_MODEL},
            summary="Lemmas, POS tags, offsets and sentences for one text or a batch")
    def lemmatize(body: LemmatizeRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> FastJSONResponse:
        """POS-aware lemmas (`rule`, the default) or table lookups (`lookup`).

        A batch goes through spaCy's `nlp.pipe`; each result equals lemmatizing that text alone.
        """
        texts = [body.text] if isinstance(body.text, str) else body.text
        lemmatizer = pipelines.lemmatizer(body.engine)
        docs = lemmatizer.lemmatize(texts)
        metrics.items.labels("lemmatize").inc(len(texts))
        info = lemmatizer.info()
        return FastJSONResponse({
            "engine": lemmatizer.engine,
            "model": info["model"],
            "model_version": info["version"],
            "spacy_version": info["spacy"],
            "results": [_result(d) for d in docs],
        })

    return r
