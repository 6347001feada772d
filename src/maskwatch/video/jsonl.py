"""The JSON Lines output of a video run: one line per frame, event lines, a summary line."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from maskwatch.atomic import AtomicFile


class JsonLines:
    """JSON Lines output: atomic (temp + rename at close) for files, flushed line by line for live."""

    def __init__(self, path: str | os.PathLike, atomic: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.atomic = atomic
        self._file: AtomicFile | None = AtomicFile(self.path, "w") if atomic else None
        self._handle = self._file.handle if self._file else open(self.path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict) -> None:
        try:
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            if not self.atomic:
                self._handle.flush()
        except OSError as exc:  # a full disk: name the file the user asked for
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None

    def close(self) -> Path:
        if self._file is not None:
            try:
                self._file.commit()
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None
            self._file = None
        self._handle.close()
        return self.path

    def abort(self) -> None:
        if self._file is not None:
            self._file.abort()
            self._file = None
        with contextlib.suppress(OSError):  # flushing the rest fails too on a full disk
            self._handle.close()
