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
# Responses are compressed on the event loop: on a 32-text embeddings answer level 1 takes 0.9 ms
# (41% of the size), level 5 3.4 ms (36%), starlette's default 9 65 ms (34%) (bench/bench_gzip.py).
GZIP_LEVEL = 1
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


def header_value(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


async def send_problem(send: Send, status: int, body: dict[str, Any], rid: str | None,
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
        given = header_value(scope, REQUEST_ID_HEADER)
        rid = given.decode() if given is not None and _VALID_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


JSON_HINT = ("send the body as JSON with the header `Content-Type: application/json` "
             "(curl: -H 'Content-Type: application/json' -d '{\"text\": \"...\"}')")


def _media_type(value: bytes | None) -> str:
    return (value or b"").split(b";", 1)[0].strip().lower().decode("latin-1")


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class BodyLimitMiddleware:
    """Everything about a request body before anything parses it.

    - **Size**: a declared Content-Length over ``max_bytes`` is 413 at once; a streamed body is
      counted as it arrives and reading stops at the limit.
    - **Time**: the whole body must arrive within ``timeout_s``; a client that announces a body and
      never sends it gets 408 and the connection is closed, instead of holding a worker.
    - **Type**: a body sent to the API (``json_prefix``) must be JSON (``Content-Type:
      application/json`` or ``application/*+json``); anything else is 415 with a hint, not a
      misleading 422.
    - **Encoding**: ``Content-Encoding: gzip`` bodies are decompressed here, and the decompressed
      size is held to the same ``max_bytes`` while decompressing (a gzip bomb is 413 after at most
      ``max_bytes`` of output, never a full inflate); other encodings are 415.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float | None = None,
                 json_prefix: str = "/v1/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.json_prefix = json_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        rid = scope.get("state", {}).get("request_id")

        async def refuse(status: int, code: str, detail: str, headers: list[tuple[bytes, bytes]] | None = None,
                         **fields: Any) -> None:
            await send_problem(send, status, self._body(status, code, detail, scope, rid, **fields), rid, headers)

        if scope["path"].startswith(self.json_prefix):
            media = _media_type(header_value(scope, b"content-type"))
            if not is_json_media_type(media):
                await refuse(415, "unsupported-media-type",
                             f"the body is {('of type ' + repr(media)) if media else 'sent without a Content-Type'}; "
                             f"{JSON_HINT}", limit="application/json", given=media or None)
                return
        encoding = _media_type(header_value(scope, b"content-encoding"))
        if encoding not in ("", "identity", "gzip", "x-gzip"):
            await refuse(415, "unsupported-content-encoding",
                         f"Content-Encoding {encoding!r} is not supported; send the body uncompressed or as gzip",
                         limit="gzip", given=encoding)
            return
        declared = header_value(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await refuse(400, "bad-content-length", "Content-Length is not a number")
                return
            if size > self.max_bytes:
                await refuse(413, "body-too-large", self._too_large(size), limit=self.max_bytes, given=size)
                return
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = None if self.timeout_s is None else loop.time() + self.timeout_s
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                if deadline is None:
                    message = await receive()
                else:
                    message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await refuse(408, "request-timeout",
                             f"the request body did not arrive within {self.timeout_s:g} s ({total} bytes came); "
                             "send the whole body at once (LEXIFLOW_BODY_TIMEOUT_S)",
                             [(b"connection", b"close")], limit=self.timeout_s, given=total)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await refuse(413, "body-too-large", self._too_large(f"more than {self.max_bytes}"),
                             limit=self.max_bytes, given=f"more than {self.max_bytes}")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if encoding in ("gzip", "x-gzip"):
            try:
                body = gunzip_limited(body, self.max_bytes)
            except BodyTooLarge:
                await refuse(413, "body-too-large",
                             f"the gzip body inflates to more than {self.max_bytes} bytes; the limit is "
                             f"{self.max_bytes} (LEXIFLOW_MAX_BODY_BYTES), compressed or not",
                             limit=self.max_bytes, given=f"more than {self.max_bytes} after decompression")
                return
            except ValueError as exc:
                await refuse(400, "malformed-gzip", f"the body is not valid gzip ({exc})")
                return
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, given: Any) -> str:
        return (f"the request body has {given} bytes; the limit is {self.max_bytes} "
                "(LEXIFLOW_MAX_BODY_BYTES); send fewer or shorter texts per request")

    @staticmethod
    def _body(status: int, code: str, detail: str, scope: Scope, rid: str | None, **fields: Any) -> dict[str, Any]:
        return problem_body(status, code, detail, instance=scope.get("path"), request_id=rid, **fields)


class BodyTooLarge(ValueError):
    pass


def gunzip_limited(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` (one or more members), never producing more than ``limit`` bytes:
    output is pulled in bounded steps, so a bomb costs at most ``limit`` bytes of memory."""
    import zlib

    out = bytearray()
    rest = data
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
            while d.unconsumed_tail and len(out) <= limit:
                out += d.decompress(d.unconsumed_tail, limit + 1 - len(out))
        except zlib.error as exc:
            raise ValueError(str(exc)) from None
        if len(out) > limit:
            raise BodyTooLarge(limit)
        if not d.eof:
            raise ValueError("the gzip stream is truncated")
        rest = d.unused_data
        if not rest.strip(b"\0"):
            return bytes(out)


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
