"""At which resolution to run the face detector on a stream: as small as its faces allow.

YuNet's cost grows with the pixels it sees (~8 ms at 640x480, ~2.5 ms at 320x240, ~0.9 ms at
160x120 with two threads), and it finds faces reliably from about 20-30 px. A door camera whose
faces are 120 px wide wastes most of its detector time at full resolution; a far crowd with
25 px faces needs all of it. So the choice is made per stream, from the faces the stream shows:

* a *probe* frame is detected at full resolution (the first frame, then every `probe_every`
  frames: a small face entering the scene is found within that many frames);
* between probes the frame is shrunk so that the smallest face of the last detection stays at
  least `min_face` px (faces are measured in the pixels of the unshrunk frame, so shrinking
  never feeds back);
  without any face the stream is watched at `empty_scale` (people appear large at a door);
* scales are quantised to eighths (YuNet re-plans its input on every size change) and the long
  side never goes below `min_side`;
* a steady scene is detected on every fourth frame only (`coast=True`, `coast_frames`,
  `detect_on`): when the last two detections found about the same number of faces (and some),
  the next `coast_frames` frames skip the detector and the pipeline carries the tracks on at
  their velocity (coasting.Coaster). Any change - a face more or less - brings detection back on
  every frame, and probe frames are always detected, so a steady crowd costs about a quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskwatch.errors import ConfigError
from maskwatch.video.settings import COAST_FRAMES

#: The smallest face the shrunk frame must still show at this size (px, shorter box side). Masked
#: faces score lower with YuNet, and lower still when small: on the held-out voc3 scenes (as
#: 4-frame still streams, bench/bench_speed.py) face recall / mAP@0.5 were 0.697 / 0.510 at 24 px,
#: 0.704 / 0.511 at 28 and 0.714 / 0.523 at 32 (full size always: 0.708 / 0.532).
MIN_FACE = 32.0
#: A full-resolution frame this often (30 = once a second at 30 fps).
PROBE_EVERY = 30
EMPTY_SCALE = 0.5
MIN_SIDE = 240
_STEP = 8


@dataclass
class DetectScale:
    """`scale(frame, width, height)` before detecting; `observe(frame, boxes)` after (full-frame px).

    >>> policy = DetectScale()
    >>> s = policy.scale(index, width, height)    # 1.0 on probe frames
    >>> faces = detect(resize(frame, s)); boxes = faces.xyxy / s
    >>> policy.observe(index, boxes)
    """

    min_face: float = MIN_FACE
    probe_every: int = PROBE_EVERY
    empty_scale: float = EMPTY_SCALE
    min_side: int = MIN_SIDE
    coast: bool = True
    coast_frames: int = COAST_FRAMES
    _next_probe: int = 0
    _smallest: float | None = None
    _seen: bool = False
    _counts: tuple[int, int] = (-1, -2)  # faces found by the last two detections
    _last_detected: int = -1

    def __post_init__(self) -> None:
        if self.min_face <= 0:
            raise ConfigError(f"min_face must be > 0, got {self.min_face}")
        if self.probe_every < 1:
            raise ConfigError(f"probe_every must be >= 1, got {self.probe_every}")
        if not 0.0 < self.empty_scale <= 1.0:
            raise ConfigError(f"empty_scale must be in (0, 1], got {self.empty_scale}")

    def scale(self, frame: int, width: int, height: int) -> float:
        """The factor (<= 1) to shrink this frame by before detection."""
        if not self._seen or frame >= self._next_probe:
            return 1.0
        wanted = self.empty_scale if self._smallest is None else self.min_face / self._smallest
        floor = min(1.0, self.min_side / max(1, max(width, height)))
        wanted = float(np.clip(wanted, floor, 1.0))
        return min(1.0, np.ceil(wanted * _STEP) / _STEP)

    def detect_on(self, frame: int, width: int, height: int) -> bool:
        """False when this frame may skip detection (coasting; see the module docstring)."""
        if not self.coast or not self._seen or frame >= self._next_probe:
            return True
        # Steady: faces in both of the last two detections, and about as many (a crowd's count
        # flickers by one or two as faces turn; 15 % of the count is tolerated).
        last, before = self._counts
        steady = last > 0 and before > 0 and abs(last - before) <= int(0.15 * max(last, before))
        return not (steady and frame - self._last_detected <= self.coast_frames)

    def observe(self, frame: int, boxes: np.ndarray, scale: float) -> None:
        """Faces found on `frame` (xyxy in full-frame px) when detected at `scale`."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        self._counts = (len(boxes), self._counts[0])
        self._last_detected = frame
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        smallest = float(sides.min()) if len(sides) else None
        if scale >= 1.0:
            # A probe (or a frame that had to run at full size) sees every face: start afresh.
            self._smallest = smallest
            if not self._seen or frame >= self._next_probe:
                self._next_probe = frame + self.probe_every
            self._seen = True
        elif smallest is not None:
            # Between probes faces can only get bigger in this estimate (smaller ones are not
            # found at this scale), so keep the smallest since the probe; if faces came into a
            # scene that was empty at the probe, size the frame for them.
            self._smallest = smallest if self._smallest is None else min(self._smallest, smallest)


def shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` resized to `size` (width, height) for the detector, cheaply but without aliasing.

    OpenCV's INTER_AREA is fast only for integer factors (~0.06 ms for 640x480 -> 320x240) and
    ~15x slower for others (~1 ms at 0.625), as much as a small detector pass. So: halve with
    INTER_AREA while the target is at most half the size, then INTER_LINEAR for the rest (a
    factor below 2, where linear interpolation does not alias).
    """
    import cv2

    width, height = size
    while rgb.shape[1] >= 2 * width and rgb.shape[0] >= 2 * height:
        rgb = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (rgb.shape[1], rgb.shape[0]) == (width, height):
        return rgb
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
