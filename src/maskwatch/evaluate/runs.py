"""The held-out faces of a training run, as evaluation reads them.

The run folder itself (paths, `split.csv`, checkpoints) belongs to `maskwatch.runs`; this module
adds what only evaluation needs: runs older than `split.csv` get their split rebuilt from their
own config (same seed, same code), which needs the training config and the data loaders.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.errors import ConfigError
from maskwatch.runs import RunPaths


def run_split(run_dir: str | os.PathLike, split: str = "test", labels: list[str] | None = None):
    """The FaceDataset of one split of a run, read from its split.csv (or rebuilt from its config).

    labels: label order of the dataset (the model's outputs); default the checkpoint's labels.
    """
    from maskwatch.runs import best_checkpoint, read_split

    paths = RunPaths(Path(run_dir))
    if paths.split.is_file():
        return read_split(paths.root, split, labels)
    if labels is None:
        from maskwatch.classifier import read_model_info

        labels = read_model_info(best_checkpoint(paths.root)).labels
    return _rebuild_split(paths, split, labels)


def _rebuild_split(paths: RunPaths, split: str, labels: list[str]):
    """Older runs without split.csv: split the configured data again (same seed, same code)."""
    from maskwatch.data import FaceDataset, load_sources, split_dataset
    from maskwatch.train.config import load_config
    from maskwatch.train.faces import pipeline_face_finder

    if not paths.config.is_file():
        raise ConfigError(
            f"{paths.root}: neither {paths.split.name} nor {paths.config.name} found; is this a maskwatch run folder?"
        )
    cfg = load_config(paths.config)
    photos = any(src.type == "photos" for src in cfg.data.sources)
    splits = split_dataset(load_sources(cfg.data, pipeline_face_finder() if photos else None), cfg.data)
    if split not in splits or len(splits[split]) == 0:
        raise ConfigError(f"{paths.root}: the run has no {split!r} split")
    dataset = splits[split]
    if list(dataset.labels) != list(labels):
        dataset = FaceDataset(dataset.samples, list(labels))
    return dataset
