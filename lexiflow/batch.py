"""``lexiflow batch TASK --input corpus.jsonl --output out.jsonl``: one task over a whole corpus.

Tasks: ``lemmatize``, ``tokenize``, ``embed`` (contextual vectors from the encoder, as
``POST /v1/embeddings/contextual``; ``--static`` for GloVe / word2vec vectors, as
``POST /v1/embeddings/static``), ``classify`` and ``translate``. The options mirror the REST
request fields and are validated by the same request models, with the same limits
(``LEXIFLOW_MAX_TEXT_CHARS`` ...); the models are the ones the service loads with the same
``LEXIFLOW_*`` settings.

Input: JSONL, one object per line with ``text`` (``id`` optional, ``text_pair`` for tokenize and
embed; other fields are ignored), or ``.txt``, one text per line. Blank lines are skipped.
Output: JSONL, one line per input text, in input order: ``{"id", "line", ...}`` with the fields of
one item of the REST response's ``results`` (``id`` defaults to the 1-based input line number), or
``{"id", "line", "error": {type, title, status, detail, ...}}`` (an RFC 9457-style problem, as the
API would answer) for a line that is not JSON, has no text, is over a limit, or that the pipeline
refuses. A bad line never stops the run. The response-level fields (model, version ...) go into
the progress file, once.

Streaming and resumable: the input is read ``--chunk-size`` texts at a time; each finished chunk
is appended whole to the output and fsync'ed, then ``OUT.progress`` is replaced atomically with
the input bytes and lines consumed, a SHA-256 of that input prefix, the output size and a hash
of the task and options. Rerunning the same command after a crash or Ctrl-C truncates the output
to the last recorded chunk and continues from there; it refuses (exit 2) if the options or the
already-processed part of the input changed, unless ``--restart``. Rerunning a finished run does
nothing (or processes only lines appended to the input since).

Parallelism: ``--workers N`` local processes (spawned; each loads only its task's pipeline once;
torch threads per worker = cores // N; chunks are written in input order), or ``--ray-address
ADDR`` (``local`` starts a private Ray on 127.0.0.1) to run on Ray Data with N actors. Ray is
imported only then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("lemmatize", "tokenize", "embed", "classify", "translate")
PAIR_TASKS = ("tokenize", "embed")  # tasks whose lines may carry a text_pair
STATE_FORMAT = 1
PROGRESS_SUFFIX = ".progress"
DEFAULT_CHUNK = 256
TRANSLATE_BATCH = 64  # the API's largest translate request; beam search runs this many at once
BOM = b"\xef\xbb\xbf"

# task -> the REST request model (service.schemas.RequestModels attribute) validating one line
REQUEST_MODELS = {"lemmatize": "LemmatizeRequest", "tokenize": "TokenizeRequest", "embed": "ContextualRequest",
                  "static": "StaticRequest", "classify": "ClassifyRequest", "translate": "TranslateRequest"}


class Refused(Exception):
    """The run cannot start as asked (exit status 2); the message says why and what to do."""


@dataclass
class Job:
    """What a run computes: everything that changes the output (hashed into the progress file)."""

    task: str  # one of TASKS
    options: dict[str, Any]  # the REST request fields, validated and complete (defaults filled in)
    input_format: str = "jsonl"  # jsonl | txt
    static: bool = False  # embed: static vectors instead of the encoder

    @property
    def kind(self) -> str:
        return "static" if self.static else self.task

    def signature(self) -> dict[str, Any]:
        return {"task": self.task, "static": self.static, "format": self.input_format, "options": self.options}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.signature(), sort_keys=True).encode()).hexdigest()


# ----- the work: one chunk of lines in, one blob of output lines out ------------------------------
def _problem(status: int, code: str, detail: str, **fields: Any) -> dict[str, Any]:
    from service.errors import problem_body

    return problem_body(status, code, detail, **fields)


def _validation_problem(exc: Exception) -> dict[str, Any]:
    """The API's 422 for a pydantic ValidationError (same detail, errors, limit and given)."""
    from service.errors import validation_problem

    return json.loads(validation_problem(None, exc.errors()).body)  # type: ignore[arg-type, attr-defined]


def _pipeline_problem(exc: Exception) -> dict[str, Any]:
    from pipelines import InputError, NotFound, PipelineError, ResourceError

    if isinstance(exc, PipelineError):
        status = 422 if isinstance(exc, InputError) else 404 if isinstance(exc, NotFound) else \
            503 if isinstance(exc, ResourceError) else 500
        extra = {k: v for k, v in exc.extra.items()
                 if k != "item" and (v is None or isinstance(v, (str, int, float, bool)))}
        return _problem(status, exc.code, exc.detail, limit=exc.limit, given=exc.given, **extra)
    return _problem(500, "internal-error", f"{type(exc).__name__}: {exc}"[:500])


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
        return line, None, _problem(400, "malformed-input", f"the line is not valid UTF-8 (byte {exc.start}: "
                                                            f"{exc.reason})")
    if fmt == "txt":
        return line, {"text": text}, None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return line, None, _problem(400, "malformed-json", f"the line is not valid JSON: {exc.msg} at character "
                                                           f"{exc.pos}")
    except RecursionError:
        return line, None, _problem(400, "malformed-json", "the line is nested too deeply to parse")
    if not isinstance(obj, dict):
        return line, None, _problem(422, "validation-error", f"a line must be a JSON object with a \"text\" "
                                                             f"field, not {type(obj).__name__}")
    ident = obj.get("id", line)
    from pydantic import ValidationError

    try:
        parsed = _line_model().model_validate(obj)
    except ValidationError as exc:
        return ident, None, _validation_problem(exc)
    payload = {"text": parsed.text}
    if pairs and parsed.text_pair is not None:
        payload["text_pair"] = parsed.text_pair
    return ident, payload, None


