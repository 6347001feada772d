"""The one record schema maskwatch shows the outside world (pydantic models).

Inside, every stage passes `supervision.Detections` (see `maskwatch.detections`). Outside, a face
is a `FaceRecord`, an image an `ImageRecord`, a video frame a `FrameRecord`, a classified crop a
`CropRecord`: the REST API declares them as its `response_model`, and every writer (JSON,
JSON Lines, CSV, COCO) builds its output from them, so a field means the same everywhere.

    records = face_records(detections, labels)            # list[FaceRecord]
    ImageRecord(source="a.jpg", width=640, height=480, detections=records).to_dict()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field

from maskwatch.detections import FACE_SCORE, LABEL, PROBABILITIES, RAW_PROBABILITIES

#: What the outputs round to: boxes to 0.1 px, scores and probabilities to 4 decimals.
BOX_DECIMALS = 1
SCORE_DECIMALS = 4


class Record(BaseModel):
    """A record: fields in a fixed order, unknown fields refused, None-valued optional fields left out."""

    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; optional fields appear only when they were set (video sets them all)."""
        return self.model_dump(mode="json", exclude_unset=True)


class FaceRecord(Record):
    """One face in an image or a video frame."""

    track_id: int | None = Field(None, description="video: the tracked person (None until the track is confirmed)")
    box: list[float] = Field(description="face box x1, y1, x2, y2 in pixels of the image")
    label: str | None = Field(None, description="with_mask, without_mask or mask_weared_incorrect (the model's labels)")
    confidence: float | None = Field(None, description="probability of `label`")
    face_score: float | None = Field(None, description="face detector score")
    probabilities: dict[str, float] | None = Field(None, description="probability of every label")
    raw_probabilities: dict[str, float] | None = Field(
        None, description="video: this frame's classifier output before smoothing (None when not re-classified)"
    )


class ImageRecord(Record):
    """One image: `maskwatch detect --save-json` writes a list of these, the API answers one."""

    source: str
    width: int
    height: int
    detections: list[FaceRecord]


class FrameRecord(Record):
    """One video frame: a line of the JSON Lines output."""

    type: Literal["frame"] = "frame"
    frame: int = Field(description="0-based frame index")
    time: float = Field(description="seconds since the start of the video or stream")
    detections: list[FaceRecord]


class CropRecord(Record):
    """One face crop classified as a whole (`maskwatch classify`, `POST /api/v1/classify`)."""

    source: str = Field(description="the file (or upload) name")
    width: int | None = None
    height: int | None = None
    label: str
    confidence: float
    probabilities: dict[str, float]
    true_label: str | None = Field(None, description="the class folder the crop came from, when there is one")


def rounded(value: float, decimals: int | None = SCORE_DECIMALS) -> float:
    """`value` as a float rounded for output (None: full precision)."""
    return float(value) if decimals is None else round(float(value), decimals)


def probability_dict(labels: Sequence[str], probs: Iterable[float], decimals: int | None = SCORE_DECIMALS) -> dict:
    """{label: p} rounded for output."""
    return {str(label): rounded(p, decimals) for label, p in zip(labels, probs, strict=True)}


def face_records(detections: sv.Detections, labels: Sequence[str], *, video: bool = False) -> list[FaceRecord]:
    """The FaceRecords of detections (labelled or not); `video` adds track ids and raw probabilities.

    `labels` are the model's outputs: `data["probabilities"]` columns and `class_id` values.
    """
    probs = detections.data.get(PROBABILITIES)
    scores = detections.data.get(FACE_SCORE)
    names = detections.data.get(LABEL)
    raw = detections.data.get(RAW_PROBABILITIES)
    labelled = probs is not None and detections.class_id is not None
    out = []
    for i in range(len(detections)):
        fields: dict[str, Any] = {}
        if video:
            track = int(detections.tracker_id[i]) if detections.tracker_id is not None else -1
            fields["track_id"] = track if track >= 0 else None
        elif detections.tracker_id is not None:
            fields["track_id"] = int(detections.tracker_id[i])
        fields["box"] = [rounded(v, BOX_DECIMALS) for v in detections.xyxy[i]]
        if labelled:
            fields["label"] = str(names[i]) if names is not None else str(labels[int(detections.class_id[i])])
            fields["confidence"] = rounded(detections.confidence[i])
        if scores is not None or video:
            fields["face_score"] = rounded(scores[i]) if scores is not None else None
        if labelled:
            fields["probabilities"] = probability_dict(labels, probs[i])
        if video:
            row = None if raw is None else np.asarray(raw[i])
            fields["raw_probabilities"] = None if row is None or np.isnan(row).any() else probability_dict(labels, row)
        out.append(FaceRecord(**fields))
    return out


