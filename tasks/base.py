"""What a task is, for the registry and for every transport that loops over it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pipelines.loading import Component


class Request(BaseModel):
    # The base of every request model: strict scalars. A JSON boolean is never a number nor a
    # number a boolean (`max_length: true` is 422, not 1; `normalize: 1` is 422, not true), a
    # number never a string. Numbers stay numbers: an integer is accepted where a float is asked.
    model_config = ConfigDict(strict=True)


@dataclass(frozen=True)
class Option:
    """One command-line option of ``lexiflow batch``: argparse's ``add_argument(*flags, **kwargs)``
    (``group`` names an argument group of the command, e.g. "contextual")."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    group: str | None = None


def option(*flags: str, group: str | None = None, **kwargs: Any) -> Option:
    return Option(tuple(flags), kwargs, group)


@dataclass(frozen=True)
class Batch:
    """How ``lexiflow batch`` runs an operation over a corpus, one text (or pair) per line.

    ``results``: the response field holding one item per input text (None: the whole response,
    less the ``header`` fields, is one line's result). ``header``: the response fields written once
    to the progress file. ``pairs``: lines may carry ``text_pair``. ``max_texts``: texts per call
    to ``run`` (None: a whole chunk). ``narrow(plan_kwargs, options)``: cut the service's load plan
    down to what these options need (``LoadPlan`` field overrides). ``model_choice``: the load-plan
    mapping (``classifiers``, ``translators``, ``static_models``) that the ``model`` option names."""

    command: str
    options: tuple[Option, ...] = ()
    help: str = ""
    header: tuple[str, ...] = ()
    results: str | None = "results"
    pairs: bool = False
    max_texts: int | None = None
    narrow: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    model_choice: str | None = None
    flag: str | None = None  # a second operation behind the same command, chosen by this flag (embed --static)


@dataclass(frozen=True)
class Operation:
    """One request -> one response: ``run(pipelines, request)`` (``forward=`` too when ``encoder``).

    The HTTP fields (path under /v1, name = operationId stem, summary, tag, which problem answers
    it may give, media type for a non-JSON answer) are plain data: the HTTP transport reads them,
    and this layer imports no web framework. ``description`` defaults to ``run``'s docstring."""

    name: str
    path: str
    request: type[BaseModel]
    response: type[BaseModel] | None
    run: Callable[..., Any]
    summary: str
    tag: str
    metric: str | None = None  # the items counter's label; None: not counted
    count: Callable[[Any, Any], int] | None = None  # items in (request, response); default: texts
    problems: tuple[str, ...] = ("unknown-model",)  # extra documented answers: unknown-model, queue
    media_type: str | None = None  # run returns the body (str/bytes) of this type instead of a model
    media_description: str = ""  # what that body is, for the documentation
    encoder: bool = False  # run takes forward= (the service's batched encoder forward)
    needs_pipelines: bool = True
    batch: Batch | None = None

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.run.__doc__ or "").split("\f")[0].strip()


@dataclass(frozen=True)
class Task:
    """A capability, named once: ``name`` is the LEXIFLOW_TASKS value; ``needs`` the pipeline
    components it loads (``pipelines.COMPONENTS`` names, or a task's own ``pipelines.Component``);
    ``aliases`` other names accepted for it (``lexiflow batch embed``, ``LEXIFLOW_TASKS=embed``)."""

    name: str
    operations: tuple[Operation, ...]
    needs: tuple[str | Component, ...]
    aliases: tuple[str, ...] = ()

    def operation(self, name: str) -> Operation:
        return next(op for op in self.operations if op.name == name)


def texts_in(request: Any, response: Any) -> int:
    """The default item count: the texts of the request's ``text`` (or ``input``)."""
    value = getattr(request, "text", None)
    if value is None:
        value = getattr(request, "input", None)
    return 1 if isinstance(value, str) else len(value or ())


def build(cls: type[BaseModel], /, **values: Any) -> Any:
    """A response model from values the pipeline already produced with the declared types: no
    re-validation (it costs as much as serialising); ``dump`` writes exactly the fields given, in
    the model's field order. ``model_construct`` without its per-call bookkeeping: a lemmatize
    answer builds a model per token (same result, a fifth of the time)."""
    shape = _SHAPES.get(cls) or _shape_of(cls)
    names = shape.names
    given = tuple(values)
    if given == names:  # every field, in order: the common case
        data, fields_set = values, shape.all_set
    else:
        data = {name: values[name] if name in values else default() for name, default in shape.defaults}
        fields_set = set(values)
    model = object.__new__(cls)
    object.__setattr__(model, "__dict__", data)
    object.__setattr__(model, "__pydantic_fields_set__", fields_set)
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


@dataclass(frozen=True)
class _Shape:
    names: tuple[str, ...]
    defaults: tuple[tuple[str, Callable[[], Any]], ...]
    all_set: set[str]  # shared by the models built with every field: read, never changed


_SHAPES: dict[type, _Shape] = {}


def _missing() -> Any:
    raise TypeError("a required field was not given")


def _shape_of(cls: type[BaseModel]) -> _Shape:
    defaults: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        if info.is_required():
            defaults.append((name, _missing))
        elif info.default_factory is not None:
            defaults.append((name, info.default_factory))  # type: ignore[arg-type]
        else:
            defaults.append((name, lambda value=info.default: value))
    shape = _SHAPES[cls] = _Shape(tuple(cls.model_fields), tuple(defaults), set(cls.model_fields))
    return shape


def dump(model: BaseModel) -> dict[str, Any]:
    """The fields set (as built), recursively, as plain Python values."""
    return model.model_dump(exclude_unset=True)


def dump_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model, exclude_unset=True)

