"""Where the events of a deployment go: JSON Lines files (one per camera) and a webhook.

The webhook never holds up the frames: `emit` only puts the event on a bounded queue, and one
background thread POSTs batches (a JSON array of events) with retries and exponential backoff.
A receiver that is down costs nothing but the events themselves: after the last retry a batch is
counted as dropped, and when the queue is full (a receiver down for long) new events are dropped
and counted too. A 4xx answer (other than 408 / 429) is not retried: the receiver refuses them.

JSON Lines files are appended to and flushed event by event, so `tail -f events/door.jsonl`
follows a camera live and a crash loses at most the line being written.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from maskwatch.watch.config import SinkConfig, WebhookConfig

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class JsonLinesSink:
    """`<folder>/<camera>.jsonl`, one event a line."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, object] = {}
        self.written = 0

    def path(self, camera: str) -> Path:
        return self.folder / f"{camera}.jsonl"

    def emit(self, event: dict) -> None:
        camera = str(event.get("camera", "events"))
        handle = self._files.get(camera)
        if handle is None:
            handle = self._files[camera] = open(self.path(camera), "a", encoding="utf-8")  # noqa: SIM115
        handle.write(json.dumps(event, separators=(",", ":")) + "\n")
        handle.flush()
        self.written += 1

    def close(self) -> dict:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        return {"written": self.written, "folder": str(self.folder)}


class WebhookSink:
    """POST batches of events to a URL from a background thread (see the module docstring)."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.sent = self.dropped = self.failed_posts = self.retries = 0
        self._queue: queue.Queue = queue.Queue(maxsize=config.queue)
        self._closing = threading.Event()  # no more events: send what is queued, then stop
        self._abort = threading.Event()  # out of time: stop retrying, count the rest as dropped
        host = urlsplit(config.url).hostname or ""
        # A loopback receiver is never reached through a proxy from the environment.
        handlers = [urllib.request.ProxyHandler({})] if host in _LOOPBACK else []
        self._opener = urllib.request.build_opener(*handlers)
        self._thread = threading.Thread(target=self._run, name="maskwatch-webhook", daemon=True)
        self._thread.start()

    def emit(self, event: dict) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _next_batch(self) -> list[dict]:
        batch: list[dict] = []
        try:
            batch.append(self._queue.get(timeout=0.1))
        except queue.Empty:
            return batch
        while len(batch) < self.config.batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not (self._closing.is_set() and self._queue.empty()):
            batch = self._next_batch()
            if not batch:
                continue
            if self._abort.is_set() or not self._post(batch):
                self.dropped += len(batch)
            else:
                self.sent += len(batch)

    def _post(self, batch: list[dict]) -> bool:
        body = json.dumps(batch, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self.config.headers}
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.retries += 1
                if self._abort.wait(self.config.backoff * 2 ** (attempt - 1)):
                    return False
            request = urllib.request.Request(self.config.url, data=body, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=self.config.timeout) as response:
                    if 200 <= response.status < 300:
                        return True
            except urllib.error.HTTPError as exc:
                self.failed_posts += 1
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    return False
            except (OSError, ValueError):  # refused, unreachable, timed out, reset
                self.failed_posts += 1
        return False

    def close(self, timeout: float = 5.0) -> dict:
        """Send what is queued within timeout seconds; whatever is left then is dropped."""
        self._closing.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(self.config.timeout + 1.0)
        while True:
            try:
                self._queue.get_nowait()
                self.dropped += 1
            except queue.Empty:
                break
        return self.stats()

    def stats(self) -> dict:
        return {
            "url": self.config.url,
            "sent": self.sent,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
            "failed_posts": self.failed_posts,
            "retries": self.retries,
        }


class EventSink:
    """The deployment's sink: every event to each configured output."""

    def __init__(self, config: SinkConfig) -> None:
        self.jsonl = JsonLinesSink(config.jsonl) if config.jsonl is not None else None
        self.webhook = WebhookSink(config.webhook) if config.webhook is not None else None
        self.events = 0
        self.started = time.monotonic()

    def emit(self, event: dict) -> None:
        self.events += 1
        if self.jsonl is not None:
            self.jsonl.emit(event)
        if self.webhook is not None:
            self.webhook.emit(event)

    def close(self, timeout: float = 5.0) -> dict:
        stats: dict = {"events": self.events}
        if self.jsonl is not None:
            stats["jsonl"] = self.jsonl.close()
        if self.webhook is not None:
            stats["webhook"] = self.webhook.close(timeout)
        return stats
