"""Liveness, readiness, metrics and the list of loaded models."""

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from service.deps import StateDep
from service.errors import problem_response
from service.schemas import ProblemOut, ReadyResponse
from fastapi import Request


def router() -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.api_route("/livez", methods=["GET", "HEAD"], summary="The process is up (no model needed)")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @r.api_route("/readyz", methods=["GET", "HEAD"], response_model=ReadyResponse,
                 summary="Models are loaded and requests can be served",
                 responses={503: {"model": ProblemOut, "description": "still loading, or loading failed"}})
    def readyz(request: Request, state: StateDep) -> Response:
        if state.pipelines is not None:
            body = ReadyResponse(status="ready", models=state.pipelines.describe(),
                                 load_seconds=round(state.pipelines.load_seconds, 3))
            return JSONResponse(body.model_dump(exclude_none=True))
        if state.error is not None:
            return problem_response(request, 503, "load-failed", f"models failed to load: {state.error}",
                                    state="failed", models=[])
        waited = time.monotonic() - state.started
        return problem_response(request, 503, "not-ready", f"models are loading ({waited:.0f} s so far)",
                                headers={"Retry-After": "5"}, state="loading", models=[])

    @r.get("/metrics", summary="Prometheus metrics", response_class=Response,
           responses={200: {"content": {"text/plain; version=0.0.4": {}}}})
    def metrics(state: StateDep) -> Response:
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return r
