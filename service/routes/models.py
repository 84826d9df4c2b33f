"""GET /v1/models and /v1/models/{name}: what this service has loaded."""

from typing import Any

from fastapi import APIRouter

from service.deps import PipelinesDep
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import ModelDetail, ModelOut


def router() -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["models"])

    @r.get("/models", response_model=dict[str, list[ModelOut]], summary="Every loaded model with its version")
    def list_models(pipelines: PipelinesDep) -> dict[str, Any]:
        return {"models": pipelines.describe()}

    @r.get("/models/{name}", response_model=ModelDetail, response_class=FastJSONResponse,
           responses={503: PROBLEMS[503], **UNKNOWN_MODEL},
           summary="One loaded model: version, labels, metrics, data card, layer summary")
    def get_model(name: str, pipelines: PipelinesDep) -> FastJSONResponse:
        """Classifiers and translators give their evaluation metrics, training data card and layer
        summary; the other models their name, version and key facts."""
        return FastJSONResponse(pipelines.model_info(name))

    return r
