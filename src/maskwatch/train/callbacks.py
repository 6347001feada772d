"""The run's own Keras callbacks: checkpoints + resumable state, a log line and a progress bar.

Why not only `keras.callbacks.ModelCheckpoint`: in the cached-features phase Keras trains the
*head* model, but the checkpoint must be the *full* model (backbone + head), and after a resume
the best val_loss of the earlier run must still guard `best.keras`. `RunCheckpoint` does both
and writes a small JSON state next to the checkpoints so `--resume` knows the phase, the epoch,
the best val_loss and the learning rate.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import keras

from maskwatch.atomic import staged_path
from maskwatch.runs import RunState

log = logging.getLogger("maskwatch.train")


def save_model_atomic(model, path: Path) -> None:
    """Save a .keras file through a temporary name, so a kill mid-write never leaves half a file."""
    with staged_path(path) as tmp:
        model.save(tmp)


def load_checkpoint(model, path: Path, with_optimizer: bool = False) -> None:
    """Load a checkpoint's weights into `model` (same architecture), optionally its optimizer state.

    With `with_optimizer` the (compiled) model's optimizer is built first so Keras can fill in
    Adam's moments and step count from the file; a checkpoint written by another phase (other
    trainable variables, or none) keeps the fresh optimizer, which is what that phase wants.
    """
    import warnings

    if with_optimizer and getattr(model, "optimizer", None) is not None:
        model.optimizer.build(model.trainable_variables)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(path)


def current_lr(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class PhaseLogger(keras.callbacks.Callback):
    """Adds `phase` and `learning_rate` to the epoch logs (so history.csv has them) and logs a line."""

    def __init__(self, phase: str, total_epochs: int) -> None:
        super().__init__()
        self.phase = phase
        self.total_epochs = total_epochs
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["phase"] = self.phase
        logs["learning_rate"] = current_lr(self.model)
        logs["seconds"] = round(time.perf_counter() - self._start, 2)
        shown = " ".join(
            f"{k} {v:.4f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_loss", "val_accuracy")
        )
        log.info(
            "epoch %d/%d (%s) %s lr %.2g %.1fs",
            epoch + 1,
            self.total_epochs,
            self.phase,
            shown,
            logs["learning_rate"],
            logs["seconds"],
        )


class RunCheckpoint(keras.callbacks.Callback):
    """Save the full model as last.keras every epoch and as best.keras when val_loss improves.

    `full_model` may differ from the model being fitted (the head in the cached-features phase);
    the LR is read from the fitted model's optimizer. Place it after ReduceLROnPlateau so the
    stored LR is the one the next epoch will use.
    """

    def __init__(self, full_model, checkpoint_dir: Path, state: RunState, phase: str, on_save=None) -> None:
        super().__init__()
        self.full_model = full_model
        self.dir = Path(checkpoint_dir)
        self.state = state
        self.phase = phase
        self.on_save = on_save  # called with the path of each model written (sidecar metadata)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val_loss = logs.get("val_loss")
        state = self.state
        improved = val_loss is not None and math.isfinite(val_loss)
        improved = improved and (state.best_val_loss is None or val_loss < state.best_val_loss)
        if improved:
            save_model_atomic(self.full_model, self.dir / "best.keras")
            state.best_val_loss = float(val_loss)
            state.best_epoch = epoch + 1
            if self.on_save:
                self.on_save(self.dir / "best.keras")
            log.info("epoch %d: val_loss %.4f is the best so far -> best.keras", epoch + 1, val_loss)
        save_model_atomic(self.full_model, self.dir / "last.keras")
        if self.on_save:
            self.on_save(self.dir / "last.keras")
        state.phase = self.phase
        state.epochs_done = epoch + 1
        state.learning_rate = current_lr(self.model)
        state.status = "running"
        state.save(self.dir / "state.json")


class EpochProgress(keras.callbacks.Callback):
    """One tqdm bar per epoch (batches, running loss), replacing Keras' own verbose output."""

    def __init__(self, phase: str, total_epochs: int, enabled: bool = True) -> None:
        super().__init__()
        self.phase = phase
        self.total_epochs = total_epochs
        self.enabled = enabled
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.params.get("steps"),
            desc=f"epoch {epoch + 1}/{self.total_epochs} {self.phase}",
            unit="batch",
            leave=False,
            file=sys.stderr,
            mininterval=0.5,
            disable=not self.enabled,
            dynamic_ncols=True,
        )

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self._close()

    def on_train_end(self, logs=None):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
