"""A bounded pool of inference workers, each with its own loaded models.

Why not one shared model: the TFLite interpreter and OpenCV's YuNet detector keep per-call
state and are not safe to call from two threads at once, so each worker thread owns one engine
(face detector + classifier), loaded once at startup.

Why bounded: a server that queues every request without limit turns a burst into unbounded
memory and minutes of latency. `run` takes a slot with a non-blocking acquire; when all
`workers + queue` slots are taken it raises `Saturated` at once and the route answers 503 with
Retry-After, so clients back off and the server stays responsive.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Engine = TypeVar("Engine")
Result = TypeVar("Result")


class Saturated(Exception):
    """Every worker is busy and the waiting room is full."""


class InferencePool(Generic[Engine]):
    """`workers` threads, each running jobs with an engine built by `factory` (called once per worker)."""

    def __init__(self, factory: Callable[[], Engine], workers: int, queue_size: int = 0) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.capacity = workers + max(0, queue_size)
        self._engines: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        self.engines: list[Engine] = [factory() for _ in range(workers)]
        for engine in self.engines:
            self._engines.put(engine)
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="maskwatch-infer")

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting right now."""
        return self._in_flight

    def _job(self, fn: Callable[..., Result], args: tuple) -> Result:
        # At most `workers` jobs run at once (executor size) and there are `workers` engines,
        # so get() never waits.
        engine = self._engines.get()
        try:
            return fn(engine, *args)
        finally:
            self._engines.put(engine)

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    def submit(self, fn: Callable[..., Result], *args: Any) -> Future:
        """Start fn(engine, *args) on a worker, or raise Saturated without waiting."""
        if not self._slots.acquire(blocking=False):
            raise Saturated()
        with self._lock:
            self._in_flight += 1
        try:
            future = self._executor.submit(self._job, fn, args)
        except BaseException:
            self._release(None)  # type: ignore[arg-type]
            raise
        # The slot is freed when the job really ends, not when an impatient client goes away:
        # otherwise abandoned jobs would pile up in the executor beyond the bound.
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[..., Result], *args: Any) -> Result:
        """Await fn(engine, *args) on a worker; raises Saturated when the pool is full."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
