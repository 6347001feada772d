"""Detector-framed training crops: the pipeline's own boxes matched to real voc3 annotations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskwatch import data
from maskwatch.data.framing import add_detector_framing
from maskwatch.train.faces import pipeline_face_finder


def test_found_faces_get_a_second_crop_with_the_annotated_label(data_dir: Path) -> None:
    voc = data.load_voc_dataset(data_dir / "voc3")
    first = sorted({s.path for s in voc.samples})[:6]
    scenes = data.FaceDataset([s for s in voc.samples if s.path in first], voc.labels)
    framed = add_detector_framing(scenes, pipeline_face_finder(upscale=2.0), {"voc3"})
    extra = framed.samples[len(scenes) :]
    assert 0.4 * len(scenes) <= len(extra) <= len(scenes)  # YuNet finds most voc3 faces at 2x
    by_key = {(s.path, s.label, s.group) for s in scenes.samples}
    assert all((s.path, s.label, s.group) in by_key for s in extra)
    annotated = {s.box for s in scenes.samples}
    assert all(s.box not in annotated for s in extra)  # detector boxes, not the annotator's
    # every copy overlaps an annotated face of the same label in the same image
    for s in extra[:10]:
        same = np.array([a.box for a in scenes.samples if a.path == s.path and a.label == s.label], np.float32)
        ious = data_iou(np.array([s.box], np.float32), same)
        assert ious.max() >= 0.4


def test_other_sources_are_left_alone(data_dir: Path) -> None:
    voc = data.load_voc_dataset(data_dir / "voc3")
    scenes = data.FaceDataset(voc.samples[:20], voc.labels)
    assert len(add_detector_framing(scenes, lambda rgb: np.zeros((0, 4)), {"voc3"})) == 20
    assert len(add_detector_framing(scenes, pipeline_face_finder(), {"webmask"})) == 20


def data_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import supervision as sv

    return sv.box_iou_batch(a, b)
