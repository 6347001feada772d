"""The four-thread runner of the video pipeline: decode, detect, label (the caller's thread), output.

The stages are joined by bounded queues (`queue_size`), so decoding and encoding overlap with the
network runs and face detection of frame N+1 overlaps with classification of frame N (OpenCV,
LiteRT and libx264 release the GIL), while memory stays flat: a slow stage makes the others wait
instead of piling up frames. For a live source the decode thread never waits: when detection
falls behind, the oldest queued frame is dropped (`on_drop` counts it), so results stay current.
An exception in any thread is handed on and raised in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any


class _End:
    """Queue marker: the producing stage has no more items."""


class _Failed:
    """Queue marker carrying an exception from a worker thread to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadedRun:
    """Iterate the labelled results of `source` (up to `max_frames`), computed by four threads."""

    def __init__(
        self,
        source,
        max_frames: int | None,
        *,
        detect: Callable[[Any, int], Any],
        label: Callable[[Any, Any], Any],
        output: Callable[[Any], None],
        timings,
        queue_size: int,
        live: bool,
        on_drop: Callable[[], None],
    ) -> None:
        self.source = source
        self.max_frames = max_frames
        self.detect, self.label, self.output = detect, label, output
        self.timings = timings
        self.queue_size = queue_size
        self.live = live
        self.on_drop = on_drop
        self.stuck = False  # a producer thread did not stop in time (a live read still blocked)

    def __iter__(self) -> Iterator[Any]:
        stop = threading.Event()  # tells the producer threads to give up
        frames_q: queue.Queue = queue.Queue(self.queue_size)
        faces_q: queue.Queue = queue.Queue(self.queue_size)
        out_q: queue.Queue = queue.Queue(self.queue_size)
        output_error: list[BaseException] = []

        def put(q: queue.Queue, item: object) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def get(q: queue.Queue) -> object | None:
            while not stop.is_set():
                try:
                    return q.get(timeout=0.1)
                except queue.Empty:
                    continue
            return None

        def put_latest(q: queue.Queue, item: object) -> None:
            # Live sources: never block the grabber; drop the oldest waiting frame instead.
            while not stop.is_set():
                try:
                    q.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        q.get_nowait()
                        self.on_drop()
                    except queue.Empty:
                        pass

        def decode() -> None:
            try:
                frames = iter(self.source)
                count = 0
                while not stop.is_set() and (self.max_frames is None or count < self.max_frames):
                    with self.timings.measure("decode"):
                        frame = next(frames, None)
                    if frame is None:
                        break
                    if self.live:
                        put_latest(frames_q, frame)
                    elif not put(frames_q, frame):
                        return
                    count += 1
            except BaseException as exc:  # handed on to the consumer, which re-raises it
                put(frames_q, _Failed(exc))
                return
            put(frames_q, _End())

        def detect() -> None:
            while True:
                item = get(frames_q)
                if item is None:
                    return
                if isinstance(item, _End | _Failed):
                    put(faces_q, item)
                    return
                try:
                    with self.timings.measure("detect"):
                        faces = self.detect(item.image, item.index)
                except BaseException as exc:  # handed on to the consumer, which re-raises it
                    put(faces_q, _Failed(exc))
                    return
                if not put(faces_q, (item, faces)):
                    return

        def output() -> None:
            # Always consumes until _End (sent by the consumer in every case), so the consumer
            # can never block on a full out_q; after an error it only discards.
            while True:
                item = out_q.get()
                if isinstance(item, _End):
                    return
                if output_error:
                    continue
                try:
                    self.output(item)
                except BaseException as exc:
                    output_error.append(exc)

        producers = [
            threading.Thread(target=decode, name="maskwatch-decode", daemon=True),
            threading.Thread(target=detect, name="maskwatch-detect", daemon=True),
        ]
        writer = threading.Thread(target=output, name="maskwatch-output", daemon=True)
        for thread in (*producers, writer):
            thread.start()
        completed = False
        try:
            while not output_error:
                item = get(faces_q)
                if isinstance(item, _End):
                    break
                if isinstance(item, _Failed):
                    raise item.error
                frame, faces = item
                result = self.label(frame, faces)
                out_q.put(result)
                yield result
            completed = True
        finally:
            out_q.put(_End())
            writer.join()
            stop.set()
            _drain(frames_q)
            _drain(faces_q)
            for thread in producers:
                # A live read is bounded by the source's read timeout; after that, leave it.
                thread.join(timeout=12.0)
            self.stuck = any(thread.is_alive() for thread in producers)
        if completed and output_error:
            raise output_error[0]


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
