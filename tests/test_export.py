"""Export: every format loads in the runtime users get and agrees with the Keras model.

Parity is measured on 32 real, held-out mask2 face crops (never used for training or int8
calibration), given to `Classifier.predict` at their original sizes exactly as detection does.
Tolerances (max |p_export - p_keras| over all probabilities; measured values in the report):
float32 TFLite and ONNX 1e-4, float16 TFLite 1e-2, int8 TFLite 0.1 with >= 90 % top-1 agreement.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_export_tinymodel import INPUT, LABELS, tiny_exports

from maskwatch.classifier import Classifier, read_model_info
from maskwatch.errors import ConfigError
from maskwatch.images import load_image

pytestmark = pytest.mark.slow

TOLERANCE = {"keras": 1e-6, "tflite_float32": 1e-4, "onnx": 1e-4, "tflite_float16": 1e-2, "tflite_int8": 0.1}
PARITY_FACES = 32


@pytest.fixture(scope="module")
def exported(workdir):
    return tiny_exports(workdir)


@pytest.fixture(scope="module")
def parity_faces(bundle):
    """Original-size RGB crops of held-out faces, and the Keras model's probabilities on them."""
    from maskwatch.images import resize_face

    faces = [load_image(p) for p in bundle.test_paths[:: len(bundle.test_paths) // PARITY_FACES][:PARITY_FACES]]
    batch = np.stack([resize_face(f, INPUT) for f in faces]).astype(np.float32)
    reference = np.asarray(bundle.model(batch, training=False))
    return faces, reference


def test_every_format_is_written_with_its_sidecar(exported, bundle):
    assert set(exported) == {"keras", "tflite_float32", "tflite_float16", "tflite_int8", "onnx"}
    for fmt, path in exported.items():
        assert path.is_file() and path.stat().st_size > 1000, fmt
        info = read_model_info(path)
        assert info.labels == LABELS
        assert info.input_size == INPUT
        assert info.backbone == "tiny_cnn"
        assert info.extra["format"] == fmt
        assert info.extra["quantization"]
        assert info.extra["maskwatch_version"]
        assert info.extra["source_checkpoint"] == str(bundle.keras_path)
        assert info.extra["created"].startswith("20")
        # the parity check export_model ran itself, on the representative crops
        assert info.extra["parity"]["samples"] == 64
        assert info.extra["parity"]["max_abs_diff"] <= TOLERANCE[fmt]
    leftovers = [p.name for p in exported["onnx"].parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files left behind


@pytest.mark.parametrize("fmt", ["keras", "tflite_float32", "tflite_float16", "tflite_int8", "onnx"])
def test_export_agrees_with_keras_on_real_faces(fmt, exported, parity_faces):
    faces, reference = parity_faces
    classifier = Classifier.load(exported[fmt], threads=2)
    assert classifier.labels == LABELS
    probs = classifier.predict(faces)
    assert probs.shape == reference.shape == (PARITY_FACES, 2)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-2)
    diff = float(np.abs(probs - reference).max())
    agreement = float((probs.argmax(1) == reference.argmax(1)).mean())
    print(f"{fmt}: max |diff| {diff:.3g}, top-1 agreement {agreement:.3f}")
    assert diff <= TOLERANCE[fmt], diff
    if fmt == "tflite_int8":
        assert agreement >= 0.9
    else:
        assert agreement == 1.0


@pytest.mark.parametrize("fmt", ["tflite_float32", "tflite_int8", "onnx"])
def test_batch_of_one_equals_batch_of_many(fmt, exported, parity_faces):
    """The runtimes resize their input tensor per call; batch size must not change results."""
    faces, _ = parity_faces
    classifier = Classifier.load(exported[fmt], threads=1)
    together = classifier.predict(faces[:8])
    alone = np.concatenate([classifier.predict([face]) for face in faces[:8]])
    assert np.abs(together - alone).max() <= 1e-5


def test_int8_model_is_fully_integer_with_uint8_pixels(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported["tflite_int8"]))
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    assert inp["dtype"] == np.uint8
    scale, zero = inp["quantization"]
    assert abs(scale - 1.0) < 0.02 and zero == 0  # pixel values pass through unchanged
    assert out["dtype"] == np.float32
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "CONV_2D" in ops
    conv_weights = [t for t in interpreter.get_tensor_details() if len(t["shape"]) == 4 and t["index"] != inp["index"]]
    assert conv_weights and all(t["dtype"] in (np.int8, np.uint8) for t in conv_weights)
    float32_size = exported["tflite_float32"].stat().st_size
    assert exported["tflite_int8"].stat().st_size < float32_size


def test_float16_model_stores_float16_weights(exported):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported["tflite_float16"]))
    dtypes = {np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    assert np.dtype(np.float16) in dtypes
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert exported["tflite_float16"].stat().st_size < exported["tflite_float32"].stat().st_size


def test_onnx_opset_and_embedded_labels(exported):
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(exported["onnx"]))
    onnx.checker.check_model(proto)
    opsets = {o.domain: o.version for o in proto.opset_import}
    assert opsets[""] == 17
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["labels"]) == LABELS
    assert json.loads(props["input_size"]) == list(INPUT)
    session = ort.InferenceSession(str(exported["onnx"]), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["labels"]) == LABELS
    shape = session.get_inputs()[0].shape
    assert shape[1:] == [*INPUT, 3] and not isinstance(shape[0], int)  # dynamic batch


