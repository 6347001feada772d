"""`FrameResult`: what the video pipeline yields for each frame, and its JSON Lines record."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import supervision as sv

from maskwatch.records import FrameRecord, face_records
from maskwatch.results import Result
from maskwatch.video.events import Event
from maskwatch.video.frames import Frame


@dataclass(eq=False)
class FrameResult(Result):
    """One processed frame: the source frame, its labelled + tracked faces and the events it caused.

    `detections` is an sv.Detections with tracker_id (-1 = not yet a confirmed track), class_id /
    confidence / data["class_name"] / data["probabilities"] from the *smoothed* track state, and
    data["raw_probabilities"] (this frame's classifier output; NaN rows where the face was not
    re-classified on this frame, see data["classified"]).
    """

    frame: Frame
    detections: sv.Detections
    events: list[Event]
    labels: list[str]
    annotated: np.ndarray | None = None

    @property
    def index(self) -> int:
        return self.frame.index

    @property
    def time(self) -> float:
        return self.frame.time

    def records(self) -> list[dict]:
        """One dict per face: track_id, box, label, confidence, face_score, probabilities, raw_probabilities."""
        return [face.to_dict() for face in face_records(self.detections, self.labels, video=True)]

    def to_dict(self) -> dict:
        """The JSON Lines record of this frame (`maskwatch.records.FrameRecord`)."""
        faces = face_records(self.detections, self.labels, video=True)
        return FrameRecord(frame=self.index, time=round(self.time, 3), detections=faces).model_dump(mode="json")
