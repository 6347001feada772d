"""What `maskwatch.detect()` gives back: one result type for an image and for a video frame.

Every result holds its faces as `.detections` (the `supervision.Detections` every stage passes
on) and turns into its record with `.to_dict()` (`maskwatch.records`: what `--save-json` writes
and the API answers). A result also reads like that record (`result["detections"]`), so code
written against the JSON works on results unchanged.

`detect(source)` returns `Results`, a list that also carries what the run as a whole found
(`skipped` files; for a video its `report`: people, events, output files); `detect(source,
stream=True)` yields the results one by one instead (like ultralytics' `stream=True`), so a long
video or a large folder never piles up in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import supervision as sv

from maskwatch.records import image_record


class Result(Mapping):
    """One processed image or frame: `.detections` inside, `.to_dict()` outside (a read-only mapping)."""

    detections: sv.Detections

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _record(self) -> dict[str, Any]:
        cached = self.__dict__.get("_cached_record")
        if cached is None:
            cached = self.__dict__["_cached_record"] = self.to_dict()
        return cached

    def __getitem__(self, key: str) -> Any:
        return self._record()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._record())

    def __len__(self) -> int:
        return len(self._record())


@dataclass(eq=False)
class ImageResult(Result):
    """The faces of one image (`source` is its path as given)."""

    source: str
    width: int
    height: int
    detections: sv.Detections
    labels: Sequence[str] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        return image_record(self.source, (self.height, self.width), self.detections, self.labels).to_dict()

    def __repr__(self) -> str:
        return f"ImageResult({self.source!r}, {self.width}x{self.height}, {len(self.detections)} face(s))"


class Results(list):
    """The results of one `detect()` call, plus what the run found as a whole.

    skipped: "path: reason" for every file that could not be read; report: for a video, camera or
    stream, the run's report (frames, people, events, output files; `maskwatch.video.process_video`).
    """

    def __init__(self, results=(), skipped: Sequence[str] = (), report: dict | None = None) -> None:
        super().__init__(results)
        self.skipped = list(skipped)
        self.report = report


class ResultStream:
    """Results one at a time (`detect(source, stream=True)`): nothing piles up in memory.

    `skipped` and `report` are complete once the stream is exhausted (or closed); `collect()`
    runs it to the end and returns `Results`.
    """

    def __init__(self, run: Callable[[ResultStream], Iterator[Result]]) -> None:
        self.skipped: list[str] = []
        self.report: dict | None = None
        self._results = run(self)

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> Result:
        return next(self._results)

    def close(self) -> None:
        """Stop early: the source is released and the outputs written so far are finished."""
        self._results.close()

    def collect(self) -> Results:
        try:
            items = list(self._results)
        finally:
            self.close()
        return Results(items, self.skipped, self.report)
