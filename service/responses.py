"""Fast JSON responses for large payloads.

Routes build plain dicts that follow their declared ``response_model`` (which documents the
shape in OpenAPI, and which the tests check every response against). Re-validating our own
output on every request costs as much as serialising it, so large responses skip that step
and are serialised once by pydantic-core.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from starlette.responses import JSONResponse

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


class FastJSONResponse(JSONResponse):
    """A JSONResponse (so FastAPI documents the route's ``response_model`` as the 200 body) that
    serialises with pydantic-core: non-finite floats become null instead of failing."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _ANY.dump_json(content)
