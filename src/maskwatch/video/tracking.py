"""Give each face a track id across frames, and smooth each track's mask label over time.

Tracking is ByteTrack from Roboflow's `trackers` package (supervision removed `sv.ByteTrack` in
0.31 and points to it). It runs on the face boxes and face scores *before* classification, so the
pipeline can decide per track whether a face needs classifying again on this frame.

Why smoothing: a per-frame classifier flickers (a hand in front of the mouth, motion blur, a head
turn), and a flickering label makes a flickering event log. `LabelSmoother` keeps an exponential
moving average (EMA) of each track's class probabilities and changes the track's label only with
hysteresis: another class must lead the current one by `margin` in the averaged probabilities on
`patience` consecutive updates. Real changes (someone pulls a mask down) still come through within
a few frames; one-frame glitches do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from maskwatch.detections import FACE_SCORE
from maskwatch.errors import ConfigError
from maskwatch.video.settings import ALPHA, MARGIN, PATIENCE

#: Tracker defaults, tuned on voc3 clips (tests/test_video_pipeline.py, bench/bench_video.py).
LOST_SECONDS = 1.0
ACTIVATION = 0.6
HIGH_SCORE = 0.7
MIN_IOU = 0.1
MIN_FRAMES = 2

_INDEX = "_mw_index"


class FaceTracker:
    """ByteTrack on face boxes: `update(faces)` returns the same faces, same order, with tracker_id.

    Every input face comes back: a face that is not (yet) part of a confirmed track has
    tracker_id -1 (ByteTrack confirms a track after `min_frames` consecutive detections, which
    keeps one-frame false positives out of the people count). Track ids are 1, 2, 3, ... per
    FaceTracker, whatever the library's global counter says.

    `lost_seconds`: how long a track survives without a detection (occlusion, a missed frame).
    `activation`: face score a new track needs; `high_score`: faces at or above it are matched
    first, weaker faces can only continue existing tracks (the "BYTE" second pass).
    """

    def __init__(
        self,
        fps: float | None = 30.0,
        lost_seconds: float = LOST_SECONDS,
        activation: float = ACTIVATION,
        high_score: float = HIGH_SCORE,
        min_iou: float = MIN_IOU,
        min_frames: int = MIN_FRAMES,
    ) -> None:
        self.fps = float(fps or 30.0)
        self.lost_frames = max(1, int(round(lost_seconds * self.fps)))
        # ByteTrackTracker scales its buffer by frame_rate / 30, so pass the frame count at 30 fps.
        self._options = {
            "lost_track_buffer": self.lost_frames,
            "frame_rate": 30.0,
            "track_activation_threshold": activation,
            "minimum_consecutive_frames": min_frames,
            "minimum_iou_threshold": min_iou,
            "high_conf_det_threshold": high_score,
        }
        self._ids: dict[int, int] = {}
        self._issued = 0
        self.reset()

    def reset(self) -> None:
        """Forget every track (a scene cut): faces after it get new ids, never one from before."""
        from trackers import ByteTrackTracker

        self._tracker = ByteTrackTracker(**self._options)
        self._ids = {}

    def _local_id(self, raw: int) -> int:
        if raw < 0:
            return -1
        if raw not in self._ids:
            self._issued += 1
            self._ids[raw] = self._issued
        return self._ids[raw]

    def update(self, faces: sv.Detections) -> sv.Detections:
        """Assign tracker_id to faces (face_score, else confidence, is the tracking score)."""
        n = len(faces)
        scores = faces.data.get(FACE_SCORE)
        scores = np.asarray(scores if scores is not None else faces.confidence, dtype=np.float32).reshape(n)
        query = sv.Detections(xyxy=faces.xyxy.astype(np.float32).reshape(n, 4), confidence=scores.copy())
        query.data[_INDEX] = np.arange(n)
        tracked = self._tracker.update(query)
        ids = np.full(n, -1, dtype=int)
        if len(tracked) and tracked.tracker_id is not None:
            for index, raw in zip(tracked.data[_INDEX], tracked.tracker_id, strict=True):
                ids[int(index)] = self._local_id(int(raw))
        faces.tracker_id = ids
        return faces


@dataclass
class _TrackState:
    probs: np.ndarray
    label: int
    candidate: int = -1
    streak: int = 0
    updates: int = 1
    last_frame: int = 0


@dataclass
class LabelSmoother:
    """Per-track EMA of class probabilities plus a hysteresis label (see the module docstring).

    >>> smoother = LabelSmoother(n_classes=3)
    >>> probs, label = smoother.update(track_id=1, probabilities=p, frame=0)

    A track's first `patience` measurements set its label directly (argmax of their mean); after
    that the label moves only when another class leads by `margin` for `patience` updates in a row. `forget(frame, gap)`
    drops tracks not updated for more than `gap` frames so a long stream uses bounded memory.
    """

    n_classes: int
    alpha: float = ALPHA
    margin: float = MARGIN
    patience: int = PATIENCE
    _tracks: dict[int, _TrackState] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError(f"smoothing alpha must be in (0, 1], got {self.alpha}")
        if not 0.0 <= self.margin < 1.0:
            raise ConfigError(f"label margin must be in [0, 1), got {self.margin}")
        if self.patience < 1:
            raise ConfigError(f"label patience must be >= 1, got {self.patience}")

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._tracks

    def update(self, track_id: int, probabilities: np.ndarray, frame: int) -> tuple[np.ndarray, int]:
        """Fold one measurement into the track; returns (smoothed probabilities, label index)."""
        raw = np.asarray(probabilities, dtype=np.float32).reshape(self.n_classes)
        state = self._tracks.get(track_id)
        if state is None:
            state = _TrackState(probs=raw.copy(), label=int(raw.argmax()), last_frame=frame)
            self._tracks[track_id] = state
            return state.probs.copy(), state.label
        state.updates += 1
        # Running mean until there are 1/alpha measurements, EMA after: the first frame alone
        # does not get a weight of (1 - alpha)^k in the average (EMA start-up bias).
        weight = max(self.alpha, 1.0 / state.updates)
        state.probs = (1.0 - weight) * state.probs + weight * raw
        state.last_frame = frame
        best = int(state.probs.argmax())
        if state.updates <= self.patience:
            # Warm-up: the first few measurements decide the starting label without hysteresis.
            state.label, state.candidate, state.streak = best, -1, 0
        elif best != state.label and state.probs[best] - state.probs[state.label] >= self.margin:
            state.streak = state.streak + 1 if best == state.candidate else 1
            state.candidate = best
            if state.streak >= self.patience:
                state.label, state.candidate, state.streak = best, -1, 0
        else:
            state.candidate, state.streak = -1, 0
        return state.probs.copy(), state.label

    def current(self, track_id: int, frame: int | None = None) -> tuple[np.ndarray, int] | None:
        """The track's smoothed probabilities and label without a new measurement (None if unknown)."""
        state = self._tracks.get(track_id)
        if state is None:
            return None
        if frame is not None:
            state.last_frame = frame
        return state.probs.copy(), state.label

    def forget(self, frame: int, gap: int) -> list[int]:
        """Drop tracks last seen more than `gap` frames before `frame`; returns their ids."""
        gone = [tid for tid, state in self._tracks.items() if frame - state.last_frame > gap]
        for tid in gone:
            del self._tracks[tid]
        return gone
