"""`maskwatch.detect(source, ...)`: the Python twin of `maskwatch detect SOURCE`.

Images, folders and globs are processed here, one image at a time (a bad file is reported in one
line and skipped, never stopping the run); videos, cameras and stream URLs are handed to
maskwatch.video, which adds tracking and label smoothing.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from maskwatch.detect.faces import DEFAULT_NMS, DEFAULT_SCORE, DEFAULT_TILES, DEFAULT_UPSCALE
from maskwatch.errors import ConfigError, SourceError


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
    verbose: bool = True,
    detector=None,
    max_frames: int | None = None,
    engine: str = "local",
    address: str | None = None,
    save_parquet: str | os.PathLike | None = None,
    **video_options,
) -> list[dict]:
    """Find faces in source and label each one; write the outputs asked for.

    Args:
        source: image file, folder (recursive), glob pattern, video file, camera index
            (0 or "0") or stream URL (rtsp://, http://...).
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
        verbose: progress, skipped files and the summary on stderr.
        detector: a ready MaskDetector (then model/face_model/conf/... are not used).
        max_frames: stop a video/camera/stream after this many frames.
        engine: "local" (this process) or "ray" (Ray Data: an actor pool over the machine or a
            cluster, results in a resumable Parquet folder; see maskwatch.scale). The Ray engine
            also takes object-store URIs (s3://, gs://), file lists (.txt) and lists of sources.
        address: the Ray engine's cluster: None = start Ray here, "auto", or "ray://HOST:PORT".
        save_parquet: the Ray engine's output folder: one row per face (path or URI); a rerun
            into the same folder skips the images already done.
        **video_options: passed to maskwatch.video's pipeline (classify_every, detect_size, ...).

    Returns:
        images: one dict per image read, {"source", "width", "height", "detections": [{"box",
        "label", "confidence", "face_score", "probabilities"}]}; video: one report dict
        (maskwatch.video.process_video's: frames, summary, events, output paths...).
    """
    from maskwatch.detect.settings import DetectorSettings
    from maskwatch.video.sources import Source

    # Checked up front, even when a ready `detector` makes them unused: a typo must not pass silently.
    DetectorSettings(conf=conf, nms=nms, tiles=tiles, min_face=min_face, **({"upscale": upscale} if upscale else {}))
    if engine not in ("local", "ray"):
        raise ConfigError(f"engine must be 'local' or 'ray', got {engine!r}")
    if engine == "ray":
        if save_dir is not None or show or detector is not None or video_options or max_frames is not None:
            raise ConfigError("the Ray engine writes results only (Parquet, JSON, CSV, COCO): no save_dir/show/video")
        from maskwatch.scale.engine import detect_ray

        results, _report = detect_ray(
            source,
            save_parquet,
            save_json=save_json,
            save_csv=save_csv,
            save_coco=save_coco,
            address=address,
            verbose=verbose,
            model=model,
            face_model=face_model,
            conf=conf,
            nms=nms,
            upscale=DEFAULT_UPSCALE if upscale is None else upscale,
            tiles=tiles,
            min_face=min_face,
        )
        return results
    if address is not None or save_parquet is not None:
        raise ConfigError("address and save_parquet are options of the Ray engine (engine='ray')")
    parsed = Source.parse(source)
    window = None
    if show:
        ok, why = display_available()
        if ok:
            window = _Window()
        else:
            _log(f"notice: --show ignored: {why}", True)
    options = {"conf": conf, "nms": nms, "tiles": tiles, "min_face": min_face}
    if upscale is not None:
        options["upscale"] = upscale
    if parsed.is_video:
        if save_csv is not None or save_coco is not None:
            raise ConfigError(f"{parsed.value}: --save-csv and --save-coco are for images; use --save-json for video")
        video = _video_module(parsed)
        # Video default: no enlarged second pass (video_detector); images: DEFAULT_UPSCALE.
        if detector is None:
            detector = video.video_detector(model, face_model, **options)
        return [_detect_video(video, parsed, detector, save_dir, save_json, window, verbose, max_frames, video_options)]
    if video_options:
        raise ConfigError(f"options {sorted(video_options)} only apply to video sources")
    from maskwatch.detect.pipeline import MaskDetector

    if detector is None:
        options.setdefault("upscale", DEFAULT_UPSCALE)
        detector = MaskDetector(model, face_model, **options)
    return _detect_images(parsed, detector, save_dir, save_json, save_csv, save_coco, window, verbose)


def _detect_images(parsed, detector, save_dir, save_json, save_csv, save_coco, window, verbose) -> list[dict]:
    from maskwatch.detect.outputs import (
        FrameAnnotator,
        annotated_path,
        image_result,
        write_coco,
        write_csv,
        write_json,
    )
    from maskwatch.detect.prefetch import detect_ahead
    from maskwatch.detections import rescaled
    from maskwatch.images import DECODE_PIXELS, read_image, save_image

    files = parsed.images()
    if save_dir is not None:
        # `detect photos --save-dir photos/annotated` must not read back its own outputs next time.
        out = Path(save_dir).resolve()
        files = [f for f in files if not f.resolve().is_relative_to(out)] or files
    annotator = FrameAnnotator(detector.labels) if (save_dir is not None or window is not None) else None
    results: list[dict] = []
    skipped: list[str] = []
    counts: Counter[str] = Counter()
    progress = files
    if verbose and len(files) > 1:
        from tqdm import tqdm

        progress = tqdm(files, desc="detect", unit="img", file=sys.stderr, leave=False, disable=None)
    # Large photos are decoded reduced (memory follows DECODE_PIXELS, not the file); boxes are
    # reported in the full image's pixels. Decoding and face detection run a few images ahead in a
    # background thread while this one is labelled and written (detect/prefetch.py).
    split = hasattr(detector, "detect_faces") and hasattr(detector, "classify")
    prepared = detect_ahead(
        progress,
        lambda path: read_image(path, max_decoded=DECODE_PIXELS),
        (lambda image: detector.detect_faces(image.rgb)) if split else (lambda image: None),
    )
    try:
        for item in prepared:
            path, image = item.path, item.image
            if item.error is not None:
                skipped.append(str(item.error))
                _log(f"skipped {item.error}", verbose)
                continue
            rgb = image.rgb
            detections = detector.classify(rgb, item.faces) if split else detector.process(rgb)
            full = rescaled(detections, image.scale)
            result = image_result(str(path), (image.height, image.width), full, detector.labels)
            results.append(result)
            counts.update(face["label"] for face in result["detections"])
            if annotator is not None:
                drawn = annotator.annotate(rgb, detections)
                if save_dir is not None:
                    save_image(annotated_path(save_dir, parsed.relative_name(path)), drawn)
                if window is not None:
                    window.show(drawn, wait_ms=0)
    finally:
        prepared.close()
        if window is not None:
            window.close()
    if save_json is not None:
        write_json(results, save_json)
    if save_csv is not None:
        write_csv(results, save_csv, detector.labels)
    if save_coco is not None:
        write_coco(results, save_coco, detector.labels)
    if verbose:
        _summary(results, skipped, counts, detector.labels, save_dir)
    return results


def _summary(results, skipped, counts, labels, save_dir) -> None:
    faces = sum(counts.values())
    per_label = ", ".join(f"{label} {counts.get(label, 0)}" for label in labels)
    line = f"{len(results)} image(s), {faces} face(s): {per_label}"
    if skipped:
        line += f"; {len(skipped)} file(s) skipped"
    if save_dir is not None and results:
        line += f"; annotated images in {save_dir}"
    print(line, file=sys.stderr)


def _video_module(parsed):
    try:
        import maskwatch.video as video
    except ImportError as exc:
        raise SourceError(
            f"{parsed.value}: video, camera and stream sources need maskwatch.video, which is not available ({exc})"
        ) from None
    return video


def _detect_video(video, parsed, detector, save_dir, save_json, window, verbose, max_frames, video_options) -> dict:
    save = None
    if save_dir is not None:
        name = f"camera{parsed.value}" if isinstance(parsed.value, int) else Path(str(parsed.value)).stem or "stream"
        save = Path(save_dir) / f"{name}.mp4"
    if window is None:
        report = video.process_video(
            parsed,
            detector=detector,
            save=save,
            save_json=save_json,
            max_frames=max_frames,
            progress=verbose,
            **video_options,
        )
    else:
        report = _show_video(parsed, detector, save, save_json, max_frames, window, video_options)
    if verbose:
        summary = report.get("summary", {})
        print(f"{report.get('frames', 0)} frame(s); summary: {summary}", file=sys.stderr)
    return report


def _show_video(source, detector, save, save_json, max_frames, window, video_options) -> dict:
    """Run the video pipeline frame by frame, showing each annotated frame; q/Esc stops."""
    from maskwatch.video.pipeline import VideoPipeline

    pipeline = VideoPipeline(detector, annotate=True, **video_options)
    results = pipeline.run(source, save=save, save_json=save_json, max_frames=max_frames)
    try:
        for result in results:
            window.show(result.annotated, wait_ms=1)
            if not window.open:
                break
    finally:
        results.close()
        window.close()
    return {
        "source": pipeline.source.name if pipeline.source else str(source),
        "frames": pipeline.timings.frames,
        "summary": pipeline.summary(),
        "events": [event.to_dict() for event in pipeline.events],
        "video": pipeline.outputs.get("video"),
        "json": pipeline.outputs.get("json"),
        "warnings": list(pipeline.warnings),
    }
