"""Run an exported mask classifier on face crops, without TensorFlow.

Every exported model (`.tflite`, `.onnx`, or `.keras` for parity checks) has a sidecar
`<model file>.json` (see `read_model_info`) holding its labels, input size and preprocessing.
All maskwatch models take RGB float32 pixels in 0..255 at `input_size` and do their own
scaling inside the graph, so the only preprocessing outside is crop + resize (`images.resize_face`).
An int8 TFLite model may take uint8 input; the quantisation parameters in the file say so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.errors import ModelFileError
from maskwatch.images import resize_face
from maskwatch.logs import quiet_native_stderr

DEFAULT_LABELS = ("with_mask", "without_mask", "mask_weared_incorrect")
RUNTIMES = ("tflite", "onnx", "keras")


@dataclass
class ModelInfo:
    """What a user of an exported model needs besides the weights."""

    labels: list[str]
    input_size: tuple[int, int]  # (height, width)
    backbone: str = "unknown"
    crop_margin: float = 0.1
    preprocessing: str = "RGB float32 0..255, resized to input_size; scaling is inside the model"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "format_version": 1,
            "labels": list(self.labels),
            "input_size": list(self.input_size),
            "backbone": self.backbone,
            "crop_margin": self.crop_margin,
            "preprocessing": self.preprocessing,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelInfo:
        known = {"format_version", "labels", "input_size", "backbone", "crop_margin", "preprocessing"}
        return cls(
            labels=[str(x) for x in data["labels"]],
            input_size=(int(data["input_size"][0]), int(data["input_size"][1])),
            backbone=str(data.get("backbone", "unknown")),
            crop_margin=float(data.get("crop_margin", 0.1)),
            preprocessing=str(data.get("preprocessing", "")),
            extra={k: v for k, v in data.items() if k not in known},
        )


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """`model.tflite` -> `model.tflite.json`."""
    path = Path(model_path)
    return path.with_name(path.name + ".json")


def read_model_info(model_path: str | os.PathLike) -> ModelInfo:
    side = sidecar_path(model_path)
    if not side.is_file():
        raise ModelFileError(f"{model_path}: no metadata file {side.name} beside it (labels, input size)")
    try:
        return ModelInfo.from_dict(json.loads(side.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelFileError(f"{side}: unreadable model metadata ({exc})") from None


def write_model_info(model_path: str | os.PathLike, info: ModelInfo) -> Path:
    from maskwatch.atomic import atomic_write_text

    return atomic_write_text(sidecar_path(model_path), json.dumps(info.to_dict(), indent=2) + "\n")


def runtime_for(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    try:
        return {".tflite": "tflite", ".onnx": "onnx", ".keras": "keras"}[suffix]
    except KeyError:
        raise ModelFileError(f"{path}: unknown model type {suffix!r} (use .tflite, .onnx or .keras)") from None


class _TFLiteBackend:
    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{path}: not a valid TFLite model ({exc})") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = -1
        # An int8 model exported by maskwatch takes uint8 pixels as they are (scale 1, zero 0):
        # crops then go in without any float conversion (Classifier.prepare makes uint8 batches).
        self.pixels_dtype = (
            np.uint8
            if self.input["dtype"] == np.uint8 and tuple(self.input["quantization"]) == (1.0, 0)
            else np.float32
        )

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        if n != self.batch:
            shape = [n, *self.input["shape"][1:]]
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            with quiet_native_stderr():  # LiteRT's XNNPACK INFO line (see maskwatch.logs)
                self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
            self.batch = n
        dtype = self.input["dtype"]
        if dtype != np.float32 and not (batch.dtype == np.uint8 and self.pixels_dtype == np.uint8):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            batch = np.clip(np.round(batch / scale + zero), info.min, info.max).astype(dtype)
        self.interpreter.set_tensor(self.input["index"], batch)
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])
        if out.dtype != np.float32:
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out


class _OnnxBackend:
    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFileError(f"{path}: not a valid ONNX model ({exc})") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class _KerasBackend:
    def __init__(self, path: Path, threads: int) -> None:
        from maskwatch.models.loading import load_keras_model

        self.model = load_keras_model(path)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(batch, training=False))


class Classifier:
    """A loaded mask classifier: `predict(faces)` returns class probabilities per face.

    >>> clf = Classifier.load()            # the shipped default model
    >>> probs = clf.predict([face_rgb])    # (1, n_classes)
    >>> clf.labels[probs[0].argmax()]
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: model file not found")
        self.info = read_model_info(self.path)
        self.runtime = runtime_for(self.path)
        threads = threads or min(4, os.cpu_count() or 1)
        backend = {"tflite": _TFLiteBackend, "onnx": _OnnxBackend, "keras": _KerasBackend}[self.runtime]
        self._run = backend(self.path, threads)
        self._pixels = getattr(self._run, "pixels_dtype", np.float32)
        self._weights = decision_weights(self.info)
        self._small = small_face_rule(self.info)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, threads: int | None = None) -> Classifier:
        """Load `path`, a shipped model by name ("accurate", "fast"), or the default when None."""
        return cls(model_path(path), threads=threads)

    @property
    def labels(self) -> list[str]:
        return self.info.labels

    @property
    def input_size(self) -> tuple[int, int]:
        return self.info.input_size

    def prepare(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Resize RGB uint8 crops into one batch (N, H, W, 3) in 0..255: each crop is resized once,
        straight into the batch (uint8 for a model that takes uint8 pixels, float32 otherwise)."""
        height, width = self.input_size
        batch = np.empty((len(faces), height, width, 3), dtype=self._pixels)
        for i, face in enumerate(faces):
            batch[i] = resize_face(face, self.input_size)
        return batch

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for an already prepared batch (N, H, W, 3), float32 or uint8 pixels 0..255."""
        if batch.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        dtype = np.uint8 if batch.dtype == np.uint8 and self._pixels == np.uint8 else np.float32
        probs = np.asarray(self._run(np.ascontiguousarray(batch, dtype=dtype)), dtype=np.float32)
        return probs if self._weights is None else reweight(probs, self._weights)

    def predict(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (N, n_classes) for RGB uint8 face crops of any size, in one batched call.

        The crops' own widths tell the face sizes, so the model's small-face rule (if its sidecar has
        one) applies here; `predict_batch` gets resized pixels and cannot.
        """
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        widths = np.array([face.shape[1] for face in faces], dtype=np.float64) / (1 + 2 * self.info.crop_margin)
        return self.for_face_widths(self.predict_batch(self.prepare(faces)), widths)

    def for_face_widths(self, probs: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """`probs` with the small-face rule applied to the faces narrower than its width (source pixels)."""
        return apply_small_face_rule(probs, widths, self._small)


#: Models shipped inside the package (`maskwatch/assets/`), by the name `--model` / `model=` take.
#: "accurate" is the default for images; "fast" is the small one for video (MODEL_CARD.md).
SHIPPED_MODELS = {"accurate": "maskwatch_default.tflite", "fast": "maskwatch_fast.tflite"}


def model_path(model: str | os.PathLike | None = None) -> Path:
    """The file behind a model argument: None = the default, "accurate" / "fast" = a shipped model, else a path.

    A file literally named "fast" in the working directory wins over the shipped model of that name.
    """
    if model is None:
        return default_model_path()
    name = os.fspath(model)
    if name.lower() in SHIPPED_MODELS and not Path(name).exists():
        path = Path(__file__).parent / "assets" / SHIPPED_MODELS[name.lower()]
        if not path.is_file():
            raise ModelFileError(
                f"{path}: the {name.lower()!r} model is not installed with this copy of maskwatch; pass --model PATH"
            )
        return path
    return Path(model)


def decision_weights(info: ModelInfo) -> np.ndarray | None:
    """Per-class weights chosen on validation (sidecar key "decision_weights"), in label order, or None.

    Why: the network's probabilities reflect the class mix it was trained on (few incorrectly
    worn masks, mostly large faces); multiplying them by one weight per class and renormalising
    is a prior correction that moves the decision boundaries without retraining. Every consumer
    (argmax label, confidence, video smoothing) then sees the same corrected probabilities.
    """
    weights = info.extra.get("decision_weights")
    if not weights:
        return None
    try:
        values = np.array([float(weights[label]) for label in info.labels], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"decision_weights {weights} must give a number for every label {info.labels}") from None
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ModelFileError(f"decision_weights {weights} must be positive numbers")
    return values


def small_face_rule(info: ModelInfo) -> tuple[float, np.ndarray] | None:
    """(width, per-class weights) for faces narrower than `width` pixels (sidecar key "small_faces"), or None.

    Why: a face a dozen pixels wide shows too little to tell a mask under the nose from one worn
    well, yet a network trained on downscaled copies of large incorrectly-worn photos can say
    "incorrect" for tiny blurry faces. A prior correction for small faces only (chosen on
    the validation scenes, MODEL_CARD) keeps that class for the faces it can be seen on.
    """
    rule = info.extra.get("small_faces")
    if not rule:
        return None
    try:
        unknown = set(rule["decision_weights"]) - set(info.labels)
        if unknown:
            raise ModelFileError(f"small_faces: unknown labels {sorted(unknown)} (the model's: {info.labels})")
        width = float(rule["below_width"])
        weights = np.array([float(rule["decision_weights"].get(label, 1.0)) for label in info.labels], np.float32)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelFileError(f"small_faces {rule} must be {{below_width: N, decision_weights: {{label: w}}}}") from None
    if not (np.isfinite(width) and width > 0 and np.all(np.isfinite(weights)) and np.all(weights > 0)):
        raise ModelFileError(f"small_faces {rule}: width and weights must be positive numbers")
    return width, weights


def apply_small_face_rule(probs: np.ndarray, widths: np.ndarray, rule: tuple[float, np.ndarray] | None) -> np.ndarray:
    """Reweight the rows of `probs` whose face width is below the rule's width (NaN widths are left alone)."""
    if rule is None or len(probs) == 0:
        return probs
    small = np.asarray(widths, dtype=np.float64) < rule[0]
    if not small.any():
        return probs
    out = np.array(probs, dtype=np.float32, copy=True)
    out[small] = reweight(out[small], rule[1])
    return out


def reweight(probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """probs * weights, each row renormalised to sum to 1."""
    scaled = np.asarray(probs, dtype=np.float32) * weights[None, :]
    return scaled / np.maximum(scaled.sum(axis=1, keepdims=True), 1e-12)


def default_model_path() -> Path:
    """The model shipped inside the package (`maskwatch/assets/`)."""
    override = os.environ.get("MASKWATCH_MODEL")
    if override:
        return Path(override)
    path = Path(__file__).parent / "assets" / "maskwatch_default.tflite"
    if not path.is_file():
        raise ModelFileError(
            f"{path}: the default model is not installed with this copy of maskwatch; pass --model PATH"
        )
    return path
