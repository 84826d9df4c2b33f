"""The same FastAPI app as ``lexiflow serve``, deployed on Ray Serve (optional: ``pip install 'lexiflow[ray]'``).

Nothing here imports Ray at module level: the rest of lexiflow never needs it, and
``require_ray()`` turns a missing install into one clear message.

How the app is wrapped
    ``LexiflowReplica`` is wrapped with ``serve.ingress()`` and ``serve.deployment(...)``. The app
    is late-bound (``__serve_build_asgi_app__``): each replica calls ``create_app(settings)``
    itself instead of receiving an app pickled from the driver, because a built app carries a
    Prometheus registry, locks and, once started, the loaded models. So every route, error handler
    and middleware is the one ``lexiflow serve`` runs, and each replica is what one uvicorn worker
    is: its own app, its own models, its own ``/metrics``.

Model loading, once per replica
    Ray Serve 2.60 runs the ASGI lifespan of an ingress app in each replica (uvicorn's
    ``LifespanOn``, awaited while the replica starts), so the app's own lifespan loads the models.
    The replica forces ``load_in_background=False``: startup waits until the models are loaded and
    fails if they cannot be, so Ray marks a replica healthy, and routes traffic to it, only once
    it can answer. (With background loading an autoscaled new replica would answer 503 to the
    requests routed to it while it loads.) ``check_health`` reports a replica whose models are
    gone so that Ray replaces it.

Threads per replica
    Ray does not pin CPUs: every replica process sees all the cores, so the default "cores divided
    among workers" would give each replica every core and N replicas would oversubscribe the
    machine. Each replica therefore sets torch's intra-op threads to its reserved
    ``ray_actor_options.num_cpus`` (at least 1), unless ``--torch-threads`` or
    ``LEXIFLOW_TORCH_THREADS`` says otherwise.

Batching: the existing ``service.batching.Batcher``, in each replica
    ``serve.batch`` gathers concurrent calls *within one replica* into one call: the same scope
    as our Batcher, which already runs inside each replica and gathers that replica's concurrent
    encoder requests. Ours is kept because the routes are synchronous functions (FastAPI runs them
    in its thread pool) and ``serve.batch`` needs ``async`` callers; because ours bounds a batch
    by padded tokens (``LEXIFLOW_BATCH_MAX_TOKENS``), not by a count; and because it already
    gives a bounded queue with 429 + Retry-After, a 504 timeout, dropping work whose client has
    gone, and its metrics. Requests reach a replica only up to ``max_ongoing_requests`` at a time,
    so batches can be that large at most; keep it well above 1 for batching to help.

Queueing and 429
    ``max_ongoing_requests`` caps the requests a replica works on at once; further requests wait in
    the proxy, at most ``max_queued_requests`` of them; beyond that the proxy refuses at once with
    429 and ``Retry-After`` (``backpressure_config``), like our encoder queue does. That refusal is
    written by Ray's proxy, so its body is Ray's short text, not a problem document. Autoscaling
    (``min_replicas``/``max_replicas``) adds replicas when the mean number of ongoing requests per
    replica exceeds ``target_ongoing_requests``.

Request ids
    Ray's proxy adds its own ``X-Request-ID`` to every response: the client's when it sent one,
    else a fresh one, which it also passes to the replica. Our ``RequestIdMiddleware`` adopts that
    id, so the two headers would be duplicates; ``_OneRequestId`` drops ours when it equals the
    proxy's, and the client gets one header, equal to ``request_id`` in problem documents. (A
    client id our middleware refuses as malformed is still echoed by Ray's proxy, next to ours.)
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

log = logging.getLogger("lexiflow.ray_serve")

INSTALL_HINT = "pip install 'lexiflow[ray]'"
APP_NAME = "lexiflow"
_REQUEST_ID = b"x-request-id"


class RayNotInstalled(RuntimeError):
    """Ray Serve is not installed in this environment."""


def require_ray() -> tuple[Any, Any]:
    """``(ray, ray.serve)``, or ``RayNotInstalled`` with the install command."""
    try:
        import ray
        from ray import serve
    except ImportError as exc:
        raise RayNotInstalled(f"Ray Serve is not installed ({exc}); install it with: {INSTALL_HINT}") from exc
    return ray, serve


@dataclass(frozen=True)
class ServeOptions:
    """Replicas, autoscaling, queueing and resources of the deployment.

    Fixed size: ``replicas``. Autoscaling: ``min_replicas`` and/or ``max_replicas`` (the other
    defaults to the given one), scaled on ``target_ongoing_requests`` per replica.
    """

    replicas: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_ongoing_requests: float = 4.0
    max_ongoing_requests: int = 32
    max_queued_requests: int = 256
    retry_after_s: float = 1.0
    num_cpus: float = 1.0
    torch_threads: int | None = None
    name: str = APP_NAME
    autoscaling_extra: dict[str, Any] = field(default_factory=dict)  # any other AutoscalingConfig field

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("replicas must be at least 1")
        lo, hi = self.min_replicas, self.max_replicas
        if lo is not None and lo < 0:
            raise ValueError("min_replicas must be at least 0")
        if hi is not None and hi < 1:
            raise ValueError("max_replicas must be at least 1")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_replicas ({lo}) exceeds max_replicas ({hi})")
        if self.target_ongoing_requests <= 0:
            raise ValueError("target_ongoing_requests must be positive")
        if self.max_ongoing_requests < 1:
            raise ValueError("max_ongoing_requests must be at least 1")
        if self.autoscaling and self.target_ongoing_requests > self.max_ongoing_requests:
            raise ValueError(f"target_ongoing_requests ({self.target_ongoing_requests}) exceeds "
                             f"max_ongoing_requests ({self.max_ongoing_requests}): the target could never be reached")
        if self.max_queued_requests < 1 and self.max_queued_requests != -1:
            raise ValueError("max_queued_requests must be at least 1 (or -1: unbounded)")
        if self.num_cpus <= 0:
            raise ValueError("num_cpus must be positive")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ValueError("torch_threads must be at least 1")

    @property
    def autoscaling(self) -> bool:
        return self.min_replicas is not None or self.max_replicas is not None

    def autoscaling_config(self) -> dict[str, Any] | None:
        if not self.autoscaling:
            return None
        hi = self.max_replicas if self.max_replicas is not None else max(1, self.min_replicas or 0)
        lo = self.min_replicas if self.min_replicas is not None else min(1, hi)
        return {"min_replicas": lo, "initial_replicas": max(lo, 1), "max_replicas": hi,
                "target_ongoing_requests": self.target_ongoing_requests, **self.autoscaling_extra}

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments for ``serve.deployment``."""
        options: dict[str, Any] = {
            "name": self.name,
            "ray_actor_options": {"num_cpus": self.num_cpus},
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "backpressure_config": {"status_code": 429, "retry_after_s": self.retry_after_s},
            # a replica whose models cannot load fails the same way each time: do not retry 20 times
            "max_constructor_retry_count": 3,
            "graceful_shutdown_timeout_s": 20,  # as `lexiflow serve` (uvicorn timeout_graceful_shutdown)
        }
        if self.autoscaling:
            options["autoscaling_config"] = self.autoscaling_config()
        else:
            options["num_replicas"] = self.replicas
        return options

    def replica_torch_threads(self, settings: Settings) -> int:
        if self.torch_threads is not None:
            return self.torch_threads
        if settings.torch_threads is not None:
            return settings.torch_threads
        return max(1, math.floor(self.num_cpus))


