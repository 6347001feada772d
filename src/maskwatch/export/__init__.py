"""Export a trained Keras mask classifier for deployment: `.keras`, TFLite (float32, float16,
int8) and ONNX, each with a sidecar `<file>.json` that `maskwatch.Classifier` reads.

>>> from maskwatch.export import export_model
>>> export_model("runs/exp/checkpoints/best.keras", "exported", formats=["tflite_int8"],
...              labels=["with_mask", "without_mask"], representative=train_crops)
"""

from __future__ import annotations

from maskwatch.export.api import export
from maskwatch.export.exporter import FORMATS, export_model, export_run, parse_formats

__all__ = ["FORMATS", "export", "export_model", "export_run", "parse_formats"]
