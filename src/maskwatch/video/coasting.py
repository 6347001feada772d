"""Faces on frames the detector skipped: each face of the last frame carried on at its track's velocity.

A steady scene - the same people, about as many faces detection after detection - does not need
the detector on every frame (detect_scale.DetectScale decides when it may skip), and the
detector is most of a frame's cost. On the frames in between, every face of the last frame is
carried on ("coasted"): a confirmed track from its last box at its measured velocity, a face
without a track yet where it was - the idea of a video analytics pipeline's inference interval
with a tracker filling the gaps. Nothing is classified on a coasted frame; tracks keep their
smoothed labels, and faces due for classification are classified on the next detected frame.
"""

from __future__ import annotations

import numpy as np
import supervision as sv

from maskwatch.detections import LANDMARKS, from_faces


class Coaster:
    """`remember(frame, faces, detected)` after every frame; `coast(frame, w, h)` on a skipped one.

    Every face of the last frame is carried on, with everything it carries (labels, probabilities):
    a confirmed track at its velocity, a face without a track yet (id -1) where it was.
    """

    def __init__(self) -> None:
        self._last: sv.Detections | None = None
        self._last_frame = -1
        self._seen: dict[int, tuple[np.ndarray, int]] = {}
        self._velocity: dict[int, np.ndarray] = {}

    def remember(self, frame: int, faces: sv.Detections, detected: bool = True) -> None:
        """A frame's final faces (tracker_id set); velocities are measured on detected frames only."""
        ids = faces.tracker_id if faces.tracker_id is not None else np.full(len(faces), -1)
        for tid, box in zip(ids, faces.xyxy, strict=True):
            if not detected:
                break
            tid = int(tid)
            if tid < 0:
                continue
            previous = self._seen.get(tid)
            if previous is not None and frame > previous[1]:
                self._velocity[tid] = (box - previous[0]) / (frame - previous[1])
            self._seen[tid] = (box.astype(np.float32).copy(), frame)
        self._keep(frame, faces)

    def coast(self, frame: int, width: int, height: int) -> sv.Detections:
        """The last frame's faces moved on to `frame` (clipped to the frame; faces pushed out are dropped)."""
        last = self._last
        if last is None or not len(last):
            empty = from_faces(np.zeros((0, 4)), np.zeros(0))
            empty.tracker_id = np.zeros(0, dtype=int)
            return empty
        faces = last[np.arange(len(last))]
        steps = frame - self._last_frame
        if len(faces) and steps > 0:
            shift = np.stack([self._velocity.get(int(t), np.zeros(4, np.float32)) for t in faces.tracker_id]) * steps
            faces.xyxy = faces.xyxy + shift.astype(np.float32)
            if LANDMARKS in faces.data:
                centre = (shift[:, 0:2] + shift[:, 2:4]) / 2
                faces.data[LANDMARKS] = faces.data[LANDMARKS] + centre[:, None, :].astype(np.float32)
            faces.xyxy[:, [0, 2]] = faces.xyxy[:, [0, 2]].clip(0, width)
            faces.xyxy[:, [1, 3]] = faces.xyxy[:, [1, 3]].clip(0, height)
            inside = (faces.xyxy[:, 2] - faces.xyxy[:, 0] >= 1) & (faces.xyxy[:, 3] - faces.xyxy[:, 1] >= 1)
            faces = faces[inside]
        self._keep(frame, faces)
        return faces

    def _keep(self, frame: int, faces: sv.Detections) -> None:
        self._last = faces[np.arange(len(faces))] if len(faces) else faces
        self._last_frame = frame

    def forget(self, track_ids) -> None:
        for tid in track_ids:
            self._seen.pop(int(tid), None)
            self._velocity.pop(int(tid), None)
