"""Classification metrics for a mask classifier, computed by scikit-learn: one definition for the
validation metrics of training, the evaluation reports and `maskwatch classify` on labelled folders.

Accuracy alone hides what matters here: the classes are imbalanced (few `without_mask`, very few
`mask_weared_incorrect`), so the report gives per-class precision/recall/F1 with support, the
macro-F1 (every class counts the same) and the confusion matrix. Log loss tells whether the
probabilities themselves are trustworthy, which the confidence threshold in detection relies on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def compute_metrics(y_true: Sequence[int] | np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict:
    """Metrics for integer targets `y_true` (indices into `labels`) and probabilities (N, C).

    Returns a JSON-ready dict: n, accuracy, macro_f1, weighted_f1, log_loss, per_class
    {label: precision, recall, f1, support}, confusion_matrix (rows = true, columns = predicted)
    and confusion_matrix_normalized (each row divided by its count; 0 for an empty row).
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support

    labels = list(labels)
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (len(y_true), len(labels)):
        raise ValueError(f"probabilities {probs.shape} do not match {len(y_true)} targets x {len(labels)} labels")
    if len(y_true) == 0:
        raise ValueError("no samples to evaluate")
    if y_true.min() < 0 or y_true.max() >= len(labels):
        raise ValueError(f"targets must be indices 0..{len(labels) - 1} into labels {labels}")
    classes = list(range(len(labels)))
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=classes)
    row_sums = cm.sum(axis=1, keepdims=True)
    cm_norm = np.divide(cm, row_sums, out=np.zeros(cm.shape, dtype=np.float64), where=row_sums > 0)
    # Rows of a quantised model can sum to 1 +- 1e-3; log loss wants exact distributions.
    clipped = np.clip(probs, 1e-7, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    present = [c for c in classes if support[c] > 0]
    return {
        "n": int(len(y_true)),
        "labels": labels,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # Macro over classes present in the targets: a class absent from this data would add a
        # meaningless 0 (e.g. a 3-class model on the 2-class mask2 set).
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=classes, average="weighted", zero_division=0)),
        "log_loss": float(log_loss(y_true, clipped, labels=classes)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
                "predicted": int((y_pred == i).sum()),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": cm.astype(int).tolist(),
        "confusion_matrix_normalized": np.round(cm_norm, 6).tolist(),
    }


def worst_mistakes(
    y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str], paths: Sequence[str] | None = None, limit: int = 20
) -> list[dict]:
    """The wrongly classified samples the model was most sure about (the ones to look at first)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    order = wrong[np.argsort(-probs[wrong, y_pred[wrong]], kind="stable")][:limit]
    return [
        {
            "index": int(i),
            "path": str(paths[i]) if paths is not None else None,
            "true": labels[y_true[i]],
            "predicted": labels[y_pred[i]],
            "confidence": float(probs[i, y_pred[i]]),
        }
        for i in order
    ]
