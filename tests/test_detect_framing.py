"""Detector boxes are reframed like the annotated boxes the classifier was trained on."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import supervision as sv

from maskwatch.data import load_voc_dataset
from maskwatch.detect import MaskDetector
from maskwatch.detect.pipeline import annotation_framing
from maskwatch.images import load_image


def test_reframed_boxes_overlap_annotations_better(data_dir: Path) -> None:
    voc = load_voc_dataset(data_dir / "voc3", min_face=16)
    boxes_by_image: dict[str, list] = defaultdict(list)
    for sample in voc.samples:
        boxes_by_image[sample.path].append(sample.box)
    detector = MaskDetector(quiet=True)
    raw_iou, framed_iou = [], []
    for path in sorted(boxes_by_image)[-40:]:
        truth = np.array(boxes_by_image[path], dtype=np.float32)
        found = detector.detect_faces(load_image(path)).xyxy
        if len(found) == 0:
            continue
        raw = sv.box_iou_batch(truth, found)
        framed = sv.box_iou_batch(truth, annotation_framing(found))
        matched = raw.max(axis=1) >= 0.4
        best = raw.argmax(axis=1)[matched]
        raw_iou += list(raw[np.flatnonzero(matched), best])
        framed_iou += list(framed[np.flatnonzero(matched), best])
    assert len(raw_iou) >= 30
    assert np.mean(framed_iou) > np.mean(raw_iou) + 0.02, (np.mean(raw_iou), np.mean(framed_iou))


def test_framing_keeps_box_count_and_moves_down() -> None:
    boxes = np.array([[10, 10, 110, 130], [0, 0, 20, 20]], dtype=np.float32)
    framed = annotation_framing(boxes)
    assert framed.shape == boxes.shape
    assert (framed[:, 1] > boxes[:, 1]).all() and (framed[:, 3] > boxes[:, 3]).all()
