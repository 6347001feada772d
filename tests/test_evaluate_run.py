"""End to end on a real (tiny) training run: `maskwatch train` (trains, then evaluates the run) ->
export_run -> evaluate the exported int8 file on the run's test split."""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.slow


def test_train_evaluate_export_round_trip(tmp_path, mask2_config):
    import yaml
    from typer.testing import CliRunner

    from maskwatch.cli import app
    from maskwatch.evaluate import evaluate_run
    from maskwatch.export import export_run

    config = mask2_config(
        sample_per_class=50,
        val=0.2,
        test=0.3,
        model={"name": "simple_cnn", "input_size": 48, "weights": None},
        train={"epochs": 2, "batch_size": 16},
        finetune={"epochs": 0},
        evaluate=True,
    )
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["train", "-c", str(config_file), "--name", "tiny", "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    run_dir = tmp_path / "runs" / "tiny"
    labels = json.loads((run_dir / "checkpoints" / "best.keras.json").read_text())["labels"]

    # the command evaluated the run it trained: the report is in the run folder, on the test rows of split.csv
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as handle:
        test_rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["metrics"]["n"] == len(test_rows) > 0
    assert metrics["metrics"]["labels"] == labels
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["evaluation"]["metrics"]["accuracy"] == metrics["metrics"]["accuracy"]
    for name in ("report.md", "confusion_matrix.png", "accuracy.png", "loss.png"):
        assert (run_dir / name).is_file(), name

    written = export_run(run_dir, formats=["tflite_int8", "onnx"], calibration_samples=40)
    assert set(written) == {"tflite_int8", "onnx"}
    assert all(p.parent == run_dir / "export" and p.name.startswith("tiny") for p in written.values())
    sidecar = json.loads((run_dir / "export" / "tiny_int8.tflite.json").read_text())
    assert sidecar["labels"] == labels and sidecar["backbone"] == "simple_cnn"
    assert sidecar["input_size"] == [48, 48]
    assert sidecar["parity"]["top1_agreement"] >= 0.9

    keras_result = metrics["metrics"]
    int8 = evaluate_run(run_dir, model=written["tflite_int8"], out_dir=tmp_path / "int8-eval")
    assert int8["runtime"] == "tflite" and int8["metrics"]["n"] == keras_result["n"]
    # the quantised model scores (nearly) like the checkpoint on the same faces
    assert abs(int8["metrics"]["accuracy"] - keras_result["accuracy"]) <= 0.1
    val = evaluate_run(run_dir, split="val")
    assert (run_dir / "eval_val" / "report.md").is_file() and val["metrics"]["n"] > 0
