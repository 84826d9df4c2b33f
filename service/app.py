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
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines import Pipelines, check_plan, load_pipelines
from service.batching import Batcher, BatcherMetrics, ClientGone
from service.deps import ServiceState
from service.errors import install_error_handlers, problem_response
from service.metrics import Metrics
from service import docs
from service.middleware import (GZIP_LEVEL, OPENAI_SDK_HEADER_PREFIXES, OPENAI_SDK_HEADERS, BodyLimitMiddleware,
                                DisconnectMiddleware, MetricsMiddleware, ProblemCORSMiddleware, RequestIdMiddleware)
from service.routes import health, models, tasks, web
from service.security import ApiKeyMiddleware
from service.settings import Settings
from tasks.limits import Limits, using

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
        pipelines = await asyncio.to_thread(load_pipelines, state.settings.load_plan())
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
    await asyncio.to_thread(check_plan, state.settings.load_plan())  # fail fast on a missing package or folder
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
    return _mallopt(_M_ARENA_MAX, arenas, "MALLOC_ARENA_MAX")


def fix_malloc_mmap_threshold(kb: int) -> bool:
    """Serve allocations of ``kb`` KiB or more with their own memory maps, returned to the system when
    freed (``mallopt(M_MMAP_THRESHOLD)``, and a trim threshold of twice that). glibc's default
    raises the threshold each time a mapped block is freed (up to 32 MiB), after which large arrays
    (a long text's hidden states, a big batch's outputs) live on the heap and leave it fragmented and
    grown. Too low a threshold costs speed (256 KiB: the encoder's per-batch arrays are mapped and
    faulted in anew each time, a third fewer sentences/s; BENCHMARKS.md). Like
    ``MALLOC_MMAP_THRESHOLD_`` but applied at run time; a no-op (False) for 0, on other C libraries,
    or when that variable is set."""
    if not _mallopt(_M_MMAP_THRESHOLD, kb * 1024, "MALLOC_MMAP_THRESHOLD_"):
        return False
    return _mallopt(_M_TRIM_THRESHOLD, 2 * kb * 1024, "MALLOC_TRIM_THRESHOLD_")


def _mallopt(option: int, value: int, variable: str) -> bool:
    if value <= 0 or os.environ.get(variable) or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return bool(libc.mallopt(option, value))
    except (OSError, AttributeError):  # musl and others: no glibc allocator to tune
        return False


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc malloc.h


class BindLimits:
    """Binds this app's limits (``tasks.limits``) for the request: the request models read them
    while FastAPI validates the body, in this request's context only."""

    def __init__(self, app: ASGIApp, *, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with using(self.limits):
            await self.app(scope, receive, send)


def _document_limits(app: FastAPI, limits: Limits) -> None:
    """The OpenAPI document is written with this app's limits bound, so it shows them."""
    generate = app.openapi

    def openapi() -> dict:
        with using(limits):
            return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    limit_malloc_arenas(settings.malloc_arena_max)
    fix_malloc_mmap_threshold(settings.malloc_mmap_threshold_kb)
    metrics = Metrics()
    app = FastAPI(title="lexiflow", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served from local files by service.docs
    app.state.lexiflow = ServiceState(settings=settings, metrics=metrics,
                                      batch_metrics=BatcherMetrics(metrics.registry))
    install_error_handlers(app)

    async def client_gone(request, exc):  # noqa: ANN001, ANN202 - nobody reads this answer
        return problem_response(request, 499, "client-closed-request",
                                "the client disconnected before its work ran; the work was dropped")

    app.add_exception_handler(ClientGone, client_gone)
    app.include_router(health.router())
    app.include_router(tasks.router)
    app.include_router(models.router())
    web.install(app)
    docs.install(app)
    # Added last = outermost: request id, metrics, CORS, API keys, then the body cap right before routing.
    _document_limits(app, settings.limits)
    if settings.gzip_min_bytes:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL)
    app.add_middleware(BindLimits, limits=settings.limits)
    app.add_middleware(DisconnectMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes,
                       timeout_s=settings.body_timeout_s)
    app.add_middleware(ApiKeyMiddleware, keys=settings.read_api_keys(), open_paths=settings.open_paths)
    if settings.cors_origins:
        app.add_middleware(ProblemCORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-request-id", *OPENAI_SDK_HEADERS],
                           allow_header_prefixes=OPENAI_SDK_HEADER_PREFIXES,
                           expose_headers=["x-request-id", "retry-after"], max_age=600)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
