"""Where the time of a video run goes: wall and CPU seconds per pipeline stage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STAGES = ("decode", "detect", "track", "classify", "smooth", "annotate", "encode", "json")


@dataclass
class Timings:
    """Wall and CPU seconds per stage (CPU = the stage's own thread, `time.thread_time`).

    On a machine shared with other jobs the wall times swing with the load; the CPU times are
    what a stage costs. Library worker threads (OpenCV, LiteRT with threads > 1) are not in the
    CPU figure, so benchmarks run them single-threaded.
    """

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    frames: int = 0
    wall: float = 0.0

    def add(self, stage: str, seconds: float, cpu: float = 0.0) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + cpu

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - wall, time.thread_time() - cpu)

    def per_frame_ms(self, cpu: bool = False) -> dict[str, float]:
        n = max(1, self.frames)
        source = self.cpu_seconds if cpu else self.seconds
        return {stage: 1000.0 * s / n for stage, s in source.items()}

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall > 0 else 0.0
