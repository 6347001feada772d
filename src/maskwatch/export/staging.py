"""Write an exported file so that readers only ever see a complete one.

Converters (Keras, the TFLite converter, tf2onnx) write straight to the path they are given. Each
exporter therefore writes into a hidden file in the destination folder and renames it over the
target when it is complete; a crash or a failed conversion leaves the old file (or nothing).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_file(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target` (same suffix, for converters that check it)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # some converters refuse to overwrite; they get a free name instead
    try:
        yield tmp_path
        if not tmp_path.is_file():
            raise FileNotFoundError(f"{tmp_path}: the converter wrote nothing")
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
