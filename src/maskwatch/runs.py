"""The run folder (`runs/<name>/`): the one place that knows where each file of a training run lives.

Training writes a run, evaluation and export read it, and `--resume` needs nothing else, so its
layout is spelled out here once: the resolved `config.yaml`, `train.log`, `history.csv` (one row
per epoch), `split.csv` (which face went to which split), `checkpoints/{best,last}.keras` with
their sidecar json and `state.json`, the feature `cache/` and `summary.json`.

Reading the split back from `split.csv`, rather than re-splitting the data, guarantees that the
test faces are the ones training never saw, even if the data folder changed since.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.atomic import atomic_write_text
from maskwatch.errors import ConfigError, ModelFileError

if TYPE_CHECKING:
    from maskwatch.data import FaceDataset

SPLIT_COLUMNS = ("split", "path", "label", "group", "source", "box", "margin", "real")


@dataclass(frozen=True)
class RunPaths:
    """Where each file of a run lives."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    @property
    def history(self) -> Path:
        return self.root / "history.csv"

    @property
    def split(self) -> Path:
        return self.root / "split.csv"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.keras"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.keras"

    @property
    def state(self) -> Path:
        return self.checkpoints / "state.json"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"


@dataclass
class RunState:
    """What `--resume` needs; stored as checkpoints/state.json after every epoch."""

    phase: str = "frozen"  # phase to run next: frozen | finetune | done
    epochs_done: int = 0  # epochs finished over both phases (= initial_epoch of the next fit)
    finetune_start: int | None = None  # epochs_done when phase 2 began
    best_val_loss: float | None = None
    best_epoch: int | None = None  # 1-based (history.csv's `epoch` column is this minus 1)
    learning_rate: float | None = None  # LR for the next epoch (after any plateau reduction)
    status: str = "running"  # running | interrupted | finished

    @classmethod
    def load(cls, path: str | os.PathLike) -> RunState:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=2) + "\n")


def is_run_dir(path: str | os.PathLike) -> bool:
    """True for a folder that `maskwatch train` made (it has config.yaml or checkpoints/)."""
    paths = RunPaths(Path(path))
    return paths.root.is_dir() and (paths.config.is_file() or paths.checkpoints.is_dir())


def best_checkpoint(run_dir: str | os.PathLike) -> Path:
    """`checkpoints/best.keras` of a run (falls back to last.keras), or a clear error."""
    paths = RunPaths(Path(run_dir))
    for candidate in (paths.best, paths.last):
        if candidate.is_file():
            return candidate
    raise ModelFileError(f"{paths.root}: no checkpoints/best.keras (has the run finished an epoch?)")


def new_run_dir(root: str | os.PathLike, name: str | None) -> Path:
    """Make `<root>/<name>` (refusing one that holds files), or `<root>/<timestamp>` without a name."""
    root = Path(root)
    if name:
        run_dir = root / name
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(f"run.name: {run_dir} already exists; use --resume to continue it, or another --name")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir, n = root / stamp, 2
        while run_dir.exists():
            run_dir, n = root / f"{stamp}-{n}", n + 1
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def check_not_running(lock: Path) -> None:
    """Refuse a run folder that a live process is training in (two writers would mix checkpoints)."""
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return
    if pid == os.getpid():
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # a stale lock: that process is gone
    except PermissionError:
        pass
    raise ConfigError(f"{lock.parent}: process {pid} is still training in this run folder; stop it or wait")


@contextlib.contextmanager
def run_lock(paths: RunPaths) -> Iterator[None]:
    """Mark the run folder as in use by this process for the duration of the run."""
    check_not_running(paths.lock)
    atomic_write_text(paths.lock, f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            paths.lock.unlink()


def write_split(path: str | os.PathLike, splits: Mapping[str, FaceDataset]) -> None:
    """Which file (and box) went to which split: evaluation and int8 calibration read it back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SPLIT_COLUMNS)
    for split_name, ds in splits.items():
        for s in ds.samples:
            box = "" if s.box is None else " ".join(f"{v:g}" for v in s.box)
            writer.writerow([split_name, s.path, s.label, s.group, s.source, box, s.margin, str(s.real).lower()])
    atomic_write_text(path, buffer.getvalue())


def _parse_box(text: str) -> tuple[float, float, float, float] | None:
    values = text.replace(",", " ").split()
    if not values:
        return None
    if len(values) != 4:
        raise ValueError(f"box {text!r} does not have 4 numbers")
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def read_split(run_dir: str | os.PathLike, split: str = "test", labels: list[str] | None = None) -> FaceDataset:
    """The FaceDataset of one split of a run, read from its split.csv.

    labels: label order of the dataset (the model's outputs); default the checkpoint's labels.
    """
    from maskwatch.data import FaceDataset, FaceSample

    paths = RunPaths(Path(run_dir))
    if labels is None:
        from maskwatch.classifier import read_model_info

        labels = read_model_info(best_checkpoint(paths.root)).labels
    if not paths.split.is_file():
        raise ConfigError(f"{paths.root}: no {paths.split.name}; is this a maskwatch run folder?")
    samples = []
    with open(paths.split, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row.get("split") != split:
                continue
            try:
                box = _parse_box(row.get("box") or "")
                margin = float(row["margin"]) if row.get("margin") not in (None, "") else 0.1
            except ValueError as exc:
                raise ConfigError(f"{paths.split}:{line}: {exc}") from None
            samples.append(
                FaceSample(
                    path=row["path"],
                    label=row["label"],
                    group=row.get("group") or row["path"],
                    box=box,
                    source=row.get("source") or "",
                    margin=margin,
                    real=(row.get("real") or "true").lower() != "false",
                )
            )
    if not samples:
        raise ConfigError(f"{paths.split}: the run has no {split!r} split (set data.test > 0, or use split='val')")
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown:
        raise ConfigError(f"{paths.split}: labels {unknown} are not outputs of the model ({labels})")
    return FaceDataset(samples, list(labels))


def write_summary(run_dir: str | os.PathLike, summary: Mapping) -> Path:
    """`summary.json`, the first file a person reads after a run."""
    path = RunPaths(Path(run_dir)).summary
    atomic_write_text(path, json.dumps(summary, indent=2, default=str) + "\n")
    return path


def read_summary(run_dir: str | os.PathLike) -> dict:
    path = RunPaths(Path(run_dir)).summary
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{run_dir}: no {path.name} (has the run finished?)") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
