"""`maskwatch.detect(source, ...)`: the Python twin of `maskwatch detect SOURCE`.

Images, folders and globs are processed here, one image at a time (a bad file is reported in one
line and skipped, never stopping the run); videos, cameras and stream URLs are handed to
maskwatch.video, which adds tracking and label smoothing.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from maskwatch.detect.settings import DEFAULT_NMS, DEFAULT_SCORE, DEFAULT_TILES, DEFAULT_UPSCALE
from maskwatch.errors import ConfigError, SourceError

log = logging.getLogger(__name__)


def _log(message: str, verbose: bool) -> None:
    if verbose:
        print(message, file=sys.stderr)


def display_available() -> tuple[bool, str]:
    """(True, "") when cv2.imshow can open a window here, else (False, why not)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY/WAYLAND_DISPLAY not set)"
    import cv2

    try:
        cv2.namedWindow("maskwatch", cv2.WINDOW_NORMAL)
        cv2.destroyWindow("maskwatch")
    except cv2.error:
        return False, "this OpenCV build has no window support (opencv-python-headless)"
    return True, ""


class _Window:
    """Shows frames in one cv2 window; `q` or Esc closes it and stops showing."""

    def __init__(self) -> None:
        self.open = True

    def show(self, rgb, wait_ms: int) -> None:
        import cv2

        if not self.open:
            return
        cv2.imshow("maskwatch", rgb[..., ::-1])
        key = cv2.waitKey(wait_ms) & 0xFF
        if key in (ord("q"), 27):
            self.close()

    def close(self) -> None:
        import cv2

        if self.open:
            cv2.destroyAllWindows()
            self.open = False


