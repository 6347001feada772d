"""Face detectors behind one small interface: `detect(rgb) -> sv.Detections`.

Two back-ends run the same network family (Shiqi Yu's YuNet / libfacedetection):

* `YuNetDetector` - OpenCV's `cv2.FaceDetectorYN` with the 2023mar ONNX file (the default; the
  file comes from the model cache, see `model_cache`).
* `YuFaceDetector` - the `yuface` wheel, which has the weights compiled in. It is the offline
  fallback when the ONNX file is neither on disk nor downloadable.

Both share `ScaledDetector` (`detect/multipass.py`), which adds what the raw networks lack for crowd
photos: small faces (< ~20 px) are the main miss, so a small image is also run enlarged (`upscale`)
and a big one can be cut into overlapping tiles (`tiles`); the passes are merged with non-maximum
suppression.
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

from maskwatch.detect.multipass import ScaledDetector, empty_raw
from maskwatch.detect.settings import DetectorSettings
from maskwatch.errors import ModelFileError

log = logging.getLogger(__name__)


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces: xyxy boxes, face_score and 5 landmarks in an sv.Detections."""

    name: str

    def detect(self, rgb: np.ndarray) -> sv.Detections:
        """Faces in an (H, W, 3) RGB uint8 image, as maskwatch.detections.from_faces builds them."""
        ...


class YuNetDetector(ScaledDetector):
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
            return empty_raw()
        faces = np.asarray(faces, dtype=np.float32)
        boxes = faces[:, 0:4].copy()
        boxes[:, 2:4] += boxes[:, 0:2]  # xywh -> xyxy
        return boxes, faces[:, 14], faces[:, 4:14].reshape(-1, 5, 2)


class YuFaceDetector(ScaledDetector):
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
            return empty_raw()
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        boxes[:, 2:4] += boxes[:, 0:2]
        return (
            boxes,
            np.asarray(scores, dtype=np.float32) / 100.0,
            np.asarray(landmarks, dtype=np.float32).reshape(-1, 5, 2),
        )


def load_face_detector(
    face_model: str | os.PathLike | None = None,
    settings: DetectorSettings | None = None,
    *,
    download: bool | None = None,
    quiet: bool = False,
) -> FaceDetector:
    """The face detector to use: YuNet from `face_model` / the cache / a download, else yuface.

    `face_model="yuface"` asks for the built-in fallback explicitly. An explicit path that does not
    exist is an error (no silent fallback); only a missing *default* file falls back, with a notice.
    settings: the detector settings (conf, nms, upscale, tiles, min_face; default DetectorSettings()).
    """
    from maskwatch.detect.model_cache import resolve_face_model

    settings = settings if settings is not None else DetectorSettings()
    options = {
        "score_threshold": settings.conf,
        "nms_threshold": settings.nms,
        "upscale": settings.upscale,
        "tiles": settings.tiles,
        "min_face": settings.min_face,
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
