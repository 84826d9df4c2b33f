"""Resumable state: the input read in chunks of lines, and the output with its progress file.

Each finished chunk is appended whole to the output and fsync'ed, then ``OUT.progress`` is
replaced atomically with the input bytes and lines consumed, a SHA-256 of that input prefix, the
output size and a hash of the job. A rerun cuts the output back to the last recorded chunk and
continues from there; it refuses if the job or the already-processed input changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lexiflow.batch.jobs import Job, Refused
from models.atomic import write_text_atomic

STATE_FORMAT = 1
PROGRESS_SUFFIX = ".progress"


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


def split_lines(data: bytes) -> Iterator[bytes]:
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
def write_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically (``models.atomic``), the folder fsync'ed too: a recorded chunk stays recorded."""
    write_text_atomic(path, json.dumps(state, indent=1, sort_keys=True) + "\n", sync_dir=True)


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

