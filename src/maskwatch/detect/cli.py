"""`maskwatch detect SOURCE` and `maskwatch evaluate-detection --voc DIR` (mirror detect() /
evaluate_detection() one to one; heavy imports happen inside the commands)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from maskwatch.detect.printed import MAX_ROWS
from maskwatch.detect.settings import DEFAULT_NMS, DEFAULT_SCORE, DEFAULT_TILES, DEFAULT_UPSCALE, DetectorSettings
from maskwatch.settings import option, overrides_for
from maskwatch.video.settings import VideoSettings


class LabelStyle(StrEnum):
    full = "full"
    short = "short"
    none = "none"


ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="'fast' or 'accurate' (shipped models), or a classifier file (.tflite/.onnx/.keras). Default: accurate.",
    ),
]
FaceModelOpt = Annotated[
    str | None,
    typer.Option(
        "--face-model",
        help="YuNet .onnx file, or 'yuface' for the built-in detector. Default: $MASKWATCH_FACE_MODEL, "
        "the cache ($MASKWATCH_HOME/face/), a one-time download, else yuface.",
    ),
]
# The detector options: names, ranges and help from DetectorSettings, the model maskwatch.detect() checks.
ConfOpt = Annotated[float, typer.Option("--conf", **option(DetectorSettings, "conf"))]
NmsOpt = Annotated[float, typer.Option("--nms", **option(DetectorSettings, "nms"))]
UpscaleOpt = Annotated[
    float | None,
    typer.Option(
        "--upscale",
        **option(
            DetectorSettings,
            "upscale",
            help="Enlarge small images up to this factor to find small faces (default 2 for images, 1 for video).",
        ),
    ),
]
TilesOpt = Annotated[int, typer.Option("--tiles", **option(DetectorSettings, "tiles"))]
AddressOpt = Annotated[
    str | None, typer.Option("--address", help="Ray cluster: auto or ray://HOST:PORT (default: start Ray here).")
]
MinFaceOpt = Annotated[float, typer.Option("--min-face", **option(DetectorSettings, "min_face"))]


def detect_command(
    source: Annotated[
        list[str] | None,
        typer.Argument(
            help="Image, folder, glob ('shots/**/*.jpg'), video file, camera index (0) or rtsp/http URL; "
            "several images, folders and globs at once (shots/*.jpg unquoted works too).",
            show_default=False,
        ),
    ] = None,
    source_option: Annotated[str | None, typer.Option("--source", help="Same as the SOURCE argument.")] = None,
    model: ModelOpt = None,
    face_model: FaceModelOpt = None,
    conf: ConfOpt = DEFAULT_SCORE,
    nms: NmsOpt = DEFAULT_NMS,
    upscale: UpscaleOpt = None,
    tiles: TilesOpt = DEFAULT_TILES,
    min_face: MinFaceOpt = 0.0,
    save_dir: Annotated[Path | None, typer.Option("--save-dir", help="Write annotated images / video here.")] = None,
    save_json: Annotated[Path | None, typer.Option("--save-json", help="Results as JSON (video: JSON Lines).")] = None,
    save_csv: Annotated[Path | None, typer.Option("--save-csv", help="One CSV row per face (images).")] = None,
    save_coco: Annotated[Path | None, typer.Option("--save-coco", help="COCO results JSON (images).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Show results in a window (when a display exists).")] = False,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop a video/camera/stream after N frames.")
    ] = None,
    labels: Annotated[
        LabelStyle,
        typer.Option("--labels", help="Captions on annotated output: full (label, confidence), short, none."),
    ] = LabelStyle.full,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Images: skip those an interrupted run already wrote to --save-json (and keep them)."
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose/--quiet", " /-q", help="Progress, the results table and the summary (-q: errors and skips only)."
        ),
    ] = True,
    engine: Annotated[
        str, typer.Option("--engine", help="local, or ray: Ray Data over this machine or a cluster (images).")
    ] = "local",
    address: AddressOpt = None,
    save_parquet: Annotated[
        Path | None, typer.Option("--save-parquet", help="Ray engine: Parquet folder, one row per face (resumable).")
    ] = None,
    video_options: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help=f"Video setting (repeat), checked by VideoSettings: {', '.join(VideoSettings.model_fields)}.",
        ),
    ] = None,
) -> None:
    """Find every face in SOURCE and label it with_mask / without_mask / mask_weared_incorrect."""
    from maskwatch.detect.api import detect
    from maskwatch.detect.printed import print_images, print_video
    from maskwatch.errors import SourceError
    from maskwatch.exit_codes import finish

    if not verbose:
        from maskwatch.logs import quiet

        quiet()
    given = list(source or []) + ([source_option] if source_option is not None else [])
    if not given:
        raise SourceError("no source: give SOURCE (an image, folder, glob, video, camera index or URL)")
    chosen = given[0] if len(given) == 1 else given
    if engine == "ray" and (save_dir is not None or show or max_frames is not None):
        raise SourceError("--engine ray writes results only: no --save-dir, --show or --max-frames")
    results = detect(
        chosen,
        model=model,
        face_model=face_model,
        conf=conf,
        nms=nms,
        upscale=upscale,
        tiles=tiles,
        min_face=min_face,
        save_dir=save_dir,
        save_json=save_json,
        save_csv=save_csv,
        save_coco=save_coco,
        show=show,
        max_frames=max_frames,
        labels=labels.value,
        resume=resume,
        verbose=verbose,
        engine=engine,
        address=address,
        save_parquet=save_parquet,
        stream=engine == "ray",  # the Ray engine's results are read back only as far as they are shown
        **overrides_for(VideoSettings, video_options),
    )
    if engine == "ray":
        _ray_summary(results, verbose)
        return
    report = results.report
    if verbose:
        if report is not None:
            print_video(report)
        elif results:
            print_images(results)
    if report is not None:
        finish(int(report.get("frames", 0) > 0), len(report.get("warnings") or []), "video problem")
    else:
        # --resume after a complete run has nothing left to do: that is success, not "nothing processed".
        done_before = resume and not results and not results.skipped and save_json is not None and save_json.exists()
        finish(len(results) or int(done_before), len(results.skipped), "file")


def _ray_summary(results, verbose: bool) -> None:
    """`--engine ray`: the first MAX_ROWS results and the files that could not be used; exit 1 when some."""
    from itertools import islice

    from maskwatch.detect.printed import print_images
    from maskwatch.exit_codes import finish

    total = int(results.report["total"])
    shown = list(islice(results, MAX_ROWS))
    results.close()
    if verbose and shown:
        print_images(shown, total=total)
    if results.skipped and not verbose:
        for problem in results.skipped:
            typer.echo(f"skipped {problem}", err=True)
    finish(max(0, total - len(results.skipped)), len(results.skipped), "file")


def evaluate_detection_command(
    voc: Annotated[Path, typer.Option("--voc", help="Pascal VOC folder (annotations/*.xml + images/).")],
    model: ModelOpt = None,
    face_model: FaceModelOpt = None,
    conf: ConfOpt = DEFAULT_SCORE,
    nms: NmsOpt = DEFAULT_NMS,
    upscale: Annotated[float, typer.Option("--upscale", **option(DetectorSettings, "upscale"))] = DEFAULT_UPSCALE,
    tiles: TilesOpt = DEFAULT_TILES,
    min_face: MinFaceOpt = 0.0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Evaluate the first N scenes only.")] = None,
    save_json: Annotated[Path | None, typer.Option("--save-json", help="Write the report as JSON.")] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose/--quiet", " /-q", help="Progress and tables on stderr (else the JSON only).")
    ] = True,
) -> None:
    """Score face detection + labels on VOC scenes: AP@0.5 per class, mAP, face recall, label confusion."""
    import json

    from maskwatch.detect.evaluation import evaluate_detection

    report = evaluate_detection(
        voc,
        model=model,
        face_model=face_model,
        limit=limit,
        save_json=save_json,
        verbose=verbose,
        conf=conf,
        nms=nms,
        upscale=upscale,
        tiles=tiles,
        min_face=min_face,
    )
    typer.echo(json.dumps(report, indent=2))
    from maskwatch.exit_codes import finish

    finish(int(report.get("images", 0)), len(report.get("skipped") or []), "scene")
