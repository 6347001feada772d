"""The figures that say how a model does on the faces cameras see: real faces, per source, per size.

An overall accuracy on a test split mostly made of large, clean face crops with pasted-on masks
says little about a 20 px face in a crowd. So beside the overall figures, evaluation reports:
real faces only (samples whose source is not marked `real: false`), each source apart, and real
faces per face-width bucket, where the width is the face's width in its *source image* (the box
width for scene crops, the file's width for crop files), the size the detector would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from maskwatch.detect.evaluation import WIDTH_BUCKETS


def face_widths(samples: Sequence) -> np.ndarray:
    """Width in the source image of every sample: its box width, or the crop file's width (header only)."""
    from PIL import Image

    widths = np.zeros(len(samples), dtype=np.float64)
    for i, sample in enumerate(samples):
        if sample.box is not None:
            widths[i] = sample.box[2] - sample.box[0]
            continue
        try:
            with Image.open(sample.path) as image:
                widths[i] = image.size[0]
        except (OSError, ValueError):
            widths[i] = np.nan
    return widths


def subset_metrics(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict:
    """n, accuracy, macro-F1 over present classes, and per class recall / precision / support."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    classes = list(range(len(labels)))
    present = sorted(set(int(v) for v in y))
    precision, recall, _, support = precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    return {
        "n": int(len(y)),
        "accuracy": float((y == pred).mean()) if len(y) else float("nan"),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)) if len(y) else 0.0,
        "per_class": {
            label: {
                "recall": float(recall[i]),
                "precision": float(precision[i]),
                "support": int(support[i]),
                "predicted": int((pred == i).sum()),
            }
            for i, label in enumerate(labels)
        },
    }


def breakdown(y: np.ndarray, probs: np.ndarray, samples: Sequence, labels: Sequence[str]) -> dict:
    """{"real", "synthetic", "per_source", "real_by_width"} metrics for predictions on `samples`.

    y are target indices into labels, probs (N, C) the model's outputs, samples the FaceSamples
    the rows came from (same order).
    """
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(probs).argmax(axis=1)
    real = np.array([getattr(s, "real", True) for s in samples], dtype=bool)
    sources = np.array([s.source or "?" for s in samples], dtype=object)
    widths = face_widths(samples)
    result: dict = {"real": subset_metrics(y[real], pred[real], labels) if real.any() else None}
    result["synthetic"] = subset_metrics(y[~real], pred[~real], labels) if (~real).any() else None
    result["per_source"] = {
        str(name): subset_metrics(y[sources == name], pred[sources == name], labels) for name in sorted(set(sources))
    }
    result["real_by_width"] = {}
    for name, low, high in WIDTH_BUCKETS:
        keep = real & (widths >= low) & (widths < high)
        if keep.any():
            result["real_by_width"][name] = subset_metrics(y[keep], pred[keep], labels)
    return result


def breakdown_rows(result: dict, labels: Sequence[str]) -> list[list[str]]:
    """Table rows (subset, n, accuracy, macro-F1, recall per label) for reports and the CLI."""
    rows = []

    def row(name: str, m: dict | None) -> None:
        if m is None:
            return
        recalls = [f"{m['per_class'][lab]['recall']:.3f}" if m["per_class"][lab]["support"] else "-" for lab in labels]
        rows.append([name, str(m["n"]), f"{m['accuracy']:.3f}", f"{m['macro_f1']:.3f}", *recalls])

    row("real faces", result.get("real"))
    for bucket, m in result.get("real_by_width", {}).items():
        row(f"  real, width {bucket} px", m)
    for source, m in result.get("per_source", {}).items():
        row(f"source {source}", m)
    row("synthetic / pasted-on", result.get("synthetic"))
    return rows
