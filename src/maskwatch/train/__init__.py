"""Training: config -> data -> two-phase transfer learning -> a run folder with the best model.

    from maskwatch.train import train
    result = train("configs/default.yaml", name="exp1", epochs=5)
    print(result.best_model, result.val_metrics["accuracy"])

The same as ``maskwatch train --config configs/default.yaml --name exp1 --epochs 5``. Importing
this package is cheap; TensorFlow loads when `train` runs.
"""

from __future__ import annotations

from maskwatch.train.config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "RunResult", "load_config", "train"]


def __getattr__(name: str):
    # Lazy: `trainer` pulls in the data and model stacks.
    if name in ("train", "RunResult"):
        from maskwatch.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'maskwatch.train' has no attribute {name!r}")
