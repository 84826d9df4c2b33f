"""Errors a pipeline raises; the service maps each class to one HTTP problem type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class PipelineError(Exception):
    """Base class. ``code`` is a stable slug; ``detail`` is a sentence a user can act on."""

    code = "pipeline-error"

    def __init__(
        self, detail: str, *, code: str | None = None, limit: Any = None, given: Any = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.limit = limit
        self.given = given
        self.extra = extra


class InputError(PipelineError):
    """The input is well-formed but cannot be processed as asked (e.g. too many tokens)."""

    code = "unprocessable-input"


class NotFound(PipelineError):
    """A named model or resource is not loaded."""

    code = "not-found"


class ResourceError(PipelineError):
    """An artifact or model package is missing, corrupt or inconsistent."""

    code = "resource-error"


def read_resource_json(path: str | Path, *, make: str) -> Any:
    """A JSON resource a pipeline needs: a ``ResourceError`` naming the file, and ``make`` (how to
    make it), when it is missing; naming the file when it is not valid JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResourceError(f"{path}: missing; make it with {make}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResourceError(f"{path}: not valid JSON ({exc})") from exc
