"""The shipped default model loads and labels real held-out faces from ../shared/data correctly.

The faces are listed in tests/data/default_test_faces.json: every REAL face (voc3 and scenes_yolo
crowd-scene boxes, real3 photos, webmask photos; no pasted-on or synthetic masks) of the test split
of the run that produced the shipped model, with its width in the source image (written by
`python bench/write_test_list.py runs/default --model ...`). No group of them was trained on or
chose the checkpoint. Thresholds (in the JSON) sit 0.03 below what the shipped file measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import maskwatch
from maskwatch.classifier import default_model_path, read_model_info
from maskwatch.images import crop_box, load_image

LIST = Path(__file__).parent / "data" / "default_test_faces.json"
LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


@pytest.fixture(scope="module")
def test_faces(data_dir):
    spec = json.loads(LIST.read_text(encoding="utf-8"))
    crops, labels = [], []
    for face in spec["faces"]:
        image = load_image(data_dir / face["file"])
        crops.append(image if face["box"] is None else crop_box(image, np.array(face["box"]), spec["margin"]))
        labels.append(face["label"])
    return spec, crops, np.array(labels)


@pytest.fixture(scope="module")
def classifier():
    return maskwatch.Classifier.load()


def test_default_model_file_and_sidecar():
    path = default_model_path()
    assert path.is_file() and path.suffix == ".tflite"
    assert path.stat().st_size < 15 * 2**20  # a few MB, fits in the wheel
    info = read_model_info(path)
    assert list(info.labels) == LABELS


def test_default_model_labels_held_out_faces(classifier, test_faces):
    from maskwatch.train.decision import macro_f1

    spec, crops, truth = test_faces
    assert list(classifier.labels) == LABELS
    probs = classifier.predict(crops)
    assert probs.shape == (len(crops), 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    predicted = np.array(classifier.labels)[probs.argmax(axis=1)]
    accuracy = float((predicted == truth).mean())
    assert accuracy >= spec["min_accuracy"], f"accuracy {accuracy:.3f} on {len(truth)} held-out faces"
    index = {label: i for i, label in enumerate(LABELS)}
    score = macro_f1(np.array([index[t] for t in truth]), probs.argmax(axis=1), 3)
    assert score >= spec["min_macro_f1"], f"macro-F1 {score:.3f}"
    for label in LABELS:
        recall = float((predicted[truth == label] == label).mean())
        assert recall >= spec["min_recall"][label], f"{label} recall {recall:.3f}"
    called = predicted == "mask_weared_incorrect"
    precision = float((truth[called] == "mask_weared_incorrect").mean())
    assert precision >= spec["min_incorrect_precision"], f"incorrect precision {precision:.3f}"
    # the faces cameras see: narrower than 24 px in their photo
    small = np.array([face["width"] < 24 for face in spec["faces"]])
    small_accuracy = float((predicted[small] == truth[small]).mean())
    assert small.sum() >= 50 and small_accuracy >= spec["min_small_accuracy"], f"< 24 px: {small_accuracy:.3f}"


def test_default_model_mostly_agrees_with_itself_on_flipped_faces(classifier, test_faces):
    _, crops, truth = test_faces
    probs = classifier.predict(crops)
    flipped = classifier.predict([c[:, ::-1].copy() for c in crops])
    agreement = float((probs.argmax(1) == flipped.argmax(1)).mean())
    assert agreement >= 0.9  # trained with horizontal flips: a mirror image is the same face
