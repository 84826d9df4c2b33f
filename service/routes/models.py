"""GET /v1/models: what this service has loaded."""

from typing import Any

from fastapi import APIRouter

from service.deps import PipelinesDep
from service.schemas import ModelOut


def router() -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["models"])

    @r.get("/models", response_model=dict[str, list[ModelOut]], summary="Every loaded model with its version")
    def list_models(pipelines: PipelinesDep) -> dict[str, Any]:
        return {"models": pipelines.describe()}

    return r
