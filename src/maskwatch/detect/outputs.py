"""What `maskwatch detect` leaves behind: JSON / CSV / COCO result files and where annotated images go.

(The annotator itself is `maskwatch.annotate`, beside the detections type it draws, shared with video.)

One result per image, in the same shape the web API returns::

    {"source": "crowd.jpg", "width": 400, "height": 267,
     "detections": [{"box": [x1, y1, x2, y2], "label": "with_mask", "confidence": 0.97,
                     "face_score": 0.91, "probabilities": {"with_mask": 0.97, ...}}]}

Every file is written through a temporary file and renamed (images.atomic_write_*), so an
interrupted run never leaves a half-written result. The sinks are small writers of their own
rather than supervision's CSVSink/JSONSink: those write one flat row per detection as they go
(no per-image nesting, no per-label probability columns, no atomic rename).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import supervision as sv

from maskwatch.annotate import LABEL_COLORS, FrameAnnotator, label_palette  # noqa: F401  (re-exported)
from maskwatch.atomic import atomic_write_text
from maskwatch.records import ImageRecord, coco_document, csv_columns, csv_rows, image_record


def image_result(
    source: str, rgb: np.ndarray | tuple[int, int], detections: sv.Detections, labels: Sequence[str]
) -> dict:
    """The JSON record of one image (`maskwatch.records.ImageRecord`); rgb may be the image or its (height, width)."""
    size = rgb if isinstance(rgb, tuple) else rgb.shape[:2]
    return image_record(source, size, detections, labels).to_dict()


def _images(results: Sequence[dict | ImageRecord]) -> list[ImageRecord]:
    """Results as ImageRecords: a dict that does not fit the schema is refused before anything is written."""
    return [r if isinstance(r, ImageRecord) else ImageRecord.model_validate(r) for r in results]


def write_json(results: Sequence[dict | ImageRecord], path: str | os.PathLike) -> Path:
    """The list of image results, as returned by detect()."""
    return atomic_write_text(path, json.dumps([r.to_dict() for r in _images(results)], indent=2) + "\n")


def write_csv(results: Sequence[dict | ImageRecord], path: str | os.PathLike, labels: Sequence[str]) -> Path:
    """One row per face (images without faces have no row); probabilities as p_<label> columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_columns(labels))
    writer.writerows(csv_rows(_images(results), labels))
    return atomic_write_text(path, buffer.getvalue())


def write_coco(results: Sequence[dict | ImageRecord], path: str | os.PathLike, labels: Sequence[str]) -> Path:
    """A COCO detection file with images, categories and scored annotations (records.coco_document)."""
    return atomic_write_text(path, json.dumps(coco_document(_images(results), labels)) + "\n")


def annotated_path(save_dir: str | os.PathLike, relative: Path) -> Path:
    """save_dir/<relative path>, keeping PNG as PNG and writing everything else as JPEG."""
    suffix = ".png" if relative.suffix.lower() == ".png" else ".jpg"
    return Path(save_dir) / relative.with_suffix(suffix)
