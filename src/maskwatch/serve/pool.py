"""The inference workers: one thread per worker, each with its own loaded models.

Why not one shared model: the TFLite interpreter and OpenCV's YuNet detector keep per-call
state and are not safe to call from two threads at once, so each worker thread owns one engine
(face detector + classifier), loaded once at startup.

The pool does no admission of its own: serve.admission decides what may start (at most one job
per worker, within the pixel budget) and what waits or is refused, so a job submitted here always
finds a free engine.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Engine = TypeVar("Engine")
Result = TypeVar("Result")


class InferencePool(Generic[Engine]):
    """`workers` threads, each running jobs with an engine built by `factory` (called once per worker)."""

    def __init__(self, factory: Callable[[], Engine], workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self._engines: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        self.engines: list[Engine] = [factory() for _ in range(workers)]
        for engine in self.engines:
            self._engines.put(engine)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="maskwatch-infer")

    @property
    def in_flight(self) -> int:
        """Jobs submitted and not finished yet."""
        return self._in_flight

    def _job(self, fn: Callable[..., Result], args: tuple) -> Result:
        # Admission starts at most `workers` jobs at once and there are `workers` engines.
        engine = self._engines.get()
        try:
            return fn(engine, *args)
        finally:
            self._engines.put(engine)

    def _done(self, _future: Future) -> None:
        with self._lock:
            self._in_flight -= 1

    def submit(self, fn: Callable[..., Result], *args: Any) -> Future:
        """Start fn(engine, *args) on a worker thread."""
        with self._lock:
            self._in_flight += 1
        try:
            future = self._executor.submit(self._job, fn, args)
        except BaseException:
            self._done(None)  # type: ignore[arg-type]
            raise
        future.add_done_callback(self._done)
        return future

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
