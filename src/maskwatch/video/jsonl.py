"""The JSON Lines output of a video run: one line per frame, event lines, a summary line.

Lines are written to the target file itself and flushed frame by frame, for files as for live
streams: a killed run keeps every frame it finished (a reader can `tail -f` it, a kill cuts at most
the last line). The summary line, written when the run ends, is what marks the file complete; a
file without one comes from a run that was killed (`maskwatch report` reads it all the same).
Temporary files that earlier maskwatch versions staged beside the target are removed at the start.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from maskwatch.atomic import remove_stale_temps

log = logging.getLogger(__name__)


class JsonLines:
    """Append-and-flush JSON Lines output to `path` (created or emptied at the start)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temps(self.path)
        if removed:
            log.info("%s: removed %d temporary file(s) left by an interrupted run", self.path, removed)
        self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close/abort)

    def write(self, record: dict) -> None:
        """Add one line; it is on disk (flushed to the OS) when this returns."""
        try:
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._handle.flush()
        except OSError as exc:  # a full disk: name the file the user asked for
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None

    def close(self) -> Path:
        """The run is complete (the summary line is written): flush and close."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None
        return self.path

    def abort(self) -> None:
        """The run stopped on an error: keep the frames written so far (no summary line)."""
        try:
            self._handle.close()
        except OSError:  # flushing the rest fails too on a full disk
            log.warning("%s: the last lines could not be written", self.path)
