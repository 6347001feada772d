"""Evaluation: metrics against direct computation, files written, run folders read as train writes them."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from test_export_tinymodel import LABELS, tiny_exports

from maskwatch.errors import ConfigError
from maskwatch.evaluate import evaluate_model, evaluate_run
from maskwatch.evaluate.plots import phase_boundaries, plot_history, read_history
from maskwatch.metrics import compute_metrics, worst_mistakes


def _random_case(n=200, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 2.0 * np.eye(classes)[y] * rng.random((n, 1))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_metrics_match_a_direct_computation():
    labels = ["with_mask", "without_mask", "mask_weared_incorrect"]
    y, probs = _random_case()
    m = compute_metrics(y, probs, labels)
    pred = probs.argmax(1)
    assert m["n"] == len(y)
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    cm = np.array(m["confusion_matrix"])
    assert cm.sum() == len(y)
    f1s = []
    for i, label in enumerate(labels):
        tp = np.sum((pred == i) & (y == i))
        precision = tp / max(1, np.sum(pred == i))
        recall = tp / max(1, np.sum(y == i))
        c = m["per_class"][label]
        assert c["support"] == np.sum(y == i) == cm[i].sum()
        assert c["predicted"] == np.sum(pred == i) == cm[:, i].sum()
        assert c["precision"] == pytest.approx(precision)
        assert c["recall"] == pytest.approx(recall)
        assert m["confusion_matrix_normalized"][i][i] == pytest.approx(recall, abs=1e-6)
        f1s.append(0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    assert m["macro_f1"] == pytest.approx(np.mean(f1s))
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(len(y)), y])), rel=1e-4)
    json.dumps(m)  # JSON-ready


def test_macro_f1_ignores_a_class_absent_from_the_data():
    """A 3-class model on 2-class data (mask2) must not be punished with a 0 F1 for the third class."""
    y, probs = _random_case(classes=3, seed=1)
    y = np.where(y == 2, 0, y)
    m = compute_metrics(y, probs, ["a", "b", "c"])
    assert m["per_class"]["c"]["support"] == 0
    present = [m["per_class"][k]["f1"] for k in ("a", "b")]
    assert m["macro_f1"] == pytest.approx(np.mean(present))


def test_metrics_refuse_mismatched_inputs():
    with pytest.raises(ValueError, match="do not match"):
        compute_metrics([0, 1], np.full((3, 2), 0.5), ["a", "b"])
    with pytest.raises(ValueError, match="indices"):
        compute_metrics([0, 2], np.full((2, 2), 0.5), ["a", "b"])


def test_worst_mistakes_are_the_most_confident_errors():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.95, 0.05]])
    mistakes = worst_mistakes(y, probs, ["a", "b"], paths=["p0", "p1", "p2", "p3"])
    assert [x["path"] for x in mistakes] == ["p3", "p0", "p2"]
    assert mistakes[0]["true"] == "b" and mistakes[0]["predicted"] == "a"


def test_evaluate_model_writes_metrics_report_and_plots(bundle, tmp_path):
    x, y = bundle.x_test, bundle.y_test
    result = evaluate_model(bundle.model, (x, y, bundle.test_paths), tmp_path, labels=LABELS, title="tiny")
    expected = np.asarray(bundle.model(x.astype(np.float32), training=False)).argmax(1)
    assert result["metrics"]["accuracy"] == pytest.approx((expected == y).mean())
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["metrics"]["confusion_matrix"] == result["metrics"]["confusion_matrix"]
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# tiny")
    for label in LABELS:
        assert f"| {label} |" in report
    assert f"{100 * result['metrics']['accuracy']:.1f} %" in report
    assert "![confusion matrix](confusion_matrix.png)" in report
    with Image.open(tmp_path / "confusion_matrix.png") as image:
        assert image.format == "PNG" and image.width > 400
    wrong = int((expected != y).sum())
    assert len(result["mistakes"]) == min(10, wrong)
    if wrong:
        assert result["mistakes"][0]["path"] in bundle.test_paths
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_evaluate_exported_int8_model_on_a_folder_dataset_with_a_bad_file(bundle, workdir, tmp_path):
    """An exported file is evaluated through its own runtime; an unreadable image is skipped, not fatal."""
    from maskwatch.data import load_folder_dataset

    exported = tiny_exports(workdir)
    data = tmp_path / "faces"
    for path, label in zip(bundle.test_paths[::4], bundle.y_test[::4], strict=True):
        (data / LABELS[label]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, data / LABELS[label])
    (data / "without_mask" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    dataset = load_folder_dataset(data, labels=LABELS, group_by="stem")
    result = evaluate_model(exported["tflite_int8"], dataset, tmp_path / "eval")
    assert result["runtime"] == "tflite"
    assert result["metrics"]["n"] == len(bundle.test_paths[::4])
    assert any("broken.jpg" in s for s in result["skipped"])
    assert "broken.jpg" in (tmp_path / "eval" / "report.md").read_text()


def test_evaluate_model_needs_labels_for_a_bare_keras_model(bundle):
    with pytest.raises(ConfigError, match="labels"):
        evaluate_model(bundle.model, (bundle.x_test, bundle.y_test), None)


def _history_rows(bundle, split_at=8):
    h = bundle.history
    return [
        {
            "epoch": str(i),
            "accuracy": str(h["accuracy"][i]),
            "loss": str(h["loss"][i]),
            "val_accuracy": str(h["val_accuracy"][i]),
            "val_loss": str(h["val_loss"][i]),
            "phase": "1" if i < split_at else "2",
        }
        for i in range(len(h["loss"]))
    ]


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def make_run_dir(bundle, root):
    """A run folder laid out as maskwatch.train writes one (config, checkpoint + sidecar, history, split)."""
    from maskwatch.train.config import load_config

    run = root / "run1"
    (run / "checkpoints").mkdir(parents=True)
    cfg = load_config({"data": {"sources": [{"type": "folder", "path": str(root)}]}, "model": {"name": "simple_cnn"}})
    (run / "config.yaml").write_text(cfg.to_yaml())
    shutil.copy(bundle.keras_path, run / "checkpoints" / "best.keras")
    shutil.copy(f"{bundle.keras_path}.json", run / "checkpoints" / "best.keras.json")
    _write_csv(run / "history.csv", _history_rows(bundle))
    split = [
        {"split": "train", "path": p, "label": LABELS[y], "group": p, "source": "mask2", "box": "", "margin": "0.1"}
        for p, y in zip(bundle.train_paths, bundle.y_train, strict=True)
    ] + [
        {"split": "test", "path": p, "label": LABELS[y], "group": p, "source": "mask2", "box": "", "margin": "0.1"}
        for p, y in zip(bundle.test_paths, bundle.y_test, strict=True)
    ]
    _write_csv(run / "split.csv", split)
    return run


def test_evaluate_run_uses_the_runs_test_split_and_history(bundle, tmp_path):
    run = make_run_dir(bundle, tmp_path)
    result = evaluate_run(run)
    assert result["metrics"]["n"] == len(bundle.test_paths)
    direct = evaluate_model(bundle.model, (bundle.x_test, bundle.y_test), None, labels=LABELS)
    assert result["metrics"]["accuracy"] == pytest.approx(direct["metrics"]["accuracy"])
    assert result["metrics"]["log_loss"] == pytest.approx(direct["metrics"]["log_loss"], rel=1e-4)
    for name in ("metrics.json", "report.md", "confusion_matrix.png", "accuracy.png", "loss.png"):
        assert (run / name).is_file(), name
    report = (run / "report.md").read_text()
    assert "![accuracy](accuracy.png)" in report and "run1: test split" in report
    with pytest.raises(ConfigError, match="no 'val' split"):
        evaluate_run(run, split="val")
    with pytest.raises(ConfigError, match="not a maskwatch run folder"):
        evaluate_run(tmp_path / "nowhere")


def test_history_plots_mark_the_fine_tuning_start(bundle, tmp_path):
    rows = _history_rows(bundle, split_at=8)
    assert phase_boundaries(rows) == [(0, "frozen backbone"), (8, "fine-tuning")]
    _write_csv(tmp_path / "history.csv", rows)
    assert len(read_history(tmp_path / "history.csv")) == len(rows)
    written = plot_history(tmp_path / "history.csv", tmp_path)
    assert set(written) == {"accuracy", "loss"}
    for path in written.values():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300
    # without a phase column nothing is marked, and a history without val columns still plots
    single = [{"epoch": r["epoch"], "loss": r["loss"]} for r in rows]
    assert phase_boundaries(single) == []
    assert set(plot_history(single, tmp_path / "single")) == {"loss"}


def test_evaluate_cli_on_a_run_and_on_a_model_file(bundle, workdir, tmp_path):
    from typer.testing import CliRunner

    from maskwatch.cli import app

    run = make_run_dir(bundle, tmp_path)
    result = CliRunner().invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "metrics.json").read_text())
    assert f"accuracy {saved['metrics']['accuracy']:.4f}" in result.output

    exported = tiny_exports(workdir)
    data = tmp_path / "faces"
    for path, label in zip(bundle.test_paths[:20], bundle.y_test[:20], strict=True):
        (data / LABELS[label]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, data / LABELS[label])
    out = tmp_path / "onnx-eval"
    result = CliRunner().invoke(app, ["evaluate", str(exported["onnx"]), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["metrics"]["n"] == 20
    assert json.loads((out / "metrics.json").read_text())["runtime"] == "onnx"

    result = CliRunner().invoke(app, ["evaluate", str(exported["onnx"])])
    assert result.exit_code != 0 and "--data" in str(result.exception)