def test_export_from_keras_file_reads_its_sidecar(bundle, tmp_path):
    from maskwatch.export import export_model

    written = export_model(bundle.keras_path, tmp_path, formats="tflite_float32", name="from_file")
    assert list(written) == ["tflite_float32"]
    info = read_model_info(written["tflite_float32"])
    assert info.labels == LABELS and info.backbone == "tiny_cnn"
    assert info.extra["source_checkpoint"] == str(bundle.keras_path)
    assert "note" in info.extra["parity"]  # no representative crops: load check only


def test_export_refuses_bad_requests_before_writing(bundle, tmp_path):
    from maskwatch.export import export_model

    with pytest.raises(ConfigError, match="representative"):
        export_model(bundle.model, tmp_path, formats=["tflite_int8"], labels=LABELS)
    with pytest.raises(ConfigError, match="2 outputs but 3 labels"):
        export_model(bundle.model, tmp_path, formats=["onnx"], labels=[*LABELS, "mask_weared_incorrect"])
    with pytest.raises(ConfigError, match="unknown export format"):
        export_model(bundle.model, tmp_path, formats="tflite_int4", labels=LABELS)
    with pytest.raises(ConfigError, match="does not match"):
        export_model(bundle.model, tmp_path, formats="onnx", labels=LABELS, input_size=(96, 96))
    assert list(tmp_path.iterdir()) == []


def test_export_cli_writes_the_requested_formats(bundle, tmp_path):
    from typer.testing import CliRunner

    from maskwatch.cli import app

    calibration = tmp_path / "calib"
    calibration.mkdir()
    for i, path in enumerate(bundle.test_paths[:12]):
        shutil.copy(path, calibration / f"face{i}.jpg")
    (calibration / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "export",
            str(bundle.keras_path),
            "--formats",
            "tflite_int8,onnx",
            "--out",
            str(out),
            "--data",
            str(calibration),
            "--name",
            "cli",
        ],
    )
    # The broken calibration image is named and skipped: every file is written, the exit code is 1.
    assert result.exit_code == 1, result.output
    assert "broken.jpg" in result.stderr and "1 calibration image(s) skipped, 2 file(s) written" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cli.onnx",
        "cli.onnx.json",
        "cli_int8.tflite",
        "cli_int8.tflite.json",
    ]
    assert "tflite_int8" in result.output and "onnx" in result.output
    assert Classifier.load(out / "cli_int8.tflite").predict([load_image(bundle.test_paths[0])]).shape == (1, 2)


def test_int8_input_passes_every_pixel_value_even_after_dark_calibration(bundle, tmp_path):
    """Calibrating on dim crops only must not shrink the uint8 input range (bright pixels would clip)."""
    from ai_edge_litert.interpreter import Interpreter

    from maskwatch.export import export_model

    dark = (bundle.x_train[:40] * 0.5 + 20).astype(np.uint8)  # pixel values 20..147 only
    written = export_model(bundle.model, tmp_path, "tflite_int8", labels=LABELS, representative=dark)
    scale, zero = Interpreter(model_path=str(written["tflite_int8"])).get_input_details()[0]["quantization"]
    assert abs(scale - 1.0) < 0.02 and zero == 0
