"""Folders of photos on both cores: decode + face detection of the next images overlap this image's labelling.

A folder run is decode -> detect faces -> classify -> write, one image after another, and each
step leaves a core idle part of the time (Python work, JPEG decoding and encoding, the small
networks' serial parts). `detect_ahead` runs decode + face detection in one background thread up
to `depth` images ahead of the caller, who classifies and writes: OpenCV, Pillow and LiteRT release
the GIL, so the two threads really run at once. `depth` bounds the images held in memory (each one
decoded frame plus its face boxes), so a folder of any size costs the same memory.

The face detector is used only by the background thread and the classifier only by the caller:
neither has to be thread-safe.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import supervision as sv

from maskwatch.errors import BadImageError

#: Images decoded and searched for faces ahead of the one being labelled (0 = none, one at a time).
DEPTH = 2


@dataclass
class Prepared:
    """One image read (`image`: what `load` returned) and searched for faces; `error` set when unreadable."""

    path: Path
    image: Any = None
    faces: sv.Detections | None = None
    error: BadImageError | None = None


def _prepare(path: Path, load: Callable[[Path], Any], find: Callable[[Any], sv.Detections | None]) -> Prepared:
    try:
        image = load(path)
    except BadImageError as exc:
        return Prepared(path, error=exc)
    return Prepared(path, image, find(image))


def detect_ahead(
    paths: Iterable[str | os.PathLike],
    load: Callable[[Path], Any],
    find: Callable[[Any], sv.Detections | None],
    depth: int | None = None,
) -> Iterator[Prepared]:
    """Yield a `Prepared` per path, in order, running `load` then `find` up to `depth` images ahead.

    `depth` None = DEPTH (read when called, so a benchmark can set DEPTH = 0 to compare).

    Unreadable images (BadImageError from `load`) come back with `error` set: one bad file never
    stops the rest; any other exception is raised in the caller at that image.
    """
    depth = DEPTH if depth is None else depth
    if depth < 1:
        yield from (_prepare(Path(p), load, find) for p in paths)
        return
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="maskwatch-prefetch") as pool:
        try:
            for path in paths:
                pending.append(pool.submit(_prepare, Path(path), load, find))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the caller stopped early: do not decode the rest
                future.cancel()
