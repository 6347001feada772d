"""Frames and the sources that yield them: the `Frame` record, the `FrameSource` interface, and
the one reconnect loop that live sources (cameras, streams) share.

A live source that drops is reopened with bounded retries and exponential backoff; the attempt
counter resets after each frame that arrives, and when retries run out `SourceError` is raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from maskwatch.errors import SourceError

log = logging.getLogger("maskwatch.video.sources")

#: Seconds to wait for a URL to answer / for the next packet of a stream before giving up.
OPEN_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
#: Reconnect attempts after a live source drops, and the first wait (doubled each time, capped).
MAX_RETRIES = 5
BACKOFF = 0.5
MAX_BACKOFF = 8.0


class SourceWarning(UserWarning):
    """A source delivered fewer frames than it should have (truncated or corrupt video)."""


@dataclass
class Frame:
    """One decoded frame: its index in the source, its time in seconds and RGB uint8 pixels."""

    index: int
    time: float
    image: np.ndarray


class FrameSource:
    """Base class: iterate to get `Frame`s; `close()` (or `with`) releases the device or file.

    Attributes every source fills once open: `name` (for messages), `fps` (None when unknown),
    `size` ((width, height) or None), `frame_count` (None when unknown or live), `live` (True for
    cameras and streams: frames arrive in real time and can be dropped when processing lags).
    """

    name: str = "<source>"
    fps: float | None = None
    size: tuple[int, int] | None = None
    frame_count: int | None = None
    live: bool = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file/device/connection; safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def backoff_wait(attempt: int, base: float) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): base, 2 base, 4 base... capped."""
    return min(MAX_BACKOFF, base * (2**attempt))


class ReconnectingSource(FrameSource):
    """A live source that is reopened when it drops (the shared loop of cameras and streams).

    Subclasses give `_session()` (open if needed, then yield `(seconds or None, rgb)` until the
    source ends or fails), `_recoverable` (the exceptions that mean "dropped") and `_gave_up()`
    (the error once retries run out). Frame indexes keep counting across reconnects; a frame
    without its own time, or any frame of a live source, is timed from the first frame (wall clock),
    because live timestamps restart on reconnect.
    """

    max_retries: int = MAX_RETRIES
    backoff: float = BACKOFF
    reconnects: int = 0
    _recoverable: tuple[type[BaseException], ...] = (SourceError,)
    _lost: str = "lost"  # how a drop is described in the reconnect warning

    def _session(self) -> Iterator[tuple[float | None, np.ndarray]]:
        raise NotImplementedError

    def _gave_up(self, failure: str) -> SourceError:
        return SourceError(f"{self.name}: {failure} and not back after {self.max_retries} reconnect attempt(s)")

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        attempt = 0
        started: float | None = None
        while True:
            failure = "end of stream"
            try:
                for seconds, image in self._session():
                    now = time.monotonic()
                    if started is None:
                        started = now
                    if self.live or seconds is None:
                        seconds = now - started
                    yield Frame(index, seconds, image)
                    index += 1
                    attempt = 0
                if not self.live:
                    return
            except self._recoverable as exc:
                failure = failure_reason(exc)
            self.close()
            if attempt >= self.max_retries:
                raise self._gave_up(failure)
            wait = backoff_wait(attempt, self.backoff)
            log.warning("%s: %s (%s); reconnecting in %.1f s", self.name, self._lost, failure, wait)
            time.sleep(wait)
            attempt += 1
            self.reconnects += 1


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failure, from an FFmpeg/OS error's strerror or the message."""
    text = getattr(exc, "strerror", None) or str(exc)
    if "Immediate exit requested" in text:
        return "timed out"
    return text
