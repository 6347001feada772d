"""One record schema outside (maskwatch.records): the same fields from the API, JSON, CSV and COCO."""

from __future__ import annotations

import csv
import json

import numpy as np
import pydantic
import pytest
import supervision as sv

from maskwatch.detect.outputs import write_coco, write_csv, write_json
from maskwatch.detections import from_faces, with_classes
from maskwatch.records import FaceRecord, FrameRecord, ImageRecord, crop_record, face_records

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _labelled() -> sv.Detections:
    faces = from_faces(np.array([[10, 20, 50, 70], [100.04, 5, 140, 60]]), np.array([0.91234, 0.7]))
    return with_classes(faces, np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]]), LABELS)


def test_face_records_of_images_and_video_frames():
    faces = face_records(_labelled(), LABELS)
    assert [f.to_dict() for f in faces][1] == {
        "box": [100.0, 5.0, 140.0, 60.0],
        "label": "without_mask",
        "confidence": 0.9,
        "face_score": 0.7,
        "probabilities": {"with_mask": 0.05, "without_mask": 0.9, "mask_weared_incorrect": 0.05},
    }
    unlabelled = face_records(from_faces(np.array([[0, 0, 4, 4]]), np.array([0.5])), LABELS)
    assert unlabelled[0].to_dict() == {"box": [0.0, 0.0, 4.0, 4.0], "face_score": 0.5}

    tracked = _labelled()
    tracked.tracker_id = np.array([7, -1])
    tracked.data["raw_probabilities"] = np.array([[0.6, 0.3, 0.1], [np.nan, np.nan, np.nan]])
    frame = FrameRecord(frame=3, time=0.1, detections=face_records(tracked, LABELS, video=True))
    line = json.loads(frame.model_dump_json())
    assert line["type"] == "frame" and line["frame"] == 3
    first, second = line["detections"]
    assert (first["track_id"], second["track_id"]) == (7, None)  # -1: not a confirmed track yet
    assert first["raw_probabilities"] == {"with_mask": 0.6, "without_mask": 0.3, "mask_weared_incorrect": 0.1}
    assert second["raw_probabilities"] is None
    assert set(first) == set(FaceRecord.model_fields)


def test_every_writer_shares_the_record(tmp_path):
    image = ImageRecord(source="a.jpg", width=200, height=100, detections=face_records(_labelled(), LABELS))
    empty = {"source": "b.jpg", "width": 30, "height": 30, "detections": []}
    write_json([image, empty], tmp_path / "r.json")
    write_csv([image, empty], tmp_path / "r.csv", LABELS)
    write_coco([image, empty], tmp_path / "r.coco.json", LABELS)

    saved = json.loads((tmp_path / "r.json").read_text())
    assert [ImageRecord.model_validate(r) for r in saved] == [image, ImageRecord.model_validate(empty)]
    with open(tmp_path / "r.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["source"], r["label"], float(r["p_without_mask"])) for r in rows] == [
        ("a.jpg", "with_mask", 0.2),
        ("a.jpg", "without_mask", 0.9),
    ]
    coco = json.loads((tmp_path / "r.coco.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == ["a.jpg", "b.jpg"]
    assert [c["name"] for c in coco["categories"]] == LABELS
    first = coco["annotations"][0]
    assert (first["image_id"], first["category_id"], first["bbox"]) == (1, 1, [10.0, 20.0, 40.0, 50.0])
    assert first["score"] == pytest.approx(0.9123 * 0.7, abs=1e-4)  # P(face) x P(label | face)


def test_a_result_outside_the_schema_is_refused_before_writing(tmp_path):
    bad = {"source": "a.jpg", "width": 10, "height": 10, "detections": [{"box": [0, 0, 1, 1], "colour": "red"}]}
    with pytest.raises(pydantic.ValidationError, match="colour"):
        write_json([bad], tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_crop_records_for_classify_and_the_api():
    probs = np.array([0.123456, 0.876544, 0.0])
    api = crop_record("face.jpg", probs, LABELS, width=64, height=80).to_dict()
    assert api == {
        "source": "face.jpg",
        "width": 64,
        "height": 80,
        "label": "without_mask",
        "confidence": 0.8765,
        "probabilities": {"with_mask": 0.1235, "without_mask": 0.8765, "mask_weared_incorrect": 0.0},
    }
    exact = crop_record("face.jpg", probs, LABELS, decimals=None, true_label="with_mask").to_dict()
    assert exact["confidence"] == 0.876544 and exact["true_label"] == "with_mask" and "width" not in exact


def test_the_api_declares_the_same_records():
    from maskwatch.serve.routes import schemas

    assert schemas.ImageResult is ImageRecord
    assert schemas.ImageResult.model_json_schema()["$defs"]["FaceRecord"]["additionalProperties"] is False
