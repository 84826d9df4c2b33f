"""Fast JSON responses for large payloads.

Tasks build their response models without re-validation (``tasks.base.build``); the route's
``response_model`` documents the shape in OpenAPI and the tests check every response against it.
Re-validating our own output on every request costs as much as serialising it, so responses skip
that step and are serialised once by pydantic-core: a model writes exactly the fields it was
built with, a plain value as it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import JSONResponse

from tasks import dump_json

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


class FastJSONResponse(JSONResponse):
    """A JSONResponse (so FastAPI documents the route's ``response_model`` as the 200 body) that
    serialises with pydantic-core: non-finite floats become null instead of failing."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, BaseModel):
            return dump_json(content)
        return _ANY.dump_json(content)