def image_record(source: str, size: tuple[int, int], detections: sv.Detections, labels: Sequence[str]) -> ImageRecord:
    """size: (height, width), as `rgb.shape[:2]`."""
    height, width = size
    return ImageRecord(source=source, width=int(width), height=int(height), detections=face_records(detections, labels))


def crop_record(
    source: str, probs: np.ndarray, labels: Sequence[str], decimals: int | None = SCORE_DECIMALS, **extra: Any
) -> CropRecord:
    """A classified crop from its probabilities (width/height/true_label in `extra` when known).

    decimals: None keeps full precision (`maskwatch.classify` results feed metrics and thresholds).
    """
    best = int(np.argmax(probs))
    return CropRecord(
        source=source,
        label=str(labels[best]),
        confidence=rounded(probs[best], decimals),
        probabilities=probability_dict(labels, probs, decimals),
        **{k: v for k, v in extra.items() if v is not None},
    )


# ---------------------------------------------------------------------------------------------
# Writers' shapes: CSV rows and a COCO file, both built from ImageRecords
# ---------------------------------------------------------------------------------------------


def csv_columns(labels: Sequence[str]) -> list[str]:
    base = ["source", "width", "height", "face", "x1", "y1", "x2", "y2", "label", "confidence", "face_score"]
    return [*base, *(f"p_{label}" for label in labels)]


def csv_rows(images: Iterable[ImageRecord], labels: Sequence[str]) -> Iterable[list]:
    """One row per face (an image without faces has none); probabilities as p_<label> columns."""
    for image in images:
        for i, face in enumerate(image.detections):
            probs = face.probabilities or {}
            yield [
                image.source,
                image.width,
                image.height,
                i,
                *face.box,
                face.label or "",
                "" if face.confidence is None else face.confidence,
                "" if face.face_score is None else face.face_score,
                *(probs.get(label, "") for label in labels),
            ]


def detection_score(face: FaceRecord) -> float:
    """Ranking score of a labelled face: P(face) x P(label | face).

    Multiplying in the detector's face score puts doubtful boxes behind sure ones with the same
    label probability, which is what an AP ranking needs.
    """
    face_score = 1.0 if face.face_score is None else face.face_score
    confidence = 1.0 if face.confidence is None else face.confidence
    return float(face_score) * float(confidence)


def coco_document(images: Sequence[ImageRecord], labels: Sequence[str]) -> dict[str, Any]:
    """A COCO detection file: `images`, `categories` and scored `annotations`.

    image ids are 1-based positions in `images`, category ids 1-based positions in `labels`, bbox
    is [x, y, width, height]. With the images and categories beside them, the detections can be
    matched against COCO ground truth (pycocotools `COCO.loadRes` takes `annotations`).
    """
    categories = {label: i for i, label in enumerate(labels, start=1)}
    annotations = []
    for image_id, image in enumerate(images, start=1):
        for face in image.detections:
            if face.label is None:
                continue
            x1, y1, x2, y2 = face.box
            width, height = round(x2 - x1, BOX_DECIMALS), round(y2 - y1, BOX_DECIMALS)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": categories[face.label],
                    "bbox": [round(x1, BOX_DECIMALS), round(y1, BOX_DECIMALS), width, height],
                    "area": round(width * height, BOX_DECIMALS),
                    "iscrowd": 0,
                    "score": rounded(detection_score(face)),
                }
            )
    return {
        "images": [
            {"id": i, "file_name": image.source, "width": image.width, "height": image.height}
            for i, image in enumerate(images, start=1)
        ],
        "categories": [{"id": i, "name": label, "supercategory": "face"} for label, i in categories.items()],
        "annotations": annotations,
    }
