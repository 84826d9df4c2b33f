"""The task adapters: a job (one registry operation with its options), one input line parsed and
validated with the operation's request model, and ``Runner``, which loads the pipelines once and
turns a chunk of lines into output lines by calling the task's ``run``, as the HTTP route does."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import tasks
from tasks import Operation

BOM = b"\xef\xbb\xbf"


class Refused(Exception):
    """The run cannot start as asked (exit status 2); the message says why and what to do."""


@dataclass
class Job:
    """What a run computes: everything that changes the output (hashed into the progress file)."""

    task: str  # a batch command (tasks.batch_commands(): lemmatize, tokenize, embed, classify, translate)
    options: dict[str, Any]  # the REST request fields, validated and complete (defaults filled in)
    input_format: str = "jsonl"  # jsonl | txt
    static: bool = False  # embed: static vectors instead of the encoder (the command's --static operation)

    @property
    def operation(self) -> Operation:
        return operation(self.task, self.static)

    def signature(self) -> dict[str, Any]:
        return {"task": self.task, "static": self.static, "format": self.input_format, "options": self.options}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.signature(), sort_keys=True).encode()).hexdigest()


def operation(command: str, flagged: bool = False) -> Operation:
    """The registry operation a batch command runs: its default one, or the one behind its flag."""
    ops = tasks.batch_commands()[command]
    return next(op for op in ops if bool(op.batch.flag) == flagged)  # type: ignore[union-attr]


# ----- problems: the API's error documents, for error lines ----------------------------------------------
def problem(status: int, code: str, detail: str, **fields: Any) -> dict[str, Any]:
    from service.errors import problem_body

    return problem_body(status, code, detail, **fields)


def validation_problem(exc: Exception) -> dict[str, Any]:
    """The API's 422 for a pydantic ValidationError (same detail, errors, limit and given)."""
    from service.errors import validation_problem as problem_response

    return json.loads(problem_response(None, exc.errors()).body)  # type: ignore[arg-type, attr-defined]


def pipeline_problem(exc: Exception) -> dict[str, Any]:
    from pipelines import InputError, NotFound, PipelineError, ResourceError

    if isinstance(exc, PipelineError):
        status = 422 if isinstance(exc, InputError) else 404 if isinstance(exc, NotFound) else \
            503 if isinstance(exc, ResourceError) else 500
        extra = {k: v for k, v in exc.extra.items()
                 if k != "item" and (v is None or isinstance(v, (str, int, float, bool)))}
        return problem(status, exc.code, exc.detail, limit=exc.limit, given=exc.given, **extra)
    return problem(500, "internal-error", f"{type(exc).__name__}: {exc}"[:500])


# ----- one input line ---------------------------------------------------------------------------------
_LINE_MODEL: Any = None


def _line_model() -> Any:
    """The shape of one JSONL line: a string ``text``, optionally a string ``text_pair``; other fields ignored."""
    global _LINE_MODEL
    if _LINE_MODEL is None:
        from pydantic import BaseModel, ConfigDict, StrictStr

        class Line(BaseModel):
            model_config = ConfigDict(extra="ignore")
            text: StrictStr
            text_pair: StrictStr | None = None

        _LINE_MODEL = Line
    return _LINE_MODEL


