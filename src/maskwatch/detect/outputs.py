"""What `maskwatch detect` leaves behind: annotated images and JSON / CSV / COCO result files.

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

from maskwatch.atomic import atomic_write_text
from maskwatch.detections import LABEL
from maskwatch.records import ImageRecord, coco_document, csv_columns, csv_rows, image_record

#: Box colours per label (RGB hex): green / red / amber, the same in the web app.
LABEL_COLORS = {
    "with_mask": "#22c55e",
    "without_mask": "#ef4444",
    "mask_weared_incorrect": "#f59e0b",
}
_FALLBACK = ("#3498db", "#9b59b6", "#1abc9c", "#f1c40f")


def label_palette(labels: Sequence[str]) -> sv.ColorPalette:
    """A palette indexed by class id whose colours follow the label names, not their order."""
    colors = [LABEL_COLORS.get(label, _FALLBACK[i % len(_FALLBACK)]) for i, label in enumerate(labels)]
    return sv.ColorPalette([sv.Color.from_hex(c) for c in colors])


class FrameAnnotator:
    """Draws coloured boxes and "label 0.97" captions (supervision BoxAnnotator + LabelAnnotator).

    Line width and text size follow the image size (supervision's optimal-size helpers), so a
    4000 px photo and a 400 px thumbnail both stay readable.
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.palette = label_palette(self.labels)
        self._cache: dict[tuple[int, int], tuple[sv.BoxAnnotator, sv.LabelAnnotator]] = {}

    def _annotators(self, width: int, height: int) -> tuple[sv.BoxAnnotator, sv.LabelAnnotator]:
        key = (width, height)
        if key not in self._cache:
            thickness = sv.calculate_optimal_line_thickness((width, height))
            scale = max(0.35, sv.calculate_optimal_text_scale((width, height)) * 0.6)
            self._cache[key] = (
                sv.BoxAnnotator(color=self.palette, thickness=thickness, color_lookup=sv.ColorLookup.CLASS),
                sv.LabelAnnotator(
                    color=self.palette,
                    color_lookup=sv.ColorLookup.CLASS,
                    text_color=sv.Color.BLACK,
                    text_scale=scale,
                    text_thickness=1,
                    text_padding=max(2, thickness + 1),
                    smart_position=True,
                ),
            )
            if len(self._cache) > 16:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[key]

    def annotate(self, rgb: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """A copy of rgb with the detections drawn on it (input is never modified)."""
        if len(detections) == 0 or detections.class_id is None:
            return rgb.copy()
        height, width = rgb.shape[:2]
        boxes, captions = self._annotators(width, height)
        names = detections.data.get(LABEL)
        tracks = detections.tracker_id
        text = [
            (f"#{int(tracks[i])} " if tracks is not None and tracks[i] >= 0 else "")
            + f"{names[i] if names is not None else self.labels[int(detections.class_id[i])]} "
            f"{float(detections.confidence[i]):.2f}"
            for i in range(len(detections))
        ]
        # supervision draws numpy scenes as OpenCV BGR: draw in BGR so the colours come out true.
        scene = np.ascontiguousarray(rgb[..., ::-1])
        scene = boxes.annotate(scene, detections)
        scene = captions.annotate(scene, detections, labels=text)
        return np.ascontiguousarray(scene[..., ::-1])


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
