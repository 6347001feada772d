"""maskwatch.classify and `maskwatch classify`: one image, folders, labelled class folders, bad files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_export_tinymodel import LABELS, tiny_exports

import maskwatch
from maskwatch.classifier import Classifier
from maskwatch.classify import classify_source, summarize
from maskwatch.errors import ModelFileError, SourceError
from maskwatch.images import load_image


@pytest.fixture(scope="module")
def model_path(workdir):
    return tiny_exports(workdir)["tflite_float32"]


@pytest.fixture
def class_folders(bundle, tmp_path):
    """with_mask/ and without_mask/ with 10 real crops each, plus two unreadable files and a stray image."""
    root = tmp_path / "labelled"
    picks = list(range(0, 40, 4)) + list(range(40, 80, 4))
    for i in picks:
        folder = root / LABELS[bundle.y_test[i]]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle.test_paths[i], folder)
    (root / "with_mask" / "notes.jpg").write_text("this is not an image")
    good = (root / "without_mask").iterdir().__next__().read_bytes()
    (root / "without_mask" / "cut.jpg").write_bytes(good[: len(good) // 3])
    shutil.copy(bundle.test_paths[1], root / "unsorted.jpg")  # not in a class folder: no true label
    return root


def test_one_image_gives_one_result_matching_the_classifier(bundle, model_path):
    results = maskwatch.classify(bundle.test_paths[0], model=model_path)
    assert len(results) == 1
    record = results[0]
    assert set(record) == {"source", "label", "confidence", "probabilities"}
    expected = Classifier.load(model_path).predict([load_image(bundle.test_paths[0])])[0]
    assert record["source"] == bundle.test_paths[0]
    assert record["label"] == LABELS[int(expected.argmax())]
    assert record["confidence"] == pytest.approx(float(expected.max()), abs=1e-6)
    assert list(record["probabilities"]) == LABELS
    assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_class_folders_get_true_labels_and_bad_files_are_skipped(class_folders, model_path):
    run = classify_source(class_folders, model_path, batch_size=7)  # batches that do not divide the count
    assert run.labelled and run.labels == LABELS
    assert len(run.results) == 21
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in run.skipped) == ["cut.jpg", "notes.jpg"]
    truth = {r["source"]: r.get("true_label") for r in run.results}
    assert truth[str(class_folders / "unsorted.jpg")] is None
    for path, label in truth.items():
        if label is not None:
            assert f"/{label}/" in path
    metrics = summarize(run.results, run.labels)
    known = [r for r in run.results if "true_label" in r]
    assert metrics["n"] == len(known) == 20
    assert metrics["accuracy"] == pytest.approx(np.mean([r["label"] == r["true_label"] for r in known]))
    assert set(metrics["per_class"]) == set(LABELS)
    assert maskwatch.classify(class_folders, model=model_path) == run.results


def test_same_results_from_every_runtime(bundle, workdir, class_folders):
    """The API takes any exported format; float32 TFLite, ONNX and .keras agree on labels."""
    exported = tiny_exports(workdir)
    runs = {fmt: maskwatch.classify(class_folders, model=exported[fmt]) for fmt in ("tflite_float32", "onnx", "keras")}
    labels = {fmt: [r["label"] for r in results] for fmt, results in runs.items()}
    assert labels["tflite_float32"] == labels["onnx"] == labels["keras"]


def test_missing_sources_and_models_are_clear_errors(tmp_path, model_path, monkeypatch):
    with pytest.raises(SourceError, match="no such file"):
        maskwatch.classify(tmp_path / "nothing-here", model=model_path)
    with pytest.raises(ModelFileError, match="not found"):
        maskwatch.classify(tmp_path, model=tmp_path / "missing.tflite")
    assert maskwatch.classify(tmp_path, model=model_path) == []  # empty folder: nothing to label
    monkeypatch.delenv("MASKWATCH_MODEL", raising=False)
    from maskwatch.classifier import default_model_path

    try:
        shipped = default_model_path()
    except ModelFileError as exc:
        assert "--model" in str(exc)
        with pytest.raises(ModelFileError, match="--model"):
            maskwatch.classify(tmp_path)
    else:
        assert shipped.is_file()


def test_cli_prints_a_table_metrics_and_writes_the_same_json_as_the_api(class_folders, model_path, tmp_path):
    from typer.testing import CliRunner

    from maskwatch.cli import app

    out = tmp_path / "out" / "results.json"
    result = CliRunner().invoke(
        app,
        ["classify", str(class_folders), "--model", str(model_path), "--save-json", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output  # two files skipped
    saved = json.loads(out.read_text())
    assert saved == maskwatch.classify(class_folders, model=model_path)
    assert "21 image(s) classified" in result.output
    assert "2 file(s) skipped, 21 processed" in result.output and "notes.jpg" in result.output
    accuracy = summarize(saved, LABELS)["accuracy"]
    assert f"accuracy on labelled folders: {accuracy:.3f} (20 images)" in result.output
    assert "macro-F1" in result.output

    result = CliRunner().invoke(app, ["classify", str(class_folders / "unsorted.jpg"), "--model", str(model_path)])
    assert result.exit_code == 0 and "1 image(s) classified" in result.output
    assert "accuracy" not in result.output
