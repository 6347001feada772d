"""Atomic file writes: readers see the old file or the complete new one, never half of one.

Every output of maskwatch (JSON, CSV, annotated images and videos, checkpoints, exported models,
downloads, caches) is written to a hidden temporary file beside its target and renamed over the
target only when complete. A crash, a kill or a failed conversion leaves the old file (or nothing).

    with AtomicFile("out.json", "w") as handle: ...        # a stream to write into
    with staged_path("model.tflite") as tmp: convert(tmp)  # a path, for tools that write by name
    atomic_write_text("out.csv", text)                     # one string
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


class StagedPath:
    """A fresh temporary name beside `target`; `commit()` renames it over the target, `discard()` drops it.

    The name keeps the target's suffix (converters and encoders check it); the file does not exist
    yet, since some writers refuse to overwrite. Used as a context manager it commits on success and
    discards on an exception.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.target.stem}.", suffix=f".tmp{self.target.suffix}", dir=self.target.parent
        )
        os.close(fd)
        self.path: Path | None = Path(tmp)
        self.path.unlink()

    def commit(self) -> Path:
        if self.path is None:
            raise RuntimeError(f"{self.target}: already committed or discarded")
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: nothing was written for {self.target}")
        os.chmod(self.path, 0o666 & ~_UMASK)  # an ordinary file, not mkstemp's 0600
        os.replace(self.path, self.target)
        self.path = None
        return self.target

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def __enter__(self) -> Path:
        assert self.path is not None
        return self.path

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            finally:
                self.discard()
        else:
            self.discard()


@contextmanager
def staged_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it becomes `target` when the block succeeds."""
    with StagedPath(target) as tmp:
        yield tmp


class AtomicFile:
    """An open temporary file that becomes `target` on `commit()` (flushed and fsynced first).

    For outputs written piece by piece (JSON Lines, downloads); `abort()` deletes the partial file.
    As a context manager it yields the handle, commits on success and aborts on an exception.
    """

    def __init__(self, target: str | os.PathLike, mode: str = "wb") -> None:
        if mode not in ("w", "wb"):
            raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
        self._staged = StagedPath(target)
        assert self._staged.path is not None
        encoding = "utf-8" if mode == "w" else None
        self.handle: IO[Any] = open(self._staged.path, mode, encoding=encoding)  # noqa: SIM115 (closed in commit/abort)

    @property
    def target(self) -> Path:
        return self._staged.target

    def write(self, data: Any) -> int:
        return self.handle.write(data)

    def commit(self) -> Path:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return self._staged.commit()

    def abort(self) -> None:
        self.handle.close()
        self._staged.discard()

    def __enter__(self) -> IO[Any]:
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring)."""
    with AtomicFile(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
