"""Starting a run: the config resolved from file + overrides + options, the run folder made or found
again for --resume, and the run logged to its `train.log`.

The folder's layout itself (which file goes where, split.csv, checkpoints, the lock) belongs to
`maskwatch.runs`; `--resume` needs nothing but that folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from maskwatch import runs
from maskwatch.atomic import atomic_write_text
from maskwatch.errors import ConfigError
from maskwatch.runs import RunPaths, RunState
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
        runs.check_not_running(paths.lock)
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
    return runs.new_run_dir(cfg.run.root, cfg.run.name)


@contextlib.contextmanager
def run_logging(path: Path) -> Iterator[None]:
    """Log the run to `<run>/train.log`, and to the console unless the app configured logging."""
    package = logging.getLogger("maskwatch")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if not logging.getLogger().handlers and all(isinstance(h, logging.NullHandler) for h in package.handlers):
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
