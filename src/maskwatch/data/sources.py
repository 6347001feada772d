"""The configured data sources as one dataset, and its group split: the first step of every run.

Each source type has its own loader (folder, voc, yolo, photos); this module only dispatches on
the config's `type`, marks synthetic sources (`real: false`) so evaluation can keep them apart,
and splits by group. Training and evaluation both call it, so the split a run wrote and the one
evaluation rebuilds cannot disagree.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from maskwatch.data.folder import load_folder_dataset
from maskwatch.data.photos import FaceFinder, load_photo_dataset
from maskwatch.data.samples import FaceDataset, combine
from maskwatch.data.sampling import sample_per_class
from maskwatch.data.split import group_split
from maskwatch.data.voc import load_voc_dataset
from maskwatch.data.yolo import load_yolo_dataset
from maskwatch.errors import ConfigError

log = logging.getLogger(__name__)


def load_source(src: Any, labels: list[str] | None, find_faces: FaceFinder | None = None) -> FaceDataset:
    """One configured source (a SourceConfig: type, path, manifest, label_map, margin, min_face, faces)."""
    scene = {"margin": src.margin, "label_map": src.label_map, "labels": labels}
    if src.min_face is not None:
        scene["min_face"] = src.min_face
    if src.type == "folder":
        ds = load_folder_dataset(src.path, manifest=src.manifest, label_map=src.label_map, labels=labels)
    elif src.type == "voc":
        ds = load_voc_dataset(src.path, **scene)
    elif src.type == "yolo":
        ds = load_yolo_dataset(src.path, **scene)
    elif src.type == "photos":
        ds = load_photo_dataset(src.path, faces=src.faces, manifest=src.manifest, find_faces=find_faces, **scene)
    else:
        raise ConfigError(f"data source type {src.type!r} is unknown (folder, voc, yolo, photos)")
    if not src.real:
        ds.samples = [dataclasses.replace(s, real=False) for s in ds.samples]
    return ds


def load_sources(data_cfg: Any, find_faces: FaceFinder | None = None) -> FaceDataset:
    """Every source of a DataConfig as one FaceDataset, in `labels` order, capped per class if asked."""
    datasets = []
    for src in data_cfg.sources:
        ds = load_source(src, data_cfg.labels, find_faces)
        log.info("source %s (%s): %s", src.path, src.type, ds.summary())
        datasets.append(ds)
    dataset = combine(*datasets)
    if data_cfg.sample_per_class:
        dataset = sample_per_class(dataset, data_cfg.sample_per_class, seed=data_cfg.seed)
    if len(dataset.labels) < 2:
        raise ConfigError(f"data.sources: only one class found ({dataset.labels}); a classifier needs two or more")
    return dataset


def split_dataset(dataset: FaceDataset, data_cfg: Any) -> dict[str, FaceDataset]:
    """train / val / test by group (data.val, data.test, data.seed); train and val must not be empty."""
    splits = group_split(dataset, val=data_cfg.val, test=data_cfg.test, seed=data_cfg.seed)
    for split_name in ("train", "val"):
        if len(splits[split_name]) == 0:
            raise ConfigError(f"data.{split_name}: the {split_name} split is empty; use more data or another fraction")
    return splits
