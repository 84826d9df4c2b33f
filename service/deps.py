"""Typed dependencies: routes receive loaded pipelines through these, never through globals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from pipelines import Pipelines
from service.errors import Problem
from service.metrics import Metrics
from service.schemas import RequestModels
from service.settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    metrics: Metrics
    request_models: RequestModels
    pipelines: Pipelines | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)


def get_state(request: Request) -> ServiceState:
    return request.app.state.lexiflow


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_pipelines(state: StateDep) -> Pipelines:
    if state.pipelines is not None:
        return state.pipelines
    if state.error is not None:
        raise Problem(503, "load-failed", f"models failed to load: {state.error}")
    waited = time.monotonic() - state.started
    raise Problem(503, "not-ready", f"models are still loading ({waited:.0f} s so far); retry shortly",
                  headers={"Retry-After": "5"})


PipelinesDep = Annotated[Pipelines, Depends(get_pipelines)]


def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]
