"""What happened in a video, per person: appeared, changed mask state, left; plus an end summary.

Events are computed from *smoothed* track labels (tracking.LabelSmoother), so one flickering frame
does not produce a pair of "changed" events. Only confirmed tracks (tracker_id >= 0) count as
people; untracked one-off detections are counted separately in the summary.

A person's label in the summary is the label their track carried on most frames (majority); the
label on their last frame is given too (`final_label`), because "came in without a mask, then put
it on" is exactly what a door camera wants to see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

APPEARED = "appeared"
LABEL_CHANGED = "label_changed"
DISAPPEARED = "disappeared"


@dataclass
class Event:
    """One thing that happened to one tracked person."""

    type: str  # appeared | label_changed | disappeared
    frame: int
    time: float
    track_id: int
    label: str
    previous_label: str | None = None
    confidence: float | None = None

    def to_dict(self) -> dict:
        # "type" marks the JSON Lines record kind (frame / event / summary); "event" says which.
        record = {"type": "event", "event": self.type}
        record.update({k: v for k, v in asdict(self).items() if k != "type"})
        record["time"] = round(self.time, 3)
        if self.confidence is not None:
            record["confidence"] = round(float(self.confidence), 4)
        return record


@dataclass
class TrackSummary:
    """Everything the summary needs about one track (a person)."""

    track_id: int
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    label: str
    label_frames: Counter = field(default_factory=Counter)
    changes: int = 0
    frames: int = 0
    ended: bool = False

    @property
    def majority_label(self) -> str:
        # Ties go to the label seen first (Counter keeps insertion order among equals).
        return self.label_frames.most_common(1)[0][0] if self.label_frames else self.label

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_time": round(self.first_time, 3),
            "last_time": round(self.last_time, 3),
            "frames": self.frames,
            "label": self.majority_label,
            "final_label": self.label,
            "label_frames": dict(self.label_frames),
            "label_changes": self.changes,
        }


class EventLog:
    """Turns per-frame (track id, smoothed label) observations into events and a summary.

    >>> log = EventLog(labels)
    >>> events = log.observe(frame, time, track_ids, label_names, confidences)
    >>> events += log.expire(frame, time, gap=30)     # people not seen for 30 frames left
    >>> log.finish(); log.summary()
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = [str(label) for label in labels]
        self.tracks: dict[int, TrackSummary] = {}
        self.frames = 0
        self.last_time = 0.0
        self.untracked = 0
        self.events_count: Counter = Counter()

    def observe(
        self,
        frame: int,
        time: float,
        track_ids: Sequence[int],
        labels: Sequence[str],
        confidences: Sequence[float] | None = None,
    ) -> list[Event]:
        """Record one frame's faces; returns the appeared / label_changed events it caused."""
        self.frames += 1
        self.last_time = max(self.last_time, float(time))
        events: list[Event] = []
        for i, (tid, label) in enumerate(zip(track_ids, labels, strict=True)):
            tid, label = int(tid), str(label)
            conf = None if confidences is None else float(confidences[i])
            if tid < 0:
                self.untracked += 1
                continue
            track = self.tracks.get(tid)
            if track is None:
                track = TrackSummary(tid, frame, time, frame, time, label)
                self.tracks[tid] = track
                events.append(Event(APPEARED, frame, time, tid, label, None, conf))
            elif track.ended:
                # Seen again after being declared gone: the same person came back (same id).
                track.ended = False
                events.append(Event(APPEARED, frame, time, tid, label, track.label, conf))
                if label != track.label:
                    track.changes += 1
                    track.label = label
            elif label != track.label:
                events.append(Event(LABEL_CHANGED, frame, time, tid, label, track.label, conf))
                track.changes += 1
                track.label = label
            track.last_frame, track.last_time = frame, time
            track.frames += 1
            track.label_frames[label] += 1
        self.events_count.update(e.type for e in events)
        return events

    def expire(self, frame: int, time: float, gap: int) -> list[Event]:
        """`disappeared` events for tracks not seen for more than `gap` frames."""
        events = []
        for track in self.tracks.values():
            if not track.ended and frame - track.last_frame > gap:
                track.ended = True
                events.append(
                    Event(DISAPPEARED, track.last_frame, track.last_time, track.track_id, track.majority_label)
                )
        self.events_count.update(e.type for e in events)
        return events

    def finish(self) -> list[Event]:
        """End of the video: every open track disappears at its last frame."""
        return self.expire(frame=1 << 62, time=self.last_time, gap=0)

    def summary(self) -> dict:
        """People seen, how many per (majority) label, without-mask and incorrect counts, per track."""
        tracks = sorted(self.tracks.values(), key=lambda t: t.track_id)
        by_label = Counter({label: 0 for label in self.labels})
        by_final = Counter({label: 0 for label in self.labels})
        for track in tracks:
            by_label[track.majority_label] += 1
            by_final[track.label] += 1
        return {
            "type": "summary",
            "frames": self.frames,
            "duration": round(self.last_time, 3),
            "people": len(tracks),
            "by_label": dict(by_label),
            "by_final_label": dict(by_final),
            "without_mask": by_label.get("without_mask", 0),
            "mask_weared_incorrect": by_label.get("mask_weared_incorrect", 0),
            "label_changes": sum(t.changes for t in tracks),
            "untracked_detections": self.untracked,
            "tracks": [t.to_dict() for t in tracks],
        }
