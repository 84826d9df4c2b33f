"""GET /v1/models and /v1/models/{name}: what this service has loaded.

Both answers also carry OpenAI's shapes, so the official clients work (``client.models.list()``,
``client.models.retrieve(id)``): the list has ``object: "list"`` and ``data`` (one entry per model
name: ``id``, ``object: "model"``, ``created``, ``owned_by``) beside lexiflow's own ``models``; one
model has ``id``, ``object``, ``created`` and ``owned_by`` beside its details. ``created`` is when
this service started (Unix seconds); ``owned_by`` is the part of the name before a slash (the
publisher, e.g. ``sentence-transformers``), else ``lexiflow``. Names with a slash work as ids,
percent-encoded (``%2F``, as the OpenAI SDK sends them) or not.
"""

import time
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.deps import PipelinesDep
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, UNKNOWN_MODEL
from service.schemas import ModelDetail, ModelOut


class OpenAIModel(BaseModel):
    id: str = Field(description="the model's name, as lexiflow's requests take it")
    object: Literal["model"] = "model"
    created: int = Field(description="when this service started (Unix seconds)")
    owned_by: str = Field(description="the publisher (the name's part before a slash), else lexiflow")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel] = Field(description="OpenAI's list shape: one entry per model name")
    models: list[ModelOut] = Field(description="lexiflow's own: every loaded model with its task and version")


def openai_model(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created,
            "owned_by": name.split("/", 1)[0] if "/" in name else "lexiflow"}


def router() -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["models"])
    created = int(time.time())

    @r.get("/models", response_model=ModelList, summary="Every loaded model with its version (OpenAI's list too)")
    def list_models(pipelines: PipelinesDep) -> dict[str, Any]:
        models = pipelines.describe()
        names = dict.fromkeys(str(m["name"]) for m in models)
        return {"object": "list", "data": [openai_model(n, created) for n in names], "models": models}

    @r.get("/models/{name:path}", response_model=ModelDetail, response_class=FastJSONResponse,
           responses={503: PROBLEMS[503], **UNKNOWN_MODEL},
           summary="One loaded model: version, labels, metrics, data card, layer summary")
    def get_model(name: str, pipelines: PipelinesDep) -> FastJSONResponse:
        """Classifiers and translators give their evaluation metrics, training data card and layer
        summary; the other models their name, version and key facts. The id may contain a slash."""
        info = pipelines.model_info(name)
        return FastJSONResponse({**openai_model(str(info["name"]), created), **info})

    return r
