"""Read a training run folder (`runs/<name>/`) as `maskwatch.train` writes it.

What evaluation and export need from a run: the best checkpoint with its sidecar
(`checkpoints/best.keras` + `.json`: labels, input size, backbone), the learning curves
(`history.csv`) and the exact samples of each split (`split.csv`: split, path, label, group,
source, box, margin). Reading the split back from `split.csv`, rather than re-splitting the data,
guarantees the test faces are the ones training never saw, even if the data folder changed since.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from maskwatch.errors import ConfigError, ModelFileError

CONFIG = "config.yaml"
BEST = Path("checkpoints") / "best.keras"
HISTORY = "history.csv"
SPLIT = "split.csv"


def is_run_dir(path: str | os.PathLike) -> bool:
    """True for a folder that `maskwatch train` made (it has config.yaml or checkpoints/)."""
    path = Path(path)
    return path.is_dir() and ((path / CONFIG).is_file() or (path / "checkpoints").is_dir())


def best_checkpoint(run_dir: str | os.PathLike) -> Path:
    """`checkpoints/best.keras` of a run (falls back to last.keras), or a clear error."""
    run_dir = Path(run_dir)
    for candidate in (run_dir / BEST, run_dir / "checkpoints" / "last.keras"):
        if candidate.is_file():
            return candidate
    raise ModelFileError(f"{run_dir}: no checkpoints/best.keras (has the run finished an epoch?)")


def _parse_box(text: str) -> tuple[float, float, float, float] | None:
    values = text.replace(",", " ").split()
    if not values:
        return None
    if len(values) != 4:
        raise ValueError(f"box {text!r} does not have 4 numbers")
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def run_split(run_dir: str | os.PathLike, split: str = "test", labels: list[str] | None = None):
    """The FaceDataset of one split of a run, read from its split.csv (or rebuilt from its config).

    labels: label order of the dataset (the model's outputs); default the checkpoint's labels.
    """
    from maskwatch.data import FaceDataset, FaceSample

    run_dir = Path(run_dir)
    if labels is None:
        from maskwatch.classifier import read_model_info

        labels = read_model_info(best_checkpoint(run_dir)).labels
    split_file = run_dir / SPLIT
    if not split_file.is_file():
        return _rebuild_split(run_dir, split, labels)
    samples = []
    with open(split_file, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row.get("split") != split:
                continue
            try:
                box = _parse_box(row.get("box") or "")
                margin = float(row["margin"]) if row.get("margin") not in (None, "") else 0.1
            except ValueError as exc:
                raise ConfigError(f"{split_file}:{line}: {exc}") from None
            samples.append(
                FaceSample(
                    path=row["path"],
                    label=row["label"],
                    group=row.get("group") or row["path"],
                    box=box,
                    source=row.get("source") or "",
                    margin=margin,
                )
            )
    if not samples:
        raise ConfigError(f"{split_file}: the run has no {split!r} split (set data.test > 0, or use split='val')")
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown:
        raise ConfigError(f"{split_file}: labels {unknown} are not outputs of the model ({labels})")
    return FaceDataset(samples, list(labels))


def _rebuild_split(run_dir: Path, split: str, labels: list[str]):
    """Older runs without split.csv: split the configured data again (same seed, same code)."""
    from maskwatch.train.config import load_config
    from maskwatch.train.trainer import load_sources, split_dataset

    config = run_dir / CONFIG
    if not config.is_file():
        raise ConfigError(f"{run_dir}: neither {SPLIT} nor {CONFIG} found; is this a maskwatch run folder?")
    cfg = load_config(config)
    splits = split_dataset(load_sources(cfg), cfg)
    if split not in splits or len(splits[split]) == 0:
        raise ConfigError(f"{run_dir}: the run has no {split!r} split")
    dataset = splits[split]
    if list(dataset.labels) != list(labels):
        from maskwatch.data import FaceDataset

        dataset = FaceDataset(dataset.samples, list(labels))
    return dataset
