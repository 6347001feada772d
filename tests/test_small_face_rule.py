"""The small-face rule of a model's sidecar (`small_faces`): only faces narrower than its width are reweighted.

Real faces from ../shared/data/real3 (large photos of incorrectly worn masks) are classified as they
are and shrunk to a crowd-scene size; the rule must change the small ones exactly as documented
(incorrect probability x weight, renormalised) and leave the large ones alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwatch.classifier import Classifier, default_model_path, sidecar_path
from maskwatch.errors import ConfigError, ModelFileError
from maskwatch.images import load_image, resize_face


def _model_with(folder: Path, rule) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.tflite"
    shutil.copy(default_model_path(), model)
    info = json.loads(sidecar_path(default_model_path()).read_text())
    info.pop("small_faces", None)
    if rule is not None:
        info["small_faces"] = rule
    sidecar_path(model).write_text(json.dumps(info))
    return model


def test_small_faces_are_reweighted_and_large_ones_are_not(tmp_path: Path, data_dir: Path) -> None:
    photos = sorted((data_dir / "real3" / "mask_weared_incorrect").glob("*.jpg"))[:6]
    large = [load_image(p) for p in photos]
    small = [resize_face(face, (24, 20)) for face in large]  # 20 px wide crops: a 16-17 px face with the margin
    assert all(face.shape[1] > 64 for face in large)  # faces well above the 32 px of the rule
    plain = Classifier.load(_model_with(tmp_path / "plain", None))
    rule = {"below_width": 32, "decision_weights": {"mask_weared_incorrect": 0.1}}
    ruled = Classifier.load(_model_with(tmp_path / "ruled", rule))

    np.testing.assert_allclose(ruled.predict(large), plain.predict(large), atol=1e-6)
    before, after = plain.predict(small), ruled.predict(small)
    expected = before * np.array([1.0, 1.0, 0.1])
    np.testing.assert_allclose(after, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    assert (after[:, 2] < before[:, 2]).all() and np.allclose(after.sum(axis=1), 1.0, atol=1e-5)
    # predict_batch gets resized pixels, so it cannot know the size; for_face_widths applies the rule there
    batch = ruled.prepare(small)
    np.testing.assert_allclose(ruled.predict_batch(batch), before, atol=1e-6)
    np.testing.assert_allclose(ruled.for_face_widths(ruled.predict_batch(batch), np.full(6, 16.0)), after, atol=1e-5)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"below_width": 32, "decision_weights": {"helmet": 0.1}}, "unknown labels"),
        ({"below_width": -3, "decision_weights": {"mask_weared_incorrect": 0.1}}, "positive"),
        ({"decision_weights": {"mask_weared_incorrect": 0.1}}, "below_width"),
    ],
)
def test_a_bad_small_face_rule_is_a_clear_model_file_error(tmp_path: Path, rule, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        Classifier.load(_model_with(tmp_path, rule))


def test_the_training_config_writes_the_rule_into_the_sidecar(tmp_path: Path) -> None:
    from maskwatch.train.config import load_config, validate_for_run
    from maskwatch.train.summary import model_info_writer

    rule = {"below_width": 32, "decision_weights": {"mask_weared_incorrect": 0.1}}
    cfg = load_config("configs/example_small.yaml", {"train.small_faces": rule})
    checkpoint = tmp_path / "best.keras"
    model_info_writer(cfg, ["with_mask", "without_mask", "mask_weared_incorrect"], (96, 96))(checkpoint)
    written = json.loads(sidecar_path(checkpoint).read_text())
    assert written["small_faces"] == {"below_width": 32.0, "decision_weights": {"mask_weared_incorrect": 0.1}}
    bad = load_config("configs/example_small.yaml", {"train.small_faces": {"decision_weights": {"helmet": 0.5}}})
    with pytest.raises(ConfigError, match="unknown labels"):
        validate_for_run(bad)
