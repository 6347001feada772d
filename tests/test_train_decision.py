"""Decision weights: chosen on validation for macro-F1, carried in the sidecar, applied by every runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

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


def _shy_without_mask() -> tuple[np.ndarray, np.ndarray]:
    """Probabilities where weighting without_mask up (w > 1.5) buys macro-F1 with masked faces.

    with_mask: 95 clear + 5 ambiguous faces (called without_mask once w > 1.22); without_mask: 30
    clear + 10 shy ones (found once w > 1.5); mask_weared_incorrect: 10 clear.
    """
    rows = (
        [([0.9, 0.05, 0.05], 0)] * 95
        + [([0.55, 0.45, 0.0], 0)] * 5
        + [([0.1, 0.85, 0.05], 1)] * 30
        + [([0.6, 0.4, 0.0], 1)] * 10
        + [([0.05, 0.05, 0.9], 2)] * 10
    )
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def _recall(probs: np.ndarray, y: np.ndarray, weights: dict, c: int) -> float:
    pred = (probs * [weights[k] for k in LABELS]).argmax(1)
    return float(np.mean(pred[y == c] == c))


def test_a_recall_floor_is_kept_and_costs_macro_f1_only_as_much_as_it_must() -> None:
    probs, y = _shy_without_mask()
    free, free_scores = tune_decision_weights(probs, y, LABELS)
    assert free["without_mask"] > 1.5
    assert _recall(probs, y, free, 0) == 0.95 and _recall(probs, y, free, 1) == 1.0
    kept, kept_scores = tune_decision_weights(probs, y, LABELS, min_recall={"with_mask": 0.98})
    assert _recall(probs, y, kept, 0) == 1.0  # the floor holds: every masked face stays masked
    assert kept["without_mask"] < 1.22
    assert kept_scores["before"] == free_scores["before"]
    assert kept_scores["after"] < free_scores["after"]


def test_an_unreachable_floor_takes_the_weights_closest_to_it() -> None:
    probs, y = _shy_without_mask()
    # Both at 1.0 cannot be had: w > 1.5 misses 5 % of masked faces, w < 1.22 a quarter of the unmasked.
    weights, _ = tune_decision_weights(probs, y, LABELS, min_recall={"with_mask": 1.0, "without_mask": 1.0})
    assert _recall(probs, y, weights, 0) == 0.95 and _recall(probs, y, weights, 1) == 1.0


def test_a_floor_for_an_unknown_label_is_refused() -> None:
    probs, y = _shy_without_mask()
    with pytest.raises(ValueError, match="helmet"):
        tune_decision_weights(probs, y, LABELS, min_recall={"helmet": 0.9})
