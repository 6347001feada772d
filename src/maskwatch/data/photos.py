"""Whole photos with one label per photo (root/<class>/*.jpg): the faces are found by the face detector.

Web collections (shared/data/webmask) and many users' own folders are like this: "every photo
in masked/ shows people wearing a mask", but no boxes. The face detector the pipeline uses finds
the faces, each box is framed the way the pipeline frames detector boxes before classifying, and
the photo's label is given to the largest face (`faces="largest"`, the safe default: a photo is
usually about one person) or to every face at least `min_face` px (`faces="all"`, for group
photos where everybody shares the label). A photo where no face is found is skipped and counted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from maskwatch.data.folder import class_folders, manifest_groups
from maskwatch.data.labels import LabelMap, map_label, order_labels
from maskwatch.data.samples import DatasetError, FaceDataset, FaceSample, SkippedFile
from maskwatch.data.scenes import Skip, check_box
from maskwatch.errors import BadImageError
from maskwatch.images import iter_image_files, load_image

log = logging.getLogger(__name__)

#: `find_faces(rgb) -> (N, 4) xyxy boxes`, already framed as the pipeline frames them.
FaceFinder = Callable[[np.ndarray], np.ndarray]


def load_photo_dataset(
    root: str | os.PathLike,
    faces: Literal["largest", "all"] = "largest",
    min_face: int = 24,
    margin: float = 0.1,
    manifest: str | os.PathLike | None = None,
    label_map: LabelMap | None = None,
    *,
    labels: Sequence[str] | None = None,
    source: str | None = None,
    find_faces: FaceFinder | None = None,
) -> FaceDataset:
    """One sample per face found in root/<class>/* photos, labelled with the photo's class.

    Args:
        faces: "largest" keeps the largest face of a photo, "all" every face of at least min_face px.
        min_face: smallest face side kept (pixels of the photo); smaller faces are skipped.
        margin, label_map, labels, source: as in `load_voc_dataset`.
        manifest: CSV with file, group columns (photo groups); otherwise each photo is its own group.
        find_faces: the face finder, e.g. the detection pipeline's own
            (`maskwatch.train.faces.pipeline_face_finder()`, which training passes in).
    """
    if faces not in ("largest", "all"):
        raise DatasetError(f"faces must be 'largest' or 'all', not {faces!r}")
    root = Path(root).absolute()
    files: list[tuple[Path, str]] = []
    found_labels: list[str] = []
    for folder in class_folders(root):
        label = map_label(folder.name, label_map)
        if label is None:
            continue
        found_labels.append(label)
        files.extend((path, label) for path in iter_image_files(folder))
    ordered = order_labels(found_labels, labels, str(root))
    if not files:
        raise DatasetError(f"{root}: no photos found in its class folders")
    groups = manifest_groups([str(p) for p, _ in files], manifest) if manifest else {}
    if find_faces is None:
        raise DatasetError(f"{root}: a photos source needs a face finder (find_faces) to locate the faces")
    finder = find_faces

    samples: list[FaceSample] = []
    skipped: list[SkippedFile] = []
    for path, label in files:
        try:
            rgb = load_image(path)
        except BadImageError as exc:
            log.warning("skipped %s: %s", path, exc.reason)
            skipped.append(SkippedFile(str(path), exc.reason, "bad_image"))
            continue
        height, width = rgb.shape[:2]
        boxes = _usable_boxes(np.asarray(finder(rgb), dtype=np.float64).reshape(-1, 4), width, height, min_face)
        if not boxes:
            reason = f"no face of at least {min_face} px found"
            log.warning("skipped %s: %s", path, reason)
            skipped.append(SkippedFile(str(path), reason, "no_face"))
            continue
        if faces == "largest":
            boxes = [max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))]
        group = groups.get(str(path), path.stem)
        samples.extend(FaceSample(str(path), label, group, box, source or root.name, margin) for box in boxes)
    if not samples:
        raise DatasetError(f"{root}: no face found in any of its {len(files)} photos")
    return FaceDataset(samples, ordered, skipped)


def _usable_boxes(boxes: np.ndarray, width: int, height: int, min_face: int) -> list[tuple[float, ...]]:
    usable = []
    for box in boxes:
        try:
            usable.append(check_box(tuple(float(v) for v in box), width, height, min_face))
        except Skip:
            continue
    return usable
