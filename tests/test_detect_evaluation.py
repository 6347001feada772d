"""evaluate-detection on voc3 scenes, its metrics checked against an oracle, and the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from typer.testing import CliRunner

from maskwatch.cli import app
from maskwatch.detect import evaluation
from maskwatch.detect.evaluation import evaluate_detection, load_voc_scenes, match_faces, read_voc_xml
from maskwatch.detect.pipeline import MaskDetector
from maskwatch.detections import from_faces, with_classes
from maskwatch.errors import SourceError
from maskwatch.images import load_image

LIMIT = 6


@pytest.fixture(scope="module")
def voc(data_dir: Path) -> Path:
    return data_dir / "voc3"


class Oracle:
    """A 'detector' that returns the ground truth of each scene (optionally only faces >= min_width)."""

    def __init__(self, scenes, labels: list[str], min_width: float = 0.0) -> None:
        self.labels = labels
        self.truth = {}
        for scene in scenes:
            rgb = load_image(scene.image)
            self.truth[rgb.tobytes()[:4096] + bytes(str(rgb.shape), "ascii")] = scene
        self.min_width = min_width

    def process(self, rgb: np.ndarray) -> sv.Detections:
        scene = self.truth[rgb.tobytes()[:4096] + bytes(str(rgb.shape), "ascii")]
        keep = (scene.boxes[:, 2] - scene.boxes[:, 0]) >= self.min_width
        faces = from_faces(scene.boxes[keep], np.ones(int(keep.sum())))
        probs = np.eye(len(self.labels), dtype=np.float32)[
            [self.labels.index(n) for n, k in zip(scene.labels, keep, strict=True) if k]
        ]
        return with_classes(faces, probs.reshape(-1, len(self.labels)), self.labels)


def test_oracle_scores_perfectly_and_recall_split_works(voc: Path) -> None:
    scenes = load_voc_scenes(voc, limit=LIMIT)
    labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
    report = evaluate_detection(voc, detector=Oracle(scenes, labels), limit=LIMIT, verbose=False)
    assert report["recall"] == {"all": 1.0, "min32": 1.0}
    assert report["face_ap50"] == pytest.approx(1.0)
    assert all(ap == pytest.approx(1.0) for ap in report["ap50"].values())
    matrix = np.array(report["confusion"]["matrix"])
    assert matrix.trace() == matrix.sum() == report["faces"]

    wide_only = evaluate_detection(voc, detector=Oracle(scenes, labels, 32), limit=LIMIT, verbose=False)
    wide = sum(int(((s.boxes[:, 2] - s.boxes[:, 0]) >= 32).sum()) for s in scenes)
    total = sum(len(s.boxes) for s in scenes)
    assert wide < total
    assert wide_only["recall"]["min32"] == 1.0
    assert wide_only["recall"]["all"] == pytest.approx(wide / total, abs=1e-4)


def test_real_pipeline_report(voc: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    detector = MaskDetector(threads=2, quiet=True)
    out = tmp_path / "report.json"
    report = evaluate_detection(voc, detector=detector, limit=LIMIT, save_json=out)
    assert json.loads(out.read_text()) == report
    printed = capsys.readouterr().out
    assert "mAP@0.5" in printed and "truth" in printed
    assert report["images"] == LIMIT
    assert 0.0 <= report["map50"] <= 1.0
    assert 0.0 < report["recall"]["all"] <= 1.0 and 0.0 < report["recall"]["min32"] <= 1.0
    assert set(report["ap50"]) <= set(detector.labels)
    matrix = np.array(report["confusion"]["matrix"])
    assert matrix.shape == (len(report["confusion"]["true_labels"]), len(detector.labels))
    assert matrix.sum() == round(report["recall"]["all"] * report["faces"])


def test_voc_reader_agrees_with_data_package_and_refuses_entity_bombs(voc: Path, tmp_path, monkeypatch) -> None:
    shared = load_voc_scenes(voc, limit=20)
    monkeypatch.setattr(evaluation, "_scenes_from_data_package", lambda root: None)
    own = load_voc_scenes(voc, limit=20)
    assert [s.image.name for s in own] == [s.image.name for s in shared]
    for a, b in zip(own, shared, strict=True):
        assert sorted(a.labels) == sorted(b.labels)
        np.testing.assert_allclose(np.sort(a.boxes, axis=0), np.sort(b.boxes, axis=0), atol=1.0)

    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]>'
        "<annotation><filename>&y;</filename></annotation>"
    )
    with pytest.raises(SourceError, match="bomb.xml"):
        read_voc_xml(bomb)


def test_match_faces_is_one_to_one() -> None:
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], dtype=np.float32)
    preds = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [50, 50, 60, 60]], dtype=np.float32)
    pairs = match_faces(preds, np.array([0.5, 0.9, 0.8, 0.7]), truth)
    assert sorted(pairs) == [(1, 0), (2, 1)]  # the higher-scored of two duplicates wins


def test_cli_detect_and_evaluate(voc: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    image = sorted((voc / "images").glob("*.jpg"))[0]
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["detect", str(image), "--save-json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    first = json.loads(out.read_text())
    result = runner.invoke(app, ["detect", "--source", str(image), "--save-json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == first and first[0]["source"] == str(image)

    report = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["evaluate-detection", "--voc", str(voc), "--limit", "3", "--quiet", "--save-json", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["images"] == 3
