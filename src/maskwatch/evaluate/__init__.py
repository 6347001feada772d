"""Evaluate a mask classifier on held-out faces: metrics (scikit-learn), plots, a Markdown report.

    from maskwatch.evaluate import evaluate_run, evaluate_model
    evaluate_run("runs/exp")                                   # test split of a training run
    evaluate_model("model_int8.tflite", (x, y), "eval/", labels=["with_mask", "without_mask"])

Both write `metrics.json`, `report.md`, `confusion_matrix.png` (and `accuracy.png`/`loss.png`
from a run's history) and return the result dict that is in `metrics.json`.
"""

from __future__ import annotations

from maskwatch.evaluate.api import evaluate
from maskwatch.evaluate.evaluator import evaluate_finished_run, evaluate_model, evaluate_run, load_predictor

__all__ = ["evaluate", "evaluate_finished_run", "evaluate_model", "evaluate_run", "load_predictor"]
