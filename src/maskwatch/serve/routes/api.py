"""REST API v1: detect faces + masks in an image, classify a face crop, describe the model."""

from __future__ import annotations

import platform
from importlib import metadata

from fastapi import Query, Request
from fastapi.responses import Response

from maskwatch.errors import BadImageError
from maskwatch.serve.engine import classify_job, detect_job
from maskwatch.serve.errors import ApiError
from maskwatch.serve.limits import check_pixels, require_image
from maskwatch.serve.routes.common import (
    get_runtime,
    read_upload,
    upload_route,
    v1_router,
)
from maskwatch.serve.routes.schemas import ClassifyResult, ImageResult, error_responses

router = v1_router()


async def _checked_image(request: Request) -> tuple[bytes, str, int]:
    """The upload, its display name and its decoded size in pixels (from the header)."""
    runtime = get_runtime(request)
    runtime.require_pool()  # 503 before reading the body when no model is loaded
    runtime.check_admission()  # and when it could not start in time anyway
    data, name = await read_upload(request, runtime.settings.max_body_bytes)
    require_image(data)
    width, height = check_pixels(data, runtime.settings.max_pixels)
    return data, name, width * height


@upload_route(
    router,
    "/detect",
    "Find every face in an image and label its mask",
    ImageResult,
    "image (JPEG, PNG, WebP, GIF, BMP, TIFF)",
    {200: {"content": {"image/jpeg": {}}, "description": "JSON result, or the annotated JPEG with ?annotate=true"}},
)
async def detect(
    request: Request,
    annotate: bool = Query(False, description="return the annotated image (JPEG) instead of JSON"),
):
    runtime = get_runtime(request)
    data, name, pixels = await _checked_image(request)
    try:
        record, jpeg = await runtime.run(detect_job, data, name, runtime.settings.max_pixels, annotate, cost=pixels)
    except BadImageError as exc:
        raise ApiError(422, "bad_image", f"{name}: {exc.reason}") from None
    runtime.stats.done("detect")
    runtime.metrics.count_faces(record["detections"])
    if annotate:
        return Response(jpeg, media_type="image/jpeg", headers={"X-Maskwatch-Faces": str(len(record["detections"]))})
    return record


@upload_route(
    router, "/classify", "Label one face crop (the whole image is the face)", ClassifyResult, "face crop image"
)
async def classify(request: Request):
    runtime = get_runtime(request)
    data, name, pixels = await _checked_image(request)
    try:
        result = await runtime.run(classify_job, data, name, runtime.settings.max_pixels, cost=pixels)
    except BadImageError as exc:
        raise ApiError(422, "bad_image", f"{name}: {exc.reason}") from None
    runtime.stats.done("classify")
    return result


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_RUNTIME_DIST = {"tflite": "ai-edge-litert", "onnx": "onnxruntime", "keras": "keras"}
# Sidecar fields that are local paths: not for the outside world.
_PRIVATE_FIELDS = {"source_checkpoint"}


def model_summary(engine) -> dict:
    """Labels, input size, a short model card and versions, from the loaded model and its sidecar."""
    from maskwatch.version import __version__

    clf = engine.classifier
    detector = getattr(engine.detector, "face_detector", None)
    out: dict = {"labels": list(engine.labels), "input_size": None, "model": None, "face_detector": None}
    if detector is not None:
        out["face_detector"] = {"name": getattr(detector, "name", type(detector).__name__), "repr": repr(detector)}
    versions = {"maskwatch": __version__, "python": platform.python_version()}
    if clf is not None:
        info = clf.info
        out["input_size"] = list(info.input_size)
        card = {
            "file": clf.path.name,
            "runtime": clf.runtime,
            "backbone": info.backbone,
            "crop_margin": info.crop_margin,
            "preprocessing": info.preprocessing,
        }
        for key, value in info.extra.items():
            if key not in _PRIVATE_FIELDS and len(repr(value)) <= 2000:
                card[key] = value
        out["model"] = card
        dist = _RUNTIME_DIST.get(clf.runtime, clf.runtime)
        versions["runtime"] = {"name": dist, "version": _version(dist)}
    versions["opencv"] = _version("opencv-python-headless")
    versions["supervision"] = _version("supervision")
    out["versions"] = versions
    return out


@router.get(
    "/model", summary="Labels, input size, model card summary and versions", responses=error_responses(401, 503)
)
async def model(request: Request) -> dict:
    runtime = get_runtime(request)
    summary = model_summary(runtime.engine)
    summary["workers"] = runtime.settings.workers
    return summary


@router.get("/stats", summary="Counters: requests served, refusals per error code, live frames")
async def stats(request: Request) -> dict:
    runtime = get_runtime(request)
    snap = runtime.stats.snapshot()
    admission = runtime.admission
    snap["in_flight"] = admission.running + admission.waiting
    snap["running"], snap["waiting"], snap["pixels_in_flight"] = admission.running, admission.waiting, admission.pixels
    return snap
