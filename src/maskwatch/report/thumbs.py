"""Thumbnails of the worst images / frames, with their boxes drawn, as data: URIs for the page.

Images are read from the `source` path in their record (within a small decode budget); video
frames are read from the video file by index. A file that moved or cannot be read gives no
thumbnail, and the report says so, never fails.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np

from maskwatch.report.results import Entry

THUMB_SIDE = 360


def _detections(entry: Entry, labels: list[str], scale: float):
    from maskwatch.detections import from_faces, with_classes

    faces = [f for f in entry.detections if "box" in f]
    boxes = np.array([f["box"] for f in faces], dtype=np.float32).reshape(-1, 4) * scale
    detections = from_faces(boxes, np.array([f.get("face_score", 1.0) for f in faces], dtype=np.float32))
    probabilities = np.zeros((len(faces), len(labels)), dtype=np.float32)
    for i, face in enumerate(faces):
        label = str(face.get("label", ""))
        if label in labels:
            probabilities[i, labels.index(label)] = float(face.get("confidence", 1.0))
    return with_classes(detections, probabilities, labels)


def _encode(rgb: np.ndarray) -> str:
    from maskwatch.images import encode_jpeg

    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(rgb, quality=82)).decode("ascii")


def _shrink(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale < 1.0:
        rgb = cv2.resize(
            rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
    return rgb, scale


def _draw(rgb: np.ndarray, entry: Entry, labels: list[str], to_rgb: float) -> str:
    from maskwatch.annotate import FrameAnnotator

    small, scale = _shrink(rgb, THUMB_SIDE)
    drawn = FrameAnnotator(labels, "none", summary=True).annotate(small, _detections(entry, labels, to_rgb * scale))
    return _encode(drawn)


def image_thumbnail(entry: Entry, labels: list[str], base: Path) -> str | None:
    """The image of an entry with its boxes, or None when its file cannot be read."""
    from maskwatch.errors import BadImageError
    from maskwatch.images import read_image

    path = Path(entry.name)
    if not path.is_absolute() and not path.exists():
        path = base / path
    try:
        image = read_image(path, max_decoded=4 * THUMB_SIDE * THUMB_SIDE)
    except BadImageError:
        return None
    return _draw(image.rgb, entry, labels, image.scale)


def video_thumbnails(entries: list[Entry], labels: list[str], video: str | os.PathLike | None) -> dict[int, str]:
    """Thumbnails of the given frames of a video file, by frame index (missing ones left out)."""
    if video is None or not Path(video).is_file():
        return {}
    import cv2

    capture = cv2.VideoCapture(str(video))
    out: dict[int, str] = {}
    try:
        for entry in sorted(entries, key=lambda e: e.frame or 0):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(entry.frame or 0))
            ok, bgr = capture.read()
            if ok and bgr is not None:
                out[int(entry.frame or 0)] = _draw(np.ascontiguousarray(bgr[..., ::-1]), entry, labels, 1.0)
    finally:
        capture.release()
    return out
