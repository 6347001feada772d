"""`evaluate_model` and `evaluate_run`: score a classifier on held-out faces, write the report.

A model is evaluated through the same code that will run it in the field: an exported file goes
through `maskwatch.Classifier` (LiteRT / ONNX Runtime), a Keras model or checkpoint through Keras.
So evaluating `model_int8.tflite` measures the int8 model, not the Keras model it came from.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from maskwatch.classifier import read_model_info, runtime_for, sidecar_path
from maskwatch.errors import ConfigError, MaskwatchError

log = logging.getLogger(__name__)

BATCH = 64


class KerasPredictor:
    """A Keras model with the small part of `Classifier`'s interface evaluation needs."""

    runtime = "keras"

    def __init__(self, model, labels: Sequence[str], path: str | os.PathLike | None = None) -> None:
        self.model = model
        self.labels = list(labels)
        shape = model.input_shape[0] if isinstance(model.input_shape, list) else model.input_shape
        self.input_size = (int(shape[1]), int(shape[2]))
        self.path = Path(path) if path is not None else None
        outputs = int(model.output_shape[-1])
        if outputs != len(self.labels):
            raise ConfigError(f"the model has {outputs} outputs but {len(self.labels)} labels: {self.labels}")

    #: Per-class decision weights from the checkpoint's sidecar (classifier.decision_weights), if any.
    weights: np.ndarray | None = None
    #: The sidecar's small-face rule (classifier.small_face_rule), if any.
    small: tuple[float, np.ndarray] | None = None

    def for_face_widths(self, probs: np.ndarray, widths: np.ndarray) -> np.ndarray:
        from maskwatch.classifier import apply_small_face_rule

        return apply_small_face_rule(probs, widths, self.small)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        from maskwatch.classifier import reweight

        probs = np.asarray(self.model(np.asarray(batch, dtype=np.float32), training=False), dtype=np.float32)
        return probs if self.weights is None else reweight(probs, self.weights)


def load_predictor(model, labels: Sequence[str] | None = None):
    """A Classifier, a path (.tflite/.onnx/.keras) or a keras.Model -> object with predict_batch/labels."""
    if hasattr(model, "predict_batch") and hasattr(model, "labels"):
        return model
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        runtime_for(path)  # clear error for an unknown file type
        if path.suffix.lower() == ".keras":
            from maskwatch.models.loading import load_keras_model

            info = read_model_info(path) if sidecar_path(path).is_file() else None
            if info is None and labels is None:
                raise ConfigError(f"{path}: no {sidecar_path(path).name} beside it; pass the labels of its outputs")
            predictor = KerasPredictor(load_keras_model(path), info.labels if info else labels, path)
            if info is not None:
                from maskwatch.classifier import decision_weights, small_face_rule

                predictor.weights = decision_weights(info)
                predictor.small = small_face_rule(info)
            return predictor
        from maskwatch.classifier import Classifier

        return Classifier.load(path, threads=2)
    if labels is None:
        raise ConfigError("evaluating a Keras model object needs its labels")
    return KerasPredictor(model, labels)


def predict_in_batches(predictor, x: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """Probabilities for uint8/float crops already at the model's input size, `batch` at a time."""
    parts = [predictor.predict_batch(x[i : i + batch].astype(np.float32)) for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, len(predictor.labels)), np.float32)


