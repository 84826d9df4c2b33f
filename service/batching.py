"""Dynamic batching: gather work from concurrent requests into batches for one model thread.

Requests call ``submit`` from the thread pool (never the event loop) and block until their
results are ready. A single worker thread takes the oldest job and everything already queued
behind it (up to ``max_batch_cost``, e.g. tokens), runs the batch function once and hands each
job its slice. The batching is adaptive: while the model is idle a request runs at once (a lone
client never pays a fixed wait); work that arrives while a batch runs queues up and forms the next
batch. Only when the model is busy (the last batch ended less than ``max_wait_s`` ago) and fewer
jobs are queued than were in the system while the last batch ran (its callers are sending their
next requests) does the worker wait, at most ``max_wait_s``, for them to arrive.

The queue is bounded: beyond ``max_queue`` items a request is refused at once with 429 and
Retry-After instead of waiting behind work it would time out on.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from service.errors import Problem

log = logging.getLogger("lexiflow.batching")
T = TypeVar("T")
R = TypeVar("R")


class ClientGone(Exception):
    """The client disconnected before its work ran; nobody is waiting for the answer."""


@dataclass
class _Job(Generic[T, R]):
    items: Sequence[T]
    cost: int
    enqueued: float
    future: Future = field(default_factory=Future)


class BatcherMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_wait = Histogram("lexiflow_batch_queue_seconds", "Time a job waited before its batch ran.",
                                    ["batcher"], registry=registry,
                                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.batch_items = Histogram("lexiflow_batch_items", "Items per executed batch.", ["batcher"],
                                     registry=registry, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.batch_seconds = Histogram("lexiflow_batch_run_seconds", "Time to run one batch.", ["batcher"],
                                       registry=registry)
        self.queued = Gauge("lexiflow_batch_queued_items", "Items waiting for a batch.", ["batcher"],
                            registry=registry)
        self.rejected = Counter("lexiflow_batch_rejected_total", "Requests refused because the queue was full.",
                                ["batcher"], registry=registry)
        self.cancelled = Counter("lexiflow_batch_cancelled_total",
                                 "Requests dropped before running because their client disconnected.",
                                 ["batcher"], registry=registry)


class Batcher(Generic[T, R]):
    def __init__(self, fn: Callable[[list[T]], list[R]], *, name: str, cost: Callable[[T], int] = lambda _: 1,
                 max_batch_cost: int = 8192, max_wait_s: float = 0.005, max_queue: int = 1024,
                 timeout_s: float = 30.0, enabled: bool = True, metrics: BatcherMetrics | None = None) -> None:
        self.fn = fn
        self.name = name
        self.cost = cost
        self.max_batch_cost = max_batch_cost
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.timeout_s = timeout_s
        self.enabled = enabled
        self.metrics = metrics
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0  # items queued, not yet taken by the worker
        self._lock = threading.Lock()
        self._direct_lock = threading.Lock()
        self._carry: _Job | None = None
        self._thread: threading.Thread | None = None
        self._throughput = 100.0  # items/s, updated as batches run; used for Retry-After
        self._jobs_queued = 0
        self._jobs_running = 0
        self._peak = 0  # most jobs queued + running while the last batch ran: callers likely to come back
        self._last_end = -math.inf  # perf_counter when the last batch finished

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"batcher-{self.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    # ----- callers -------------------------------------------------------------------------------------------
    def submit(self, items: Sequence[T], cancelled: threading.Event | None = None) -> list[R]:
        """Run ``items`` as part of a batch and return their results, in order (blocking).

        ``cancelled`` is set when the client has gone: a job not yet running is then dropped (its
        items never reach the model) and ``ClientGone`` is raised.
        """
        if not items:
            return []
        if not self.enabled:  # the unbatched baseline: one request at a time, as it came
            with self._direct_lock:
                if cancelled is not None and cancelled.is_set():
                    self._count_cancelled()
                    raise ClientGone()
                return self.fn(list(items))
        with self._lock:
            if self._pending + len(items) > self.max_queue:
                if self.metrics:
                    self.metrics.rejected.labels(self.name).inc()
                wait = max(1, math.ceil((self._pending + len(items)) / max(self._throughput, 1.0)))
                raise Problem(429, "queue-full",
                              f"the {self.name} queue holds {self._pending} items (limit {self.max_queue}); "
                              f"retry in {wait} s", headers={"Retry-After": str(wait)},
                              limit=self.max_queue, given=self._pending + len(items))
            self._pending += len(items)
            self._jobs_queued += 1
            self._peak = max(self._peak, self._jobs_queued + self._jobs_running)
            if self.metrics:
                self.metrics.queued.labels(self.name).set(self._pending)
        job: _Job[T, R] = _Job(items, sum(self.cost(i) for i in items), time.perf_counter())
        self._queue.put(job)
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                job.future.cancel()
                raise Problem(504, "timeout", f"the {self.name} work did not finish within {self.timeout_s:.0f} s",
                              limit=self.timeout_s)
            try:
                return job.future.result(timeout=min(remaining, 0.05) if cancelled is not None else remaining)
            except FutureTimeout:
                if cancelled is not None and cancelled.is_set() and job.future.cancel():
                    self._count_cancelled()
                    raise ClientGone() from None

    def _count_cancelled(self) -> None:
        if self.metrics:
            self.metrics.cancelled.labels(self.name).inc()

    # ----- the worker ----------------------------------------------------------------------------------------
    def _take(self, block_until: float | None) -> _Job | None:
        if self._carry is not None:
            job, self._carry = self._carry, None
            return job
        if block_until is None:
            return self._queue.get()
        remaining = block_until - time.perf_counter()
        if remaining <= 0:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                return None
        try:
            return self._queue.get(timeout=remaining)
        except queue.Empty:
            return None

    def _run(self) -> None:
        while True:
            first = self._take(None)
            if first is None:
                return
            jobs = [first]
            cost = first.cost
            # busy: the last batch just ended and served more callers than are queued now; they are
            # sending their next requests, so give them up to max_wait_s. Idle: run what is here now.
            busy = time.perf_counter() - self._last_end < self.max_wait_s
            deadline = time.perf_counter() + self.max_wait_s if busy else 0.0
            while cost < self.max_batch_cost:
                job = self._take(deadline if busy and len(jobs) < self._peak else 0.0)
                if job is None:
                    break
                if cost + job.cost > self.max_batch_cost:
                    self._carry = job  # starts the next batch
                    break
                jobs.append(job)
                cost += job.cost
            self._execute(jobs)
            self._last_end = time.perf_counter()

    def _execute(self, jobs: list[_Job]) -> None:
        with self._lock:
            self._pending -= sum(len(j.items) for j in jobs)
            self._jobs_queued -= len(jobs)
            self._jobs_running = len(jobs)
            self._peak = len(jobs) + self._jobs_queued
            if self.metrics:
                self.metrics.queued.labels(self.name).set(self._pending)
        try:
            self._run_jobs(jobs)
        finally:
            with self._lock:
                self._jobs_running = 0

    def _run_jobs(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        start = time.perf_counter()
        if self.metrics:
            for j in live:
                self.metrics.queue_wait.labels(self.name).observe(start - j.enqueued)
        items = [it for j in live for it in j.items]
        try:
            results = self.fn(items)
        except Exception:  # isolate the job that failed: run each job alone
            log.exception("batch of %d items failed; retrying its %d jobs one by one", len(items), len(live))
            for j in live:
                try:
                    j.future.set_result(self.fn(list(j.items)))
                except Exception as exc:
                    j.future.set_exception(exc)
            return
        elapsed = time.perf_counter() - start
        self._throughput = 0.8 * self._throughput + 0.2 * (len(items) / max(elapsed, 1e-6))
        if self.metrics:
            self.metrics.batch_items.labels(self.name).observe(len(items))
            self.metrics.batch_seconds.labels(self.name).observe(elapsed)
        k = 0
        for j in live:
            j.future.set_result(results[k:k + len(j.items)])
            k += len(j.items)
