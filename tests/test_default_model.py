"""The shipped default model loads and labels real held-out faces from ../shared/data correctly.

The faces are listed in tests/data/default_test_faces.json: REAL faces (every voc3 box and 60 mask2
files per class; no synthetic ones) of the test split of the run that produced the shipped model
(`runs/default/split.csv`, written by `python bench/compare_models.py --write-test-list FILE`). No
group of them was trained on. The list is committed because that split depends on the synthetic
faces made under runs/, which CI does not have. Thresholds (in the JSON) sit a bit below what the
shipped file measured.
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
    spec, crops, truth = test_faces
    assert list(classifier.labels) == LABELS
    probs = classifier.predict(crops)
    assert probs.shape == (len(crops), 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    predicted = np.array(classifier.labels)[probs.argmax(axis=1)]
    accuracy = float((predicted == truth).mean())
    assert accuracy >= spec["min_accuracy"], f"accuracy {accuracy:.3f} on {len(truth)} held-out faces"
    for label in ("with_mask", "without_mask"):
        recall = float((predicted[truth == label] == label).mean())
        assert recall >= spec["min_recall"][label], f"{label} recall {recall:.3f}"
    # real scenes (voc3 crops, often small and blurred), masked or not: the detection use case
    scene = np.array([f["box"] is not None and f["label"] != "mask_weared_incorrect" for f in spec["faces"]])
    scene_accuracy = float((predicted[scene] == truth[scene]).mean())
    assert scene.sum() >= 100 and scene_accuracy >= spec["min_voc_accuracy"], f"voc3 accuracy {scene_accuracy:.3f}"


def test_default_model_mostly_agrees_with_itself_on_flipped_faces(classifier, test_faces):
    _, crops, truth = test_faces
    probs = classifier.predict(crops)
    flipped = classifier.predict([c[:, ::-1].copy() for c in crops])
    agreement = float((probs.argmax(1) == flipped.argmax(1)).mean())
    assert agreement >= 0.9  # trained with horizontal flips: a mirror image is the same face
