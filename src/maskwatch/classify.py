"""`maskwatch.classify`: label face crops (one image, a folder, or a folder of class folders).

Each image is taken as one face crop, resized and classified as a whole; to find faces in
scenes first, use `maskwatch.detect`. A folder whose sub-folders are named after the model's
labels (e.g. `with_mask/`, `without_mask/`) is treated as labelled data: every result also gets
its `true_label`, and `summarize` gives accuracy and per-class metrics.

    >>> import maskwatch
    >>> maskwatch.classify("face.jpg")
    [{'path': 'face.jpg', 'label': 'with_mask', 'confidence': 0.98, 'probabilities': {...}}]

A file that cannot be read is logged (name + reason) and skipped; it never stops a folder.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.callable_module import make_callable
from maskwatch.classifier import Classifier
from maskwatch.errors import BadImageError, SourceError
from maskwatch.images import DECODE_PIXELS, is_image_path, iter_image_files, read_image
from maskwatch.records import crop_record

log = logging.getLogger(__name__)

BATCH = 32


@dataclass
class ClassifyRun:
    """Everything one classify call produced: results, skipped files, and the labelled-folder flag."""

    results: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    labelled: bool = False
    labels: list[str] = field(default_factory=list)


def resolve_classifier(model: Classifier | str | os.PathLike | None) -> Classifier:
    """A ready Classifier from None (the shipped default), a model file path, or a Classifier."""
    if isinstance(model, Classifier):
        return model
    return Classifier.load(model)


def list_source(source: str | os.PathLike, labels: Sequence[str]) -> tuple[list[Path], list[str | None], bool]:
    """Image files of `source` and the true label of each (from a class folder name, else None)."""
    root = Path(source)
    if root.is_file():
        kind = mimetypes.guess_type(root.name)[0] or ""
        if kind.startswith("video/"):
            raise SourceError(
                f"{root}: is a video; classify labels face crops (images). For video use: maskwatch detect {root}"
            )
        return [root], [None], False
    if not root.exists():
        raise SourceError(f"{root}: no such file or folder")
    if not root.is_dir():
        raise SourceError(f"{root}: not a file or folder")
    files = list(iter_image_files(root))
    class_dirs = {p.name for p in root.iterdir() if p.is_dir() and p.name in set(labels)}
    truth: list[str | None] = []
    for path in files:
        top = path.relative_to(root).parts[0]
        truth.append(top if top in class_dirs and path.parent != root else None)
    return files, truth, bool(class_dirs)


def _load_all(files: Sequence[Path], skipped: list[tuple[str, str]]) -> Iterator[tuple[int, np.ndarray]]:
    for i, path in enumerate(files):
        try:
            # A face is classified at 224 px: a large photo is decoded reduced (bounded memory).
            yield i, read_image(path, max_decoded=DECODE_PIXELS).rgb
        except BadImageError as exc:
            log.warning("skipped %s: %s", exc.path, exc.reason)
            skipped.append((exc.path, exc.reason))


def classify_source(
    source: str | os.PathLike, model: Classifier | str | os.PathLike | None = None, batch_size: int = BATCH
) -> ClassifyRun:
    """Classify every image of `source`; returns results plus skipped files (what the CLI shows)."""
    classifier = resolve_classifier(model)
    labels = list(classifier.labels)
    files, truth, labelled = list_source(source, labels)
    if Path(source).is_file() and not is_image_path(source):
        log.info("%s: suffix is not a known image type; trying to read it anyway", source)
    run = ClassifyRun(labelled=labelled, labels=labels)
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        probs = classifier.predict([face for _, face in batch])
        for (i, _), row in zip(batch, probs, strict=True):
            run.results.append(crop_record(str(files[i]), row, labels, decimals=None, true_label=truth[i]).to_dict())
        batch.clear()

    for item in _load_all(files, run.skipped):
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if not files:
        log.warning("%s: no image files found", source)
    return run


def classify(
    source: str | os.PathLike,
    model: Classifier | str | os.PathLike | None = None,
    save_json: str | os.PathLike | None = None,
    batch_size: int = 32,
) -> list[dict]:
    """Label face crops: one dict per readable image with source, label, confidence, probabilities.

    source: an image file, a folder (searched recursively) or a folder of class folders
    (then each dict also has `true_label`). model: a model file (.tflite/.onnx/.keras with its
    sidecar json), a loaded `Classifier`, or None for the model shipped with maskwatch.
    save_json: also write the results there. batch_size: faces per classifier call.
    """
    results = classify_source(source, model, batch_size=batch_size).results
    if save_json is not None:
        save_results(results, save_json)
    return results


def save_results(results: Sequence[dict], path: str | os.PathLike) -> Path:
    """The classify results as a JSON list (atomically)."""
    import json

    from maskwatch.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(list(results), indent=2) + "\n")


def summarize(results: Sequence[dict], labels: Sequence[str]) -> dict | None:
    """Accuracy and per-class metrics over results that carry a `true_label` (None if none do).

    Uses scikit-learn through `maskwatch.metrics` when it is installed (the `train`
    extra); otherwise only accuracy is given.
    """
    known = [r for r in results if r.get("true_label") in labels]
    if not known:
        return None
    index = {label: i for i, label in enumerate(labels)}
    y_true = np.array([index[r["true_label"]] for r in known], dtype=np.int64)
    probs = np.array([[r["probabilities"][label] for label in labels] for r in known], dtype=np.float64)
    try:
        from maskwatch.metrics import compute_metrics

        return compute_metrics(y_true, probs, labels)
    except ImportError:  # scikit-learn not installed: inference-only install
        return {"n": len(known), "labels": list(labels), "accuracy": float((probs.argmax(1) == y_true).mean())}


make_callable(__name__, __name__, "classify")
