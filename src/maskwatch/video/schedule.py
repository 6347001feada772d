"""Which tracked faces to classify on this frame: the video fast path's classification schedule.

Running the classifier on every face of every frame is most of a crowded frame's cost (~6 ms per
face for the accurate model), and a tracked face rarely changes its mask state between two frames.
So a face is classified

* at once when it is new (no confirmed track yet, or a track never classified);
* again on the next frame when its last result disagreed with the track's smoothed label
  (someone pulling a mask down shows up as a disagreement first; `LabelSmoother` needs `patience`
  measurements to switch);
* again after `retry` frames while its last result was unsure (top probability below
  `min_confidence`): small, blurred or turned faces stay unsure for long, and re-running them on
  every frame made a crowd cost as much as classifying everyone always;
* otherwise every `every` frames, each track on its own phase (track id modulo `every`), so a
  crowd that appears at once is re-checked a slice at a time instead of all on one frame.

All faces due on a frame go to the classifier in one batch (the pipeline does that).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskwatch.errors import ConfigError
from maskwatch.video.settings import EVERY, MIN_CONFIDENCE

#: An unsure result (top probability below MIN_CONFIDENCE) is classified again after RETRY frames.
RETRY = 3


@dataclass
class _Last:
    frame: int  # the frame the schedule counts from (phase-shifted at the first classification)
    wait: int  # frames until the next classification is due


@dataclass
class ClassifySchedule:
    """`due(frame, track_ids)` -> bool mask of faces to classify; `record(...)` after classifying.

    >>> schedule = ClassifySchedule(every=10)
    >>> due = schedule.due(frame_index, faces.tracker_id)       # new / unsure / disagreeing / old
    >>> schedule.record(frame_index, track_id, raw_probabilities, smoothed_label)

    Track id -1 (a face the tracker has not confirmed) is always due. `every=1` classifies every
    face on every frame.
    """

    every: int = EVERY
    min_confidence: float = MIN_CONFIDENCE
    retry: int = RETRY
    _last: dict[int, _Last] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ConfigError(f"classify_every must be >= 1, got {self.every}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be in 0..1, got {self.min_confidence}")
        if self.retry < 1:
            raise ConfigError(f"retry must be >= 1, got {self.retry}")

    def __contains__(self, track_id: int) -> bool:
        return int(track_id) in self._last

    def due(self, frame: int, track_ids: np.ndarray | None) -> np.ndarray:
        """One bool per face: classify it on this frame?"""
        ids = np.asarray(track_ids if track_ids is not None else [], dtype=int).reshape(-1)
        out = np.ones(len(ids), dtype=bool)
        for i, tid in enumerate(ids):
            last = self._last.get(int(tid)) if tid >= 0 else None
            if last is not None:
                out[i] = frame - last.frame >= last.wait
        return out

    def record(self, frame: int, track_id: int, probabilities: np.ndarray, label: int) -> None:
        """Note a classification of `track_id` on `frame`: raw probabilities, smoothed label index."""
        tid = int(track_id)
        if tid < 0:
            return
        probs = np.asarray(probabilities, dtype=np.float32).reshape(-1)
        top = int(probs.argmax())
        if top != int(label):
            self._last[tid] = _Last(frame, 1)
        elif probs[top] < self.min_confidence:
            self._last[tid] = _Last(frame, min(self.retry, self.every))
        elif tid not in self._last:
            # Spread tracks over the `every` phases: the first re-check comes 1..every frames later.
            self._last[tid] = _Last(frame - (tid % self.every), self.every)
        else:
            self._last[tid] = _Last(frame, self.every)

    def forget(self, track_ids) -> None:
        """Drop the state of tracks that are gone."""
        for tid in track_ids:
            self._last.pop(int(tid), None)
