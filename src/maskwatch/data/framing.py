"""Training crops framed the way the detection pipeline frames faces.

The classifier only ever sees detector boxes at run time (reframed by the pipeline to look like
annotated boxes), yet annotated scenes give annotator boxes: tighter or looser, higher or lower,
depending on the person who drew them. Running the pipeline's own face finder on the training
scenes and matching its boxes to the annotations (IoU >= `min_iou`) gives a second crop of the
same face with the annotation's label, framed exactly as it will be at run time. Faces the
detector misses keep only their annotated crop. Only the train split gets these extra samples;
validation and test stay annotated crops, like the evaluation sets.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict

import numpy as np
import supervision as sv

from maskwatch.data.photos import FaceFinder
from maskwatch.data.samples import FaceDataset, FaceSample
from maskwatch.errors import BadImageError
from maskwatch.images import load_image

log = logging.getLogger(__name__)


def add_detector_framing(
    dataset: FaceDataset, find_faces: FaceFinder, sources: set[str] | None = None, min_iou: float = 0.4
) -> FaceDataset:
    """The dataset plus one detector-framed copy of every annotated scene face the detector finds.

    sources: the names of the annotated-scene sources (None = every sample with a box); photos
    sources are left out, their boxes already come from the detector.

    Each detector box is matched to at most one annotation (greedy, highest IoU first). The copy
    keeps the sample's label, group and source, so it never crosses a split boundary.
    """
    by_path: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(dataset.samples):
        if sample.box is not None and (sources is None or sample.source in sources):
            by_path[sample.path].append(i)
    extra: list[FaceSample] = []
    for path, indices in by_path.items():
        try:
            found = np.asarray(find_faces(load_image(path)), dtype=float).reshape(-1, 4)
        except BadImageError:
            continue  # load_faces reports the file when it reads it
        if not len(found):
            continue
        annotated = np.array([dataset.samples[i].box for i in indices], dtype=float)
        iou = sv.box_iou_batch(annotated.astype(np.float32), found.astype(np.float32))
        while iou.size and iou.max() >= min_iou:
            a, d = np.unravel_index(int(iou.argmax()), iou.shape)
            box = tuple(float(v) for v in found[d])
            extra.append(dataclasses.replace(dataset.samples[indices[a]], box=box))
            iou[a, :], iou[:, d] = -1.0, -1.0
    log.info(
        "detector framing: %d of %d scene faces found by the detector", len(extra), sum(map(len, by_path.values()))
    )
    return FaceDataset(dataset.samples + extra, dataset.labels, dataset.skipped)
