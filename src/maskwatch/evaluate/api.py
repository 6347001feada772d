"""`maskwatch.evaluate.evaluate(target)`: the Python twin of `maskwatch evaluate TARGET` (same arguments).

A training run folder is scored on its own held-out split (`evaluate_run`); a model file, or a run
with `data`, on a folder of labelled faces (`evaluate_model`). Either way the report is written and
the result dict returned.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.errors import ConfigError, SourceError

DATA_TYPES = ("auto", "folder", "voc")
SPLITS = ("train", "val", "test")


def load_eval_dataset(data: Path, labels: list[str], data_type: str = "auto"):
    """A FaceDataset from a folder of class folders or a VOC folder (annotations/ + images/)."""
    from maskwatch.data import load_folder_dataset, load_voc_dataset

    if data_type == "auto":
        voc = any((data / sub).is_dir() for sub in ("annotations", "Annotations"))
        data_type = "voc" if voc else "folder"
    if data_type == "voc":
        return load_voc_dataset(data, labels=labels)
    return load_folder_dataset(data, labels=labels, group_by="stem")


def evaluate(
    target: str | os.PathLike,
    data: str | os.PathLike | None = None,
    data_type: str = "auto",
    split: str = "test",
    model: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
) -> dict:
    """Accuracy, per-class precision/recall/F1, confusion matrix and log loss; writes report.md.

    target: a training run folder or a model file (.keras/.tflite/.onnx). data: labelled faces (a
    folder of class folders or a VOC folder; default: the run's `split`). data_type: auto, folder
    or voc. model: with a run folder, evaluate this file instead of its best checkpoint.
    out: the report folder (default: the run folder, or eval_<model>_<data> beside it).
    """
    from maskwatch.runs import best_checkpoint, is_run_dir

    target = Path(target)
    data = Path(data) if data is not None else None
    model = Path(model) if model is not None else None
    if data_type not in DATA_TYPES:
        raise ConfigError(f"--data-type {data_type!r}: is not allowed (choose one of: {', '.join(DATA_TYPES)})")
    if split not in SPLITS:
        raise ConfigError(f"split: {split!r} is not allowed (choose one of: {', '.join(SPLITS)})")
    for path, what in ((target, "run folder or model file"), (data, "--data folder"), (model, "--model file")):
        if path is not None and not path.exists():
            raise SourceError(f"{path}: no such {what} (it does not exist)")
    run = is_run_dir(target)
    if not run and target.is_dir():
        raise SourceError(f"{target}: not a training run folder (no config.yaml / checkpoints/) nor a model file")
    from maskwatch.evaluate.evaluator import evaluate_model, evaluate_run, load_predictor  # TensorFlow

    if run and data is None:
        return evaluate_run(target, split, model=model, out_dir=out)
    if data is None:
        raise ConfigError(f"{target}: a model file needs --data (a folder of class folders or a VOC folder)")
    model_path = (model or best_checkpoint(target)) if run else target
    predictor = load_predictor(model_path)
    dataset = load_eval_dataset(data, list(predictor.labels), data_type)
    default_out = (target if run else Path.cwd()) / f"eval_{Path(model_path).stem}_{data.name}"
    return evaluate_model(predictor, dataset, out or default_out, title=f"{Path(model_path).name} on {data}")
