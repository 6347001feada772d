"""The passes a face network runs on one image, merged: native size, enlarged, tiled.

Why: the raw networks (YuNet, yuface; `detect/faces.py`) miss small faces (< ~20 px), the main
miss in crowd photos, and a very large photo would cost gigabytes in one pass. `ScaledDetector`
adds what they lack: a small image is also run enlarged (`upscale`), a big one can be cut into
overlapping tiles (`tiles`), an image above PASS_MAX_PIXELS is run as a shrunk whole pass plus
native tiles; the passes are merged with non-maximum suppression. A back-end implements only
`_raw(bgr)`.
"""

from __future__ import annotations

import numpy as np
import supervision as sv

from maskwatch import cancel
from maskwatch.detect.settings import DEFAULT_NMS, DEFAULT_SCORE, DEFAULT_TILES, DEFAULT_UPSCALE, DetectorSettings
from maskwatch.detections import from_faces

#: Upscaling never makes the long side larger than this, so big photos are not blown up.
UPSCALE_MAX_SIDE = 1600
_TILE_OVERLAP = 0.25
#: Largest array one network pass sees (pixels). YuNet holds ~90 bytes per input pixel while it
#: runs (8 Mpx: +680 MB, 2 Mpx: +175 MB; bench/bench_memory.py), so a larger image is run
#: as a shrunk whole-image pass (large faces) plus native-resolution tiles of at most this size
#: (small faces) instead of one pass that costs gigabytes. 2.5 Mpx keeps 1080p frames whole.
PASS_MAX_PIXELS = 2_500_000
#: The enlarged pass only runs when the native pass leaves room for smaller faces: when it finds
#: no face, or one whose shorter side is below this (pixels). A portrait or a close-up group
#: skips it (about 4x the detector's time), a crowd scene keeps it. On 200 voc3 scenes
#: (bench/bench_detect.py --limit 200, score 0.6): recall 0.770 vs 0.772 always enlarging,
#: precision 0.781 vs 0.780, 22.7 vs 33.0 ms per image.
UPSCALE_BELOW_FACE = 48


def empty_raw() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)


