"""TFLite (LiteRT) files: float32, float16 weights, or full-integer int8.

Conversion goes through Keras' own LiteRT exporter (SavedModel -> TFLiteConverter), restricted
to built-in ops: the runtime maskwatch ships (`ai_edge_litert`) has no Flex (select TF ops)
delegate, so a model that would need one must fail here, at export, not on a user's machine.

The int8 model is fully integer: every op runs in int8, calibrated on real training crops. Its
input is uint8, because maskwatch models take 0..255 pixels: with calibration data spanning
0..255 the input quantisation is scale 1, zero point 0, i.e. the pixel values themselves, so no
precision is lost at the input. The output stays float32 (a dequantise op at the end) so
probabilities read the same as from every other format.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from maskwatch.atomic import staged_path
from maskwatch.errors import MaskwatchError

PRECISIONS = ("float32", "float16", "int8")

#: Calibration samples used for int8 at most (more adds time, barely changes the ranges).
MAX_CALIBRATION = 1000


def _calibration(representative: np.ndarray) -> Iterator[list[np.ndarray]]:
    crops = representative[:MAX_CALIBRATION]
    if crops.min() > 0 or crops.max() < 255:
        # The uint8 input range comes from calibration: a set without a 0 or a 255 pixel would
        # give scale != 1 and clip brighter/darker pixels at run time. One contrast-stretched
        # copy of a real crop spans 0..255 while staying a natural image.
        face = crops[0].astype(np.float32)
        low, high = float(face.min()), float(face.max())
        stretched = (face - low) * (255.0 / max(high - low, 1.0))
        yield [np.clip(np.round(stretched), 0, 255)[None]]
    for i in range(len(crops)):
        yield [crops[i : i + 1].astype(np.float32)]


def converter_options(precision: str, representative: np.ndarray | None = None) -> dict:
    """TFLiteConverter attributes for one precision (passed through `model.export(format="litert")`)."""
    import tensorflow as tf

    builtins = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    if precision == "float32":
        return {"target_spec": builtins}
    if precision == "float16":
        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {**builtins, "supported_types": [tf.float16]},
        }
    if precision == "int8":
        if representative is None or len(representative) == 0:
            raise MaskwatchError("int8 export needs representative face crops (training images) for calibration")
        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": lambda: _calibration(representative),
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
            "inference_input_type": tf.uint8,
            "inference_output_type": tf.float32,
        }
    raise MaskwatchError(f"unknown TFLite precision {precision!r} (use one of {', '.join(PRECISIONS)})")


def export_tflite(
    model, path: str | os.PathLike, precision: str = "float32", representative: np.ndarray | None = None
) -> Path:
    """Convert `model` to a `.tflite` file at `path`, atomically.

    representative: uint8 (N, H, W, 3) face crops at the model's input size (int8 only).
    """
    path = Path(path)
    options = converter_options(precision, representative)
    with staged_path(path) as tmp:
        try:
            model.export(str(tmp), format="litert", verbose=False, **options)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MaskwatchError(f"{path}: TFLite {precision} conversion failed ({exc})") from exc
    return path
