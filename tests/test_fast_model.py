"""The shipped fast model (`--model fast`) is chosen by name and agrees with the accurate one on clear faces.

Faces: the real faces of tests/data/default_test_faces.json (voc3 boxes and mask2 files held out
from the shipped accurate model). "Clear" = at least 32 px wide (or a whole mask2 face photo) and
labelled by the accurate model with probability >= 0.9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import maskwatch
from maskwatch.classifier import SHIPPED_MODELS, default_model_path, model_path, read_model_info
from maskwatch.errors import ModelFileError
from maskwatch.images import crop_box, load_image

ROOT = Path(__file__).resolve().parents[1]
LIST = Path(__file__).parent / "data" / "default_test_faces.json"
#: Share of clear faces on which the two models must give the same label.
MIN_AGREEMENT = 0.95


def test_shipped_fast_model_matches_its_config() -> None:
    fast = yaml.safe_load((ROOT / "configs" / "fast.yaml").read_text(encoding="utf-8"))
    default = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    info = read_model_info(model_path("fast"))
    assert list(info.input_size) == [fast["model"]["input_size"]] * 2
    assert fast["model"]["input_size"] <= default["model"]["input_size"]
    assert fast["data"] == default["data"]  # one group split for both models
    assert info.extra["format"] == "tflite_int8"


def test_model_names_resolve_to_shipped_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASKWATCH_MODEL", raising=False)
    assert model_path("accurate") == default_model_path()
    assert model_path(None) == default_model_path()
    assert model_path("fast").name == SHIPPED_MODELS["fast"]
    assert model_path(tmp_path / "mine.tflite") == tmp_path / "mine.tflite"
    with pytest.raises(ModelFileError, match="not found"):
        maskwatch.Classifier.load(tmp_path / "fast.tflite")
    # A real file named like a shipped model wins (a user's own "fast" in the working directory).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fast").write_bytes(b"")
    assert model_path("fast") == Path("fast")


def test_fast_and_accurate_models_agree_on_clear_real_faces(data_dir: Path) -> None:
    spec = json.loads(LIST.read_text(encoding="utf-8"))
    crops = []
    for face in spec["faces"]:
        image = load_image(data_dir / face["file"])
        if face["box"] is None:
            crops.append(image)
        elif face["box"][2] - face["box"][0] >= 32:
            crops.append(crop_box(image, np.array(face["box"]), spec["margin"]))
    accurate = maskwatch.Classifier.load("accurate")
    fast = maskwatch.Classifier.load("fast")
    assert fast.labels == accurate.labels
    reference = accurate.predict(crops)
    clear = reference.max(axis=1) >= 0.9
    assert clear.sum() >= 100
    labels = fast.predict([c for c, ok in zip(crops, clear, strict=True) if ok]).argmax(axis=1)
    agreement = float((labels == reference[clear].argmax(axis=1)).mean())
    assert agreement >= MIN_AGREEMENT, f"fast agrees with accurate on {agreement:.3f} of {int(clear.sum())} faces"
