"""Atomic file writes: readers see the old file or the complete new one, never half of one.

Every output of maskwatch (JSON, CSV, annotated images and videos, checkpoints, exported models,
downloads, caches) is written to a hidden temporary file beside its target and renamed over the
target only when complete. A crash, a kill or a failed conversion leaves the old file (or nothing).

    with AtomicFile("out.json", "w") as handle: ...        # a stream to write into
    with staged_path("model.tflite") as tmp: convert(tmp)  # a path, for tools that write by name
    atomic_write_text("out.csv", text)                     # one string
"""

from __future__ import annotations

import contextlib
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
        remove_stale_temps(self.target)  # what killed runs left behind (one hidden file each)
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
        with contextlib.suppress(OSError):  # flushing the rest fails too on a full disk
            self.handle.close()
        self._staged.discard()

    def __enter__(self) -> IO[Any]:
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except OSError as error:
                self.abort()
                raise _named(error, self.target) from None
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()
            if isinstance(exc, OSError) and not exc.filename:
                raise _named(exc, self.target) from None


def _named(error: OSError, target: Path) -> OSError:
    """write() errors (a full disk) carry no file name: name the file the user asked for."""
    return error if error.filename else OSError(error.errno, error.strerror or str(error), str(target))


#: A temporary file not written to for this long belongs to a run that was killed.
STALE_SECONDS = 60.0


def remove_stale_temps(target: str | os.PathLike) -> int:
    """Delete the hidden temporary files that killed runs left beside `target`; returns how many.

    Writes stage `.<name>.XXXX.tmp` or `.<stem>.XXXX.tmp<suffix>` beside the target and rename it
    at the end; a kill leaves it behind, once per run. Files still being written (by a run going
    on now) are younger than STALE_SECONDS and are kept.
    """
    import time

    target = Path(target)
    if not target.parent.is_dir():
        return 0
    now = time.time()
    removed = 0
    patterns = (f".{target.name}.*.tmp", f".{target.stem}.*.tmp{target.suffix}")
    for candidate in {p for pattern in patterns for p in target.parent.glob(pattern)}:
        try:
            if candidate.is_file() and now - candidate.stat().st_mtime > STALE_SECONDS:
                candidate.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def check_writable(path: str | os.PathLike) -> Path:
    """Fail now, before any work, when `path` cannot be written (folder, permissions, full disk).

    Creates the parent folder and a temporary file beside the target, writes a byte, removes
    it; the OSError (with the file name) is what a user should see instead of losing a run.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(21, "is a folder; give a file name", str(target))
    existing = next(parent for parent in target.parents if parent.exists())
    if not existing.is_dir():
        raise NotADirectoryError(20, f"cannot write here: {existing} is a file, not a folder", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.write(fd, b"\0")
        os.fsync(fd)
    finally:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring)."""
    with AtomicFile(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
