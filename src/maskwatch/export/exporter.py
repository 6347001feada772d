"""`export_model`: one trained Keras model in, every deployable file (+ sidecar json) out.

Each file is checked right after it is written: it is loaded back through the same runtime
`maskwatch.Classifier` uses and run on the representative crops, and its agreement with the Keras
model (top-1 and largest probability difference) is stored in its sidecar under "parity". A
conversion that silently changes predictions is caught here rather than in the field.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from maskwatch.classifier import Classifier, decision_weights, read_model_info, reweight, sidecar_path
from maskwatch.errors import ConfigError, ModelFileError
from maskwatch.export.metadata import build_model_info, write_sidecar
from maskwatch.images import resize_face
from maskwatch.runs import best_checkpoint

log = logging.getLogger(__name__)

#: Export format -> file name suffix (after the base name).
FORMATS: dict[str, str] = {
    "keras": ".keras",
    "tflite_float32": "_float32.tflite",
    "tflite_float16": "_float16.tflite",
    "tflite_int8": "_int8.tflite",
    "onnx": ".onnx",
}


class Exported(dict):
    """{format: file} of an export, plus `skipped`: calibration images that could not be read
    ("path: reason"; the export is complete, its int8 ranges came from the other crops)."""

    def __init__(self, written: dict[str, Path], skipped: list[str] | None = None) -> None:
        super().__init__(written)
        self.skipped = list(skipped or [])


#: Sidecar keys of the trained model that every exported file keeps.
CARRIED_INFO = ("run", "decision_weights", "small_faces", "members")

#: Crops used for the post-export parity check stored in each sidecar.
PARITY_SAMPLES = 64


def _model_input_size(model) -> tuple[int, int] | None:
    shape = model.input_shape
    if isinstance(shape, list):
        shape = shape[0]
    height, width = shape[1], shape[2]
    return (int(height), int(width)) if height and width else None


def _fit_crops(crops: np.ndarray | Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Representative crops as one uint8 (N, H, W, 3) batch at the model's input size."""
    return np.stack([resize_face(np.asarray(c, dtype=np.uint8), size) for c in crops]).astype(np.uint8)


