"""The app factory: ``create_app(settings)`` builds a fully wired FastAPI application.

Models load once, in the lifespan, off the event loop. With ``load_in_background`` (the
default) the server answers ``/livez`` at once and ``/readyz`` with 503 until loading ends;
cheap checks (is every model package and folder there?) run first and stop startup with a
message naming what is missing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pipelines import (
    LoadPlan,
    Pipelines,
    check_plan,
    discover_artifacts,
    discover_static_models,
    load_pipelines,
)
from service.batching import Batcher, BatcherMetrics, ClientGone
from service.deps import ServiceState
from service.errors import install_error_handlers, problem_response
from service.metrics import Metrics
from service.middleware import BodyLimitMiddleware, DisconnectMiddleware, MetricsMiddleware, RequestIdMiddleware
from service.routes import classify, embeddings, health, lemmatize, models, senses, tokenize, translate, web
from service.schemas import build_request_models
from service.security import ApiKeyMiddleware
from service.settings import Settings

log = logging.getLogger("lexiflow.service")

try:
    __version__ = metadata.version("lexiflow")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+local"

DESCRIPTION = """\
lexiflow: lemmas, WordPiece tokens and more over one versioned REST API.

Errors are RFC 9457 `application/problem+json` documents with `type`, `title`, `status`,
`detail`, and, for declared limits, `limit` and `given`.
"""


def _static_models(settings: Settings) -> dict[str, str]:
    if settings.static_models is not None:
        return dict(settings.static_models)
    return discover_static_models(settings.artifacts_dir)


def load_plan(settings: Settings) -> LoadPlan:
    calibration = settings.senses_calibration or settings.artifacts_dir / "senses" / "calibration.json"
    tasks = list(settings.tasks)
    found: dict[str, dict] = {}
    for task, kind, configured in (("classify", "classifier", settings.classifiers),
                                   ("translate", "seq2seq", settings.translators)):
        if configured is not None:  # named by the user: each must load, or startup fails naming it
            found[task] = dict(configured)
            continue
        found[task] = discover_artifacts(settings.artifacts_dir / kind, kind)
        if not found[task] and task in tasks:
            log.warning("no %s artifact under %s: %r is not served", kind, settings.artifacts_dir / kind, task)
            tasks.remove(task)
    return LoadPlan(lemmatize_engines=tuple(settings.lemmatize_engines), spacy_model=settings.spacy_model,
                    tokenizer_path=settings.tokenizer_path, tasks=tuple(tasks),
                    encoder_path=settings.encoder_path, static_models=_static_models(settings),
                    cache_dir=settings.cache_dir, calibration=calibration,
                    wsd=settings.artifacts_dir / "senses" / "wsd.json", wordnet=settings.artifacts_dir / "wordnet",
                    classifiers=found["classify"],
                    translators=found["translate"], torch_threads=settings.effective_torch_threads)


def _batcher(state: ServiceState, pipelines: Pipelines) -> Batcher | None:
    if pipelines.encoder is None:
        return None
    s = state.settings
    batcher = Batcher(pipelines.encoder.forward, name="encoder", cost=lambda e: e.length,
                      max_batch_cost=s.batch_max_tokens, max_wait_s=s.batch_max_wait_ms / 1000,
                      max_queue=s.batch_queue_max, timeout_s=s.request_timeout_s, enabled=s.batching,
                      metrics=state.batch_metrics)
    batcher.start()
    if pipelines.senses is not None:
        pipelines.senses.forward = batcher.submit
    if pipelines.wsd is not None:
        pipelines.wsd.forward = batcher.submit
    return batcher


async def _load(state: ServiceState) -> None:
    try:
        pipelines = await asyncio.to_thread(load_pipelines, load_plan(state.settings))
    except Exception as exc:  # reported by /readyz and the log; the process stays up for diagnosis
        state.error = f"{type(exc).__name__}: {exc}"
        log.exception("loading models failed")
        return
    for m in pipelines.describe():
        state.metrics.model_info.labels(m["task"], m["name"], m["version"]).set(1)
    state.metrics.load_seconds.set(pipelines.load_seconds)
    state.batcher = _batcher(state, pipelines)
    state.pipelines = pipelines
    log.info("models loaded in %.1f s", pipelines.load_seconds)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.lexiflow
    await asyncio.to_thread(check_plan, load_plan(state.settings))  # fail fast on a missing package or folder
    task = None
    if state.settings.load_in_background:
        task = asyncio.create_task(_load(state))
    else:
        await _load(state)
        if state.error is not None:
            raise RuntimeError(f"models failed to load: {state.error}")
    try:
        yield
    finally:
        if task is not None and not task.done():
            task.cancel()
        if state.batcher is not None:
            await asyncio.to_thread(state.batcher.stop)


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas in this process (``mallopt(M_ARENA_MAX)``), like the
    ``MALLOC_ARENA_MAX`` variable but applied at run time; before the request threads exist it
    covers all of them. A no-op (False) for 0, on other C libraries, or when the environment
    variable is set (the operator's choice wins)."""
    if arenas <= 0 or os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl and others: no glibc arenas to limit
        return False


_M_ARENA_MAX = -8  # glibc malloc.h


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    limit_malloc_arenas(settings.malloc_arena_max)
    metrics = Metrics()
    request_models = build_request_models(settings.limits)
    app = FastAPI(title="lexiflow", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.lexiflow = ServiceState(settings=settings, metrics=metrics, request_models=request_models,
                                      batch_metrics=BatcherMetrics(metrics.registry))
    install_error_handlers(app)

    async def client_gone(request, exc):  # noqa: ANN001, ANN202 - nobody reads this answer
        return problem_response(request, 499, "client-closed-request",
                                "the client disconnected before its work ran; the work was dropped")

    app.add_exception_handler(ClientGone, client_gone)
    app.include_router(health.router())
    app.include_router(lemmatize.router(request_models))
    app.include_router(tokenize.router(request_models))
    app.include_router(embeddings.router(request_models))
    app.include_router(senses.router(request_models))
    app.include_router(classify.router(request_models))
    app.include_router(translate.router(request_models))
    app.include_router(models.router())
    web.install(app)
    # Added last = outermost: request id, metrics, CORS, API keys, then the body cap right before routing.
    app.add_middleware(DisconnectMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(ApiKeyMiddleware, keys=settings.read_api_keys(), open_paths=settings.open_paths)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-request-id"],
                           expose_headers=["x-request-id", "retry-after"], max_age=600)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
