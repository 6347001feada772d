"""Counters the server keeps about itself (served at GET /api/v1/stats, read by tests and bench)."""

from __future__ import annotations

import threading
import time
from collections import Counter


class ServerStats:
    """Thread-safe counters: requests served per route, live frames, refusals per error code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.served: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.live_frames = 0
        self.live_clients = 0

    def done(self, route: str) -> None:
        with self._lock:
            self.served[route] += 1

    def refused(self, code: str) -> None:
        with self._lock:
            self.refusals[code] += 1

    def frame(self) -> None:
        with self._lock:
            self.live_frames += 1

    def client(self, delta: int) -> None:
        with self._lock:
            self.live_clients += delta

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "uptime_s": round(time.time() - self.started, 1),
                "served": dict(self.served),
                "refused": dict(self.refusals),
                "live_frames": self.live_frames,
                "live_clients": self.live_clients,
            }
