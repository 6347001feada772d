"""The run folder: where each file goes, how a run is named, found again for --resume, and logged.

A run is a folder (`runs/<name>/`) that holds everything needed to continue it or to trust it
later: the resolved config, the log, the per-epoch history, the split, the checkpoints and
their state. `--resume` needs nothing but that folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from maskwatch.errors import ConfigError
from maskwatch.images import atomic_write_text
from maskwatch.train.config import Config, ConfigSource, load_config, parse_override, resolve_paths, validate_for_run

log = logging.getLogger("maskwatch.train")

# Typed options of `maskwatch train` / `train(**options)` -> the config key they set.
OPTION_KEYS = {
    "epochs": "train.epochs",
    "lr": "train.lr",
    "batch_size": "train.batch_size",
    "finetune_epochs": "finetune.epochs",
    "finetune_lr": "finetune.lr",
    "model": "model.name",
    "input_size": "model.input_size",
    "weights": "model.weights",
    "root": "run.root",
    "evaluate": "run.evaluate",
    "augment": "train.augment",
    "sample_per_class": "data.sample_per_class",
    "seed": "train.seed",
}


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


def merge_overrides(overrides, options: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if isinstance(overrides, Mapping):
        merged.update(overrides)
    elif overrides is not None:
        merged.update(parse_override(o) for o in overrides)
    for key, value in options.items():
        if value is None:
            continue
        if key in OPTION_KEYS:
            merged[OPTION_KEYS[key]] = value
        elif "__" in key:
            merged[key.replace("__", ".")] = value
        else:
            known = ", ".join(OPTION_KEYS)
            raise ConfigError(f"{key}: unknown option (known: {known}, or section__key)")
    return merged


def prepare_run(config: ConfigSource, name: str | None, resume: bool, overrides: dict):
    """Resolve the config and the run folder; for --resume read both back from the folder."""

    if resume:
        run_dir = find_run(config, name, overrides)
        paths = RunPaths(run_dir)
        _check_not_running(paths.lock)
        cfg = load_config(paths.config, overrides)
        state = RunState.load(paths.state) if paths.state.is_file() else RunState()
        if state.phase == "done" and paths.summary.is_file():
            log.info("%s already finished; summarising it again", run_dir)
    else:
        if name is not None:
            overrides = {**overrides, "run.name": name}
        cfg = resolve_paths(load_config(config, overrides))
        validate_for_run(cfg)
        run_dir = new_run_dir(cfg)
        paths = RunPaths(run_dir)
        state = RunState()
    atomic_write_text(paths.config, cfg.to_yaml())
    return cfg, paths, state


def find_run(config: ConfigSource, name: str | None, overrides: Mapping) -> Path:
    """The folder of the run to resume: a run folder given as `config`, or `<root>/<name>`."""
    if isinstance(config, str | os.PathLike):
        path = Path(config)
        if path.is_dir() and (path / "config.yaml").is_file():
            return path
        if path.name == "config.yaml" and (path.parent / "checkpoints").is_dir():
            return path.parent
    root, run_name = Path("runs"), name
    if config is not None:
        cfg = load_config(config, overrides)
        root, run_name = Path(cfg.run.root), name or cfg.run.name
    elif "run.root" in overrides:
        root = Path(str(overrides["run.root"]))
    if not run_name:
        raise ConfigError("--resume: say which run (--name NAME, or the run folder as --config)")
    run_dir = root / run_name
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError(f"--resume: {run_dir} is not a run folder (no config.yaml in it)")
    return run_dir


def new_run_dir(cfg: Config) -> Path:
    root = Path(cfg.run.root)
    if cfg.run.name:
        run_dir = root / cfg.run.name
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(f"run.name: {run_dir} already exists; use --resume to continue it, or another --name")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir, n = root / stamp, 2
        while run_dir.exists():
            run_dir, n = root / f"{stamp}-{n}", n + 1
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


@contextlib.contextmanager
def run_logging(path: Path) -> Iterator[None]:
    """Log the run to `<run>/train.log`, and to the console unless the app configured logging."""
    package = logging.getLogger("maskwatch")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if not logging.getLogger().handlers and not package.handlers:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(message)s"))
        handlers.append(console)
    old_level = package.level
    package.setLevel(logging.INFO)
    for handler in handlers:
        package.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            package.removeHandler(handler)
            handler.close()
        package.setLevel(old_level)


def _check_not_running(lock: Path) -> None:
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
    _check_not_running(paths.lock)
    atomic_write_text(paths.lock, f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            paths.lock.unlink()
