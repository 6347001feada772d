"""Video upload: a short clip in, an annotated MP4 and a JSONL of per-frame detections out.

The clip runs through maskwatch.video's pipeline (tracking + label smoothing, H.264 writer) on
one inference worker, one video at a time (serve.video_job: limits on the work, not the header).
Results are kept for download under an unguessable id; the oldest are removed beyond `keep_results`.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse

from maskwatch.serve.errors import ApiError
from maskwatch.serve.limits import require_video
from maskwatch.serve.routes.common import (
    get_runtime,
    read_upload,
    upload_route,
    v1_router,
)
from maskwatch.serve.routes.schemas import VideoResult, error_responses
from maskwatch.serve.video_job import video_job

router = v1_router()

OUTPUTS = {"annotated.mp4": "video/mp4", "detections.jsonl": "application/x-ndjson"}


def summary_counts(report: dict) -> dict[str, int]:
    return dict(report["summary"].get("by_label", {}))


def _prune(results_dir: Path, keep: int) -> None:
    runs = sorted((p for p in results_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


@upload_route(
    router,
    "/video",
    "Annotate a short video (annotated MP4 + JSONL to download)",
    VideoResult,
    "video (MP4, MOV, WebM, MKV, AVI)",
)
async def video(request: Request):
    runtime = get_runtime(request)
    settings = runtime.settings
    runtime.require_pool()
    try:
        import maskwatch.video  # noqa: F401
    except ImportError:
        raise ApiError(501, "video_unavailable", "video processing is not installed in this build") from None
    if runtime.video_lock.locked():
        runtime.metrics.busy.labels("video_busy").inc()
        raise ApiError(
            503, "busy", "another video is being processed; retry when it is done", headers={"Retry-After": "10"}
        )
    async with runtime.video_lock:
        data, name = await read_upload(request, settings.max_video_bytes)
        kind = require_video(data)
        run_id = secrets.token_hex(8)
        out_dir = runtime.results_dir / run_id
        out_dir.mkdir(parents=True)
        upload = out_dir / f"upload.{kind}"
        upload.write_bytes(data)
        del data
        try:
            report = await runtime.run(video_job, upload, out_dir, settings, runtime.stopping, timed=False)
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        finally:
            with contextlib.suppress(OSError):
                upload.unlink()
    _prune(runtime.results_dir, settings.keep_results)
    runtime.stats.done("video")
    summary = report["summary"]
    return {
        "id": run_id,
        "source": name,
        "frames": report["frames"],
        "fps": round(float(report["fps"] or 0.0), 3),
        "width": report["width"],
        "height": report["height"],
        "counts": summary_counts(report),
        "people": summary.get("people", 0),
        "warnings": report.get("warnings", []),
        "video_url": f"/api/v1/results/{run_id}/annotated.mp4",
        "jsonl_url": f"/api/v1/results/{run_id}/detections.jsonl",
    }


@router.get(
    "/results/{run_id}/{name}",
    summary="Download an output of POST /api/v1/video",
    response_class=FileResponse,
    responses={200: {"content": dict.fromkeys(OUTPUTS, {})}, **error_responses(401, 404)},
)
async def result_file(request: Request, run_id: str, name: str) -> FileResponse:
    runtime = get_runtime(request)
    if name not in OUTPUTS or not (len(run_id) == 16 and all(c in "0123456789abcdef" for c in run_id)):
        raise ApiError(404, "not_found", "no such result file (names: annotated.mp4, detections.jsonl)")
    path = runtime.results_dir / run_id / name
    if not path.is_file():
        raise ApiError(404, "not_found", "this result is gone (results are kept for the last few videos only)")
    return FileResponse(path, media_type=OUTPUTS[name], filename=name)
