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

    @r.get("/livez", summary="The process is up (no model needed)")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    # HEAD: what load balancers and uptime checks send; the same status and headers, no body.
    @r.head("/livez", response_class=Response, summary="The process is up (HEAD: status only)",
            responses={200: {"description": "up"}})
    def livez_head() -> Response:
        return Response(status_code=200)

    @r.head("/readyz", response_class=Response, summary="Models are loaded (HEAD: status only)",
            responses={200: {"description": "ready"}, 503: {"description": "still loading, or loading failed"}})
    def readyz_head(request: Request, state: StateDep) -> Response:
        answer = readyz(request, state)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-type")}
        return Response(status_code=answer.status_code, headers=headers)

    @r.get("/readyz", response_model=ReadyResponse, summary="Models are loaded and requests can be served",
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
