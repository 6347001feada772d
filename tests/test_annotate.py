"""Annotated images and videos share one annotator: colours must come out true in RGB output."""

from __future__ import annotations

import numpy as np

from maskwatch.detect.outputs import FrameAnnotator
from maskwatch.detections import from_faces, with_classes

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _drawn(label_index: int, tracked: bool = False) -> np.ndarray:
    image = np.full((200, 200, 3), 128, dtype=np.uint8)
    dets = from_faces(np.array([[50, 60, 150, 170]]), np.array([0.9]))
    probs = np.zeros((1, 3), dtype=np.float32)
    probs[0, label_index] = 1.0
    dets = with_classes(dets, probs, LABELS)
    if tracked:
        dets.tracker_id = np.array([7])
    return FrameAnnotator(LABELS).annotate(image, dets)


def test_box_colours_follow_the_label_in_rgb():
    red = _drawn(1)[120, 50]  # left edge of the box, below the caption
    green = _drawn(0)[120, 50]
    assert red[0] > 180 and red[2] < 120, f"without_mask should be drawn red, got {red}"
    assert green[1] > 150 and green[0] < 120, f"with_mask should be drawn green, got {green}"


def test_input_is_not_modified_and_track_caption_differs():
    image = np.full((200, 200, 3), 128, dtype=np.uint8)
    dets = with_classes(from_faces(np.array([[50, 60, 150, 170]]), np.array([0.9])), np.eye(3)[[0]], LABELS)
    FrameAnnotator(LABELS).annotate(image, dets)
    assert (image == 128).all()
    assert not np.array_equal(_drawn(0, tracked=True), _drawn(0, tracked=False))
