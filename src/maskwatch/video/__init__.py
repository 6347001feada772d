"""Videos, cameras and streams: track every face, smooth its mask label, log events, write outputs.

>>> from maskwatch.video import process_video
>>> report = process_video("door.mp4", save="door_annotated.mp4", save_json="door.jsonl")
>>> report["summary"]["people"], report["summary"]["without_mask"]

`source` is a video file, a camera index (0, or "0") or a URL (rtsp://, http://, ...). For frame by
frame control use `iter_video` (a stream of `FrameResult`: `process_video(stream=True)`) or `VideoPipeline`.

Modules: `sources` (what a source means: `Source.parse`, once, for images and video alike), the
decoders `decode` (files and streams, PyAV) and `camera` (OpenCV), `frames` (Frame, FrameSource and
the reconnect loop), `tracking` (ByteTrack + label smoothing), `schedule` (which faces to classify),
`events` (appeared / label changed / disappeared + summary), `writer` (browser-playable MP4),
`jsonl` (JSON Lines), `results` (FrameResult), `timings`, `pipeline` (one run over a source) and
`threads` (its four-thread runner).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from maskwatch.video.sources import (
    CameraSource,
    Frame,
    FrameSource,
    Source,
    SourceWarning,
    StreamSource,
    VideoFileSource,
    is_video_source,
    open_source,
)

if TYPE_CHECKING:
    from maskwatch.results import ResultStream
    from maskwatch.video.results import FrameResult

__all__ = [
    "CameraSource",
    "Frame",
    "FrameSource",
    "Source",
    "SourceWarning",
    "StreamSource",
    "VideoFileSource",
    "is_video_source",
    "iter_video",
    "open_source",
    "process_video",
    "video_detector",
    "video_report",
]

#: Video frames are already large enough for YuNet; upscaling (good for small photos) would cost
#: 4x the detector time per frame for no gain at 640x480.
VIDEO_UPSCALE = 1.0


def video_detector(classifier=None, face_detector=None, **options):
    """A MaskDetector set up for video (no upscaling pass); options as for MaskDetector."""
    from maskwatch.detect.pipeline import MaskDetector

    options.setdefault("upscale", VIDEO_UPSCALE)
    return MaskDetector(classifier=classifier, face_detector=face_detector, **options)


def iter_video(source: str | int | os.PathLike | FrameSource, detector=None, **options) -> ResultStream:
    """One `FrameResult` per frame as they come (tracked, smoothed, with events): `process_video`
    with `stream=True`, the same options (save, save_json, max_frames, source_options and
    VideoPipeline's classify_every, detect_size, alpha, margin, patience, lost_seconds, annotate,
    threaded, queue_size). Its `.report` is process_video's report once the stream ends.
    """
    return process_video(source, detector, stream=True, **options)


def process_video(
    source: str | int | os.PathLike | FrameSource,
    detector=None,
    save: str | os.PathLike | None = None,
    save_json: str | os.PathLike | None = None,
    max_frames: int | None = None,
    keep_records: bool = False,
    progress: bool = False,
    source_options: dict | None = None,
    stream: bool = False,
    **pipeline_options,
) -> dict | ResultStream:
    """Run a whole video (or `max_frames` of a live source) and return a report dict.

    Args:
        source: video file, camera index, or stream URL (see `open_source`).
        detector: a MaskDetector (None = `video_detector()`, the shipped model, no upscaling).
        save: write the annotated video here (.mp4, H.264, atomic).
        save_json: write JSON Lines here: a "frame" line per frame, "event" lines, a "summary"
            line (see maskwatch.video.pipeline for the format and for live-stream behaviour).
        max_frames: stop after this many frames (a camera or stream otherwise runs until it ends
            or Ctrl-C; the outputs are finished either way).
        keep_records: include every frame's record in the report (memory grows with the video).
        progress: show a tqdm progress bar.
        source_options: passed to the source (open_timeout, read_timeout, max_retries, strict...).
        stream: return the frames as they come instead (a `maskwatch.results.ResultStream` of
            FrameResult, like `maskwatch.detect(stream=True)`); its `.report` is the report once the
            stream ends or is closed (stopping early still finishes the outputs).
        **pipeline_options: passed to VideoPipeline (classify_every, detect_size, smoothing...).

    Returns:
        {"source", "frames", "fps", "size", "summary", "events", "video", "json", "warnings",
        "processing_fps", "timings_ms", "timings_cpu_ms"} (per stage, ms per frame, wall and CPU)
        plus "records" (list of frame dicts) with keep_records.
    """
    from maskwatch.results import ResultStream
    from maskwatch.video.pipeline import VideoPipeline

    pipeline = VideoPipeline(detector if detector is not None else video_detector(), **pipeline_options)
    outputs = {"save": save, "save_json": save_json, "max_frames": max_frames, "source_options": source_options}
    frames = ResultStream(lambda run: _frames(run, pipeline, source, progress, outputs))
    if stream:
        return frames
    records: list[dict] = []
    try:
        for result in frames:
            if keep_records:
                records.append(result.to_dict())
    finally:
        frames.close()
    report = frames.report
    if keep_records:
        report["records"] = records
    return report


def _frames(run, pipeline, source, progress: bool, outputs: dict) -> Iterator[FrameResult]:
    """pipeline.run with a progress bar; the outputs are finished and `run.report` set however it ends."""
    results = pipeline.run(source, **outputs)
    bar = None
    try:
        for result in results:
            if progress and bar is None:
                # Created at the first frame, once the source is open and its length known.
                from tqdm import tqdm

                total = pipeline.source.frame_count if pipeline.source is not None else None
                limit = outputs["max_frames"]
                name = pipeline.source.name if pipeline.source is not None else "video"
                bar = tqdm(unit="frame", desc=name, total=min(total, limit or total) if total else None)
            if bar is not None:
                bar.update(1)
            yield result
    finally:
        results.close()
        if bar is not None:
            bar.close()
        run.report = video_report(pipeline, source)


def video_report(pipeline, source) -> dict:
    """What a finished (or stopped) run found: source, frames, summary, events, outputs, timings."""
    src = pipeline.source
    return {
        "source": src.name if src else str(getattr(source, "value", source)),
        "frames": pipeline.timings.frames,
        "fps": src.fps if src else None,
        "size": list(src.size) if src and src.size else None,
        "summary": pipeline.summary(),
        "events": [event.to_dict() for event in pipeline.events],
        "video": pipeline.outputs.get("video"),
        "json": pipeline.outputs.get("json"),
        "warnings": list(pipeline.warnings),
        "processing_fps": round(pipeline.timings.fps, 2),
        "timings_ms": {k: round(v, 3) for k, v in pipeline.timings.per_frame_ms().items()},
        "timings_cpu_ms": {k: round(v, 3) for k, v in pipeline.timings.per_frame_ms(cpu=True).items()},
    }