def _load_data(data, input_size: tuple[int, int], labels: Sequence[str] | None):
    """(x, y, data_labels, samples, skipped, description) from a FaceDataset or (x, y[, paths]) arrays.

    samples: the FaceSamples of the rows of x (None for arrays), or bare path strings for arrays
    given with paths.
    """
    if hasattr(data, "samples") and hasattr(data, "labels"):
        from maskwatch.data import load_faces, loaded_indices

        x, y, skipped = load_faces(data, input_size)
        samples = [data.samples[i] for i in loaded_indices(data, skipped)]
        skipped_text = [f"{getattr(s, 'path', s)}: {getattr(s, 'reason', '')}" for s in skipped]
        description = data.summary() if hasattr(data, "summary") else f"{len(data.samples)} faces"
        return x, np.asarray(y), list(data.labels), samples, skipped_text, description
    if isinstance(data, tuple | list) and len(data) in (2, 3):
        x, y = np.asarray(data[0]), np.asarray(data[1], dtype=np.int64)
        paths = [str(p) for p in data[2]] if len(data) == 3 else None
        if len(x) != len(y) or (paths is not None and len(paths) != len(y)):
            raise ConfigError(f"data arrays differ in length: x {len(x)}, y {len(y)}")
        if x.shape[1:3] != tuple(input_size):
            from maskwatch.images import resize_face

            x = np.stack([resize_face(face, input_size) for face in x]) if len(x) else x
        return x, y, list(labels) if labels is not None else None, paths, [], f"{len(y)} faces (arrays)"
    raise ConfigError("data must be a FaceDataset or a tuple (x uint8 (N,H,W,3), y int (N,)[, paths])")


def _sample_name(sample) -> str:
    return sample.path if sample.box is None else f"{sample.path} box={tuple(round(v) for v in sample.box)}"


def _align_targets(y: np.ndarray, data_labels: Sequence[str] | None, model_labels: Sequence[str]) -> np.ndarray:
    """Re-index targets from the data's label order to the model's (matched by name)."""
    if data_labels is None or list(data_labels) == list(model_labels):
        return y
    missing = [label for label in data_labels if label not in model_labels]
    if missing:
        raise ConfigError(f"data labels {missing} are not outputs of the model (model labels: {list(model_labels)})")
    mapping = np.array([list(model_labels).index(label) for label in data_labels], dtype=np.int64)
    return mapping[y]


def evaluate_model(
    model_path_or_classifier,
    dataset_or_arrays,
    out_dir: str | os.PathLike | None,
    labels: Sequence[str] | None = None,
    *,
    history: str | os.PathLike | None = None,
    title: str | None = None,
    plots: bool = True,
) -> dict:
    """Evaluate a model on faces and write `metrics.json`, `report.md` and PNGs to out_dir.

    model_path_or_classifier: a `Classifier`, an exported file (.tflite/.onnx/.keras with its
    sidecar json), a `.keras` checkpoint (then `labels` names its outputs) or a keras.Model.
    dataset_or_arrays: a `FaceDataset` (pixels read with `maskwatch.data.load_faces`) or
    `(x, y)` / `(x, y, paths)` with x uint8 RGB crops and y indices into `labels`.
    labels: label order of the targets (and of a bare Keras model's outputs).
    history: a training `history.csv` to plot accuracy/loss curves from.
    Returns the result dict written to metrics.json (its "metrics" key holds the numbers).
    out_dir None computes and returns the result without writing anything.
    """
    from maskwatch.metrics import compute_metrics, worst_mistakes

    predictor = load_predictor(model_path_or_classifier, labels)
    model_labels = list(predictor.labels)
    x, y, data_labels, samples, skipped, description = _load_data(dataset_or_arrays, predictor.input_size, labels)
    if len(y) == 0:
        raise MaskwatchError(f"no faces to evaluate in {description}")
    y = _align_targets(y, data_labels if data_labels is not None else labels, model_labels)
    probs = predict_in_batches(predictor, x)
    if samples is not None and not isinstance(samples[0], str) and hasattr(predictor, "for_face_widths"):
        from maskwatch.evaluate.breakdown import face_widths

        # the crops were resized on loading: the small-face rule needs their widths in the source image
        probs = predictor.for_face_widths(probs, face_widths(samples))
    metrics = compute_metrics(y, probs, model_labels)
    paths = None
    if samples is not None:
        paths = [s if isinstance(s, str) else _sample_name(s) for s in samples]
    model_name = getattr(predictor, "path", None)
    result = {
        "title": title or "Evaluation report",
        "model": str(model_name) if model_name is not None else "keras model (in memory)",
        "runtime": getattr(predictor, "runtime", "keras"),
        "data": description,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "metrics": metrics,
        "mistakes": worst_mistakes(y, probs, model_labels, paths, limit=10),
        "skipped": skipped,
        "plots": {},
    }
    if samples is not None and not isinstance(samples[0], str):
        from maskwatch.evaluate.breakdown import breakdown

        result["breakdown"] = breakdown(y, probs, samples, model_labels)
    if out_dir is None:
        return result
    from maskwatch.evaluate.report import write_report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if plots:
        from maskwatch.evaluate.plots import plot_confusion_matrix, plot_history

        result["plots"]["confusion_matrix"] = str(
            plot_confusion_matrix(metrics["confusion_matrix"], model_labels, out_dir / "confusion_matrix.png")
        )
        if history is not None and Path(history).is_file():
            result["plots"].update({k: str(v) for k, v in plot_history(history, out_dir).items()})
    result["files"] = {k: str(v) for k, v in write_report(result, out_dir).items()}
    log.info("evaluation in %s: accuracy %.3f, macro-F1 %.3f", out_dir, metrics["accuracy"], metrics["macro_f1"])
    return result


