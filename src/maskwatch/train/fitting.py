"""The Keras side of a training phase: input pipelines, compiling, fitting, predicting.

The trainer (`train/trainer.py`) reads top to bottom as data -> model -> phase 1 -> phase 2 ->
summary; what one phase does with Keras lives here, so the trainer says *what* happens and this
module *how*: a tf.data pipeline (augmentation only for training), Adam + sparse cross-entropy,
the callbacks every phase shares (checkpoints for `--resume`, history.csv, progress), and the
validation probabilities the summary is computed from. TensorFlow is imported inside the
functions, so importing the module stays cheap.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from pathlib import Path

import numpy as np

from maskwatch.atomic import atomic_write_text
from maskwatch.runs import RunPaths
from maskwatch.train.config import Config

log = logging.getLogger("maskwatch.train")


def configure_tensorflow(train_cfg) -> None:
    """Seed everything and cap TensorFlow's threads (the machine is shared)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # only possible before TensorFlow's first op
        tf.config.threading.set_intra_op_parallelism_threads(train_cfg.threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, train_cfg.threads))
    keras.utils.set_random_seed(train_cfg.seed)


def make_dataset(x: np.ndarray, y: np.ndarray, cfg: Config, augment: bool, shuffle: bool):
    """A batched tf.data pipeline of float32 0..255 images; augmentation only when asked (train)."""
    import tensorflow as tf

    from maskwatch.train.augment import augment_batch_fn, build_augmenter, degrade_batch_fn

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=cfg.train.seed, reshuffle_each_iteration=True)
    ds = ds.batch(cfg.train.batch_size)
    if augment and cfg.degrade.finetune > 0:
        ds = ds.map(degrade_batch_fn(cfg.degrade, cfg.train.seed))
    augmenter = build_augmenter(cfg.augment, seed=cfg.train.seed) if augment else None
    if augmenter is not None:
        ds = ds.map(augment_batch_fn(augmenter), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    return ds.prefetch(tf.data.AUTOTUNE)


def compile_model(model, lr: float) -> None:
    """Adam at `lr`, sparse categorical cross-entropy, accuracy: the same for both phases."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )


def fit_phase(
    fit_model, train_data, val_data, phase: str, end_epoch: int, *, cfg: Config, paths: RunPaths, state,
    full_model, class_weight, extra_callbacks: list, progress: bool, on_save,
) -> None:  # fmt: skip
    """One phase: fit from `state.epochs_done` to `end_epoch` (global epoch numbers across phases)."""
    import keras

    from maskwatch.train.callbacks import EpochProgress, PhaseLogger, RunCheckpoint

    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    trim_history(paths.history, state.epochs_done)
    callbacks = [PhaseLogger(phase, end_epoch)]
    if cfg.train.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.train.early_stopping))
    if cfg.train.reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=cfg.train.reduce_lr_factor,
                patience=cfg.train.reduce_lr_patience,
                min_lr=cfg.train.min_lr,
            )
        )
    callbacks += [
        RunCheckpoint(full_model, paths.checkpoints, state, phase, on_save=on_save),
        keras.callbacks.CSVLogger(str(paths.history), append=True),
        EpochProgress(phase, end_epoch, enabled=progress),
        *extra_callbacks,
    ]
    if isinstance(train_data, tuple):  # cached features: plain arrays, Keras batches and shuffles
        x, y = train_data
        inputs = {"x": x, "y": y, "batch_size": cfg.train.batch_size, "shuffle": True}
    else:  # a tf.data pipeline, already shuffled
        inputs = {"x": train_data, "shuffle": False}
    log.info("phase %s: epochs %d..%d", phase, state.epochs_done + 1, end_epoch)
    fit_model.fit(
        **inputs,
        validation_data=val_data,
        initial_epoch=state.epochs_done,
        epochs=end_epoch,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=0,
    )


def trim_history(path: Path, epochs_done: int) -> None:
    """Drop history rows past the last checkpoint (an epoch logged just before a kill)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if len(rows) <= 1:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) < epochs_done]
    if len(kept) != len(rows):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(kept)
        atomic_write_text(path, buffer.getvalue())


def predict_probabilities(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's outputs for uint8 faces, batch by batch (float32 0..255 in)."""
    batches = (x[i : i + batch_size].astype(np.float32) for i in range(0, len(x), batch_size))
    return np.concatenate([np.asarray(model.predict_on_batch(batch)) for batch in batches])


def validation_metrics(probs: np.ndarray, y: np.ndarray, labels: list[str]) -> dict:
    """The metrics of the validation probabilities, as evaluation computes them (`maskwatch.metrics`),
    plus `loss` (the log loss, as Keras' val_loss names it)."""
    from maskwatch.metrics import compute_metrics

    metrics = compute_metrics(y, probs, labels)
    return {**metrics, "loss": metrics["log_loss"]}
