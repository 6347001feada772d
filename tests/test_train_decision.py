"""Decision weights: chosen on validation for macro-F1, carried in the sidecar, applied by every runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from maskwatch.classifier import Classifier, default_model_path, sidecar_path
from maskwatch.images import load_image
from maskwatch.train.decision import macro_f1, tune_decision_weights

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def test_shy_rare_class_gets_a_larger_weight_and_a_better_macro_f1() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 200 + [1] * 100 + [2] * 20)
    logits = rng.normal(0, 1, (len(y), 3))
    logits[np.arange(len(y)), y] += 2.0
    logits[:, 2] -= 2.2  # the model under-calls the rare class
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    weights, scores = tune_decision_weights(probs, y, LABELS)
    assert weights["with_mask"] == 1.0
    assert weights["mask_weared_incorrect"] > 2.0
    assert scores["after"] > scores["before"] + 0.05
    assert round(macro_f1(y, (probs * [weights[k] for k in LABELS]).argmax(1), 3), 4) == scores["after"]


def test_a_calibrated_model_keeps_weights_of_one() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[y] * 0.8 + 0.2 / 3
    weights, scores = tune_decision_weights(probs, y, LABELS)
    assert set(weights.values()) == {1.0}
    assert scores["after"] == scores["before"] == 1.0


def test_classifier_applies_sidecar_weights(tmp_path: Path, data_dir: Path) -> None:
    model = tmp_path / "model.tflite"
    shutil.copy(default_model_path(), model)
    info = json.loads(sidecar_path(default_model_path()).read_text())
    info.pop("decision_weights", None)
    sidecar_path(model).write_text(json.dumps(info))
    faces = [load_image(p) for p in sorted((data_dir / "real3" / "mask_weared_incorrect").glob("*.jpg"))[:8]]
    plain = Classifier.load(model).predict(faces)
    info["decision_weights"] = {"with_mask": 1.0, "without_mask": 1.0, "mask_weared_incorrect": 50.0}
    sidecar_path(model).write_text(json.dumps(info))
    weighted = Classifier.load(model).predict(faces)
    assert np.allclose(weighted.sum(axis=1), 1.0, atol=1e-5)
    assert (weighted[:, 2] > plain[:, 2]).all()
    expected = plain * np.array([1, 1, 50.0])
    assert np.allclose(weighted, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
