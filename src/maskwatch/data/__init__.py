"""Face datasets for training: find faces on disk, group copies, split, re-sample, load pixels.

Datasets hold references only (file, label, group, box); pixels are read by `load_faces`
through the same loader, crop and resize as inference::

    from maskwatch import data

    ds = data.combine(
        data.load_folder_dataset("shared/data/mask2", manifest="shared/data/MANIFEST.csv"),
        data.load_voc_dataset("shared/data/voc3"),
    )
    splits = data.group_split(ds, val=0.15, test=0.15, seed=0)
    print(data.describe(splits, skipped=ds.skipped))
    x, y, skipped = data.load_faces(splits["train"], (224, 224))
"""

from __future__ import annotations

from maskwatch.data.faces import load_faces, loaded_indices
from maskwatch.data.folder import load_folder_dataset
from maskwatch.data.labels import map_label
from maskwatch.data.photos import load_photo_dataset
from maskwatch.data.report import describe
from maskwatch.data.samples import DatasetError, FaceDataset, FaceSample, SkippedFile, combine
from maskwatch.data.sampling import class_weights, oversample, sample_per_class
from maskwatch.data.scenes import MIN_FACE
from maskwatch.data.sources import load_source, load_sources, split_dataset
from maskwatch.data.split import SPLITS, group_split
from maskwatch.data.voc import load_voc_dataset
from maskwatch.data.yolo import load_yolo_dataset

__all__ = [
    "MIN_FACE",
    "SPLITS",
    "DatasetError",
    "FaceDataset",
    "FaceSample",
    "SkippedFile",
    "class_weights",
    "combine",
    "describe",
    "group_split",
    "load_faces",
    "loaded_indices",
    "load_folder_dataset",
    "load_photo_dataset",
    "load_source",
    "load_sources",
    "load_voc_dataset",
    "load_yolo_dataset",
    "map_label",
    "oversample",
    "sample_per_class",
    "split_dataset",
]
