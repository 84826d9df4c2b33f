"""Typed dependencies: routes receive loaded pipelines through these, never through globals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from pipelines import Pipelines
from service.batching import Batcher, BatcherMetrics
from service.errors import Problem
from service.metrics import Metrics
from service.settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    metrics: Metrics
    batch_metrics: BatcherMetrics | None = None
    pipelines: Pipelines | None = None
    batcher: Batcher | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)


# The dependencies are async on purpose: they only read state, and FastAPI runs a sync dependency
# in its thread pool, one thread hop per dependency per request (3 ms of a 64-pair tokenize).
async def get_state(request: Request) -> ServiceState:
    return request.app.state.lexiflow


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_pipelines(state: StateDep) -> Pipelines:
    if state.pipelines is not None:
        return state.pipelines
    if state.error is not None:
        raise Problem(503, "load-failed", f"models failed to load: {state.error}")
    waited = time.monotonic() - state.started
    raise Problem(503, "not-ready", f"models are still loading ({waited:.0f} s so far); retry shortly",
                  headers={"Retry-After": "5"})


PipelinesDep = Annotated[Pipelines, Depends(get_pipelines)]


async def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


async def get_encoder_forward(request: Request, state: StateDep, pipelines: PipelinesDep):  # noqa: ANN201 - a callable
    """The encoder's forward pass, through the dynamic batcher when it is on; work whose client
    has disconnected is dropped before it runs."""
    if pipelines.encoder is None:
        raise Problem(404, "not-loaded", "the contextual encoder is not loaded in this service (LEXIFLOW_TASKS)")
    if state.batcher is not None:
        batcher = state.batcher
        gone = getattr(request.state, "disconnected", None)
        return lambda items: batcher.submit(items, cancelled=gone)
    return pipelines.encoder.forward


ForwardDep = Annotated[object, Depends(get_encoder_forward)]
