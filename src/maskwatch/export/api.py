"""`maskwatch.export.export(source)`: the Python twin of `maskwatch export SOURCE` (same arguments).

A training run folder exports its best checkpoint (labels and input size from its sidecar, int8
calibration from its training split); a `.keras` file exports itself (labels from its sidecar or
`labels`, calibration from `data`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.errors import ConfigError

if TYPE_CHECKING:
    from maskwatch.export.exporter import Exported


def export(
    source: str | os.PathLike,
    formats: str | Sequence[str] = "all",
    out: str | os.PathLike | None = None,
    name: str | None = None,
    data: str | os.PathLike | None = None,
    labels: str | Sequence[str] | None = None,
    calibration: int = 400,
) -> Exported:
    """Export to .keras / TFLite (float32, float16, int8) / ONNX, each with its .json; {format: file}.

    formats: a comma list or sequence of keras, tflite_float32, tflite_float16, tflite_int8, onnx,
    or "all". out: output folder (default: <run>/export, or beside the .keras). name: base file
    name (default: the run or model name). data: face images for int8 calibration (default: the
    run's training split). labels: output labels, if the .keras has no sidecar json.
    calibration: number of calibration crops. The result's `.skipped` lists calibration images
    that could not be read (`maskwatch export` exits 1 then).
    """
    from maskwatch.export.exporter import Exported, export_model, export_run, parse_formats
    from maskwatch.runs import is_run_dir

    source = Path(source)
    names = parse_formats(formats)
    if not 1 <= int(calibration) <= 5000:
        raise ConfigError(f"calibration: {calibration!r} is out of range (allowed 1 .. 5,000)")
    if is_run_dir(source):
        return export_run(source, out, names, name=name, data=data, calibration_samples=calibration)
    if source.suffix.lower() != ".keras":
        raise ConfigError(f"{source}: not a run folder or a .keras file")
    from maskwatch.classifier import read_model_info, sidecar_path
    from maskwatch.export.calibration import representative_from_folder
    from maskwatch.models.loading import load_keras_model

    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split(",") if x.strip()]
    label_list = list(labels) if labels else None
    if label_list is None and not sidecar_path(source).is_file():
        raise ConfigError(f"{source}: no {sidecar_path(source).name} beside it; pass --labels a,b[,c]")
    model = load_keras_model(source)
    shape = model.input_shape
    size = (int(shape[1]), int(shape[2]))
    crops, skipped = None, []
    if data is not None:
        crops, skipped = representative_from_folder(data, size, calibration)
    elif "tflite_int8" in names:
        raise ConfigError("tflite_int8 needs calibration images: pass --data FOLDER (face crops)")
    info = read_model_info(source) if sidecar_path(source).is_file() else None
    written = export_model(
        model,
        out if out is not None else source.parent,
        names,
        labels=label_list or info.labels,
        input_size=info.input_size if info else None,
        backbone=info.backbone if info else None,
        representative=crops,
        name=name or source.stem,
        crop_margin=info.crop_margin if info else None,
        source=source,
    )
    return Exported(written, skipped)
