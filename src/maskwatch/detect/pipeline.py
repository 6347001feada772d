"""MaskDetector: the image pipeline every front end shares (CLI, Python API, video, web API).

face detector -> crop each face with the margin the classifier was trained with -> ONE batched
classifier call for all faces of the frame -> labels attached to the same sv.Detections.
One batched call matters: a crowd photo has dozens of faces and per-face calls cost ~10x more.
No TensorFlow here: the classifier runs LiteRT/ONNX Runtime.
"""

from __future__ import annotations

import os
import time

import numpy as np
import supervision as sv

from maskwatch.classifier import Classifier
from maskwatch.detect.faces import (
    DEFAULT_NMS,
    DEFAULT_SCORE,
    DEFAULT_TILES,
    DEFAULT_UPSCALE,
    FaceDetector,
    load_face_detector,
)
from maskwatch.detections import to_records, with_classes
from maskwatch.images import crop_box


class MaskDetector:
    """Finds faces and labels each one (with_mask / without_mask / mask_weared_incorrect).

    >>> detector = MaskDetector()                  # default classifier + YuNet (or yuface offline)
    >>> detections = detector.process(rgb)         # sv.Detections with class_name, probabilities
    >>> detector.records(detections)               # JSON-ready dicts

    `classifier` is a Classifier or a model path (None = the shipped default); `face_detector`
    is a FaceDetector, a YuNet .onnx path, "yuface", or None (resolve YuNet, else yuface).
    `conf`, `nms`, `upscale`, `tiles`, `min_face` configure a detector built here.
    """

    def __init__(
        self,
        classifier: Classifier | str | os.PathLike | None = None,
        face_detector: FaceDetector | str | os.PathLike | None = None,
        conf: float = DEFAULT_SCORE,
        nms: float = DEFAULT_NMS,
        upscale: float = DEFAULT_UPSCALE,
        tiles: int = DEFAULT_TILES,
        min_face: float = 0.0,
        threads: int | None = None,
        quiet: bool = False,
    ) -> None:
        if isinstance(classifier, Classifier):
            self.classifier = classifier
        else:
            self.classifier = Classifier.load(classifier, threads=threads)
        if face_detector is not None and hasattr(face_detector, "detect") and not isinstance(face_detector, str):
            self.face_detector: FaceDetector = face_detector
        else:
            self.face_detector = load_face_detector(
                face_detector,
                score_threshold=conf,
                nms_threshold=nms,
                upscale=upscale,
                tiles=tiles,
                min_face=min_face,
                quiet=quiet,
            )
        #: Seconds spent in each stage by the last process() call (for benchmarks and the web UI).
        self.last_timings: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"MaskDetector(classifier={str(self.classifier.path)!r}, face_detector={self.face_detector!r})"

    @property
    def labels(self) -> list[str]:
        return list(self.classifier.labels)

    def detect_faces(self, rgb: np.ndarray) -> sv.Detections:
        """Faces only (no labels yet)."""
        return self.face_detector.detect(rgb)

    def classify(self, rgb: np.ndarray, faces: sv.Detections) -> sv.Detections:
        """Label faces found in rgb with one batched classifier call; faces that crop to nothing are dropped."""
        margin = self.classifier.info.crop_margin
        crops = [crop_box(rgb, box, margin=margin) for box in faces.xyxy]
        usable = np.array([crop.size > 0 for crop in crops], dtype=bool)
        if not usable.all():
            faces = faces[usable]
            crops = [crop for crop, ok in zip(crops, usable, strict=True) if ok]
        probabilities = self.classifier.predict(crops)
        return with_classes(faces, probabilities, self.labels)

    def process(self, rgb: np.ndarray) -> sv.Detections:
        """Faces with labels for one RGB uint8 frame (H, W, 3)."""
        started = time.perf_counter()
        faces = self.detect_faces(rgb)
        found = time.perf_counter()
        detections = self.classify(rgb, faces)
        self.last_timings = {"detect": found - started, "classify": time.perf_counter() - found}
        return detections

    __call__ = process

    def records(self, detections: sv.Detections) -> list[dict]:
        """JSON-ready dicts: box, label, confidence, face_score, probabilities."""
        return to_records(detections, self.labels)
