"""The server's live state: settings, the worker pool once models are loaded, counters, results.

Models load in the background after startup so `/healthz` answers at once (the process is alive)
while `/readyz` and the API answer 503 until every worker has its models; a load failure is kept
and reported by both instead of crashing the process.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from maskwatch.serve.engine import Engine
from maskwatch.serve.errors import ApiError
from maskwatch.serve.pool import InferencePool, Saturated
from maskwatch.serve.settings import ServeSettings
from maskwatch.serve.stats import ServerStats

log = logging.getLogger("maskwatch.serve")


class Runtime:
    def __init__(self, settings: ServeSettings, engine_factory: Callable[[], Engine]) -> None:
        self.settings = settings
        self.engine_factory = engine_factory
        self.stats = ServerStats()
        self.pool: InferencePool[Engine] | None = None
        self.load_error: str | None = None
        self._own_results = settings.results_dir is None
        self.results_dir = Path(settings.results_dir or tempfile.mkdtemp(prefix="maskwatch-serve-"))
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.video_lock = asyncio.Semaphore(1)

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
            self.pool = await asyncio.to_thread(
                InferencePool, self.engine_factory, self.settings.workers, self.settings.queue
            )
            log.info("models loaded: %d worker(s), labels %s", self.settings.workers, self.pool.engines[0].labels)
        except Exception as exc:  # keep serving /healthz and report the cause on /readyz
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("model loading failed: %s", self.load_error)

    def require_pool(self) -> InferencePool[Engine]:
        if self.pool is not None:
            return self.pool
        if self.load_error:
            raise ApiError(503, "model_load_failed", f"the models failed to load: {self.load_error}")
        raise ApiError(
            503, "not_ready", "the models are still loading; retry in a few seconds", headers={"Retry-After": "2"}
        )

    def busy_error(self) -> ApiError:
        return ApiError(
            503,
            "busy",
            f"all {self.settings.workers} inference worker(s) are busy and the queue is full; retry after "
            f"{self.settings.retry_after} s",
            headers={"Retry-After": str(self.settings.retry_after)},
        )

    async def run(self, fn, *args):
        """Run fn(engine, *args) on the pool; 503 (busy / not ready) instead of waiting without bound."""
        pool = self.require_pool()
        try:
            return await pool.run(fn, *args)
        except Saturated:
            raise self.busy_error() from None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self._own_results:
            shutil.rmtree(self.results_dir, ignore_errors=True)
