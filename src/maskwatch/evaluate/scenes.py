"""The whole pipeline (face detector + classifier) on a run's held-out real scenes.

Crop accuracy says nothing about the faces the detector misses or frames badly, so a run whose
held-out split holds annotated scenes (VOC or YOLO sources) is also scored end to end on those
scene images: mAP@0.5, face recall and label accuracy on found faces by face width
(maskwatch.detect.evaluation). Photos sources are left out: their boxes come from the detector
itself and not every face in them is labelled.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

SCENE_TYPES = ("voc", "yolo")


def scene_source_names(run_dir: str | os.PathLike) -> set[str]:
    """Names (folder names, as samples carry them) of the run's annotated-scene sources."""
    from maskwatch.runs import RunPaths
    from maskwatch.train.config import load_config

    cfg = load_config(RunPaths(Path(run_dir)).config)
    return {Path(src.path).name for src in cfg.data.sources if src.type in SCENE_TYPES}


def split_scenes(dataset, sources: set[str]) -> list:
    """The split's scene images as VocScene (every annotated face of that image in the split)."""
    from maskwatch.detect.evaluation import VocScene

    grouped: dict[str, list] = defaultdict(list)
    for sample in dataset.samples:
        if sample.box is not None and sample.source in sources:
            grouped[sample.path].append(sample)
    return [
        VocScene(Path(path), np.array([s.box for s in samples], np.float32), [s.label for s in samples])
        for path, samples in sorted(grouped.items())
    ]


def evaluate_scenes(run_dir: str | os.PathLike, dataset, model: str | os.PathLike, verbose: bool = True):
    """Detection report (evaluate_detection) of `model` on the scene images of a run's split, or None.

    dataset: that split of the run (evaluate.runs.run_split).
    """
    from maskwatch.detect.evaluation import evaluate_detection

    scenes = split_scenes(dataset, scene_source_names(run_dir))
    if not scenes:
        return None
    return evaluate_detection(scenes, model=model, verbose=verbose)
