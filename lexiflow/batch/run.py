"""A run: the input streamed in chunks to a backend (in-process, worker processes or Ray Data),
each finished chunk committed in input order, progress shown, a summary returned."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lexiflow.batch.backends import run_pool, run_ray
from lexiflow.batch.jobs import Job, Refused, Runner, plan_for
from lexiflow.batch.state import PROGRESS_SUFFIX, Chunk, Reader, Sink
from models.runcard import usable_cores

DEFAULT_CHUNK = 256


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
            run_ray(job, reader, commit, address=ray_address, workers=workers, threads=threads,
                    object_store_mb=ray_object_store_mb, input_path=input_path)
        elif workers <= 1:
            runner = None  # loaded on the first chunk: a finished run reruns without loading anything
            for chunk in reader:
                runner = runner or Runner(job, threads=threads)
                blob, n, errors = runner.process(chunk.records)
                commit(chunk, blob, n, errors, runner.header)
        else:
            run_pool(job, reader, commit, workers=workers, threads=threads)
        # everything read: record the trailing blank lines too, and that the run finished
        sink.commit(b"", texts=0, errors=0, input_bytes=reader.offset, lines=reader.line,
                    sha256=reader.hasher.hexdigest(), complete=True)
    finally:
        display.close()
        sink.close()
    st = sink.state
    return Result(texts=st["texts_done"] - before[0], errors=st["errors"] - before[1],
                  seconds=time.perf_counter() - t0, total_texts=st["texts_done"], total_errors=st["errors"])

