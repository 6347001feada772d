"""Face detectors behind one small interface: `detect(rgb) -> sv.Detections`.

Two back-ends run the same network family (Shiqi Yu's YuNet / libfacedetection):

* `YuNetDetector` - OpenCV's `cv2.FaceDetectorYN` with the 2023mar ONNX file (the default; the
  file comes from the model cache, see `model_cache`).
* `YuFaceDetector` - the `yuface` wheel, which has the weights compiled in. It is the offline
  fallback when the ONNX file is neither on disk nor downloadable.

Both share `_ScaledDetector`, which adds what the raw networks lack for crowd photos: small faces
(< ~20 px) are the main miss, so a small image is also run enlarged (`upscale`) and a big one can be
cut into overlapping tiles (`tiles`); the passes are merged with non-maximum suppression.
`load_face_detector` picks the back-end and prints the one-line fallback notice.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import supervision as sv

from maskwatch import cancel
from maskwatch.detect.settings import DEFAULT_NMS, DEFAULT_SCORE, DEFAULT_TILES, DEFAULT_UPSCALE, DetectorSettings
from maskwatch.detections import from_faces
from maskwatch.errors import ModelFileError

log = logging.getLogger(__name__)

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


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces: xyxy boxes, face_score and 5 landmarks in an sv.Detections."""

    name: str

    def detect(self, rgb: np.ndarray) -> sv.Detections:
        """Faces in an (H, W, 3) RGB uint8 image, as maskwatch.detections.from_faces builds them."""
        ...


def _empty_raw() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)


class _ScaledDetector:
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


class YuNetDetector(_ScaledDetector):
    """YuNet through OpenCV's `cv2.FaceDetectorYN` (the default face detector).

    >>> det = YuNetDetector("face_detection_yunet_2023mar.onnx")
    >>> faces = det.detect(rgb)          # sv.Detections, face_score + landmarks in .data

    Not thread-safe (the OpenCV object keeps its input size): use one detector per thread.
    """

    name = "yunet"

    def __init__(self, model_path: str | os.PathLike, **options) -> None:
        import cv2

        super().__init__(**options)
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelFileError(f"{self.model_path}: face model file not found")
        try:
            self._net = self._load_net()
        except cv2.error as exc:
            raise ModelFileError(f"{self.model_path}: OpenCV cannot load this face model ({exc.err})") from None
        self._size: tuple[int, int] | None = None

    def _load_net(self):
        import cv2

        logging = cv2.utils.logging
        level = logging.getLogLevel()
        # OpenCV 5's new graph engine warns that it ignores the target; the warning is noise here.
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)
        try:
            # Internal threshold a bit lower than ours so merged passes can still reach it; top_k
            # large because crowd scenes have hundreds of candidates.
            return cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), min(self.score_threshold, 0.99), self.nms_threshold, 5000
            )
        finally:
            logging.setLogLevel(level)

    def _after_large_image(self) -> None:
        # OpenCV's network keeps the buffers of the largest input it has run (~150 MB for the
        # tiles of a big photo) for good: a server that saw one 40 Mpx upload stayed 130 MB per
        # worker above its warm size. A fresh network (~8 ms to load) gives that memory back.
        self._net = self._load_net()
        self._size = None

    def _raw(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        height, width = bgr.shape[:2]
        if self._size != (width, height):
            self._net.setInputSize((width, height))
            self._size = (width, height)
        _, faces = self._net.detect(bgr)
        if faces is None or len(faces) == 0:
            return _empty_raw()
        faces = np.asarray(faces, dtype=np.float32)
        boxes = faces[:, 0:4].copy()
        boxes[:, 2:4] += boxes[:, 0:2]  # xywh -> xyxy
        return boxes, faces[:, 14], faces[:, 4:14].reshape(-1, 5, 2)


class YuFaceDetector(_ScaledDetector):
    """libfacedetection through the `yuface` wheel: weights built in, so it works with no model file.

    Its scores are integers 0..100; they are divided by 100 so thresholds mean the same as YuNet's.
    """

    name = "yuface"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        # yuface runs on its own OpenMP runtime, whose idle threads spin by default: on a busy
        # machine (other processes, or OpenCV/LiteRT threads in this one) that made it 30-40x
        # slower in our measurements (~450 ms instead of ~12 ms per 400 px image). Passive
        # waiting must be chosen before the runtime loads, i.e. before the first import.
        if "yuface" not in sys.modules:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:  # fail here, not at the first image, when the wheel is missing
            import yuface  # noqa: F401
        except ImportError:
            raise ModelFileError(
                "the built-in yuface detector is not installed (its wheels exist for CPython 3.11 on x86-64 "
                "Linux/Windows only); use YuNet: put face_detection_yunet_2023mar.onnx in MASKWATCH_HOME/face/ "
                "or pass face_model=PATH"
            ) from None

    def _raw(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import yuface

        with warnings.catch_warnings():
            # yuface warns above 960 px; the caller decides the size (tiling / upscaling).
            warnings.simplefilter("ignore", UserWarning)
            scores, boxes, landmarks = yuface.detect(bgr, min(self.score_threshold, 0.99))
        if len(scores) == 0:
            return _empty_raw()
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        boxes[:, 2:4] += boxes[:, 0:2]
        return (
            boxes,
            np.asarray(scores, dtype=np.float32) / 100.0,
            np.asarray(landmarks, dtype=np.float32).reshape(-1, 5, 2),
        )


def load_face_detector(
    face_model: str | os.PathLike | None = None,
    score_threshold: float = DEFAULT_SCORE,
    nms_threshold: float = DEFAULT_NMS,
    upscale: float = DEFAULT_UPSCALE,
    tiles: int = DEFAULT_TILES,
    min_face: float = 0.0,
    download: bool | None = None,
    quiet: bool = False,
) -> FaceDetector:
    """The face detector to use: YuNet from `face_model` / the cache / a download, else yuface.

    `face_model="yuface"` asks for the built-in fallback explicitly. An explicit path that does not
    exist is an error (no silent fallback); only a missing *default* file falls back, with a notice.
    """
    from maskwatch.detect.model_cache import resolve_face_model

    options = {
        "score_threshold": score_threshold,
        "nms_threshold": nms_threshold,
        "upscale": upscale,
        "tiles": tiles,
        "min_face": min_face,
    }
    if face_model is not None and str(face_model).lower() == "yuface":
        return YuFaceDetector(**options)
    explicit = face_model is not None or bool(os.environ.get("MASKWATCH_FACE_MODEL"))
    try:
        path = resolve_face_model(face_model, download=download)
    except ModelFileError as exc:
        if explicit:
            raise
        try:
            fallback = YuFaceDetector(**options)
        except ModelFileError as missing:
            raise ModelFileError(f"no face detector: YuNet face model unavailable ({exc}); {missing}") from None
        if not quiet:
            log.warning("YuNet face model unavailable (%s); using the built-in yuface detector", exc)
        return fallback
    return YuNetDetector(path, **options)