def plan_for(job: Job, settings: Any, threads: int) -> Any:
    """The service's LoadPlan for these settings, cut down to what this one task needs."""
    from dataclasses import replace

    from service.app import load_plan

    plan = load_plan(settings)
    o = job.options
    base = dict(tasks=(), lemmatize_engines=(), torch_threads=threads, classifiers={}, translators={})
    if job.task == "lemmatize":
        base.update(tasks=("lemmatize",), lemmatize_engines=(o["engine"],))
    elif job.task == "tokenize":
        base.update(tasks=("tokenize",), lemmatize_engines=("rule",) if o.get("align_with") else ())
    elif job.task == "embed":
        static = dict(plan.static_models)
        name = o.get("model") if job.static else None
        name = name or next(iter(static))
        # static: the tokenizer (out-of-vocabulary words get their WordPiece split) and spaCy's word
        # splitter, as the service uses them; the vectors are loaded by the Runner, the encoder is not
        base.update(tasks=("tokenize",) if job.static else ("embeddings",), static_models={name: static[name]},
                    lemmatize_engines=("rule",) if job.static else ())
    elif job.task == "classify":
        base.update(tasks=("classify",), classifiers={o["model"]: plan.classifiers[o["model"]]})
    elif job.task == "translate":
        base.update(tasks=("translate",), translators={o["model"]: plan.translators[o["model"]]})
    return replace(plan, **base)


_LOADED: dict[str, Any] = {}  # plan -> Pipelines, so repeated runs in one process (tests) load once


