"""`GET /metrics`: the server's counters in the Prometheus text format (prometheus_client).

One registry per app (not the process-wide default), so several apps in one process (tests) do
not collide. Counted: requests by route and status, latency by route (histogram), faces by
label, refusals for busy / shutting down by reason, live frames; sampled at scrape time: jobs
running, requests waiting, decoded pixels in flight, live clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from maskwatch.serve.asgi import HttpMiddleware

#: Latency buckets (seconds): from a small image on a free worker to a video job.
BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "maskwatch_requests", "HTTP requests answered", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "maskwatch_request_seconds",
            "Time from request start to the end of the answer",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.faces = Counter("maskwatch_faces", "Faces found, by label", ["label"], registry=self.registry)
        self.busy = Counter(
            "maskwatch_busy_refusals",
            "Requests refused with 503 because they could not start in time (reason: queue_full, deadline, "
            "pixel_budget, shutting_down, video_busy)",
            ["reason"],
            registry=self.registry,
        )
        self.live_frames = Counter("maskwatch_live_frames", "Live WebSocket frames answered", registry=self.registry)
        self.running = Gauge("maskwatch_jobs_running", "Jobs running on the inference workers", registry=self.registry)
        self.waiting = Gauge("maskwatch_queue_depth", "Requests waiting for a worker", registry=self.registry)
        self.pixels = Gauge(
            "maskwatch_pixels_in_flight", "Decoded pixels of the images being processed", registry=self.registry
        )
        self.live_clients = Gauge("maskwatch_live_clients", "Open live WebSocket connections", registry=self.registry)

    def sample(self, running: Callable[[], float], waiting: Callable[[], float], pixels: Callable[[], float]) -> None:
        """Read these gauges from the admission state at scrape time."""
        self.running.set_function(running)
        self.waiting.set_function(waiting)
        self.pixels.set_function(pixels)

    def count_faces(self, detections: list[dict]) -> None:
        for record in detections:
            if "label" in record:
                self.faces.labels(record["label"]).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware(HttpMiddleware):
    """Plain ASGI middleware timing every HTTP request, labelled by its route template.

    The route template (`/api/v1/results/{run_id}/{name}`), not the raw path, keeps the number of
    series bounded whatever paths clients invent; unmatched paths count as "other".
    """

    def __init__(self, app, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def http(self, scope, receive, send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "other"
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
