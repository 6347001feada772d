"""Pictures a person checks before trusting a model: learning curves and the confusion matrix.

Figures are drawn on a bare `matplotlib.figure.Figure` (Agg canvas, no pyplot state, no display
needed), rendered to PNG bytes in memory and written atomically, so a half-written PNG never
appears in a run folder.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from maskwatch.atomic import atomic_write_bytes


def _save(fig, path: str | os.PathLike) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def read_history(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a Keras CSVLogger file (one per epoch; phases appended one after the other)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if any(v not in ("", None) for v in row.values())]


def _column(rows: list[dict[str, str]], key: str) -> np.ndarray:
    values = []
    for row in rows:
        try:
            values.append(float(row.get(key) or "nan"))
        except ValueError:
            values.append(math.nan)
    return np.asarray(values, dtype=np.float64)


#: history.csv `phase` ids written by maskwatch.train -> names shown on the plots.
PHASE_NAMES = {"1": "frozen backbone", "2": "fine-tuning"}


def _phase_name(value: str) -> str:
    with contextlib.suppress(ValueError):
        value = str(int(float(value)))
    return PHASE_NAMES.get(value, f"phase {value}")


def phase_boundaries(rows: list[dict[str, str]]) -> list[tuple[int, str]]:
    """(row index, phase name) where each training phase starts (needs a `phase` column)."""
    marks = []
    previous = None
    for i, row in enumerate(rows):
        phase = (row.get("phase") or "").strip()
        if phase and phase != previous:
            marks.append((i, _phase_name(phase)))
        previous = phase or previous
    return marks


def plot_history(history: str | os.PathLike | list[dict[str, str]], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `accuracy.png` and `loss.png` (train vs val per epoch, phase starts marked)."""
    rows = read_history(history) if isinstance(history, str | os.PathLike) else list(history)
    out_dir = Path(out_dir)
    if not rows:
        return {}
    epochs = np.arange(1, len(rows) + 1)
    marks = phase_boundaries(rows)
    written = {}
    for metric, title in (("accuracy", "Accuracy"), ("loss", "Loss")):
        train, val = _column(rows, metric), _column(rows, f"val_{metric}")
        if np.isnan(train).all() and np.isnan(val).all():
            continue
        fig = _new_figure(6.4, 4.0)
        ax = fig.add_subplot()
        if not np.isnan(train).all():
            ax.plot(epochs, train, marker="o", markersize=3, label="train")
        if not np.isnan(val).all():
            ax.plot(epochs, val, marker="o", markersize=3, label="validation")
        for index, phase in marks[1:]:
            ax.axvline(index + 0.5, color="grey", linestyle="--", linewidth=1)
            ax.annotate(
                f"{phase} starts",
                xy=(index + 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color="grey",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{title} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 30:
            ax.set_xticks(epochs)
        written[metric] = _save(fig, out_dir / f"{metric}.png")
    return written


def plot_confusion_matrix(cm: Sequence[Sequence[int]], labels: Sequence[str], path: str | os.PathLike) -> Path:
    """Counts (left) and row-normalised recall per class (right), true label on the y axis."""
    cm = np.asarray(cm, dtype=np.int64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    size = 2.2 + 0.9 * len(labels)
    fig = _new_figure(2 * size + 1.0, size)
    axes = fig.subplots(1, 2)
    for ax, values, title, fmt, vmax in (
        (axes[0], cm, "Counts", "{:d}", None),
        (axes[1], norm, "Normalised by true class (recall)", "{:.2f}", 1.0),
    ):
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax)
        fig.colorbar(image, ax=ax, shrink=0.8)
        threshold = values.max() / 2 if values.size and values.max() > 0 else 0.5
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                value = values[i, j]
                ax.text(
                    j,
                    i,
                    fmt.format(int(value) if fmt == "{:d}" else float(value)),
                    ha="center",
                    va="center",
                    color="white" if value > threshold else "black",
                )
        ax.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), labels=labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
    return _save(fig, path)
