"""Per-request limits, configured once (``LEXIFLOW_MAX_*``) and read by the request models.

The request models are module-level classes, so a configured limit cannot be baked into them at
import time. Instead a field says *which* limit bounds it (``MaxLen("max_items")``) and the limit
is read when it is needed:

* when validating: from pydantic's validation context (``model_validate(data,
  context={"limits": limits})``, what ``lexiflow batch`` does), else from the limits bound to the
  current context with ``using(limits)`` (what the HTTP service does around every request), else
  the defaults (the environment);
* when writing the JSON schema: from the limits bound with ``using(limits)`` (the service binds
  its own around ``app.openapi()``), so the OpenAPI document shows the configured numbers.

The errors are pydantic's own (``string_too_long``, ``too_long``, same message and context), so a
limit reads the same whichever way it is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic_core import PydanticKnownError, core_schema
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    """Per-request limits. Each one shows in the OpenAPI schema and in the 413/422 it causes."""

    model_config = SettingsConfigDict(env_prefix="LEXIFLOW_", extra="ignore")

    max_text_chars: int = Field(100_000, ge=1, description="characters in one text")
    max_items: int = Field(128, ge=1, description="texts in one request")
    max_total_chars: int = Field(400_000, ge=1, description="characters in all texts of one request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="bytes in a request body")
    max_embedding_inputs: int = Field(2048, ge=1, description="inputs in one /v1/embeddings request (OpenAI's "
                                                               "number; the tokens are the real bound)")
    max_total_tokens: int = Field(131_072, ge=1, description="tokens (special tokens included) in all inputs of "
                                                             "one /v1/embeddings request")


_BOUND: ContextVar[Limits | None] = ContextVar("lexiflow_limits", default=None)


@contextmanager
def using(limits: Limits) -> Iterator[None]:
    """Bind ``limits`` for validation and schema generation in the current context."""
    token = _BOUND.set(limits)
    try:
        yield
    finally:
        _BOUND.reset(token)


def current(info: ValidationInfo | None = None) -> Limits:
    """The limits in force: the validation context's, else the bound ones, else the defaults."""
    context = info.context if info is not None else None
    if isinstance(context, dict) and isinstance(context.get("limits"), Limits):
        return context["limits"]
    bound = _BOUND.get()
    return bound if bound is not None else Limits()


@dataclass(frozen=True)
class MaxLen:
    """``Annotated[str | list, MaxLen("max_items", cap=64, describe="1 to {} texts")]``: the value's
    length is at most that limit (``min(limit, cap)``); ``describe`` (a format string) becomes the
    schema's description with the number filled in."""

    setting: str
    cap: int | None = None
    describe: str | None = None

    def value(self, limits: Limits) -> int:
        n = int(getattr(limits, self.setting))
        return n if self.cap is None else min(n, self.cap)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        # Checked before the inner validation, as pydantic checks its own max_length: an over-long
        # list is refused as too long, whatever its items are.
        return core_schema.with_info_wrap_validator_function(self._check, handler(source))

    def _check(self, value: Any, handler: core_schema.ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        limit = self.value(current(info))
        if isinstance(value, str):
            if len(value) > limit:
                raise PydanticKnownError("string_too_long", {"max_length": limit})
        elif isinstance(value, (list, tuple, dict)) and len(value) > limit:
            kind = "Dictionary" if isinstance(value, dict) else "List"
            raise PydanticKnownError("too_long", {"field_type": kind, "max_length": limit,
                                                  "actual_length": len(value)})
        return handler(value)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        js = handler(schema)
        target = handler.resolve_ref_schema(js)
        limit = self.value(current())
        target["maxLength" if target.get("type") == "string" else "maxItems"] = limit
        if self.describe is not None:
            target["description"] = self.describe.format(limit)
        return js


def limit_note(limits: Limits) -> str:
    """The sentence every text request's description ends with."""
    return (f"Limits: {limits.max_text_chars} characters per text, {limits.max_items} texts per request, "
            f"{limits.max_total_chars} characters per request, {limits.max_body_bytes} bytes per body.")


def described(template: str, examples: list[dict[str, Any]] | None = None) -> Any:
    """A ``json_schema_extra`` that writes the model's description from ``template`` with the
    limits in force (``{note}`` = ``limit_note``, ``{max_items}`` ... = a limit, ``{max_items_64}``
    = min(max_items, 64)), so the documented numbers are the configured ones; and its examples."""

    def extra(schema: dict[str, Any]) -> None:
        limits = current()
        values = {name: getattr(limits, name) for name in Limits.model_fields}
        schema["description"] = template.format(note=limit_note(limits), max_items_64=min(limits.max_items, 64),
                                                **values)
        if examples is not None:
            schema["examples"] = examples

    return extra
