"""``lexiflow batch TASK --input corpus.jsonl --output out.jsonl``: one task over a whole corpus.

Tasks (the batch commands of the task registry, ``tasks.batch_commands()``): ``lemmatize``,
``tokenize``, ``embed`` (alias ``embeddings``; contextual vectors from the encoder, as
``POST /v1/embeddings/contextual``; ``--static`` for GloVe / word2vec vectors, as
``POST /v1/embeddings/static``), ``classify`` and ``translate``. The options mirror the REST
request fields and are validated by the same request models, with the same limits
(``LEXIFLOW_MAX_TEXT_CHARS`` ...); each chunk's texts go through the task's own ``run``, as the
REST route's do; the models are the ones the service loads with the same ``LEXIFLOW_*`` settings.

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

The package, by job: ``jobs`` (a job, one line parsed and validated, ``Runner``: the task adapter),
``state`` (input chunks, the output and its progress file), ``backends`` (worker processes, Ray
Data), ``run`` (one run, its progress display), ``cli`` (the command line).
"""

from lexiflow.batch.cli import TASKS, build_parser, job_from_args, main
from lexiflow.batch.jobs import Job, Refused, Runner, operation, parse_line, plan_for
from lexiflow.batch.run import DEFAULT_CHUNK, Result, run
from lexiflow.batch.state import PROGRESS_SUFFIX, STATE_FORMAT, Chunk, Reader, Sink, read_state, write_state

__all__ = ["DEFAULT_CHUNK", "PROGRESS_SUFFIX", "STATE_FORMAT", "TASKS", "Chunk", "Job", "Reader", "Refused", "Result",
           "Runner", "Sink", "build_parser", "job_from_args", "main", "operation", "parse_line", "plan_for",
           "read_state", "run", "write_state"]
