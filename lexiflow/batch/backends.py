"""Where chunks run: local worker processes (``--workers N``) or Ray Data (``--ray-address``).

Either way each worker loads its task's pipelines once (``Runner``) and turns chunks into output
blobs; the driver commits them in input order. Ray is imported only when asked for.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lexiflow.batch.jobs import Job, Refused, Runner
from lexiflow.batch.state import Reader, split_lines

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


def run_pool(job: Job, reader: Reader, commit: Callable[..., None], *, workers: int, threads: int) -> None:
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
    for raw in split_lines(data):
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

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        out: dict[str, list] = {"chunk": [], "blob": [], "texts": [], "errors": [], "response": []}
        for chunk, lines, raws in zip(batch["chunk"].to_pylist(), batch["lines"].to_pylist(),
                                      batch["raws"].to_pylist()):
            blob, n, errors = self.runner.process(list(zip(lines, raws)))
            for k, v in (("chunk", chunk), ("blob", blob), ("texts", n), ("errors", errors),
                         ("response", json.dumps(self.runner.header))):
                out[k].append(v)
        return pa.table({"chunk": pa.array(out["chunk"], pa.int64()), "blob": pa.array(out["blob"], pa.binary()),
                         "texts": pa.array(out["texts"], pa.int64()), "errors": pa.array(out["errors"], pa.int64()),
                         "response": pa.array(out["response"], pa.string())})


def run_ray(job: Job, reader: Reader, commit: Callable[..., None], *, address: str, workers: int, threads: int,
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