def parse_formats(formats: str | Sequence[str]) -> list[str]:
    """Accept "all", a comma list or a sequence; refuse unknown names with the list of known ones."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    names = list(FORMATS) if list(formats) == ["all"] else list(dict.fromkeys(formats))
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"unknown export format(s) {unknown or formats}; choose from: {', '.join(FORMATS)}, all")
    return names


def export_model(
    keras_model_or_path,
    out_dir: str | os.PathLike,
    formats: str | Sequence[str] = tuple(FORMATS),
    labels: Sequence[str] | None = None,
    input_size: tuple[int, int] | None = None,
    backbone: str | None = None,
    representative: np.ndarray | Sequence[np.ndarray] | None = None,
    *,
    name: str = "maskwatch",
    crop_margin: float | None = None,
    source: str | os.PathLike | None = None,
    verify: bool = True,
) -> dict[str, Path]:
    """Write `keras_model_or_path` to `out_dir` in each of `formats`; return {format: file}.

    labels/input_size/backbone default to the `.keras` file's sidecar json, then to the model
    itself (input shape, name). representative: uint8 RGB face crops from the training data,
    needed for `tflite_int8` calibration and used for the parity check of every format.
    """
    import keras

    from maskwatch.export.keras_file import export_keras
    from maskwatch.export.onnx_file import export_onnx
    from maskwatch.export.tflite import export_tflite
    from maskwatch.models.loading import load_keras_model

    names = parse_formats(formats)
    known = None
    if isinstance(keras_model_or_path, keras.Model):
        model = keras_model_or_path
    else:
        source = source or keras_model_or_path
        model = load_keras_model(keras_model_or_path)
        if sidecar_path(keras_model_or_path).is_file():
            known = read_model_info(keras_model_or_path)

    model_size = _model_input_size(model)
    input_size = tuple(input_size) if input_size else (known.input_size if known else model_size)
    if input_size is None:
        raise ConfigError("the model has no fixed input size; pass input_size=(height, width)")
    if model_size is not None and tuple(model_size) != tuple(input_size):
        raise ConfigError(f"input_size {input_size} does not match the model's input {model_size}")
    labels = list(labels) if labels is not None else (known.labels if known else None)
    if not labels:
        raise ConfigError("labels are needed (one per model output), e.g. with_mask,without_mask")
    n_out = int(model.output_shape[-1])
    if n_out != len(labels):
        raise ConfigError(f"the model has {n_out} outputs but {len(labels)} labels were given: {labels}")
    backbone = backbone or (known.backbone if known else model.name)
    if crop_margin is None:
        crop_margin = known.crop_margin if known else 0.1

    crops = _fit_crops(representative, input_size) if representative is not None and len(representative) else None
    if "tflite_int8" in names and crops is None:
        raise ConfigError("tflite_int8 needs representative training crops for calibration (--data or a run dir)")
    check = crops[:PARITY_SAMPLES] if crops is not None else None
    # Keras exporters need a model that has been called once (it fixes the traced signature).
    probe = check.astype(np.float32) if check is not None else np.zeros((1, *input_size, 3), np.float32)
    reference = np.asarray(model(probe, training=False))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in names:
        path = out_dir / f"{name}{FORMATS[fmt]}"
        carried = {k: v for k, v in (known.extra if known else {}).items() if k in CARRIED_INFO}
        info = build_model_info(
            fmt,
            labels,
            input_size,
            backbone,
            crop_margin,
            source,
            extra=carried,
            preprocessing=known.preprocessing if known else None,
        )
        log.info("exporting %s -> %s", fmt, path)
        if fmt == "keras":
            export_keras(model, path)
        elif fmt.startswith("tflite_"):
            export_tflite(model, path, fmt.removeprefix("tflite_"), crops)
        elif fmt == "onnx":
            export_onnx(model, path, metadata=info.to_dict())
        write_sidecar(path, info)
        if verify:
            weights = decision_weights(info)  # the exported file's outputs are reweighted like the checkpoint's
            expected = reference if weights is None else reweight(reference, weights)
            info.extra["parity"] = check_parity(path, probe, expected, real=check is not None)
            write_sidecar(path, info)
        written[fmt] = path
    return written


def check_parity(path: Path, batch: np.ndarray, reference: np.ndarray, real: bool = True) -> dict:
    """Load `path` as users will and compare its probabilities with the Keras model's."""
    probs = Classifier.load(path, threads=2).predict_batch(batch)
    if probs.shape != reference.shape:
        raise ModelFileError(f"{path}: exported model outputs {probs.shape}, Keras model {reference.shape}")
    result = {
        "samples": int(len(batch)),
        "top1_agreement": float((probs.argmax(1) == reference.argmax(1)).mean()),
        "max_abs_diff": float(np.abs(probs - reference).max()),
    }
    if not real:
        result["note"] = "load check on a blank image only (no representative crops given)"
    return result


def export_run(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    formats: str | Sequence[str] = tuple(FORMATS),
    *,
    name: str | None = None,
    data: str | os.PathLike | None = None,
    calibration_samples: int = 400,
    verify: bool = True,
) -> Exported:
    """Export a training run's best checkpoint (`maskwatch export RUN_DIR`).

    Labels, input size and backbone come from the checkpoint's sidecar; int8 calibration uses
    the run's training split (or `data`, a folder of face images). out_dir defaults to
    `<run>/export`, name to the run folder's name.
    """
    from maskwatch.export.calibration import representative_for

    run_dir = Path(run_dir)
    checkpoint = best_checkpoint(run_dir)
    info = read_model_info(checkpoint)
    crops, skipped = representative_for(data or run_dir, info.input_size, calibration_samples)
    written = export_model(
        checkpoint,
        out_dir if out_dir is not None else run_dir / "export",
        formats,
        representative=crops,
        name=name or run_dir.name,
        verify=verify,
    )
    return Exported(written, skipped)
