"""The dynamic batcher with real threads and a real batch function (no model needed)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.batching import Batcher
from service.errors import Problem


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.gate.wait(10)
        if any(i < 0 for i in items):
            raise ValueError("negative item")
        self.batches.append(list(items))
        time.sleep(self.delay)
        return [i * 10 for i in items]


def test_concurrent_requests_are_gathered_into_batches():
    fn = Recorder(delay=0.02)
    b = Batcher(fn, name="t", max_wait_s=0.05, max_batch_cost=64)
    b.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: b.submit([i, i + 100]), range(16)))
    finally:
        b.stop()
    assert results == [[i * 10, (i + 100) * 10] for i in range(16)]
    assert sum(len(x) for x in fn.batches) == 32
    assert max(len(x) for x in fn.batches) > 2  # several requests shared a forward pass
    assert len(fn.batches) < 16


def test_batch_cost_is_bounded():
    fn = Recorder(delay=0.01)
    b = Batcher(fn, name="t", cost=lambda i: i, max_batch_cost=10, max_wait_s=0.05)
    b.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: b.submit([4]), range(8)))
    finally:
        b.stop()
    assert all(sum(batch) <= 10 for batch in fn.batches)


def test_full_queue_answers_429_with_retry_after():
    fn = Recorder()
    fn.gate.clear()  # the model is stuck: nothing drains
    entered = threading.Event()
    inner = fn.__call__
    fn_stuck = lambda items: (entered.set(), inner(items))[1]  # noqa: E731
    b = Batcher(fn_stuck, name="t", max_queue=4, max_wait_s=0.0)
    b.start()
    pool = ThreadPoolExecutor(4)
    try:
        waiting = [pool.submit(b.submit, [1, 2])]
        assert entered.wait(5)  # the worker holds the first job: it is no longer queued
        waiting += [pool.submit(b.submit, [1, 2]) for _ in range(2)]  # 4 items queued behind it
        deadline = time.monotonic() + 5
        while b._pending < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b._pending == 4
        with pytest.raises(Problem) as info:
            b.submit([3])
        assert info.value.status == 429 and int(info.value.headers["Retry-After"]) >= 1
        assert info.value.fields["limit"] == 4 and info.value.fields["given"] == 5
    finally:
        fn.gate.set()
        for w in waiting:
            w.result(10)
        pool.shutdown()
        b.stop()


def test_timeout_answers_504():
    fn = Recorder()
    fn.gate.clear()
    b = Batcher(fn, name="t", timeout_s=0.2)
    b.start()
    try:
        with pytest.raises(Problem) as info:
            b.submit([1])
        assert info.value.status == 504
    finally:
        fn.gate.set()
        b.stop()


def test_a_failing_request_does_not_fail_its_batch_mates():
    fn = Recorder(delay=0.02)
    b = Batcher(fn, name="t", max_wait_s=0.05)
    b.start()
    try:
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(b.submit, [i]) for i in (1, 2, -1, 3, 4, 5)]
            outcomes = []
            for f in futures:
                try:
                    outcomes.append(f.result(10))
                except ValueError:
                    outcomes.append("error")
    finally:
        b.stop()
    assert outcomes == [[10], [20], "error", [30], [40], [50]]


def test_disabled_batcher_runs_each_request_alone():
    fn = Recorder()
    b = Batcher(fn, name="t", enabled=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: b.submit([i]), range(8)))
    assert sorted(len(x) for x in fn.batches) == [1] * 8


def test_work_of_a_client_that_left_is_dropped_before_it_runs():
    from service.batching import BatcherMetrics, ClientGone
    from prometheus_client import CollectorRegistry

    fn = Recorder()
    fn.gate.clear()  # the model is busy: the first batch blocks
    metrics = BatcherMetrics(CollectorRegistry())
    b = Batcher(fn, name="t", max_wait_s=0.0, max_batch_cost=1, metrics=metrics)
    b.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(b.submit, [1])
            time.sleep(0.1)  # [1] is running (blocked in the model)
            gone = threading.Event()
            second = pool.submit(b.submit, [2], gone)
            time.sleep(0.1)
            gone.set()  # the client of [2] disconnects while [2] waits in the queue
            with pytest.raises(ClientGone):
                second.result(timeout=5)
            fn.gate.set()
            assert first.result(timeout=5) == [10]
    finally:
        b.stop()
    assert fn.batches == [[1]]  # [2] never reached the model
    assert metrics.cancelled.labels("t")._value.get() == 1


def test_a_lone_request_is_not_delayed_by_the_wait():
    """Adaptive batching: an idle batcher runs a request at once, however long max_wait_s is."""
    fn = Recorder()
    b = Batcher(fn, name="t", max_wait_s=0.5)
    b.start()
    try:
        times = []
        for i in range(5):  # one client, one request after another: each finds the model idle
            t0 = time.perf_counter()
            assert b.submit([i]) == [i * 10]
            times.append(time.perf_counter() - t0)
            time.sleep(0.01)
    finally:
        b.stop()
    assert max(times) < 0.25, times  # never the 0.5 s wait
    assert fn.batches == [[i] for i in range(5)]


def test_callers_of_a_busy_batch_are_gathered_again():
    """Clients served by one batch that come back at once (closed loop) form the next batch together,
    rather than the first returning client running alone."""
    fn = Recorder(delay=0.01)
    b = Batcher(fn, name="t", max_wait_s=0.2, max_batch_cost=64)
    b.start()
    barrier = threading.Barrier(8)

    def client(i: int) -> None:
        barrier.wait()
        for k in range(5):
            b.submit([i])
            time.sleep(0.002 * (i % 4))  # they return a little apart

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(client, range(8)))
    finally:
        b.stop()
    assert sum(len(x) for x in fn.batches) == 40
    # batches of 8 after the first (no wait at all alternates 1 and 7, or 4 and 4: 10 batches)
    assert len(fn.batches) <= 7, [len(x) for x in fn.batches]
