"""Image results written as each image finishes, so a killed run keeps them and `--resume` skips them.

* `out.jsonl` / `out.ndjson`: JSON Lines, one image per line, appended and flushed as images finish;
  the file is the result (a cut last line of a killed run is dropped on resume).
* anything else (`out.json`): a JSON array, written atomically at the end. Until then the finished
  images stream into a hidden `.out.json.partial.jsonl` beside it, which survives a kill; the
  finished array replaces it.

`resume=True` reads what an earlier run finished (the partial file, else the results file) and
returns it, so those images are not processed again. A new run without `resume` starts afresh.
Either way, temporary files that killed runs left beside the target are removed first.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from maskwatch.atomic import atomic_write_text, remove_stale_temps

log = logging.getLogger(__name__)

LINE_SUFFIXES = (".jsonl", ".ndjson")


def partial_path(target: Path) -> Path:
    """Where a JSON-array run streams its finished images until the array is written."""
    return target.with_name(f".{target.name}.partial.jsonl")


def _read_lines(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line a kill cut short
            if isinstance(record, dict) and "source" in record and "detections" in record:
                records.append(record)
    return records


class ResultsFile:
    """The --save-json file of an image run: `done` (resumed records), `write(record)`, `finish(all)`."""

    def __init__(self, target: str | os.PathLike, resume: bool = False) -> None:
        self.target = Path(target)
        self.lines = self.target.suffix.lower() in LINE_SUFFIXES
        self.stream = self.target if self.lines else partial_path(self.target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temps(self.target)
        if removed:
            log.info("%s: removed %d temporary file(s) left by an interrupted run", self.target, removed)
        self.done: list[dict] = self._previous() if resume else []
        if not resume and not self.lines and self.stream.exists():
            log.warning(
                "%s: an interrupted run left results in %s; starting afresh (--resume continues it)",
                self.target,
                self.stream.name,
            )
        # Rewrite what is kept (dropping a cut last line), then append as images finish.
        self._handle = open(self.stream, "w", encoding="utf-8")  # noqa: SIM115 (closed in finish/abort)
        for record in self.done:
            self._write(record)
        self._handle.flush()

    def _previous(self) -> list[dict]:
        if self.stream.is_file():
            return _read_lines(self.stream)
        if self.target.is_file():
            try:
                records = json.loads(self.target.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                log.warning("%s: cannot read earlier results; processing everything again", self.target)
                return []
            return [r for r in records if isinstance(r, dict) and "source" in r] if isinstance(records, list) else []
        return []

    def _write(self, record: dict) -> None:
        try:
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        except OSError as exc:  # a full disk: name the file the user asked for
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.target)) from None

    def write(self, record: dict) -> None:
        """Add one finished image; it is on disk (flushed) when this returns."""
        self._write(record)
        try:
            self._handle.flush()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.target)) from None

    def finish(self, results: list[dict]) -> Path:
        """The run is complete: JSON Lines stay as written; a JSON array is written and the partial goes."""
        self._handle.close()
        if not self.lines:
            atomic_write_text(self.target, json.dumps(results, indent=2) + "\n")
            self.stream.unlink(missing_ok=True)
        return self.target

    def abort(self) -> None:
        """The run stopped early: keep what finished (the stream file) for --resume."""
        try:
            self._handle.close()
        except OSError:
            log.warning("%s: the last results could not be written", self.target)
