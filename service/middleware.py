"""Pure ASGI middleware: request ids, the body-size cap (before any parsing) and request metrics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ProblemJSONResponse, problem_body
from service.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


async def _send_problem(send: Send, status: int, body: dict[str, Any], rid: str | None,
                        extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    import json

    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode())]
    headers += extra_headers or []
    if rid:
        headers.append((REQUEST_ID_HEADER, rid.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class RequestIdMiddleware:
    """Echo a well-formed ``X-Request-ID`` or make one; expose it as ``request.state.request_id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        rid = given.decode() if given is not None and _VALID_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 before anything parses them.

    A declared Content-Length is checked at once; a streamed body is counted as it arrives and
    reading stops at the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        rid = scope.get("state", {}).get("request_id")
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_problem(send, 400, self._body(400, "bad-content-length",
                                                          "Content-Length is not a number", scope, rid), rid)
                return
            if size > self.max_bytes:
                await _send_problem(send, 413, self._too_large(size, scope, rid), rid)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await _send_problem(send, 413, self._too_large(f"more than {self.max_bytes}", scope, rid), rid)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, given: Any, scope: Scope, rid: str | None) -> dict[str, Any]:
        return self._body(413, "body-too-large",
                          f"the request body has {given} bytes; the limit is {self.max_bytes} "
                          "(LEXIFLOW_MAX_BODY_BYTES); send fewer or shorter texts per request",
                          scope, rid, limit=self.max_bytes, given=given)

    @staticmethod
    def _body(status: int, code: str, detail: str, scope: Scope, rid: str | None, **fields: Any) -> dict[str, Any]:
        return problem_body(status, code, detail, instance=scope.get("path"), request_id=rid, **fields)


class MetricsMiddleware:
    """Count requests and time them per route template (never per raw path: bounded label sets)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_progress.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)


class DisconnectMiddleware:
    """Notice a client that disconnects while its request is being worked on.

    Puts a ``threading.Event`` in ``scope["state"]["disconnected"]``; once the request body has been
    read, a listener waits on the connection and sets the event on ``http.disconnect``. Work that
    has not started yet (the batcher's queue) checks it and is dropped instead of run for nobody.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        import asyncio
        import threading

        gone = threading.Event()
        scope.setdefault("state", {})["disconnected"] = gone
        listener: asyncio.Task[None] | None = None

        async def listen() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        async def receive_body() -> Message:
            nonlocal listener
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif message["type"] == "http.request" and not message.get("more_body", False) and listener is None:
                listener = asyncio.create_task(listen())
            return message

        try:
            await self.app(scope, receive_body, send)
        finally:
            if listener is not None and not listener.done():
                listener.cancel()


# The headers the official OpenAI SDKs send from a browser (openai-node with dangerouslyAllowBrowser):
# x-stainless-lang, -package-version, -os, -arch, -runtime, -runtime-version, -retry-count, -timeout
# and more in newer versions, hence a prefix; plus the optional organization/project headers.
OPENAI_SDK_HEADER_PREFIXES = ("x-stainless-",)
OPENAI_SDK_HEADERS = ("accept", "openai-organization", "openai-project", "openai-beta")


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, with two changes: a rejected preflight is a problem+json 400
    that says what was refused (not a ``text/plain`` "Disallowed CORS headers"), and request
    headers starting with one of ``allow_header_prefixes`` are allowed (the OpenAI SDK's
    ``x-stainless-*`` family grows with its versions)."""

    def __init__(self, app: ASGIApp, *, allow_header_prefixes: tuple[str, ...] = (), **options: Any) -> None:
        super().__init__(app, **options)
        self.allow_header_prefixes = tuple(p.lower() for p in allow_header_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                await self._preflight(scope, headers)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _preflight(self, scope: Scope, request_headers: Headers) -> Response:
        origin = request_headers["origin"]
        method = request_headers["access-control-request-method"]
        requested = [h.strip().lower() for h in request_headers.get("access-control-request-headers", "").split(",")]
        requested = [h for h in requested if h]
        headers = dict(self.preflight_headers)
        problems: list[str] = []
        if self.is_allowed_origin(origin=origin):
            if self.preflight_explicit_allow_origin:
                headers["Access-Control-Allow-Origin"] = origin
        else:
            problems.append(f"origin {origin!r} is not allowed (LEXIFLOW_CORS_ORIGINS)")
        if method not in self.allow_methods:
            problems.append(f"method {method!r} is not allowed; allowed: {', '.join(self.allow_methods)}")
        refused = [h for h in requested if h not in self.allow_headers and not h.startswith(self.allow_header_prefixes)]
        if refused and not self.allow_all_headers:
            allowed = ", ".join([*self.allow_headers, *(p + "*" for p in self.allow_header_prefixes)])
            problems.append(f"request headers {', '.join(refused)} are not allowed; allowed: {allowed}")
        elif requested:  # echo what was asked for: the fixed list cannot name every x-stainless-* header
            headers["Access-Control-Allow-Headers"] = ", ".join(dict.fromkeys([*self.allow_headers, *requested]))
        if "access-control-request-private-network" in request_headers and not self.allow_private_network:
            problems.append("private-network access is not allowed")
        if not problems:
            return PlainTextResponse("OK", status_code=200, headers=headers)
        rid = scope.get("state", {}).get("request_id")
        body = problem_body(400, "cors-preflight-rejected", "CORS preflight refused: " + "; ".join(problems),
                            instance=scope.get("path"), request_id=rid, given={"origin": origin, "method": method,
                                                                               "headers": requested})
        return ProblemJSONResponse(body, status_code=400, headers=headers)
