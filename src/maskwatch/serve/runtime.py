"""The server's live state: settings, the worker pool once models are loaded, counters, results.

Models load in the background after startup so `/healthz` answers at once (the process is alive)
while `/readyz` and the API answer 503 until every worker has its models; a load failure is kept
and reported by both instead of crashing the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from maskwatch.cancel import Cancelled, cancel_on
from maskwatch.serve.admission import Admission, Refused
from maskwatch.serve.engine import Engine
from maskwatch.serve.errors import ApiError
from maskwatch.serve.metrics import Metrics
from maskwatch.serve.pool import InferencePool
from maskwatch.serve.settings import ServeSettings
from maskwatch.serve.stats import ServerStats

log = logging.getLogger("maskwatch.serve")

#: Jobs above this many decoded pixels hand freed heap memory back to the OS when they end.
TRIM_ABOVE_PIXELS = 4_000_000


def _trim_heap() -> None:
    """Return freed heap memory to the OS. glibc keeps what a worker thread freed in that thread's
    arena; after a 40 Mpx image that is hundreds of MB the process would otherwise keep for good."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _job(engine, fn, args: tuple, stopping: threading.Event, trim: bool):
    """fn(engine, *args) on a worker thread: stops at its next cancel.check() once `stopping` is set."""
    try:
        with cancel_on(stopping):
            return fn(engine, *args)
    finally:
        if trim:
            _trim_heap()


class Runtime:
    def __init__(self, settings: ServeSettings, engine_factory: Callable[[], Engine]) -> None:
        self.settings = settings
        self.engine_factory = engine_factory
        self.stats = ServerStats()
        self.metrics = Metrics()
        self.admission = Admission(settings.workers, settings.queue, settings.max_wait, settings.max_pixels_in_flight)
        self.metrics.sample(
            lambda: self.admission.running, lambda: self.admission.waiting, lambda: self.admission.pixels
        )
        self.pool: InferencePool[Engine] | None = None
        self.load_error: str | None = None
        self._own_results = settings.results_dir is None
        self.results_dir = Path(settings.results_dir or tempfile.mkdtemp(prefix="maskwatch-serve-"))
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.video_lock = asyncio.Semaphore(1)
        #: Set when the server starts shutting down: videos stop between frames, images between two
        #: network runs (maskwatch.cancel), and answer 503 shutting_down.
        self.stopping = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None  # set at startup

    @property
    def ready(self) -> bool:
        return self.pool is not None

    @property
    def engine(self) -> Engine:
        """A worker's engine, for reading metadata (labels, model info); never run it from here."""
        return self.require_pool().engines[0]

    async def load(self) -> None:
        """Build every worker's engine on a thread (loading models blocks for seconds)."""
        try:
            self.pool = await asyncio.to_thread(InferencePool, self.engine_factory, self.settings.workers)
            log.info("models loaded: %d worker(s), labels %s", self.settings.workers, self.pool.engines[0].labels)
        except Exception as exc:  # keep serving /healthz and report the cause on /readyz
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("model loading failed: %s", self.load_error)

    def require_pool(self) -> InferencePool[Engine]:
        if self.stopping.is_set():
            raise self.refusal(Refused("shutting_down", 5))
        if self.pool is not None:
            return self.pool
        if self.load_error:
            raise ApiError(503, "model_load_failed", f"the models failed to load: {self.load_error}")
        raise ApiError(
            503, "not_ready", "the models are still loading; retry in a few seconds", headers={"Retry-After": "2"}
        )

    def refusal(self, refused: Refused) -> ApiError:
        """The 503 for a request that could not start in time, counted in /metrics."""
        self.metrics.busy.labels(refused.reason).inc()
        retry = str(max(self.settings.retry_after, refused.retry_after))
        if refused.reason == "shutting_down":
            return ApiError(503, "shutting_down", "the server is shutting down", headers={"Retry-After": retry})
        if refused.reason == "pixel_budget":
            return ApiError(
                503,
                "busy",
                f"large images are being processed and this one would wait about {retry} s for room in the "
                f"budget of {self.settings.max_pixels_in_flight:,} decoded pixels; retry after {retry} s",
                headers={"Retry-After": retry},
            )
        workers = self.settings.workers
        return ApiError(
            503,
            "busy",
            f"all {workers} inference worker(s) are busy and the wait for one would exceed "
            f"{self.settings.max_wait:g} s ({self.admission.waiting} request(s) waiting); retry after {retry} s",
            headers={"Retry-After": retry},
        )

    def check_admission(self) -> None:
        """503 before reading an upload when it could not start in time anyway."""
        try:
            self.admission.check()
        except Refused as exc:
            raise self.refusal(exc) from None

    async def run(self, fn, *args, cost: int = 0, timed: bool = True):
        """Run fn(engine, *args) on a worker once admitted (`cost`: decoded pixels it will hold).

        Waits in line up to settings.max_wait; 503 (busy / shutting down / not ready) otherwise.
        `timed=False` keeps long jobs (videos) out of the service time that predicts waits.
        """
        pool = self.require_pool()
        try:
            await self.admission.acquire(cost)
        except Refused as exc:
            raise self.refusal(exc) from None
        started = time.perf_counter()
        try:
            future = pool.submit(_job, fn, args, self.stopping, cost > TRIM_ABOVE_PIXELS)
        except BaseException:
            self.admission.release(cost, 0.0, count=False)
            raise
        loop = asyncio.get_running_loop()

        def finished(_future) -> None:
            # Runs on the worker thread when the job really ends (even if the client left).
            with contextlib.suppress(RuntimeError):  # the loop is already closed at shutdown
                loop.call_soon_threadsafe(self.admission.release, cost, time.perf_counter() - started, timed)

        future.add_done_callback(finished)
        try:
            return await asyncio.wrap_future(future)
        except Cancelled:
            raise self.refusal(Refused("shutting_down", 5)) from None

    def begin_shutdown(self) -> None:
        """Stop admitting, tell running jobs to stop, refuse whoever is waiting.

        Safe to call from a signal handler or another thread: the waiting room is closed on the loop.
        """
        if not self.stopping.is_set():
            log.info("shutting down: cancelling running jobs")
        self.stopping.set()
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.admission.close)
        else:
            self.admission.close()

    def close(self) -> None:
        self.stopping.set()
        if self.pool is not None:
            # Jobs check `stopping` between frames, so waiting for them is short; never block on a
            # job stuck inside a native call though: the threads are left to end with the process.
            self.pool.close(wait=False)
            self.pool = None
        if self._own_results:
            shutil.rmtree(self.results_dir, ignore_errors=True)
