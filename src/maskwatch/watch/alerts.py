"""The no-mask alert: a person (a track) shows an alert label for `after` seconds in a row.

Built on the smoothed track labels the video pipeline already gives, so one doubtful frame
neither raises nor clears an alert. Each stretch of an alert label alerts once; a person who puts
the mask on and takes it off again alerts again.
"""

from __future__ import annotations

from collections.abc import Sequence

NO_MASK_ALERT = "no_mask_alert"


class NoMaskAlerts:
    def __init__(self, labels: Sequence[str] = ("without_mask",), after: float = 1.0) -> None:
        self.labels = frozenset(labels)
        self.after = float(after)
        self._since: dict[int, float] = {}  # track -> video time its alert label began
        self._alerted: set[int] = set()

    def update(self, frame: int, time: float, track_ids: Sequence[int], labels: Sequence[str]) -> list[dict]:
        """Alerts caused by this frame (event records like maskwatch.video's, "event": "no_mask_alert")."""
        alerts = []
        for tid, label in zip(track_ids, labels, strict=True):
            tid, label = int(tid), str(label)
            if tid < 0:
                continue
            if label not in self.labels:
                self._since.pop(tid, None)
                self._alerted.discard(tid)
                continue
            since = self._since.setdefault(tid, float(time))
            if tid not in self._alerted and time - since >= self.after:
                self._alerted.add(tid)
                alerts.append(
                    {
                        "type": "event",
                        "event": NO_MASK_ALERT,
                        "frame": int(frame),
                        "time": round(float(time), 3),
                        "track_id": tid,
                        "label": label,
                        "seconds": round(float(time) - since, 3),
                    }
                )
        return alerts

    def forget(self, track_id: int) -> None:
        """The person left (a `disappeared` event): drop their state."""
        self._since.pop(int(track_id), None)
        self._alerted.discard(int(track_id))
