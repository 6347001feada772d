"""The video pipeline's settings, one typed model: `VideoPipeline(**settings)` and the
`maskwatch.detect()` / `maskwatch detect` video options carry the same names and ranges.

The defaults live here, not in the modules that use them, so the command line can list and check
these settings without importing the tracker (supervision) at start-up."""

from __future__ import annotations

from pydantic import Field

from maskwatch.settings import Settings

#: A confident track is classified again after this many frames (a third of a second at 30 fps).
EVERY = 10
#: Below this top probability a result is "unsure" and the face is classified again soon (schedule.RETRY).
MIN_CONFIDENCE = 0.8
#: Smoother defaults: EMA weight of a new measurement, lead needed to switch, updates in a row.
ALPHA = 0.3
MARGIN = 0.15
PATIENCE = 2
#: Frames a steady scene skips between two detections: 3 = detection at 7.5 frames/s on a 30 fps
#: stream. On the bench clips (bench/bench_speed.py, fast model, CPU ms per frame, face recall
#: per frame), 2 -> 3 -> 4 skipped frames: 5 faces 5.6 -> 4.4 -> 3.8 ms, recall 0.829 -> 0.823 ->
#: 0.826; 15 faces 7.9 -> 6.5 -> 5.6 ms, recall 0.748 -> 0.743 -> 0.742 (none skipped, before:
#: 5 faces 7.2 ms, recall 0.830; 15 faces 10.3 ms, 0.749).
COAST_FRAMES = 3

#: Faces are detected on frames at most this long side (px): YuNet's cost grows with pixels
#: (~12 ms at 640x480, ~65 ms at 1280x960 on one core) and faces in video are rarely tiny.
DETECT_SIZE = 640
QUEUE_SIZE = 4
#: OpenCV threads during a threaded run (see VideoPipeline); bench/bench_video.py compares.
OPENCV_THREADS = 1


class VideoSettings(Settings):
    """Tracking, classification schedule, smoothing and threading of one video run."""

    classify_every: int = Field(EVERY, ge=1, description="re-classify a confident track every N frames")
    detect_size: int | None = Field(DETECT_SIZE, ge=64, description="longest frame side the face detector sees")
    min_confidence: float = Field(MIN_CONFIDENCE, ge=0.0, le=1.0, description="below: re-check on the next frame")
    adaptive: bool = Field(True, description="shrink frames further per stream as its faces allow")
    probe_every: int | None = Field(None, ge=1, description="frames between full-size probes (adaptive)")
    coast: bool = Field(True, description="steady scenes: detect 1 frame in coast_frames + 1, tracks coasted between")
    coast_frames: int = Field(COAST_FRAMES, ge=1, le=30, description="frames a steady scene skips between detections")
    alpha: float = Field(ALPHA, gt=0.0, le=1.0, description="weight of a new frame in a track's smoothed label")
    margin: float = Field(MARGIN, ge=0.0, le=1.0, description="lead a new label needs to replace the current one")
    patience: int = Field(PATIENCE, ge=1, description="frames a new label must lead before it is taken")
    lost_seconds: float = Field(1.0, gt=0.0, description="seconds unseen before a person has left")
    annotate: bool = False
    threaded: bool = True
    queue_size: int = Field(QUEUE_SIZE, ge=1, le=64, description="frames waiting between two threads")
    opencv_threads: int | None = Field(OPENCV_THREADS, ge=1, le=64)