class Runner:
    """Loads one task's pipeline once; ``process`` turns a chunk of input lines into output lines."""

    def __init__(self, job: Job, *, threads: int = 1) -> None:
        from pydantic import TypeAdapter

        from pipelines import load_pipelines
        from service.schemas import build_request_models
        from service.settings import Settings

        self.job = job
        settings = Settings()
        self.request_model = getattr(build_request_models(settings.limits), REQUEST_MODELS[job.kind])
        plan = plan_for(job, settings, threads)
        key = repr(plan)
        if key not in _LOADED:
            _LOADED.clear()
            if job.task in ("embed", "classify", "translate"):
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars would mix with ours
            pipes = load_pipelines(plan)
            if job.static:
                from pipelines.loading import load_static

                for name, source in plan.static_models.items():
                    pipes.static[name] = load_static(name, source, plan.cache_dir)
            _LOADED[key] = pipes
        self.p = _LOADED[key]
        self._dump = TypeAdapter(Any).dump_json
        self.batch_fn: Callable[[list[Any]], list[dict[str, Any]]] = getattr(self, f"_{job.kind}")
        self.header = self._header()

    # -- per chunk -----------------------------------------------------------------------------
    def process(self, records: Sequence[tuple[int, bytes]]) -> tuple[bytes, int, int]:
        """Records are (1-based line number, raw line bytes). Returns (output bytes, texts, errors)."""
        from pydantic import ValidationError

        rows: list[dict[str, Any]] = []
        todo: list[tuple[int, Any]] = []
        pairs = self.job.task in PAIR_TASKS and not self.job.static
        for line, raw in records:
            ident, payload, error = parse_line(line, raw, self.job.input_format, pairs)
            row: dict[str, Any] = {"id": ident, "line": line}
            rows.append(row)
            if error is not None:
                row["error"] = error
                continue
            try:
                request = self.request_model.model_validate({**payload, **self.job.options})
            except ValidationError as exc:
                row["error"] = _validation_problem(exc)
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
            out = self.batch_fn(requests)
            if len(out) == len(requests):
                return [(True, r) for r in out]
        except Exception:  # noqa: BLE001 - retried item by item below, each error reported on its line
            pass
        results: list[tuple[bool, dict[str, Any]]] = []
        for request in requests:
            try:
                results.append((True, self.batch_fn([request])[0]))
            except Exception as exc:  # noqa: BLE001 - a bad text must never abort the run
                results.append((False, _pipeline_problem(exc)))
        return results

    # -- tasks: the same pipeline calls and result builders as the REST routes --------------------
    def _lemmatize(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from service.routes.lemmatize import _result

        return [_result(d) for d in self.p.lemmatizer(reqs[0].engine).lemmatize([r.text for r in reqs])]

    def _by_pair(self, reqs: list[Any], fn: Callable[[list[str], list[str] | None], list[dict]]) -> list[dict]:
        """Texts with and without a text_pair go to the pipeline as two batches."""
        out: list[dict | None] = [None] * len(reqs)
        for with_pair in (False, True):
            idx = [i for i, r in enumerate(reqs) if (r.text_pair is not None) == with_pair]
            if idx:
                texts = [reqs[i].text for i in idx]
                pairs = [reqs[i].text_pair for i in idx] if with_pair else None
                for i, res in zip(idx, fn(texts, pairs)):
                    out[i] = res
        return out  # type: ignore[return-value]

    def _tokenize(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from service.routes.tokenize import _result

        r0, tok = reqs[0], self.p.tokenizer
        assert tok is not None

        def run(texts: list[str], pairs: list[str] | None) -> list[dict]:
            words = None
            if r0.align_with == "spacy":
                splitter = self.p.word_splitter()
                words = list(zip(splitter.words(texts), splitter.words(pairs) if pairs else [None] * len(texts)))
            encoded = tok.encode(texts, pairs, add_special_tokens=r0.add_special_tokens, max_length=r0.max_length,
                                 truncation=r0.truncation, truncation_side=r0.truncation_side, padding=r0.padding,
                                 pad_to_multiple_of=r0.pad_to_multiple_of,
                                 split_special_tokens=r0.split_special_tokens, words=words)
            return [_result(e) for e in encoded]

        return self._by_pair(reqs, run)

    def _embed(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from pipelines import LayerChoice
        from service.routes.embeddings import contextual_results

        r0, encoder = reqs[0], self.p.encoder
        assert encoder is not None
        choice = LayerChoice(r0.layer, r0.mean_last)

        def run(texts: list[str], pairs: list[str] | None) -> list[dict]:
            states = encoder.encode(texts, pairs, max_length=r0.max_length, truncation=r0.truncation)
            return contextual_results(encoder, states, choice, r0, texts, pairs)

        return self._by_pair(reqs, run)

    def _static(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from service.routes.embeddings import static_words

        r0 = reqs[0]
        model = self.p.static_model(r0.model)
        results = []
        for spans in self.p.word_splitter().words([r.text for r in reqs]):
            words = [w.text for w in spans if not w.is_space and any(ch.isalnum() for ch in w.text)]
            out, oov = static_words(model, words, self.p.tokenizer, r0)
            results.append({"words": out, "oov": oov})
        return results

    def _classify(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from service.routes.classify import _result

        clf = self.p.classifier(reqs[0].model)
        return [_result(c) for c in clf.classify([r.text for r in reqs], top_k=reqs[0].top_k)]

    def _translate(self, reqs: list[Any]) -> list[dict[str, Any]]:
        from service.routes.translate import _result
        from service.schemas import MAX_SOURCE_TOKENS

        r0 = reqs[0]
        tr = self.p.translator(r0.model)
        out = []
        for start in range(0, len(reqs), TRANSLATE_BATCH):
            texts = [r.text for r in reqs[start:start + TRANSLATE_BATCH]]
            out += [_result(t) for t in tr.translate(texts, beam_size=r0.beam_size, length_penalty=r0.length_penalty,
                                                     max_length=r0.max_length, return_attention=r0.return_attention,
                                                     max_source_tokens=MAX_SOURCE_TOKENS)]
        return out

    def _header(self) -> dict[str, Any]:
        """The REST response's fields outside ``results`` (recorded once, in the progress file)."""
        o, p = self.job.options, self.p
        if self.job.kind == "lemmatize":
            info = p.lemmatizer(o["engine"]).info()
            return {"engine": info["engine"], "model": info["model"], "model_version": info["version"],
                    "spacy_version": info["spacy"]}
        if self.job.kind == "tokenize":
            tok = p.tokenizer
            return {"model": tok.name, "model_version": tok.version, "vocab_size": tok.vocab_size,
                    "max_length": o.get("max_length") or tok.model_max_length, "truncation": o["truncation"],
                    "padding": o["padding"]}
        if self.job.kind == "embed":
            from pipelines import LayerChoice

            enc = p.encoder
            return {"model": enc.name, "model_version": enc.version,
                    "layer": LayerChoice(o["layer"], o.get("mean_last")).describe(enc.num_layers),
                    "pooling": o["pooling"], "granularity": o["granularity"] if o["pooling"] == "none" else None,
                    "dimensions": enc.hidden_size, "encoding_format": o["encoding_format"]}
        if self.job.kind == "static":
            m = p.static_model(o.get("model"))
            return {"model": m.name, "dimensions": m.dim, "vocab_size": m.vocab_size}
        if self.job.kind == "classify":
            info = p.classifier(o["model"]).info()
            return {"model": o["model"], "model_version": str(info.get("version", "1")),
                    "labels": list(info.get("labels", []))}
        info = p.translator(o["model"]).info()
        return {"model": o["model"], "model_version": str(info.get("version", "1")),
                "attention": info.get("attention"), "beam_size": o["beam_size"]}


# ----- local worker processes ---------------------------------------------------------------------
_WORKER: Runner | None = None
_WORKER_ERROR: str | None = None


def _init_worker(job: Job, threads: int) -> None:
    import signal

    global _WORKER, _WORKER_ERROR
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        _WORKER = Runner(job, threads=threads)
    except Exception as exc:  # noqa: BLE001 - reported by the first chunk, with the reason
        _WORKER_ERROR = f"{type(exc).__name__}: {exc}"


def _work(records: list[tuple[int, bytes]]) -> tuple[bytes, int, int, dict[str, Any]]:
    if _WORKER is None:
        raise RuntimeError(f"a worker could not load its pipeline: {_WORKER_ERROR}")
    blob, n, errors = _WORKER.process(records)
    return blob, n, errors, _WORKER.header


# ----- input ----------------------------------------------------------------------------------------
@dataclass
class Chunk:
    index: int
    start: int  # input byte offset where the chunk starts
    first_line: int  # input lines before the chunk
    end: int  # input byte offset just after its last text's line
    end_line: int  # input lines up to and including its last text
    sha256: str  # of the input bytes [0, end)
    records: list[tuple[int, bytes]] = field(default_factory=list)  # (line number, raw line)
    count: int = 0  # texts in the chunk


class Reader:
    """Input lines from a byte offset on, grouped into chunks of ``size`` non-blank lines.

    After iteration, ``offset``, ``line`` and ``hasher`` describe everything read (trailing blank
    lines included)."""

    def __init__(self, path: Path, *, offset: int, line: int, hasher: Any, size: int, keep: bool = True) -> None:
        self.path, self.offset, self.line, self.hasher, self.size, self.keep = path, offset, line, hasher, size, keep

    def __iter__(self) -> Iterator[Chunk]:
        index = 0
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = Chunk(index, self.offset, self.line, 0, 0, "")
            for raw in f:
                self.offset += len(raw)
                self.line += 1
                self.hasher.update(raw)
                if not raw.strip():
                    continue
                chunk.count += 1
                if self.keep:
                    chunk.records.append((self.line, raw))
                if chunk.count == self.size:
                    chunk.end, chunk.end_line, chunk.sha256 = self.offset, self.line, self.hasher.hexdigest()
                    yield chunk
                    index += 1
                    chunk = Chunk(index, self.offset, self.line, 0, 0, "")
            if chunk.count:
                chunk.end, chunk.end_line, chunk.sha256 = self.offset, self.line, self.hasher.hexdigest()
                yield chunk


def _split_lines(data: bytes) -> Iterator[bytes]:
    """Like iterating a binary file: lines end at b"\\n" only (kept)."""
    pos = 0
    while pos < len(data):
        j = data.find(b"\n", pos)
        end = len(data) if j < 0 else j + 1
        yield data[pos:end]
        pos = end


def _hash_prefix(path: Path, size: int) -> Any:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = size
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h


# ----- output and the progress file -----------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically: a temporary sibling, fsync'ed, renamed over the old one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise Refused(f"{path} cannot be read ({exc}); add --restart to start over") from None


def _describe(sig: dict[str, Any]) -> str:
    opts = ", ".join(f"{k}={v}" for k, v in sorted(sig.get("options", {}).items()) if v is not None)
    return f"{sig.get('task')}{' --static' if sig.get('static') else ''} ({sig.get('format')}; {opts})"


class Sink:
    """The output file and its progress record. ``commit`` appends one whole chunk, fsyncs it, then
    records it; a crash between the two leaves bytes that the next run cuts off."""

    def __init__(self, output: Path, job: Job, input_path: Path, *, restart: bool) -> None:
        self.output = output
        self.progress = output.with_name(output.name + PROGRESS_SUFFIX)
        existed = output.exists()
        fd = os.open(output, os.O_RDWR | os.O_CREAT, 0o644)  # locked before anything is read or written
        self.f = os.fdopen(fd, "r+b", buffering=0)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # not on POSIX: no protection against two runs on one output
                pass
            except OSError:
                raise Refused(f"another lexiflow batch is writing {output}") from None
            self.state = self._open_state(job, input_path, restart=restart, existed=existed)
        except BaseException:
            self.f.close()
            if not existed:
                output.unlink(missing_ok=True)
            raise
        self.resumed_texts = int(self.state["texts_done"])
        done = int(self.state["output_bytes"])
        self.f.truncate(done)
        self.f.seek(done)
        os.fsync(fd)

    def _open_state(self, job: Job, input_path: Path, *, restart: bool, existed: bool) -> dict[str, Any]:
        output = self.output
        state = None if restart else read_state(self.progress)
        sig = job.signature()
        size = os.fstat(self.f.fileno()).st_size
        if state is not None:
            if state.get("format") != STATE_FORMAT or state.get("job_sha256") != job.sha256():
                raise Refused(
                    f"{output} was started with other options:\n  recorded: {_describe(state.get('job', {}))}\n"
                    f"  now:      {_describe(sig)}\nrerun with the recorded options to resume, or add --restart "
                    f"to start over (this discards {output})")
            done = int(state["input_bytes"])
            self.hasher = _hash_prefix(input_path, done)
            if input_path.stat().st_size < done or self.hasher.hexdigest() != state["input_sha256"]:
                raise Refused(f"{input_path} changed since {output} was started: its first {done} bytes (the "
                              f"{state['lines_done']} lines already processed) differ; add --restart to start over")
            if size < int(state["output_bytes"]):
                raise Refused(f"{output} is shorter ({size} bytes) than its progress file records "
                              f"({state['output_bytes']}): it was edited or replaced; add --restart to start over")
            self.dropped = size - int(state["output_bytes"])  # an unrecorded (partial) chunk, cut off
            return state
        if not restart and size > 0:
            raise Refused(f"{output} exists and has no {self.progress.name} (not written by lexiflow batch, or "
                          "its progress file was removed): add --restart to overwrite it")
        self.hasher = hashlib.sha256()
        self.dropped = 0
        state = {"format": STATE_FORMAT, "job": sig, "job_sha256": job.sha256(), "input": str(input_path),
                 "input_bytes": 0, "input_sha256": self.hasher.hexdigest(), "lines_done": 0, "texts_done": 0,
                 "errors": 0, "output_bytes": 0, "chunks": 0, "complete": False, "response": None}
        write_state(self.progress, state)  # first: an old output is now disowned, cut to 0 on any rerun
        return state

    def commit(self, blob: bytes, *, texts: int, errors: int, input_bytes: int, lines: int, sha256: str,
               response: dict[str, Any] | None = None, complete: bool = False) -> None:
        if blob:
            view = memoryview(blob)
            while view:
                written = self.f.write(view)
                view = view[written:]
            os.fsync(self.f.fileno())
        st = self.state
        st.update(input_bytes=input_bytes, input_sha256=sha256, lines_done=lines, complete=complete,
                  texts_done=st["texts_done"] + texts, errors=st["errors"] + errors,
                  output_bytes=st["output_bytes"] + len(blob), chunks=st["chunks"] + (1 if texts else 0),
                  updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        if response is not None and st.get("response") is None:
            st["response"] = response
        write_state(self.progress, st)

    def close(self) -> None:
        self.f.close()


# ----- progress display -------------------------------------------------------------------------------
class Display:
    """``never``: nothing but the summary; ``auto``: a tqdm bar on a terminal, otherwise a plain line
    every 10 s; ``always``: the tqdm bar whatever stderr is."""

    def __init__(self, mode: str, *, label: str, done: int, input_size: int) -> None:
        self.mode, self.label, self.input_size = mode, label, max(input_size, 1)
        self.t0 = time.monotonic()
        self.texts = 0
        self.errors = 0
        self.bar = None
        self.last_line = self.t0
        tty = sys.stderr.isatty()
        if mode == "always" or (mode == "auto" and tty):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=None, initial=done, unit=" texts", desc=label, file=sys.stderr,
                                dynamic_ncols=True, smoothing=0.1)
        self.plain = mode != "never" and self.bar is None

    def update(self, texts: int, errors: int, input_bytes: int) -> None:
        self.texts += texts
        self.errors += errors
        pct = 100.0 * input_bytes / self.input_size
        if self.bar is not None:
            self.bar.set_postfix_str(f"{pct:.0f}% of input, {self.errors} errors", refresh=False)
            self.bar.update(texts)
        elif self.plain and time.monotonic() - self.last_line >= 10:
            self.last_line = time.monotonic()
            rate = self.texts / max(self.last_line - self.t0, 1e-9)
            print(f"{self.label}: {self.texts:,} texts, {self.errors} errors, {rate:.1f} texts/s, "
                  f"{pct:.0f}% of input", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ----- the run ------------------------------------------------------------------------------------------
@dataclass
class Result:
    texts: int  # processed in this run
    errors: int  # error lines written in this run
    seconds: float
    total_texts: int  # in the output, earlier runs included
    total_errors: int


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run(job: Job, input_path: Path, output: Path, *, chunk_size: int = DEFAULT_CHUNK, workers: int = 1,
        threads: int | None = None, ray_address: str | None = None, ray_object_store_mb: int = 512,
        progress: str = "auto", restart: bool = False) -> Result:
    t0 = time.perf_counter()
    input_path, output = input_path.resolve(), output.resolve()
    if not input_path.is_file():
        raise Refused(f"{input_path}: no such input file")
    if input_path == output or output.with_name(output.name + PROGRESS_SUFFIX) == input_path:
        raise Refused("the output must not be the input")
    threads = threads or max(1, usable_cores() // workers)
    from pipelines import check_plan
    from service.settings import Settings

    check_plan(plan_for(job, Settings(), threads))  # a missing model package or folder: fail before any file
    sink = Sink(output, job, input_path, restart=restart)
    state = sink.state
    if sink.dropped > 0:
        print(f"lexiflow batch: resuming after {state['texts_done']:,} texts; cut {sink.dropped} bytes of an "
              "unfinished chunk from the output", file=sys.stderr)
    elif state["texts_done"] and not state["complete"]:
        print(f"lexiflow batch: resuming after {state['texts_done']:,} texts ({state['lines_done']:,} input lines)",
              file=sys.stderr)
    reader = Reader(input_path, offset=int(state["input_bytes"]), line=int(state["lines_done"]),
                    hasher=sink.hasher, size=chunk_size, keep=ray_address is None)
    display = Display(progress, label=f"batch {job.task}", done=int(state["texts_done"]),
                      input_size=input_path.stat().st_size)
    before = (int(state["texts_done"]), int(state["errors"]))

    def commit(chunk: Chunk, blob: bytes, texts: int, errors: int, response: dict[str, Any] | None) -> None:
        if texts != chunk.count:
            raise RuntimeError(f"chunk {chunk.index}: {texts} results for {chunk.count} texts")
        sink.commit(blob, texts=texts, errors=errors, input_bytes=chunk.end, lines=chunk.end_line,
                    sha256=chunk.sha256, response=response)
        display.update(texts, errors, chunk.end)

    try:
        if ray_address is not None:
            _run_ray(job, reader, commit, address=ray_address, workers=workers, threads=threads,
                     object_store_mb=ray_object_store_mb, input_path=input_path)
        elif workers <= 1:
            runner = None  # loaded on the first chunk: a finished run reruns without loading anything
            for chunk in reader:
                runner = runner or Runner(job, threads=threads)
                blob, n, errors = runner.process(chunk.records)
                commit(chunk, blob, n, errors, runner.header)
        else:
            _run_pool(job, reader, commit, workers=workers, threads=threads)
        # everything read: record the trailing blank lines too, and that the run finished
        sink.commit(b"", texts=0, errors=0, input_bytes=reader.offset, lines=reader.line,
                    sha256=reader.hasher.hexdigest(), complete=True)
    finally:
        display.close()
        sink.close()
    st = sink.state
    return Result(texts=st["texts_done"] - before[0], errors=st["errors"] - before[1],
                  seconds=time.perf_counter() - t0, total_texts=st["texts_done"], total_errors=st["errors"])


def _run_pool(job: Job, reader: Reader, commit: Callable[..., None], *, workers: int, threads: int) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    pool = None
    pending: deque = deque()
    try:
        for chunk in reader:
            if pool is None:  # started on the first chunk: nothing to load when nothing is left to do
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                                           initializer=_init_worker, initargs=(job, threads))
            records, chunk.records = chunk.records, []
            pending.append((pool.submit(_work, records), chunk))
            while len(pending) >= 2 * workers:  # bounded: at most 2 chunks per worker in flight
                future, done = pending.popleft()
                commit(done, *future.result())
        while pending:
            future, done = pending.popleft()
            commit(done, *future.result())
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown(wait=True)


# ----- Ray Data -------------------------------------------------------------------------------------------
def _ray_read(row: dict[str, Any], path: str) -> dict[str, Any]:
    """One chunk descriptor -> its texts' line numbers and raw lines (read on a Ray worker)."""
    with open(path, "rb") as f:
        f.seek(int(row["start"]))
        data = f.read(int(row["end"]) - int(row["start"]))
    line = int(row["first_line"])
    lines, raws = [], []
    for raw in _split_lines(data):
        line += 1
        if raw.strip():
            lines.append(line)
            raws.append(raw)
    return {"chunk": row["chunk"], "lines": lines, "raws": raws}


class RayChunkWorker:
    """A Ray Data actor: loads the task's pipeline once, then turns chunks into output blobs."""

    def __init__(self, job: Job, threads: int) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.runner = Runner(job, threads=threads)
        self.header = json.dumps(self.runner.header)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        out: dict[str, list] = {"chunk": [], "blob": [], "texts": [], "errors": [], "response": []}
        for chunk, lines, raws in zip(batch["chunk"].to_pylist(), batch["lines"].to_pylist(),
                                      batch["raws"].to_pylist()):
            blob, n, errors = self.runner.process(list(zip(lines, raws)))
            for k, v in (("chunk", chunk), ("blob", blob), ("texts", n), ("errors", errors),
                         ("response", self.header)):
                out[k].append(v)
        return pa.table({"chunk": pa.array(out["chunk"], pa.int64()), "blob": pa.array(out["blob"], pa.binary()),
                         "texts": pa.array(out["texts"], pa.int64()), "errors": pa.array(out["errors"], pa.int64()),
                         "response": pa.array(out["response"], pa.string())})


def _run_ray(job: Job, reader: Reader, commit: Callable[..., None], *, address: str, workers: int, threads: int,
             object_store_mb: int, input_path: Path) -> None:
    """Chunk descriptors (byte ranges of the input, found by one streaming pass here) become a Ray
    Dataset; a read step turns each into its lines, ``map_batches`` runs ``workers`` actors, and the
    driver writes the chunks back in input order (``preserve_order``), committing each as above.
    The input path must be readable by the Ray workers (local Ray, or a shared file system)."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise Refused(f"--ray-address needs Ray: pip install 'lexiflow[ray]' ({exc})") from None
    chunks = list(reader)  # descriptors only: no text is kept (reader.keep is False)
    if not chunks:
        return
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(address="local", num_cpus=workers + 1, include_dashboard=False, _node_ip_address="127.0.0.1",
                     object_store_memory=object_store_mb * 2**20, logging_level="warning", log_to_driver=True)
        else:
            ray.init(address=address, logging_level="warning")
        started = True
    try:
        import logging

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # our own progress display
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ds = ray.data.from_items([{"chunk": c.index, "start": c.start, "end": c.end, "first_line": c.first_line}
                                  for c in chunks], override_num_blocks=min(len(chunks), 10_000))
        ds = ds.map(_ray_read, fn_kwargs={"path": str(input_path)})
        # No actor restarts: a lost actor fails the run and the rerun resumes from the last chunk written
        # (Ray 2.60 has no named parameter for it yet, hence the filtered deprecation warning).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
            ds = ds.map_batches(RayChunkWorker, fn_constructor_args=(job, threads), batch_size=1,
                                batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers),
                                num_cpus=1, max_restarts=0)
        expected = iter(chunks)
        for row in ds.iter_rows():
            chunk = next(expected)
            if row["chunk"] != chunk.index:
                raise RuntimeError(f"Ray returned chunk {row['chunk']} where chunk {chunk.index} was expected")
            commit(chunk, row["blob"], row["texts"], row["errors"], json.loads(row["response"]))
        if next(expected, None) is not None:
            raise RuntimeError("Ray returned fewer chunks than were sent")
    finally:
        if started:
            ray.shutdown()


# ----- command line ---------------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input, output and execution")
    g.add_argument("--input", "-i", required=True, type=Path, help="JSONL (one {\"text\": ...} per line) or .txt")
    g.add_argument("--output", "-o", required=True, type=Path, help="JSONL output; progress in OUTPUT.progress")
    g.add_argument("--format", choices=["auto", "jsonl", "txt"], default="auto",
                   help="input format (auto: .txt is text, anything else JSONL)")
    g.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK,
                   help=f"texts per chunk: the unit of work, of writing and of resuming (default {DEFAULT_CHUNK})")
    g.add_argument("--workers", type=int, default=1, help="worker processes, or Ray actors (default 1: in-process)")
    g.add_argument("--threads", type=int, help="torch threads per worker (default: cores // workers)")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="run on Ray Data: a cluster address (auto, ray://host:10001) or 'local' for a private Ray")
    g.add_argument("--ray-object-store-mb", type=int, default=512, help="object store of a 'local' Ray (MB)")
    g.add_argument("--progress", choices=["never", "auto", "always"], default="auto",
                   help="progress bar on stderr (auto: on a terminal; otherwise a line every 10 s)")
    g.add_argument("--restart", action="store_true",
                   help="start over, discarding the output and its progress (needed when options or input changed)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexiflow batch",
                                     description="Run one task over a JSONL or text corpus: streamed in chunks, "
                                                 "resumable, in parallel processes or on Ray Data.",
                                     epilog="Output lines: {\"id\", \"line\", <result fields>} or "
                                            "{\"id\", \"line\", \"error\": {...}}; see README, 'Batch corpora'.")
    sub = parser.add_subparsers(dest="task", required=True, metavar="TASK")

    p = sub.add_parser("lemmatize", help="lemmas, POS, offsets, sentences (as POST /v1/lemmatize)")
    p.add_argument("--engine", choices=["rule", "lookup"], help="rule (default): POS-aware; lookup: table lookup")
    _common(p)

    p = sub.add_parser("tokenize", help="WordPiece ids, offsets ... (as POST /v1/tokenize); lines may have text_pair")
    p.add_argument("--max-length", type=int)
    p.add_argument("--truncation", choices=["none", "longest_first", "only_first", "only_second"],
                   help="none (default): an over-long text is an error line")
    p.add_argument("--truncation-side", choices=["right", "left"])
    p.add_argument("--padding", choices=["none", "max_length"], help="per text ('longest' has no meaning per line)")
    p.add_argument("--pad-to-multiple-of", type=int)
    p.add_argument("--no-special-tokens", dest="add_special_tokens", action="store_const", const=False)
    p.add_argument("--split-special-tokens", action="store_const", const=True)
    p.add_argument("--align-with", choices=["spacy"])
    _common(p)

    p = sub.add_parser("embed", help="contextual vectors (as POST /v1/embeddings/contextual; default: mean-pooled "
                                     "last layer) or, with --static, static word vectors (as /v1/embeddings/static)")
    p.add_argument("--static", action="store_true", help="GloVe / word2vec vectors of each text's words")
    c = p.add_argument_group("contextual (the encoder)")
    c.add_argument("--layer", type=int, help="0 = embeddings, 1..L, negative from the top (default -1)")
    c.add_argument("--mean-last", type=int, help="average the last k layers instead")
    c.add_argument("--pooling", choices=["mean", "cls", "none"], help="default mean; none = one vector per token/word")
    c.add_argument("--granularity", choices=["tokens", "words"], help="with --pooling none")
    c.add_argument("--normalize", action="store_const", const=True,
                   help="L2-normalise (mean + normalize = the vectors of POST /v1/embeddings)")
    c.add_argument("--max-length", type=int)
    c.add_argument("--truncation", choices=["none", "longest_first", "only_first", "only_second"],
                   help="none (default): a text over 512 wordpieces is an error line")
    s = p.add_argument_group("static (--static)")
    s.add_argument("--model", help="a configured static model (default: the first, glove-6b-50d)")
    s.add_argument("--neighbours", type=int, help="nearest neighbours per word (default 0)")
    s.add_argument("--no-vectors", dest="include_vectors", action="store_const", const=False)
    p.add_argument("--encoding-format", choices=["float", "base64"])
    _common(p)

    p = sub.add_parser("classify", help="label, probabilities, n-gram evidence (as POST /v1/classify)")
    p.add_argument("--model", help="a classifier artifact name (default: the service's default, trec-cnn)")
    p.add_argument("--top-k", type=int, help="n-grams of evidence per text (default 5)")
    _common(p)

    p = sub.add_parser("translate", help="English -> Spanish (as POST /v1/translate)")
    p.add_argument("--model", help="a translation artifact name (default: the service's default)")
    p.add_argument("--beam-size", type=int, help="1 = greedy (default 5)")
    p.add_argument("--length-penalty", type=float)
    p.add_argument("--max-length", type=int)
    p.add_argument("--return-attention", action="store_const", const=True)
    _common(p)
    return parser


OPTION_FIELDS = {
    "lemmatize": ("engine",),
    "tokenize": ("max_length", "truncation", "truncation_side", "padding", "pad_to_multiple_of", "add_special_tokens",
                 "split_special_tokens", "align_with"),
    "embed": ("layer", "mean_last", "pooling", "granularity", "normalize", "max_length", "truncation",
              "encoding_format"),
    "static": ("model", "neighbours", "include_vectors", "encoding_format"),
    "classify": ("model", "top_k"),
    "translate": ("model", "beam_size", "length_penalty", "max_length", "return_attention"),
}


def job_from_args(args: argparse.Namespace) -> Job:
    """Validate the options with the API's request model and pin the model name (default resolved)."""
    from pydantic import ValidationError

    from service.schemas import build_request_models
    from service.settings import Settings

    static = bool(getattr(args, "static", False))
    kind = "static" if static else args.task
    given = {k: getattr(args, k) for k in OPTION_FIELDS[kind] if getattr(args, k, None) is not None}
    if args.task == "embed":
        other = "embed" if static else "static"
        wrong = [k for k in OPTION_FIELDS[other] if k not in OPTION_FIELDS[kind] and getattr(args, k, None) is not None]
        if wrong:
            flags = ", ".join("--" + k.replace("_", "-").replace("include-vectors", "no-vectors") for k in wrong)
            raise Refused(f"{flags}: only with{'out' if static else ''} --static")
    settings = Settings()
    model = getattr(build_request_models(settings.limits), REQUEST_MODELS[kind])
    try:
        request = model.model_validate({"text": "x", **given})
    except ValidationError as exc:
        raise Refused(f"invalid option: {_validation_problem(exc)['detail']}") from None
    options = request.model_dump(exclude={"text", "text_pair", "words"})
    if kind in ("classify", "translate", "static"):
        from service.app import load_plan

        plan = load_plan(settings)
        available = {"classify": plan.classifiers, "translate": plan.translators, "static": plan.static_models}[kind]
        if not available:
            raise Refused(f"no {kind} model is configured (see LEXIFLOW_CLASSIFIERS / LEXIFLOW_TRANSLATORS)")
        name = options.get("model") or next(iter(available))
        if name not in available:
            raise Refused(f"model {name!r} is not available; available: {', '.join(available)}")
        options["model"] = name
    fmt = args.format if args.format != "auto" else ("txt" if args.input.suffix.lower() == ".txt" else "jsonl")
    return Job(task=args.task, options=options, input_format=fmt, static=static)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.chunk_size < 1 or args.workers < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--chunk-size, --workers and --threads must be at least 1")
    label = f"lexiflow batch {args.task}"
    try:
        job = job_from_args(args)
        result = run(job, args.input, args.output, chunk_size=args.chunk_size, workers=args.workers,
                     threads=args.threads, ray_address=args.ray_address, ray_object_store_mb=args.ray_object_store_mb,
                     progress=args.progress, restart=args.restart)
    except Refused as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{label}: interrupted; finished chunks are kept: rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a model that fails to load, a worker killed by the OS, an unreadable input ...
        print(f"{label}: failed: {type(exc).__name__}: {exc}\nfinished chunks are kept: fix the cause and rerun "
              "the same command to resume", file=sys.stderr)
        return 1
    rate = result.texts / result.seconds if result.seconds > 0 else 0.0
    earlier = result.total_texts - result.texts
    print(f"{label}: {result.texts} texts, {result.errors} errors, {result.seconds:.1f} s, {rate:.1f} texts/s"
          + (f" ({earlier} texts done by earlier runs)" if earlier else "") + f" -> {args.output}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