def parse_line(line: int, raw: bytes, fmt: str, pairs: bool) -> tuple[Any, dict[str, str] | None, dict | None]:
    """(id, {"text": ..., ["text_pair": ...]}, None) or (id, None, problem) for one input line."""
    data = raw.rstrip(b"\r\n")
    if line == 1 and data.startswith(BOM):
        data = data[len(BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return line, None, problem(400, "malformed-input", f"the line is not valid UTF-8 (byte {exc.start}: "
                                                           f"{exc.reason})")
    if fmt == "txt":
        return line, {"text": text}, None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return line, None, problem(400, "malformed-json", f"the line is not valid JSON: {exc.msg} at character "
                                                          f"{exc.pos}")
    except RecursionError:
        return line, None, problem(400, "malformed-json", "the line is nested too deeply to parse")
    if not isinstance(obj, dict):
        return line, None, problem(422, "validation-error", f"a line must be a JSON object with a \"text\" "
                                                            f"field, not {type(obj).__name__}")
    ident = obj.get("id", line)
    from pydantic import ValidationError

    try:
        parsed = _line_model().model_validate(obj)
    except ValidationError as exc:
        return ident, None, validation_problem(exc)
    payload = {"text": parsed.text}
    if pairs and parsed.text_pair is not None:
        payload["text_pair"] = parsed.text_pair
    return ident, payload, None


# ----- loading ----------------------------------------------------------------------------------------------
def plan_for(job: Job, settings: Any, threads: int) -> Any:
    """The service's LoadPlan for these settings, cut down to what this one job needs: its task's
    components (the registry), then the operation's own narrowing (one engine, one model ...)."""
    plan = settings.load_plan()
    op = job.operation
    task = tasks.task(job.task)
    base: dict[str, Any] = dict(components=tasks.components([task.name]), lemmatize_engines=(),
                                torch_threads=threads, classifiers={}, translators={})
    if op.batch is not None and op.batch.narrow is not None:
        base.update(op.batch.narrow({f.name: getattr(plan, f.name) for f in fields(plan)}, job.options))
    return replace(plan, **base)


_LOADED: dict[str, Any] = {}  # plan -> Pipelines, so repeated runs in one process (tests) load once
_TORCH = ("encoder", "classifiers", "translators")


class Runner:
    """Loads one job's pipelines once; ``process`` turns a chunk of input lines into output lines."""

    def __init__(self, job: Job, *, threads: int = 1) -> None:
        from pydantic import TypeAdapter

        from pipelines import load_pipelines
        from service.settings import Settings

        self.job = job
        self.op = job.operation
        assert self.op.batch is not None
        self.batch = self.op.batch
        settings = Settings()
        self.context = {"limits": settings.limits}
        plan = plan_for(job, settings, threads)
        key = repr(plan)
        if key not in _LOADED:
            _LOADED.clear()
            if any(plan.has(c) for c in _TORCH):
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars would mix with ours
            _LOADED[key] = load_pipelines(plan)
        self.p = _LOADED[key]
        self._dump = TypeAdapter(Any).dump_json
        self.header: dict[str, Any] | None = None  # the response's fields outside its results, once known

    # -- per chunk -----------------------------------------------------------------------------
    def process(self, records: Sequence[tuple[int, bytes]]) -> tuple[bytes, int, int]:
        """Records are (1-based line number, raw line bytes). Returns (output bytes, texts, errors)."""
        from pydantic import ValidationError

        rows: list[dict[str, Any]] = []
        todo: list[tuple[int, Any]] = []
        for line, raw in records:
            ident, payload, error = parse_line(line, raw, self.job.input_format, self.batch.pairs)
            row: dict[str, Any] = {"id": ident, "line": line}
            rows.append(row)
            if error is not None:
                row["error"] = error
                continue
            try:
                request = self.op.request.model_validate({**payload, **self.job.options}, context=self.context)
            except ValidationError as exc:
                row["error"] = validation_problem(exc)
                continue
            todo.append((len(rows) - 1, request))
        if todo:
            for (i, _), (ok, result) in zip(todo, self._each([r for _, r in todo])):
                if ok:
                    rows[i].update(result)
                else:
                    rows[i]["error"] = result
        errors = sum("error" in r for r in rows)
        return b"".join(self._dump(r) + b"\n" for r in rows), len(rows), errors

    def _each(self, requests: list[Any]) -> list[tuple[bool, dict[str, Any]]]:
        """The whole chunk as one batch; if the pipeline refuses it (one over-long text ...), each
        text alone, so that only the texts at fault become error lines."""
        try:
            out = self.run(requests)
            if len(out) == len(requests):
                return [(True, r) for r in out]
        except Exception:  # noqa: BLE001 - retried item by item below, each error reported on its line
            pass
        results: list[tuple[bool, dict[str, Any]]] = []
        for request in requests:
            try:
                results.append((True, self.run([request])[0]))
            except Exception as exc:  # noqa: BLE001 - a bad text must never abort the run
                results.append((False, pipeline_problem(exc)))
        return results

    # -- the task: the registry's run, on the chunk's texts merged into requests ---------------------
    def run(self, requests: list[Any]) -> list[dict[str, Any]]:
        """One result per request (each one line's text, with the job's options)."""
        b = self.batch
        if b.results is None:  # the whole response is one line's result
            return [self._line(self.op.run(self.p, r)) for r in requests]
        out: list[dict[str, Any] | None] = [None] * len(requests)
        groups = [list(range(len(requests)))]
        if b.pairs:  # texts with and without a text_pair go to the pipeline as two batches
            groups = [[i for i, r in enumerate(requests) if (r.text_pair is not None) == with_pair]
                      for with_pair in (False, True)]
        step = b.max_texts or len(requests)
        for group in groups:
            for start in range(0, len(group), step):
                idx = group[start:start + step]
                update: dict[str, Any] = {"text": [requests[i].text for i in idx]}
                if b.pairs:
                    first = requests[idx[0]].text_pair
                    update["text_pair"] = None if first is None else [requests[i].text_pair for i in idx]
                response = self.op.run(self.p, requests[idx[0]].model_copy(update=update))
                self._header(response)
                for i, item in zip(idx, getattr(response, b.results)):
                    out[i] = tasks.dump(item)
        return out  # type: ignore[return-value]

    def _line(self, response: Any) -> dict[str, Any]:
        self._header(response)
        return {k: v for k, v in tasks.dump(response).items() if k not in self.batch.header}

    def _header(self, response: Any) -> None:
        if self.header is None:
            self.header = response.model_dump(include=set(self.batch.header))
