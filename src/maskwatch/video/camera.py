"""Local cameras by index through OpenCV (`cv2.VideoCapture(index)`): it maps an index to the
platform's camera API (V4L2, AVFoundation, MSMF), where PyAV would need a platform-specific name."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskwatch.errors import SourceError
from maskwatch.video.frames import BACKOFF, MAX_RETRIES, OPEN_TIMEOUT, READ_TIMEOUT, ReconnectingSource


class CameraSource(ReconnectingSource):
    """A local camera by index (0 = the default camera) through OpenCV; BGR is converted to RGB.

    A missing or busy camera raises `SourceError` at construction (OpenCV answers at once; the
    open is still bounded by `open_timeout` on back-ends that honour it). A camera that stops
    delivering frames is reopened like a stream (bounded retries, backoff).
    """

    live = True
    _lost = "no frame"

    def __init__(
        self,
        index: int,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        open_timeout: float = OPEN_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        backoff: float = BACKOFF,
    ) -> None:
        self.index = int(index)
        self.name = f"camera {self.index}"
        self.requested = (width, height, fps)
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.reconnects = 0
        self.capture = None
        self._open()

    def _open(self) -> None:
        import cv2

        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout * 1000),
        ]
        capture = cv2.VideoCapture(self.index, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.name}: cannot open (no such camera, or it is in use by another program)")
        width, height, fps = self.requested
        if width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            capture.set(cv2.CAP_PROP_FPS, fps)
        self.capture = capture
        reported = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(reported) if 0 < reported < 1000 else None
        w, h = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (w, h) if w and h else None

    def _session(self) -> Iterator[tuple[float | None, np.ndarray]]:
        import cv2

        if self.capture is None:
            self._open()
        while True:
            ok, bgr = self.capture.read()
            if not ok or bgr is None:
                return  # a camera has no end: the loop reopens it
            yield None, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _gave_up(self, failure: str) -> SourceError:
        return SourceError(f"{self.name}: stopped delivering frames and could not be reopened")

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None
