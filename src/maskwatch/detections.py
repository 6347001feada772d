"""The one detections type every stage passes on: `supervision.Detections`, with maskwatch's fields.

Face detection fills `xyxy` plus `data["face_score"]` and `data["landmarks"]` (N, 5, 2: right eye,
left eye, nose tip, right and left mouth corner, as YuNet gives them). Classification adds
`class_id`, `confidence` (probability of the chosen class), `data["class_name"]` (the label, which
supervision's annotators print) and `data["probabilities"]` (N, n_classes). Tracking adds
`tracker_id`. What leaves the process is built from it by `maskwatch.records` (one schema for the
web API and every writer).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv

FACE_SCORE = "face_score"
LANDMARKS = "landmarks"
LABEL = "class_name"
PROBABILITIES = "probabilities"
#: video: this frame's classifier output before smoothing (NaN rows where a face was not re-classified)
RAW_PROBABILITIES = "raw_probabilities"


def from_faces(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray | None = None) -> sv.Detections:
    """Detections for faces found by a face detector (not yet classified)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    n = len(boxes)
    scores = np.asarray(scores, dtype=np.float32).reshape(n)
    if landmarks is None:
        landmarks = np.full((n, 5, 2), np.nan, dtype=np.float32)
    data = {FACE_SCORE: scores, LANDMARKS: np.asarray(landmarks, dtype=np.float32).reshape(n, 5, 2)}
    return sv.Detections(xyxy=boxes, confidence=scores.copy(), data=data)


def with_classes(detections: sv.Detections, probabilities: np.ndarray, labels: Sequence[str]) -> sv.Detections:
    """Attach classifier output: class_id, confidence, class_name and the full probability rows."""
    probabilities = np.asarray(probabilities, dtype=np.float32).reshape(len(detections), len(labels))
    class_id = probabilities.argmax(axis=1).astype(int) if len(detections) else np.zeros(0, dtype=int)
    detections.class_id = class_id
    detections.confidence = (
        probabilities[np.arange(len(detections)), class_id] if len(detections) else (np.zeros(0, dtype=np.float32))
    )
    detections.data[LABEL] = np.array([labels[i] for i in class_id], dtype=object)
    detections.data[PROBABILITIES] = probabilities
    return detections


def rescaled(detections: sv.Detections, scale: float) -> sv.Detections:
    """Detections found on an image resized by `scale`, in the original image's pixels (a copy)."""
    if scale == 1.0:
        return detections
    out = detections[np.arange(len(detections))]
    out.xyxy = (detections.xyxy / scale).astype(np.float32)
    if LANDMARKS in detections.data:
        out.data[LANDMARKS] = (np.asarray(detections.data[LANDMARKS]) / scale).astype(np.float32)
    return out
