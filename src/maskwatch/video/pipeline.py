"""Run a video source through face detection, tracking, classification, annotation and writing.

Per frame, in this order:

1. decode (source thread);
2. detect faces (detector thread; frames larger than `detect_size` are shrunk for the face
   detector only, and further, per stream, as far as the stream's faces allow
   (detect_scale.DetectScale, `adaptive=True`); boxes are mapped back, crops come from the full frame);
3. track (ByteTrack on face boxes), then classify only the faces that need it (schedule.ClassifySchedule:
   new or untracked faces, unsure or disagreeing results, otherwise every `classify_every` frames)
   in one batched call, then smooth each track's probabilities and label (tracking.LabelSmoother), then
   events (consumer thread, the one iterating `VideoPipeline.run`; all of step 3 is
   labelling.TrackLabeller);
4. annotate + encode the MP4 + write JSON Lines (output thread).

With `threaded=True` the four stages run in their own threads joined by bounded queues (size
`queue_size`), so decoding and encoding overlap with the network runs, and face detection of frame
N+1 overlaps with classification of frame N (OpenCV, LiteRT and libx264 release the GIL). Bounded
queues keep memory flat: a slow stage makes the others wait instead of piling up frames. For a
live source (camera, stream) the source thread never waits: when the detector falls behind, the
oldest queued frame is dropped (`dropped_frames` counts them), so results stay current instead
of drifting further behind real time.

Outputs:
* MP4 (`save`): H.264 via writer.VideoWriter, appears atomically when the run ends.
* JSON Lines (`save_json`), one line per *frame* (frames without faces included, so the time axis
  is complete), each with a `detections` list; event lines follow the frame that caused them; a
  summary line ends the file. See `FrameResult.to_dict` for the fields. Lines go to the target
  file itself, flushed frame by frame (jsonl.JsonLines): a killed run keeps every frame it
  finished, and the summary line marks a complete file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np
import supervision as sv

from maskwatch.annotate import FrameAnnotator
from maskwatch.detections import LANDMARKS
from maskwatch.errors import SourceError
from maskwatch.video.detect_scale import DetectScale, shrink
from maskwatch.video.events import Event
from maskwatch.video.frames import Frame, FrameSource
from maskwatch.video.jsonl import JsonLines
from maskwatch.video.labelling import TrackLabeller
from maskwatch.video.results import FrameResult
from maskwatch.video.scene import CUT_THRESHOLD
from maskwatch.video.schedule import ClassifySchedule
from maskwatch.video.settings import (
    ALPHA,
    COAST_FRAMES,
    DETECT_SIZE,
    EVERY,
    MARGIN,
    MIN_CONFIDENCE,
    OPENCV_THREADS,
    PATIENCE,
    QUEUE_SIZE,
    VideoSettings,
)
from maskwatch.video.sources import open_source
from maskwatch.video.threads import ThreadedRun
from maskwatch.video.timings import Timings
from maskwatch.video.writer import VideoWriter

#: A confidently labelled track is classified again after this many frames; between, its smoothed
#: label holds (unsure or disagreeing results are re-checked on the next frame: schedule.py).
CLASSIFY_EVERY = EVERY


class VideoPipeline:
    """Detector + tracker + smoother + events + outputs for one run over a source.

    >>> pipeline = VideoPipeline(MaskDetector(upscale=1.0))
    >>> for result in pipeline.run("clip.mp4", save="out.mp4", save_json="out.jsonl"):
    ...     print(result.index, [r["label"] for r in result.records()])
    >>> pipeline.summary()       # people, by label, without mask, incorrect, per track

    A pipeline object holds the state of its last run (tracks, events, timings); make one per
    video. Options: `classify_every` (1 = classify every face on every frame), `min_confidence`
    (a result below it is checked again on the next frame), `detect_size` (long side for face
    detection, None = native), `adaptive` (shrink further per stream when its faces are large,
    with a full-size probe frame every `probe_every` frames; see detect_scale.py), `coast` (with
    `adaptive`: a steady scene is detected once every `coast_frames` + 1 frames and tracks carried on between, see
    detect_scale.py and coasting.py), `alpha` /
    `margin` / `patience` (label smoothing, see tracking.LabelSmoother), `lost_seconds` (how long
    a track waits for its face to come back), `annotate` (draw boxes into FrameResult.annotated even when not saving),
    `threaded` (False runs every stage in the calling thread: simpler to debug, slower),
    `opencv_threads` (OpenCV's thread pool size while a threaded run lasts, restored after; the
    pipeline already keeps both cores busy, and OpenCV's own workers only compete with it;
    None leaves OpenCV alone), `label_style` (captions on annotated frames: full / short / none),
    `cut_threshold` (scene-cut sensitivity, see video.scene; None = never reset tracks).
    """

    def __init__(
        self,
        detector,
        *,  # in pipeline order: detection, tracking, classification, smoothing, output, threads
        detect_size: int | None = DETECT_SIZE,
        adaptive: bool = True,
        probe_every: int | None = None,
        coast: bool = True,
        coast_frames: int = COAST_FRAMES,
        lost_seconds: float = 1.0,
        cut_threshold: float | None = CUT_THRESHOLD,
        classify_every: int = CLASSIFY_EVERY,
        min_confidence: float = MIN_CONFIDENCE,
        alpha: float = ALPHA,
        margin: float = MARGIN,
        patience: int = PATIENCE,
        label_style: str = "full",
        annotate: bool = False,
        threaded: bool = True,
        queue_size: int = QUEUE_SIZE,
        opencv_threads: int | None = OPENCV_THREADS,
    ) -> None:
        VideoSettings(  # the ranges (ConfigError naming the option and its allowed range)
            classify_every=classify_every, detect_size=detect_size, min_confidence=min_confidence,
            adaptive=adaptive, probe_every=probe_every, coast=coast, coast_frames=coast_frames, alpha=alpha,
            margin=margin, patience=patience,
            lost_seconds=lost_seconds, annotate=annotate, threaded=threaded, queue_size=queue_size,
            opencv_threads=opencv_threads,
        )  # fmt: skip
        self.detector = detector
        self.labels = list(detector.labels)
        self.classify_every = int(classify_every)
        self.min_confidence = float(min_confidence)
        ClassifySchedule(self.classify_every, self.min_confidence)  # validates both now, not at run()
        self.detect_size = int(detect_size) if detect_size else None
        self.adaptive = bool(adaptive)
        self.probe_every = probe_every
        self.coast = bool(coast)
        self.coast_frames = int(coast_frames)
        self._scale: DetectScale | None = None
        self.smoothing = {"alpha": alpha, "margin": margin, "patience": patience}
        self.lost_seconds = float(lost_seconds)
        self.annotate = annotate
        self.threaded = threaded
        self.queue_size = max(1, int(queue_size))
        self.opencv_threads = opencv_threads
        self.label_style = label_style
        self.cut_threshold = cut_threshold
        self.timings = Timings()
        self.events: list[Event] = []
        self.warnings: list[str] = []
        self.dropped_frames = 0
        self.outputs: dict[str, str] = {}
        self.source: FrameSource | None = None
        self._labeller: TrackLabeller | None = None
        self._annotator: FrameAnnotator | None = None

    # ----------------------------------------------------------------- stages (one frame each)

    def _detect(self, rgb: np.ndarray, index: int = 0) -> sv.Detections | None:
        """Faces in a frame (None: skipped, see coasting.py); frames are shrunk as the faces allow."""
        height, width = rgb.shape[:2]
        scale = 1.0
        if self.detect_size and max(height, width) > self.detect_size:
            scale = self.detect_size / max(height, width)
        capped = (round(width * scale), round(height * scale))  # what the detector would see at most
        if self._scale is not None and not self._scale.detect_on(index, *capped):
            return None
        adaptive = self._scale.scale(index, *capped) if self._scale is not None else 1.0
        if scale * adaptive < 1.0:
            scale *= adaptive
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = shrink(rgb, size)
            faces = self.detector.detect_faces(small)
        else:
            faces = self.detector.detect_faces(rgb)
        if self._scale is not None:
            self._scale.observe(index, faces.xyxy / adaptive, adaptive)  # in the capped frame's pixels
        if scale != 1.0 and len(faces):
            faces.xyxy = faces.xyxy / scale
            if LANDMARKS in faces.data:
                faces.data[LANDMARKS] = faces.data[LANDMARKS] / scale
        return faces

    def _output(self, result: FrameResult) -> None:
        if self._writer is not None:
            image = result.annotated
            if image is None:
                with self.timings.measure("annotate"):
                    image = self._annotator.annotate(result.frame.image, result.detections)
            with self.timings.measure("encode"):
                self._writer.write(image, time=result.time if self._live else None)
        if self._json is not None:
            with self.timings.measure("json"):
                self._json.write(result.to_dict())
                for event in result.events:
                    self._json.write(event.to_dict())

    # ----------------------------------------------------------------------------- the run

    def run(
        self,
        source: str | int | os.PathLike | FrameSource,
        save: str | os.PathLike | None = None,
        save_json: str | os.PathLike | None = None,
        max_frames: int | None = None,
        source_options: dict | None = None,
    ) -> Iterator[FrameResult]:
        """Yield a FrameResult per processed frame; outputs are finished when the iteration ends.

        Stopping early (break, KeyboardInterrupt, a SourceError from a stream that does not come
        back) still finishes the MP4 / JSON Lines with the frames processed so far; any other error
        discards them. Source problems that do not stop the run (a truncated file) are in
        `self.warnings` and in the summary.
        """
        src = open_source(source, **(source_options or {}))
        self.source = src
        fps = src.fps or 30.0
        self._live = bool(src.live)
        probe = {"probe_every": self.probe_every} if self.probe_every else {}
        self._scale = DetectScale(coast=self.coast, coast_frames=self.coast_frames, **probe) if self.adaptive else None
        self.events = []
        self.warnings = []
        self.dropped_frames = 0
        self.timings = Timings()
        self._labeller = TrackLabeller(
            self.detector, self.labels, fps=fps, lost_seconds=self.lost_seconds, smoothing=self.smoothing,
            classify_every=self.classify_every, min_confidence=self.min_confidence,
            cut_threshold=self.cut_threshold, timings=self.timings,
        )  # fmt: skip
        self._annotator = FrameAnnotator(self.labels, self.label_style) if (save or self.annotate) else None
        self._writer = self._json = None
        try:
            self._writer = VideoWriter(save, fps=fps) if save else None
            self._json = JsonLines(save_json) if save_json else None
        except BaseException:
            if src is not source:
                src.close()
            raise
        self.outputs = {}
        self._stuck = False
        finish = False
        started = time.perf_counter()
        stages = self._threaded(src, max_frames) if self.threaded else self._sequential(src, max_frames)
        restore_threads = self._set_opencv_threads()
        try:
            for result in stages:
                self.timings.frames += 1
                self.events.extend(result.events)
                yield result
            finish = True
        except (GeneratorExit, KeyboardInterrupt, SourceError):
            finish = True
            raise
        finally:
            stages.close()  # joins the worker threads before the outputs are closed
            restore_threads()
            self.timings.wall = time.perf_counter() - started
            problem = getattr(src, "problem", None)
            if problem:
                self.warnings.append(problem)
            if self._live and self.dropped_frames:
                self.warnings.append(f"{src.name}: {self.dropped_frames} frame(s) dropped to keep up with the stream")
            tail = self._labeller.log.finish()
            self.events.extend(tail)
            self._close_outputs(finish, tail)
            if src is not source and not self._stuck:
                src.close()  # never under a thread that may still be reading it

    def _set_opencv_threads(self):
        """Apply opencv_threads for a threaded run; returns the function that restores the old value."""
        if not self.threaded or not self.opencv_threads:
            return lambda: None
        import cv2

        previous = cv2.getNumThreads()
        cv2.setNumThreads(int(self.opencv_threads))
        return lambda: cv2.setNumThreads(previous)

    def _close_outputs(self, finish: bool, tail: list[Event]) -> None:
        if self._writer is not None:
            if finish and self._writer.frames:
                self.outputs["video"] = str(self._writer.close())
            else:
                self._writer.abort()
        if self._json is not None:
            if finish:
                for event in tail:
                    self._json.write(event.to_dict())
                self._json.write(self.summary())
                self.outputs["json"] = str(self._json.close())
            else:
                self._json.abort()

    def summary(self) -> dict:
        """The end-of-run summary (also the last JSON Lines record)."""
        if self._labeller is None:
            raise RuntimeError("summary() before run()")
        summary = self._labeller.log.summary()
        summary["source"] = self.source.name if self.source else None
        summary["warnings"] = list(self.warnings)
        summary["dropped_frames"] = self.dropped_frames
        return summary

    def _result(self, frame: Frame, faces: sv.Detections) -> FrameResult:
        detections, events = self._labeller.label(frame, faces)
        result = FrameResult(frame, detections, events, self.labels)
        if self.annotate:
            with self.timings.measure("annotate"):
                result.annotated = self._annotator.annotate(frame.image, detections)
        return result

    def _sequential(self, src: FrameSource, max_frames: int | None) -> Iterator[FrameResult]:
        frames = iter(src)
        count = 0
        while max_frames is None or count < max_frames:
            with self.timings.measure("decode"):
                frame = next(frames, None)
            if frame is None:
                return
            with self.timings.measure("detect"):
                faces = self._detect(frame.image, frame.index)
            result = self._result(frame, faces)
            self._output(result)
            count += 1
            yield result

    def _threaded(self, src: FrameSource, max_frames: int | None) -> Iterator[FrameResult]:
        run = ThreadedRun(
            src,
            max_frames,
            detect=self._detect,
            label=self._result,
            output=self._output,
            timings=self.timings,
            queue_size=self.queue_size,
            live=self._live,
            on_drop=self._dropped,
        )
        try:
            yield from run
        finally:
            self._stuck = run.stuck

    def _dropped(self) -> None:
        self.dropped_frames += 1
