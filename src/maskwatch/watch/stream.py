"""One camera's pipeline, running in a thread of its own, polled for its events.

The same class runs in the `watch` process (local engine) and as a Ray actor (maskwatch.watch.
actors): it starts its stream in the constructor, so an actor Ray restarts after a crash simply
opens its camera again. `poll()` hands over the events since the last poll (plain dicts, cheap to
send between processes) and the stream's state; the caller owns the sink.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime

from maskwatch.watch.alerts import NoMaskAlerts

DISAPPEARED = "disappeared"


class StreamWorker:
    """Runs camera (a CameraConfig as a dict) through a VideoPipeline until it ends or stop()."""

    def __init__(self, camera: dict, detector_options: dict, pipeline_options: dict, alerts: dict) -> None:
        self.camera = dict(camera)
        self.name = self.camera["name"]
        #: Changes when the worker is made again (a Ray actor restarted after its process died).
        self.incarnation = uuid.uuid4().hex
        self._detector_options = dict(detector_options)
        self._pipeline_options = dict(pipeline_options)
        self._alerts = NoMaskAlerts(**alerts)
        self._events: deque[dict] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.frames = 0
        self.done = False
        self.error: str | None = None
        self.summary: dict | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"maskwatch-stream-{self.name}", daemon=True)
        self._thread.start()

    def _push(self, events: list[dict]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            for event in events:
                event["camera"] = self.name
                event["wall_time"] = stamp
                self._events.append(event)

    def _run(self) -> None:
        from maskwatch.video import video_detector
        from maskwatch.video.pipeline import VideoPipeline

        try:
            options = dict(self._detector_options)
            detector = video_detector(
                options.pop("model", None), options.pop("face_model", None), quiet=True, **options
            )
            pipeline = VideoPipeline(detector, **self._pipeline_options)
            results = pipeline.run(
                self.camera["source"],
                max_frames=self.camera.get("max_frames"),
                source_options=self.camera.get("source_options") or None,
            )
            seen = 0
            try:
                for result in results:
                    self.frames += 1
                    events = [event.to_dict() for event in result.events]
                    seen += len(result.events)
                    det = result.detections
                    ids = det.tracker_id if det.tracker_id is not None else [-1] * len(det)
                    names = det.data.get("class_name", [""] * len(det))
                    events += self._alerts.update(result.index, result.time, ids, names)
                    for event in events:
                        if event.get("event") == DISAPPEARED:
                            self._alerts.forget(event["track_id"])
                    if events:
                        self._push(events)
                    if self._stop.is_set():
                        break
            finally:
                results.close()
            # People still in view when the stream ends disappear at their last frame.
            self._push([event.to_dict() for event in pipeline.events[seen:]])
            self.summary = pipeline.summary()
        except Exception as exc:  # reported through poll(); the other streams go on
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done = True

    def poll(self) -> dict:
        """Events since the last poll, and the stream's state."""
        done = self.done and not self._thread.is_alive()  # before draining: no event comes after done
        with self._lock:
            events = list(self._events)
            self._events.clear()
        seconds = time.monotonic() - self.started
        return {
            "camera": self.name,
            "incarnation": self.incarnation,
            "events": events,
            "frames": self.frames,
            "fps": round(self.frames / seconds, 2) if seconds > 0 else 0.0,
            "done": done,
            "error": self.error,
            "summary": self.summary if self.done else None,
        }

    def request_stop(self) -> None:
        """Ask the stream to end after its current frame (returns at once)."""
        self._stop.set()

    def stop(self, timeout: float = 15.0) -> dict:
        """End the stream after its current frame, wait for it; returns the last poll."""
        self._stop.set()
        self._thread.join(timeout)
        return self.poll()
