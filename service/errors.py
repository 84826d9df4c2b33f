"""The one error envelope: RFC 9457 ``application/problem+json``, for every error path.

Fields: ``type``, ``title``, ``status``, ``detail``, ``instance`` and, where they apply,
``errors`` (one entry per invalid field), ``limit`` and ``given`` (for declared limits) and
``request_id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from pipelines import InputError, NotFound, PipelineError, ResourceError

log = logging.getLogger("lexiflow.service")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/problems/"

TITLES = {
    400: "Malformed request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    499: "Client closed request",
    500: "Internal server error",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class ProblemJSONResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Problem(Exception):
    """Raise anywhere in the service to answer with a problem document."""

    def __init__(self, status: int, code: str, detail: str, *, title: str | None = None,
                 headers: Mapping[str, str] | None = None, **fields: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.headers = dict(headers or {})
        self.fields = {k: v for k, v in fields.items() if v is not None}


def problem_body(status: int, code: str, detail: str, *, title: str | None = None, instance: str | None = None,
                 request_id: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in fields.items() if v is not None})
    if request_id:
        body["request_id"] = request_id
    if instance and is_openai_path(instance):
        body["error"] = openai_error(status, code, detail, body.get("errors"))
    return body


# ----- OpenAI's error member, beside the problem document, on the OpenAI-compatible routes ----------
OPENAI_PATHS = ("/v1/embeddings", "/v1/models")  # exact, or below /v1/models
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                 429: "rate_limit_error"}
_OPENAI_CODES = {"unknown-model": "model_not_found"}


def is_openai_path(path: str) -> bool:
    return path in OPENAI_PATHS or path.startswith("/v1/models/")


def openai_error(status: int, code: str, detail: str, errors: Any = None) -> dict[str, Any]:
    """OpenAI's ``{"error": {message, type, param, code}}`` member, which its SDKs read to show
    the message (without it they show only "Error code: 404"). ``param`` names the first invalid
    field of a validation error (``input``, ``dimensions`` ...), else null."""
    param = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        loc = [p for p in errors[0].get("loc", []) if p != "body"]
        param = str(loc[0]) if loc else None
    kind = _OPENAI_TYPES.get(status) or ("server_error" if status >= 500 else "invalid_request_error")
    return {"message": detail, "type": kind, "param": param,
            "code": _OPENAI_CODES.get(code, code.replace("-", "_"))}


def problem_response(request: Request | None, status: int, code: str, detail: str, *,
                     headers: Mapping[str, str] | None = None, **fields: Any) -> ProblemJSONResponse:
    instance = request.url.path if request is not None else None
    rid = getattr(request.state, "request_id", None) if request is not None else None
    return ProblemJSONResponse(problem_body(status, code, detail, instance=instance, request_id=rid, **fields),
                               status_code=status, headers=dict(headers or {}))


# ----- validation errors ------------------------------------------------------------------------
_UNION_TAGS = {"one", "many", "ids", "ids_many"}  # tags of the input unions (tasks/inputs.py, tasks/embeddings.py)


def _loc(loc: Sequence[Any]) -> list[Any]:
    return [p for p in loc if not (isinstance(p, str) and p in _UNION_TAGS)]


def _limit_given(err: Mapping[str, Any]) -> tuple[Any, Any]:
    ctx = err.get("ctx") or {}
    kind = err.get("type")
    value = err.get("input")
    if kind == "string_too_long":
        return ctx.get("max_length"), len(value) if isinstance(value, str) else None
    if kind == "string_too_short":
        return ctx.get("min_length"), len(value) if isinstance(value, str) else None
    if kind in ("too_long", "too_short"):
        return ctx.get("max_length" if kind == "too_long" else "min_length"), ctx.get("actual_length")
    if kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        bound = next((ctx[k] for k in ("le", "lt", "ge", "gt") if k in ctx), None)
        return bound, value
    if "limit" in ctx:
        return ctx.get("limit"), ctx.get("given")
    return None, None


def _clean(value: Any) -> Any:
    """JSON-safe copies of values in error contexts (exceptions, bytes, huge strings)."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, (list, tuple)) and len(value) <= 50:
        return [_clean(v) for v in value]
    return str(value)[:200]


def validation_problem(request: Request, errors: Sequence[Mapping[str, Any]]) -> ProblemJSONResponse:
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        pos = e.get("loc", ("body", None))[-1]
        reason = (e.get("ctx") or {}).get("error", "invalid JSON")
        return problem_response(request, 400, "malformed-json",
                                f"the request body is not valid JSON: {reason} at character {pos}")
    items = []
    top_limit = top_given = None
    for e in errors:
        limit, given = _limit_given(e)
        item: dict[str, Any] = {"loc": _loc(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        if limit is not None:
            item["limit"] = limit
            item["given"] = _clean(given)
            if top_limit is None:
                top_limit, top_given = limit, item["given"]
        items.append(item)
    first = items[0] if items else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    detail = f"{where}: {first['msg']}{more}"
    return problem_response(request, 422, "validation-error", detail, errors=items, limit=top_limit,
                            given=top_given)


# ----- handlers -----------------------------------------------------------------------------------
_PIPELINE_STATUS = {InputError: 422, NotFound: 404, ResourceError: 503}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> ProblemJSONResponse:
        return problem_response(request, exc.status, exc.code, exc.detail, title=exc.title, headers=exc.headers,
                                **exc.fields)

    @app.exception_handler(PipelineError)
    async def _pipeline(request: Request, exc: PipelineError) -> ProblemJSONResponse:
        status = next((s for cls, s in _PIPELINE_STATUS.items() if isinstance(exc, cls)), 500)
        if status >= 500:
            log.error("pipeline error on %s: %s", request.url.path, exc.detail)
        return problem_response(request, status, exc.code, exc.detail, limit=exc.limit, given=exc.given,
                                **{k: _clean(v) for k, v in exc.extra.items()})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ProblemJSONResponse:
        return validation_problem(request, exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ProblemJSONResponse:
        status = exc.status_code
        code = {404: "not-found", 405: "method-not-allowed", 400: "bad-request"}.get(status, f"http-{status}")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(status, "error")
        cause = exc.__cause__
        if status == 400 and isinstance(cause, UnicodeDecodeError):
            code = "malformed-json"
            detail = f"the request body is not valid UTF-8 (byte {cause.start}: {cause.reason})"
        elif status == 400 and isinstance(cause, RecursionError):
            code = "malformed-json"
            detail = "the request body is nested too deeply to parse"
        elif status == 400 and cause is not None:
            code = "malformed-json"
            detail = f"the request body cannot be parsed as JSON ({type(cause).__name__})"
        if status == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}; see /docs for the API"
        elif status == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(request, status, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> ProblemJSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "internal-error",
                                "an unexpected error occurred; it has been logged with the request id")
