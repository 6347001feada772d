"""One network's training, both phases: build (or restore) the model, phase 1, phase 2.

`train()` prepares the data once and calls `fit_network` for each network of the run: one for a
plain run, one per member for an ensemble (`model.members`), each in its own folder with its own
checkpoints and state, so every member resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.runs import RunPaths
from maskwatch.train.config import Config
from maskwatch.train.fitting import compile_model, fit_phase, make_dataset

log = logging.getLogger("maskwatch.train")


@dataclass
class TrainingData:
    """The decoded faces every network of a run trains on (decoded once per run)."""

    train_split: object  # the train Dataset, with detector-framed crops (for the degraded copies)
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_weight: dict[int, float] | None
    labels: list[str]
    cache_dir: Path  # phase-1 feature cache, shared by the members (keys hash pixels and weights)


def input_size_of(cfg: Config) -> tuple[int, int]:
    """The (height, width) the run's network(s) take, known before any model is built."""
    from maskwatch.models import resolve_input_size

    return resolve_input_size(cfg.model.name, cfg.model.input_size)


def fit_network(cfg: Config, paths: RunPaths, state, data: TrainingData, extra_callbacks: list, progress: bool):
    """Train one network through both phases into `paths`; returns its ClassifierModel and phase report."""
    import keras

    from maskwatch.data.degrade import degraded_copies
    from maskwatch.models import build_classifier, set_trainable
    from maskwatch.train.callbacks import load_checkpoint
    from maskwatch.train.summary import model_info_writer

    # Seeded here, per network, so an ensemble member draws what a plain run with its seed draws.
    keras.utils.set_random_seed(cfg.train.seed)
    # The model: backbone + new head. A resumed run gets its weights from last.keras instead.
    restoring = paths.last.is_file() and state.epochs_done > 0
    cm = build_classifier(
        cfg.model.name,
        num_classes=len(data.labels),
        input_size=cfg.model.input_size,
        weights=None if restoring else cfg.model.weights,
        dropout=cfg.model.dropout,
        **(cfg.model.options or {}),
    )
    if restoring:
        load_checkpoint(cm.model, paths.last)
        log.info("restored weights from %s (epoch %d, phase %s)", paths.last, state.epochs_done, state.phase)
    input_size = tuple(int(v) for v in cm.input_size)
    fit_common = {
        "cfg": cfg,
        "paths": paths,
        "state": state,
        "full_model": cm.model,
        "class_weight": data.class_weight,
        "extra_callbacks": extra_callbacks,
        "progress": progress,
        "on_save": model_info_writer(cfg, data.labels, input_size),
    }
    session_phases: dict[str, dict] = {}
    x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val

    # A backbone without pretrained weights trains whole, BatchNorm included (models.set_trainable).
    pretrained = cfg.model.weights is not None
    # Phase 1: backbone frozen, head learns at train.lr.
    if state.phase == "frozen":
        set_trainable(cm, phase="frozen", pretrained=pretrained)
        frozen_features = cm.base is not None and not cm.features.trainable_weights
        use_cache = cfg.train.cache_features and not cfg.train.augment and frozen_features
        report = {"feature_cache": "off"}
        if state.epochs_done < cfg.train.epochs:
            lr = state.learning_rate if state.epochs_done and state.learning_rate else cfg.train.lr
            if use_cache:
                f_train, cache_file, hit = _features(cm.features, x_train, data.cache_dir, "train", cfg)
                f_val, _, _ = _features(cm.features, x_val, data.cache_dir, "val", cfg)
                y_fit = y_train
                if cfg.degrade.copies:  # camera-like copies: their features are cached like the rest
                    x_copies, y_copies = degraded_copies(
                        data.train_split, input_size, cfg.degrade, cfg.train.seed, progress
                    )
                    f_copies, _, _ = _features(cm.features, x_copies, data.cache_dir, "train-degraded", cfg)
                    f_train, y_fit = np.concatenate([f_train, f_copies]), np.concatenate([y_train, y_copies])
                    del x_copies
                report["feature_cache"] = f"{'hit' if hit else 'computed'} {cache_file.parent}"
                compile_model(cm.head, lr)
                fit_phase(cm.head, (f_train, y_fit), (f_val, y_val), "frozen", cfg.train.epochs, **fit_common)
            else:
                compile_model(cm.model, lr)
                if state.epochs_done > 0:  # mid-phase resume: Adam's moments too
                    load_checkpoint(cm.model, paths.last, with_optimizer=True)
                train_data = make_dataset(x_train, y_train, cfg, augment=cfg.train.augment, shuffle=True)
                val_data = make_dataset(x_val, y_val, cfg, augment=False, shuffle=False)
                fit_phase(cm.model, train_data, val_data, "frozen", cfg.train.epochs, **fit_common)
        session_phases["frozen"] = report
        state.phase, state.finetune_start, state.learning_rate = "finetune", state.epochs_done, None
        state.save(paths.state)

    # Phase 2: unfreeze the top of the backbone, start from phase 1's best weights, low LR.
    if state.phase == "finetune":
        start = state.finetune_start if state.finetune_start is not None else state.epochs_done
        end = start + cfg.finetune.epochs
        if cm.base is None or cfg.finetune.epochs == 0:
            log.info("phase 2 skipped (%s)", "no backbone to unfreeze" if cm.base is None else "finetune.epochs = 0")
        elif state.epochs_done < end:
            if state.epochs_done == start and paths.best.is_file():
                load_checkpoint(cm.model, paths.best)
                log.info(
                    "phase 2 starts from best.keras (epoch %s, val_loss %.4f)", state.best_epoch, state.best_val_loss
                )
            set_trainable(cm, phase="finetune", fine_tune_fraction=cfg.finetune.fraction, pretrained=pretrained)
            lr = state.learning_rate if state.epochs_done > start and state.learning_rate else cfg.finetune.lr
            compile_model(cm.model, lr)
            if state.epochs_done > start:  # mid-phase resume: Adam's moments too
                load_checkpoint(cm.model, paths.last, with_optimizer=True)
            train_data = make_dataset(x_train, y_train, cfg, augment=cfg.finetune.augment, shuffle=True)
            val_data = make_dataset(x_val, y_val, cfg, augment=False, shuffle=False)
            fit_phase(cm.model, train_data, val_data, "finetune", end, **fit_common)
        state.phase, state.status = "done", "finished"
        state.save(paths.state)
    if paths.best.is_file():
        load_checkpoint(cm.model, paths.best)
    return cm, session_phases


def _features(features_model, x, cache_dir: Path, split: str, cfg: Config):
    """Phase 1's frozen-backbone features of one split, from the run's cache when it holds them."""
    from maskwatch.train.features import cached_features

    t0 = time.perf_counter()
    feats, file, hit = cached_features(features_model, x, cache_dir, split, batch_size=max(cfg.train.batch_size, 32))
    log.info(
        "%s features %s: %s %s in %.1fs", split, "read from cache" if hit else "computed", feats.shape, file.name,
        time.perf_counter() - t0,
    )  # fmt: skip
    return feats, file, hit