class _OneRequestId:
    """Drop our ``X-Request-ID`` response header when Ray's proxy will add the same one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxy_id = None
        if scope["type"] == "http":
            proxy_id = next((v for k, v in scope.get("headers", ()) if k.lower() == _REQUEST_ID), None)
        if proxy_id is None:
            await self.app(scope, receive, send)
            return

        async def send_once(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if not (k.lower() == _REQUEST_ID and v == proxy_id)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_once)


class LexiflowReplica:
    """One replica: the app from ``create_app``, its models loaded by its own lifespan."""

    def __init__(self, settings: Settings, torch_threads: int) -> None:
        from service.app import create_app

        self.settings = settings.model_copy(update={"load_in_background": False, "torch_threads": torch_threads,
                                                    "workers": 1})
        # not `self.app`: Ray's ingress wrapper has a read-only `app` property (the app it serves)
        self.lexiflow_app: FastAPI = create_app(self.settings)
        self.lexiflow_app.add_middleware(_OneRequestId)  # outermost

    def __serve_build_asgi_app__(self) -> ASGIApp:
        return self.lexiflow_app

    def check_health(self) -> None:
        state = self.lexiflow_app.state.lexiflow
        if state.error is not None:
            raise RuntimeError(f"models failed to load: {state.error}")


def build_deployment(options: ServeOptions) -> Any:
    """The ``serve.Deployment``: ``LexiflowReplica`` under ``@serve.deployment(...)`` + ``@serve.ingress()``."""
    _, serve = require_ray()
    return serve.deployment(**options.deployment_options())(serve.ingress()(LexiflowReplica))


def build_application(settings: Settings | None = None, options: ServeOptions | None = None) -> Any:
    """The bound ``serve.Application``, ready for ``serve.run``."""
    settings = settings or Settings()
    options = options or ServeOptions()
    return build_deployment(options).bind(settings, options.replica_torch_threads(settings))


def run(settings: Settings, options: ServeOptions, *, host: str, port: int, address: str | None = None,
        num_cpus: int | None = None) -> int:
    """Deploy and serve until interrupted (Ctrl-C or SIGTERM). Starts a local Ray unless ``address``
    names a cluster; on exit removes the app, and shuts down Serve and Ray where it started them."""
    ray, serve = require_ray()
    started_ray = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address)
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a local instance reports to no one
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1")
            started_ray = True

    def _stop(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        serve.start(http_options={"host": host, "port": port})
        if address:
            log.info("Serve's http options apply only if Serve was not already running on %s", address)
        serve.run(build_application(settings, options), name=options.name, route_prefix="/")
        scaling = (f"autoscaling {options.autoscaling_config()}" if options.autoscaling
                   else f"{options.replicas} replica(s)")
        print(f"lexiflow on Ray Serve: http://{host}:{port}/ ({scaling}, {options.num_cpus:g} CPU and "
              f"{options.replica_torch_threads(settings)} torch thread(s) per replica); Ctrl-C stops", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            if started_ray:
                serve.shutdown()
            else:  # a shared cluster: remove only our app
                serve.delete(options.name)
        finally:
            if started_ray:
                ray.shutdown()
    return 0
