"""One uploaded video, processed on an inference worker within limits enforced on the work itself.

A header can say anything: a 30 s clip declaring 999 frames/s holds 29,970 frames (11 minutes
of work), one declaring 1,000 frames/s has its rate read as unknown. So the checks that bound
the work run while frames are decoded: at most `max_video_frames` frames, `max_video_seconds`
of video time (frame timestamps) and `max_video_work_seconds` of processing. Whatever is cut is
said in `warnings` (and in the JSONL summary); the frames processed so far are kept. The job also
stops between two frames when the server shuts down (`stopping`), discarding its outputs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from maskwatch.cancel import Cancelled
from maskwatch.serve.errors import ApiError


def video_job(engine, path: Path, out_dir: Path, settings, stopping: threading.Event) -> dict:
    """Probe the clip, then run it frame by frame; returns the report the route answers."""
    from maskwatch.errors import SourceError
    from maskwatch.video import VideoFileSource, video_detector
    from maskwatch.video.pipeline import VideoPipeline

    try:
        source = VideoFileSource(path)
    except SourceError:
        raise ApiError(422, "bad_video", "the upload is not a readable video (truncated or corrupt?)") from None
    try:
        width, height = source.size or (0, 0)
        if width * height > settings.max_pixels:
            raise ApiError(
                413,
                "too_many_pixels",
                f"video frames are {width}x{height}, above the limit of {settings.max_pixels:,} pixels",
            )
        duration = _declared_duration(source)
        if duration is not None and duration > settings.max_video_seconds + 0.5:
            raise ApiError(
                413,
                "video_too_long",
                f"the clip is {duration:.1f} s long; this server processes up to "
                f"{settings.max_video_seconds:g} s: trim it first",
            )
        pipeline = VideoPipeline(video_detector(classifier=engine.classifier, quiet=True), threaded=False)
        limit = settings.max_video_frames
        results = pipeline.run(
            source, save=out_dir / "annotated.mp4", save_json=out_dir / "detections.jsonl", max_frames=limit
        )
        started = time.monotonic()
        try:
            for result in results:
                if stopping.is_set():
                    raise Cancelled()  # the route removes the outputs
                cut = _limit_reached(settings, pipeline.timings.frames, result.time, time.monotonic() - started)
                if cut is None and pipeline.timings.frames >= limit and (source.frame_count or limit + 1) > limit:
                    cut = (
                        f"stopped after {limit} frame(s) ({result.time:.1f} s of video): this server processes "
                        f"at most {limit} frames per video"
                        + (f"; the file has {source.frame_count}" if source.frame_count else "")
                    )
                if cut:
                    pipeline.warnings.append(cut)  # before close(), so the JSONL summary has it too
                    break
        finally:
            results.close()  # finishes the MP4 + JSONL with the frames processed so far
    except SourceError as exc:
        raise ApiError(422, "bad_video", f"the video cannot be decoded: {exc}") from None
    finally:
        source.close()
    if not pipeline.outputs.get("video"):
        raise ApiError(422, "bad_video", "no frame of the video could be decoded")
    return {
        "frames": pipeline.timings.frames,
        "fps": source.fps,
        "width": width,
        "height": height,
        "summary": pipeline.summary(),
        "warnings": list(pipeline.warnings),
    }


def _limit_reached(settings, frames: int, video_time: float, work_seconds: float) -> str | None:
    """The warning for the first work limit reached after `frames` frames, or None."""
    done = f"stopped after {frames} frame(s) ({video_time:.1f} s of video)"
    if video_time >= settings.max_video_seconds:
        return f"{done}: this server processes at most {settings.max_video_seconds:g} s of video"
    if work_seconds >= settings.max_video_work_seconds:
        return (
            f"{done}: processing reached this server's limit of {settings.max_video_work_seconds:g} s per video; "
            "the rest of the clip was not processed"
        )
    return None


def _declared_duration(source) -> float | None:
    """The duration the container declares (used only to refuse early; the work limits are above)."""
    container = getattr(source, "container", None)
    if container is not None and container.duration:
        return container.duration / 1_000_000  # microseconds (av.time_base)
    return None
