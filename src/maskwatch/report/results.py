"""Read a results file `maskwatch detect` wrote, whatever its kind, into one shape for the report.

* images: a JSON array of `{"source", "width", "height", "detections"}` (or the same records as
  JSON Lines, one image per line, as a streamed folder run writes them);
* video: JSON Lines of `{"type": "frame", "frame", "time", "detections"}` records, `event`
  records and a final `summary` record.

Every record becomes an `Entry` (one image or one frame) with its label counts; a line that is
not JSON is counted and skipped (a killed run may leave a last half line), never fatal.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from maskwatch.errors import SourceError

WITHOUT = "without_mask"
INCORRECT = "mask_weared_incorrect"


@dataclass
class Entry:
    """One image or one video frame: where it is, and its faces (result records)."""

    name: str
    detections: list[dict]
    frame: int | None = None
    time: float | None = None
    size: tuple[int, int] | None = None

    @property
    def counts(self) -> Counter:
        return Counter(str(face.get("label", "face")) for face in self.detections)

    @property
    def badness(self) -> tuple[int, int, float]:
        """Sort key of the worst entries: most faces without a mask, then incorrect, then share."""
        counts = self.counts
        total = max(1, len(self.detections))
        return counts[WITHOUT], counts[INCORRECT], (counts[WITHOUT] + counts[INCORRECT]) / total


@dataclass
class Results:
    """What a results file holds: its kind ("images" / "video"), entries, and video extras."""

    path: Path
    kind: str
    entries: list[Entry]
    labels: list[str]
    events: list[dict] = field(default_factory=list)
    summary: dict | None = None
    bad_lines: int = 0

    @property
    def counts(self) -> Counter:
        total: Counter = Counter({label: 0 for label in self.labels})
        for entry in self.entries:
            total.update(entry.counts)
        return total


def _labels(entries: list[Entry]) -> list[str]:
    """Label names in the model's order (from the probabilities), else in order of appearance."""
    for entry in entries:
        for face in entry.detections:
            if isinstance(face.get("probabilities"), dict):
                return [str(k) for k in face["probabilities"]]
    seen: dict[str, None] = {}
    for entry in entries:
        for face in entry.detections:
            seen.setdefault(str(face.get("label", "face")), None)
    return list(seen)


def _image_entry(record: dict) -> Entry:
    size = (int(record["width"]), int(record["height"])) if "width" in record and "height" in record else None
    return Entry(str(record.get("source", "?")), list(record.get("detections") or []), size=size)


def load_results(path: str | os.PathLike) -> Results:
    """Read a results file (JSON array of images, or JSON Lines of images / video frames)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such results file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder; give the results file (--save-json of maskwatch detect)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read results ({exc})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SourceError(f"{path}: expected a JSON array of image results")
        entries = [_image_entry(r) for r in records]
        return Results(path, "images", entries, _labels(entries))
    return _load_lines(path, text)


def _load_lines(path: Path, text: str) -> Results:
    entries: list[Entry] = []
    events: list[dict] = []
    summary = None
    bad = 0
    kind = None
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if not isinstance(record, dict):
            bad += 1
            continue
        rtype = record.get("type")
        if rtype == "frame":
            kind = "video"
            entries.append(
                Entry(
                    f"frame {record.get('frame')}",
                    list(record.get("detections") or []),
                    frame=int(record.get("frame", len(entries))),
                    time=float(record.get("time", 0.0)),
                )
            )
        elif rtype == "event":
            events.append(record)
        elif rtype == "summary":
            summary = record
        elif "detections" in record:
            kind = kind or "images"
            entries.append(_image_entry(record))
        else:
            bad += 1
    if kind is None:
        raise SourceError(f"{path}: no image or frame results in it (is it a maskwatch detect --save-json file?)")
    return Results(path, kind, entries, _labels(entries), events=events, summary=summary, bad_lines=bad)