def evaluate_run(
    run_dir: str | os.PathLike,
    split: str = "test",
    *,
    model: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    scenes: bool = True,
) -> dict:
    """Evaluate a training run on one of its held-out splits (default: test) and write the report.

    The faces are the run's own split (its `split.csv`), so they were never trained on. model:
    evaluate another file on that split instead of `checkpoints/best.keras` (e.g. the exported
    int8 `.tflite`). out_dir: default the run folder itself for the test split, and
    `<run>/eval_<split>/` for other splits, so `report.md` of the test split sits beside the
    checkpoints. scenes: also run the whole pipeline (face detector + this model) on the split's
    annotated scene images (VOC / YOLO sources), reported under "scenes".
    """
    from maskwatch import runs
    from maskwatch.evaluate.runs import run_split

    run_dir = Path(run_dir)
    if not runs.is_run_dir(run_dir):
        raise ConfigError(f"{run_dir}: not a maskwatch run folder (no config.yaml or checkpoints/)")
    model_path = Path(model) if model is not None else runs.best_checkpoint(run_dir)
    predictor = load_predictor(model_path)
    dataset = run_split(run_dir, split, labels=list(predictor.labels))
    if out_dir is None:
        out_dir = run_dir if split == "test" else run_dir / f"eval_{split}"
    result = evaluate_model(
        predictor,
        dataset,
        out_dir,
        history=runs.RunPaths(run_dir).history,
        title=f"{run_dir.name}: {split} split, {model_path.name}",
    )
    if scenes:
        from maskwatch.evaluate.report import write_report
        from maskwatch.evaluate.scenes import evaluate_scenes

        result["scenes"] = evaluate_scenes(run_dir, dataset, model_path, verbose=False)
        if result["scenes"] is not None:
            result["files"] = {k: str(v) for k, v in write_report(result, out_dir).items()}
    return result


def evaluate_finished_run(run_dir: str | os.PathLike) -> dict | None:
    """Evaluate a run that training just finished and add the result to its summary.json.

    What `maskwatch train` does after training (unless `--no-evaluate` / `run.evaluate: false`).
    Never raises: a finished training run must not be lost to a failing evaluation, so an
    error is logged and None returned.
    """
    from maskwatch import runs

    try:
        result = evaluate_run(run_dir)
    except MaskwatchError as exc:
        log.warning("evaluation failed: %s", exc)
        return None
    except Exception as exc:  # a bug in evaluation must not lose a finished training run
        log.exception("evaluation crashed: %s", exc)
        return None
    summary = runs.read_summary(run_dir)
    summary["evaluation"] = json.loads(json.dumps(result, default=str))
    runs.write_summary(run_dir, summary)
    log.info("evaluation written for %s", run_dir)
    return result
