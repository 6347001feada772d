"""`.keras`: the full Keras model (architecture + weights), for fine-tuning later or parity checks."""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.atomic import staged_path


def export_keras(model, path: str | os.PathLike) -> Path:
    """Save `model` as a `.keras` archive at `path`, atomically."""
    path = Path(path)
    with staged_path(path) as tmp:
        model.save(tmp)
    return path
