"""The one way maskwatch opens a `.keras` file: safely, with its custom layers registered.

`safe_mode=True` refuses Lambda layers and other pickled Python, so a model file from elsewhere
cannot run code on load; importing `maskwatch.models` first registers maskwatch's own layers
(EfficientNet-Lite's), so its checkpoints load without `custom_objects`.
"""

from __future__ import annotations

import os
from pathlib import Path

from maskwatch.errors import ModelFileError


def load_keras_model(path: str | os.PathLike):
    """Load a `.keras` file (architecture + weights, no optimizer) or raise ModelFileError naming it."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: Keras model file not found")
    try:
        return keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelFileError(f"{path}: cannot load Keras model ({exc})") from None