def detect(
    source: str | int | os.PathLike,
    model: str | os.PathLike | None = None,
    face_model: str | os.PathLike | None = None,
    conf: float = DEFAULT_SCORE,
    nms: float = DEFAULT_NMS,
    upscale: float | None = None,
    tiles: int = DEFAULT_TILES,
    min_face: float = 0.0,
    save_dir: str | os.PathLike | None = None,
    save_json: str | os.PathLike | None = None,
    save_csv: str | os.PathLike | None = None,
    save_coco: str | os.PathLike | None = None,
    show: bool = False,
    verbose: bool = False,
    detector=None,
    max_frames: int | None = None,
    engine: str = "local",
    address: str | None = None,
    save_parquet: str | os.PathLike | None = None,
    stream: bool = False,
    labels: str = "full",
    resume: bool = False,
    **video_options,
):
    """Find faces in source and label each one; write the outputs asked for.

    Args:
        source: image file, folder (recursive), glob pattern, video file, camera index
            (0 or "0") or stream URL (rtsp://, http://...); or a list of image files, folders
            and globs (what a shell makes of `maskwatch detect shots/*.jpg`).
        model: classifier file (.tflite/.onnx/.keras); None = the shipped default model.
        face_model: YuNet .onnx path or "yuface"; None = resolve YuNet (cache / download),
            falling back to the built-in yuface detector with a notice.
        conf: face score threshold (0..1). nms: IoU for merging duplicate face boxes.
        upscale: enlarge small images up to this factor before face detection (finds small faces
            in crowds); None = 2.0 for images, 1.0 (off) for video.
        tiles: also detect on a tiles x tiles grid of overlapping crops (0 = off).
        min_face: ignore faces whose shorter side is below this many pixels.
        save_dir: write annotated images (or the annotated video, `<name>.mp4`) here.
        save_json: the returned list as JSON (for video: JSON Lines, one line per frame).
        save_csv: one row per face. save_coco: COCO results JSON (images only).
        show: display results in a window when a display exists (else a notice).
        verbose: progress bar and a summary line on stderr (a library call prints nothing by
            default; skipped files are logged as warnings of the "maskwatch" logger).
        detector: a ready MaskDetector (then model/face_model/conf/... are not used).
        max_frames: stop a video/camera/stream after this many frames.
        engine: "local" (this process) or "ray" (Ray Data: an actor pool over the machine or a
            cluster, results in a resumable Parquet folder; see maskwatch.scale). The Ray engine
            also takes object-store URIs (s3://, gs://), file lists (.txt) and lists of sources.
        address: the Ray engine's cluster: None = start Ray here, "auto", or "ray://HOST:PORT".
        save_parquet: the Ray engine's output folder: one row per face (path or URI); a rerun
            into the same folder skips the images already done.
        labels: captions on annotated output: "full" (label and confidence, track id on video),
            "short" ("no mask"), "none" (coloured boxes only); the summary bar has the counts.
        resume: images: skip those an earlier (interrupted) run already wrote to save_json.
        **video_options: passed to maskwatch.video's pipeline (classify_every, detect_size, ...).

        stream: yield the results one at a time (a `maskwatch.results.ResultStream`) instead of
            returning them all, so a long video or a large folder never piles up in memory.

    Returns:
        `maskwatch.results.Results`, a list with one result per image read or per video frame;
        each result has `.detections` (supervision.Detections) and `.to_dict()` (its JSON record,
        which the result also reads like: `result["detections"]`). `.skipped` lists unreadable
        files; for a video, camera or stream `.report` holds the run's report (frames, people,
        events, output files). With stream=True, the same results as they come.
    """
    from maskwatch.detect.settings import DetectorSettings
    from maskwatch.results import ResultStream
    from maskwatch.video.sources import Source

    # Checked up front, even when a ready `detector` makes them unused: a typo must not pass silently.
    # upscale None: the engine's default (DEFAULT_UPSCALE for images, VIDEO_UPSCALE for video).
    options = {"conf": conf, "nms": nms, "tiles": tiles, "min_face": min_face}
    if upscale is not None:
        options["upscale"] = upscale
    DetectorSettings(**options)
    if engine not in ("local", "ray"):
        raise ConfigError(f"engine must be 'local' or 'ray', got {engine!r}")
    if engine == "ray":
        if save_dir is not None or show or detector is not None or video_options or max_frames is not None:
            raise ConfigError("the Ray engine writes results only (Parquet, JSON, CSV, COCO): no save_dir/show/video")
        from maskwatch.scale.engine import detect_ray

        rows = detect_ray(
            source, save_parquet, save_json, save_csv, save_coco, address, verbose, model=model, face_model=face_model,
            **options,
        )  # fmt: skip
        return rows if stream else rows.collect()
    if address is not None or save_parquet is not None:
        raise ConfigError("address and save_parquet are options of the Ray engine (engine='ray')")
    many = isinstance(source, list | tuple)
    missing: list[str] = []
    if many:
        # Several sources: one that does not exist is skipped (named, counted), like `cat a b` does.
        parsed_all = []
        for item in source:
            try:
                parsed_all.append(Source.parse(item))
            except SourceError as exc:
                missing.append(str(exc))
                log.warning("skipped %s", exc)
        if not parsed_all and missing:
            raise SourceError(f"none of the {len(missing)} sources exists ({missing[0]}, ...)")
    else:
        parsed_all = [Source.parse(source)]
    if not parsed_all:
        raise SourceError("no source: give an image, folder, glob, video, camera index or URL")
    if len(parsed_all) > 1 and any(p.is_video for p in parsed_all):
        videos = ", ".join(str(p.value) for p in parsed_all if p.is_video)
        raise SourceError(f"{videos}: a video, camera or stream is processed on its own (one per call)")
    parsed = parsed_all[0]
    from maskwatch.annotate import LABEL_STYLES

    if labels not in LABEL_STYLES:
        raise ConfigError(f"labels must be one of {', '.join(LABEL_STYLES)}, got {labels!r}")
    window = None
    if show:
        ok, why = display_available()
        if ok:
            window = _Window()
        else:
            _log(f"notice: --show ignored: {why}", True)
    if parsed.is_video:
        if save_csv is not None or save_coco is not None:
            raise ConfigError(f"{parsed.value}: --save-csv and --save-coco are for images; use --save-json for video")
        if resume:  # never start over the frames a killed run kept in save_json
            raise ConfigError(
                f"{parsed.value}: --resume is for image runs; a video run starts from its first frame "
                "(rerun without --resume; give another --save-json to keep the earlier results)"
            )
        video = _video_module(parsed)
        # Video default: no enlarged second pass (video_detector); images: DEFAULT_UPSCALE.
        if detector is None:
            detector = video.video_detector(model, face_model, **options)
        video_options["label_style"] = labels
        frames = ResultStream(
            lambda run: _video_frames(
                run, video, parsed, detector, save_dir, save_json, window, verbose, max_frames, stream, video_options
            )
        )
        return frames if stream else frames.collect()
    if video_options:
        raise ConfigError(f"options {sorted(video_options)} only apply to video sources")
    from maskwatch.detect.pipeline import MaskDetector

    if detector is None:
        options.setdefault("upscale", DEFAULT_UPSCALE)
        detector = MaskDetector(model, face_model, **options)
    from maskwatch.detect.image_run import image_files, image_results

    pairs = image_files(parsed_all, save_dir)  # a source without images is an error now, not at the first result

    def run_images(run):
        run.skipped.extend(missing)
        return image_results(
            run, pairs, detector, save_dir, save_json, save_csv, save_coco, window, verbose, labels, resume
        )

    images = ResultStream(run_images)
    return images if stream else images.collect()


def _video_module(parsed):
    try:
        import maskwatch.video as video
    except ImportError as exc:
        raise SourceError(
            f"{parsed.value}: video, camera and stream sources need maskwatch.video, which is not available ({exc})"
        ) from None
    return video


def _video_frames(run, video, parsed, detector, save_dir, save_json, window, verbose, max_frames, stream, options):
    """Yield a FrameResult per frame (tracked, smoothed, with events); `run.report` at the end.

    With a window the annotated frames are shown as they come (q/Esc stops). Collected results
    (stream=False) drop their annotated pixels, so a long video does not fill the memory.
    """
    save = None
    if save_dir is not None:
        name = f"camera{parsed.value}" if isinstance(parsed.value, int) else Path(str(parsed.value)).stem or "stream"
        save = Path(save_dir) / f"{name}.mp4"
    frames = video.process_video(
        parsed, detector, save=save, save_json=save_json, max_frames=max_frames, stream=True,
        progress=verbose and window is None, annotate=window is not None, **options,
    )  # fmt: skip
    try:
        for result in frames:
            if window is not None:
                window.show(result.annotated, wait_ms=1)
                if not window.open:
                    break
            if not stream:
                result.annotated = None
            yield result
    finally:
        frames.close()
        if window is not None:
            window.close()
        run.report = frames.report
    if verbose:
        summary = run.report.get("summary", {})
        print(
            f"{run.report.get('frames', 0)} frame(s), {summary.get('people', 0)} people, "
            f"{summary.get('without_mask', 0)} without a mask, {summary.get('mask_weared_incorrect', 0)} incorrectly",
            file=sys.stderr,
        )
