"""Every task operation as ``POST /v1/<path>``, from the task registry (``tasks.TASKS``).

A route is thin: FastAPI validates the body with the operation's request model (its limits bound
per request, see ``service.app``), ``answer`` runs the task and writes its response. ``TaskRoute``
only gives FastAPI the signature to read: the body's type and the dependencies the operation
needs (the loaded pipelines, the encoder's batched forward pass, the metrics).
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from service.deps import ForwardDep, MetricsDep, PipelinesDep
from service.metrics import Metrics
from service.responses import FastJSONResponse
from service.routes import PROBLEMS, QUEUE, UNKNOWN_MODEL
from tasks import Operation, operations
from tasks.base import texts_in

_EXTRA_PROBLEMS = {"unknown-model": UNKNOWN_MODEL, "queue": QUEUE}


def answer(op: Operation, body: Any, metrics: Metrics, pipelines: Any = None, forward: Any = None) -> Response:
    """Run the operation on a validated request and write its answer."""
    result = op.run(pipelines, body, forward=forward) if op.encoder else op.run(pipelines, body)
    if op.metric is not None:
        metrics.items.labels(op.metric).inc((op.count or texts_in)(body, result))
    if op.media_type is not None:
        return Response(result, media_type=op.media_type)
    return FastJSONResponse(result)


class TaskRoute:
    """The endpoint FastAPI calls for one operation: ``answer`` behind the signature FastAPI reads."""

    def __init__(self, op: Operation) -> None:
        self.op = op
        params = [inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=op.request),
                  inspect.Parameter("metrics", inspect.Parameter.KEYWORD_ONLY, annotation=MetricsDep)]
        if op.needs_pipelines:
            params.append(inspect.Parameter("pipelines", inspect.Parameter.KEYWORD_ONLY, annotation=PipelinesDep))
        if op.encoder:
            params.append(inspect.Parameter("forward", inspect.Parameter.KEYWORD_ONLY, annotation=ForwardDep))
        self.__signature__ = inspect.Signature(params, return_annotation=Response)

    def __call__(self, *, body: Any, metrics: Metrics, pipelines: Any = None, forward: Any = None) -> Response:
        return answer(self.op, body, metrics, pipelines, forward)


def responses(op: Operation) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = dict(PROBLEMS)
    for name in op.problems:
        out.update(_EXTRA_PROBLEMS[name])
    if op.media_type is not None:
        out[200] = {"content": {op.media_type: {}}, "description": op.media_description}
    return out


def add(router: APIRouter, op: Operation) -> None:
    router.add_api_route(
        op.path, TaskRoute(op), methods=["POST"], name=op.name, tags=[op.tag], summary=op.summary,
        description=op.description, response_model=op.response,
        response_class=Response if op.media_type is not None else FastJSONResponse, responses=responses(op))


router = APIRouter(prefix="/v1")
for _op in operations():
    add(router, _op)
