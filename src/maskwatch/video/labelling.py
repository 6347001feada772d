"""Per-track labelling for one video run: track (or coast), classify the faces that are due, smooth, emit events.

Why a module of its own: the pipeline (`video/pipeline.py`) moves frames between threads and
outputs; what a person's label *is* on a frame is decided here, from the tracker (ByteTrack,
`tracking.FaceTracker`), the coaster for frames the detector skipped (`coasting.Coaster`), the
classify schedule (`schedule.ClassifySchedule`), the label smoother (`tracking.LabelSmoother`),
scene cuts (`scene.SceneCuts`) and the event log (`events.EventLog`). One `TrackLabeller` holds
that state for one run; a new run makes a new one.
"""

from __future__ import annotations

import time

import numpy as np
import supervision as sv

from maskwatch.detections import LABEL, PROBABILITIES, RAW_PROBABILITIES, from_faces
from maskwatch.video.coasting import Coaster
from maskwatch.video.events import Event, EventLog
from maskwatch.video.frames import Frame
from maskwatch.video.scene import SceneCuts
from maskwatch.video.schedule import ClassifySchedule
from maskwatch.video.timings import Timings
from maskwatch.video.tracking import FaceTracker, LabelSmoother

#: Detections field: True where the face was classified on this frame (not carried by smoothing).
CLASSIFIED = "classified"


class TrackLabeller:
    """The labelling state of one run: tracks, their smoothed labels, the schedule and the events.

    `detector.classify(image, faces)` labels the due faces in one batched call; `smoothing` holds
    LabelSmoother's alpha / margin / patience; `cut_threshold` None never resets tracks on a cut.
    Time spent is added to `timings` as track, classify and smooth.
    """

    def __init__(
        self,
        detector,
        labels: list[str],
        *,
        fps: float,
        lost_seconds: float,
        smoothing: dict,
        classify_every: int,
        min_confidence: float,
        cut_threshold: float | None,
        timings: Timings,
    ) -> None:
        self.detector = detector
        self.labels = labels
        self.timings = timings
        self.tracker = FaceTracker(fps=fps, lost_seconds=lost_seconds)
        self.cuts = SceneCuts(cut_threshold) if cut_threshold else None
        self.smoother = LabelSmoother(len(labels), **smoothing)
        self.schedule = ClassifySchedule(classify_every, min_confidence)
        self.coaster = Coaster()
        self.log = EventLog(labels)

    def label(self, frame: Frame, faces: sv.Detections | None) -> tuple[sv.Detections, list[Event]]:
        """Track (or coast, when detection skipped this frame), classify the faces that need it, smooth, emit events."""
        t0, c0 = time.perf_counter(), time.thread_time()
        cut, cut_events = self.scene_cut(frame) if self.cuts is not None else (False, [])
        if cut and faces is None:
            faces = from_faces(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))  # nothing to coast
        coasted = faces is None
        if coasted:
            # The last frame's faces moved on; unconfirmed ones (-1) keep the probabilities they had.
            height, width = frame.image.shape[:2]
            faces = self.coaster.coast(frame.index, width, height)
            carried = faces.data.get(PROBABILITIES, np.zeros((len(faces), len(self.labels)), np.float32))
        else:
            faces = self.tracker.update(faces)
        t1, c1 = time.perf_counter(), time.thread_time()
        n = len(faces)
        ids = faces.tracker_id
        due = self.schedule.due(frame.index, ids)
        due |= np.array([int(t) < 0 or int(t) not in self.smoother for t in ids], dtype=bool)
        if coasted:
            due[:] = False  # coasted boxes are guesses: classify on the next detected frame
        raw = np.full((n, len(self.labels)), np.nan, dtype=np.float32)
        if due.any():
            subset = faces[due]
            subset.data["_row"] = np.flatnonzero(due)
            labelled = self.detector.classify(frame.image, subset)
            raw[labelled.data["_row"]] = labelled.data[PROBABILITIES]
            due[:] = False
            due[labelled.data["_row"]] = True
        t2, c2 = time.perf_counter(), time.thread_time()
        # A face whose crop came out empty (box outside the frame) has no probabilities: drop it.
        keep = due | np.array([(coasted and int(t) < 0) or int(t) in self.smoother for t in ids], dtype=bool)
        if not keep.all():
            faces, raw, due = faces[keep], raw[keep], due[keep]
            ids = faces.tracker_id
            if coasted:
                carried = carried[keep]
        probs = np.zeros((len(faces), len(self.labels)), dtype=np.float32)
        class_id = np.zeros(len(faces), dtype=int)
        for i in range(len(faces)):
            tid = int(ids[i])
            if tid < 0:
                probs[i] = carried[i] if coasted else raw[i]
                class_id[i] = int(probs[i].argmax())
            elif due[i]:
                probs[i], class_id[i] = self.smoother.update(tid, raw[i], frame.index)
                self.schedule.record(frame.index, tid, raw[i], class_id[i])
            else:
                probs[i], class_id[i] = self.smoother.current(tid, frame.index)
        faces.class_id = class_id
        faces.confidence = probs[np.arange(len(faces)), class_id] if len(faces) else np.zeros(0, np.float32)
        faces.data[LABEL] = np.array([self.labels[c] for c in class_id], dtype=object)
        faces.data[PROBABILITIES] = probs
        faces.data[RAW_PROBABILITIES] = raw
        faces.data[CLASSIFIED] = due
        self.coaster.remember(frame.index, faces, detected=not coasted)
        events = cut_events + self.log.observe(frame.index, frame.time, ids, faces.data[LABEL], faces.confidence)
        # A little longer than the tracker keeps a lost track, so a person is only declared gone
        # (and their smoothing state dropped) once the tracker cannot bring the same id back.
        gap = self.tracker.lost_frames + 2
        events += self.log.expire(frame.index, frame.time, gap)
        self._forget(self.smoother.forget(frame.index, gap))
        t3, c3 = time.perf_counter(), time.thread_time()
        self.timings.add("track", t1 - t0, c1 - c0)
        self.timings.add("classify", t2 - t1, c2 - c1)
        self.timings.add("smooth", t3 - t2, c3 - c2)
        return faces, events

    def scene_cut(self, frame: Frame) -> tuple[bool, list[Event]]:
        """On the first frame of a new shot: end every track (disappeared events), start afresh."""
        if not self.cuts.is_cut(frame.image):
            return False, []
        self.tracker.reset()
        events = self.log.expire(frame.index, frame.time, gap=0)
        self._forget(self.smoother.forget(frame.index, 0))
        return True, events

    def _forget(self, gone) -> None:
        """Tracks the smoother has dropped leave the schedule and the coaster too."""
        self.schedule.forget(gone)
        self.coaster.forget(gone)
