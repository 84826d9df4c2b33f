"""The service's own response models: readiness, the model list, and the problem document.

Every task's request and response models live with the task (``tasks/<task>.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: str
    name: str
    version: str


class ReadyResponse(BaseModel):
    status: Literal["ready", "loading", "failed"]
    models: list[ModelOut]
    load_seconds: float | None = None
    error: str | None = None


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    limit: Any | None = None
    given: Any | None = None


class OpenAIErrorOut(BaseModel):
    message: str = Field(description="the problem's detail")
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, "
                                  "not_found_error, rate_limit_error or server_error")
    param: str | None = Field(description="the first invalid request field, if any")
    code: str | None = Field(description="the problem's type in snake_case (unknown-model: model_not_found)")


class ProblemOut(BaseModel):
    """RFC 9457 problem details, served as application/problem+json."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="a URI reference naming the problem, e.g. /problems/validation-error")
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    limit: Any | None = Field(None, description="the limit that was exceeded")
    given: Any | None = Field(None, description="the value the request gave")
    errors: list[ProblemError] | None = None
    error: OpenAIErrorOut | None = Field(None, description="OpenAI's error member, on the OpenAI-compatible "
                                                           "routes only (/v1/embeddings, /v1/models)")


class ModelDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: str
    name: str
    version: str
