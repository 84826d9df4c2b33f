"""The task layer: what lexiflow can do, independent of how it is asked (HTTP, ``lexiflow batch``,
Ray Serve).

Each task is one module: its request and response models (limits from ``tasks.limits``, so the
OpenAPI document shows the configured numbers), one ``run(pipelines, request)`` per operation that
builds the response from the pipelines' dataclasses, and the operation's transport data (HTTP path,
batch command and options, response header fields). ``TASKS`` below names each task once; every
transport loops over it. Imports no web framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from tasks import classify, embeddings, lemmatize, senses, tokenize, translate
from tasks.base import Batch, Operation, Option, Task, dump, dump_json
from tasks.limits import Limits

if TYPE_CHECKING:
    from pipelines.loading import Component

# The registry, in the order the service documents and loads them.
TASKS: dict[str, Task] = {t.name: t for t in (
    lemmatize.TASK,
    tokenize.TASK,
    embeddings.TASK,
    senses.TASK,
    classify.TASK,
    translate.TASK,
)}

# Loaded whatever the tasks: spaCy's word splitter (tokenize's alignment, static vectors of a text)
# and the WordPiece tokenizer are small and shared.
BASE_COMPONENTS = ("lemmatizers", "tokenizer")


def task(name: str) -> Task:
    """A task by its name or an alias (``embed`` is ``embeddings``)."""
    if name in TASKS:
        return TASKS[name]
    for t in TASKS.values():
        if name in t.aliases:
            return t
    raise KeyError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")


def operations(names: Iterable[str] | None = None) -> Iterator[Operation]:
    for t in TASKS.values():
        if names is None or t.name in names:
            yield from t.operations


def components(names: Iterable[str]) -> tuple[str | Component, ...]:
    """The pipeline components these tasks need, the shared ones first, each once."""
    out = list(BASE_COMPONENTS)
    for name in names:
        out += [c for c in task(name).needs if c not in out]
    return tuple(out)


def batch_commands() -> dict[str, list[Operation]]:
    """``lexiflow batch`` commands -> their operations (the first is the default, others by flag)."""
    out: dict[str, list[Operation]] = {}
    for op in operations():
        if op.batch is not None:
            out.setdefault(op.batch.command, []).append(op)
    return out


__all__ = ["BASE_COMPONENTS", "TASKS", "Batch", "Limits", "Operation", "Option", "Task", "batch_commands",
           "components", "dump", "dump_json", "operations", "task"]