class ScaledDetector:
    """Runs a raw face network on the image (enlarged when small, optionally tiled) and merges passes.

    Subclasses implement `_raw(bgr)` returning boxes (xyxy), scores and landmarks in the
    coordinates of the array they were given.
    """

    name = "base"

    def __init__(
        self,
        score_threshold: float = DEFAULT_SCORE,
        nms_threshold: float = DEFAULT_NMS,
        upscale: float = DEFAULT_UPSCALE,
        tiles: int = DEFAULT_TILES,
        min_face: float = 0.0,
    ) -> None:
        # The ranges live in DetectorSettings (ConfigError naming the option and its range).
        DetectorSettings(conf=score_threshold, nms=nms_threshold, upscale=upscale, tiles=tiles, min_face=min_face)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.upscale = float(upscale)
        self.tiles = int(tiles)
        self.min_face = float(min_face)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(score_threshold={self.score_threshold}, nms_threshold={self.nms_threshold}, "
            f"upscale={self.upscale}, tiles={self.tiles})"
        )

    def _raw(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _factor(self, width: int, height: int) -> float:
        """How much to enlarge a (part of an) image: up to `upscale`, never past UPSCALE_MAX_SIDE."""
        long_side = max(width, height)
        if self.upscale <= 1.0 or long_side >= UPSCALE_MAX_SIDE:
            return 1.0
        return max(1.0, min(self.upscale, UPSCALE_MAX_SIDE / long_side))

    def _pass(self, bgr: np.ndarray, x0: int, y0: int, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One network run on bgr resized by factor; results mapped back to full-image pixels."""
        import cv2

        cancel.check()  # a server shutting down stops a large photo between two tiles
        if factor != 1.0:
            height, width = bgr.shape[:2]
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            interpolation = cv2.INTER_LINEAR if factor > 1.0 else cv2.INTER_AREA
            bgr = cv2.resize(bgr, size, interpolation=interpolation)
        boxes, scores, landmarks = self._raw(np.ascontiguousarray(bgr))
        offset = np.array([x0, y0], dtype=np.float32)
        boxes = boxes / factor + np.tile(offset, 2)
        landmarks = landmarks / factor + offset
        return boxes, scores, landmarks

    def _tiles(self, width: int, height: int, n: int | None = None) -> list[tuple[int, int, int, int]]:
        """Overlapping tile rectangles (x0, y0, x1, y1) covering the image in an n x n grid."""
        n = n or self.tiles
        tile_w = int(np.ceil(width / (n - (n - 1) * _TILE_OVERLAP)))
        tile_h = int(np.ceil(height / (n - (n - 1) * _TILE_OVERLAP)))
        xs = np.linspace(0, max(0, width - tile_w), n).round().astype(int)
        ys = np.linspace(0, max(0, height - tile_h), n).round().astype(int)
        return [(int(x), int(y), min(width, int(x) + tile_w), min(height, int(y) + tile_h)) for y in ys for x in xs]

    @staticmethod
    def _tiles_within(width: int, height: int, max_pixels: int) -> int:
        """The smallest n whose n x n overlapping tiles hold at most max_pixels each."""
        ratio = np.sqrt(width * height / max_pixels)
        return max(2, int(np.ceil((ratio - _TILE_OVERLAP) / (1 - _TILE_OVERLAP))))

    def detect(self, rgb: np.ndarray) -> sv.Detections:
        """Faces in an RGB uint8 image (H, W, 3): boxes clipped to the image, sorted by score."""
        import cv2

        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if width * height > PASS_MAX_PIXELS:
            passes = self._large_passes(bgr)
            self._after_large_image()
        else:
            passes = [self._pass(bgr, 0, 0, 1.0)]
            factor = self._factor(width, height)
            if factor > 1.0 and self._needs_upscale(passes[0]):
                # The enlarged pass finds small faces; the native pass keeps large faces that the
                # enlargement pushes past the network's largest anchors.
                passes.append(self._pass(bgr, 0, 0, factor))
            if self.tiles > 1:
                for x0, y0, x1, y1 in self._tiles(width, height):
                    tile = bgr[y0:y1, x0:x1]
                    passes.append(self._pass(tile, x0, y0, self._factor(x1 - x0, y1 - y0)))
        boxes = np.concatenate([p[0] for p in passes]).astype(np.float32)
        scores = np.concatenate([p[1] for p in passes]).astype(np.float32)
        landmarks = np.concatenate([p[2] for p in passes]).astype(np.float32)
        tiled = self.tiles > 1 or width * height > PASS_MAX_PIXELS
        return self._finish(boxes, scores, landmarks, width, height, merged=len(passes) > 1, tiled=tiled)

    def _after_large_image(self) -> None:
        """Hook run after an image above PASS_MAX_PIXELS (YuNet gives back its tile-sized buffers)."""

    def _needs_upscale(self, native: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
        """True unless the native pass found faces and all of them are large (see UPSCALE_BELOW_FACE)."""
        boxes, scores = native[0], native[1]
        boxes = boxes[scores >= self.score_threshold]
        if len(boxes) == 0:
            return True
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        return bool(sides.min() < UPSCALE_BELOW_FACE)

    def _large_passes(self, bgr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """An image above PASS_MAX_PIXELS: a shrunk whole pass + native tiles, none above the budget."""
        height, width = bgr.shape[:2]
        passes = [self._pass(bgr, 0, 0, float(np.sqrt(PASS_MAX_PIXELS / (width * height))))]
        n = max(self.tiles, self._tiles_within(width, height, PASS_MAX_PIXELS))
        for x0, y0, x1, y1 in self._tiles(width, height, n):
            passes.append(self._pass(bgr[y0:y1, x0:x1], x0, y0, 1.0))
        return passes

    def _finish(
        self,
        boxes: np.ndarray,
        scores: np.ndarray,
        landmarks: np.ndarray,
        width: int,
        height: int,
        merged: bool,
        tiled: bool = False,
    ) -> sv.Detections:
        keep = scores >= self.score_threshold
        boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        keep = sizes >= max(1.0, self.min_face)
        boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
        if merged and len(boxes) > 1:
            keep = sv.box_non_max_suppression(np.column_stack([boxes, scores]), iou_threshold=self.nms_threshold)
            boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
            if tiled and len(boxes) > 1:
                # A face cut by a tile edge gives a partial box inside the full one: IoU is low but
                # intersection-over-smaller is high, so suppress on that too.
                keep = sv.box_non_max_suppression(
                    np.column_stack([boxes, scores]), iou_threshold=0.7, overlap_metric=sv.OverlapMetric.IOS
                )
                boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
        order = np.argsort(-scores, kind="stable")
        return from_faces(boxes[order], scores[order], landmarks[order])
