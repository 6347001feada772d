"""The sidecar `<model file>.json` every exported file carries.

A `.tflite` or `.onnx` file alone does not say which output is which class, what size the face crop
must be or how it was quantised. `Classifier` needs the first two to run at all, and a person
comparing files later needs the rest, so every export writes the same record beside its file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from maskwatch.classifier import ModelInfo, write_model_info

#: How each export format stores numbers, as written into the sidecar's "quantization" field.
QUANTIZATION = {
    "keras": "none (float32)",
    "tflite_float32": "none (float32)",
    "tflite_float16": "float16 weights, float32 compute",
    "tflite_int8": "full integer int8 (uint8 input, float32 output), calibrated on training crops",
    "onnx": "none (float32)",
}


def build_model_info(
    fmt: str,
    labels: Sequence[str],
    input_size: tuple[int, int],
    backbone: str = "unknown",
    crop_margin: float = 0.1,
    source: str | os.PathLike | None = None,
    extra: dict | None = None,
    preprocessing: str | None = None,
) -> ModelInfo:
    """Metadata for one exported file: what `Classifier` needs plus where the file came from."""
    from maskwatch.version import __version__

    fields = {
        "format": fmt,
        "quantization": QUANTIZATION.get(fmt, "unknown"),
        "maskwatch_version": __version__,
        "source_checkpoint": str(source) if source is not None else None,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    fields.update(extra or {})
    info = ModelInfo(
        labels=[str(label) for label in labels],
        input_size=(int(input_size[0]), int(input_size[1])),
        backbone=backbone,
        crop_margin=float(crop_margin),
        extra=fields,
    )
    if preprocessing:
        info.preprocessing = preprocessing
    return info


def write_sidecar(model_path: str | os.PathLike, info: ModelInfo) -> Path:
    """Write `<model file>.json` atomically (after the model file itself is in place)."""
    return write_model_info(model_path, info)
