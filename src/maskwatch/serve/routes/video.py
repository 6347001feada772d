"""Video upload: a short clip in, an annotated MP4 and a JSONL of per-frame detections out.

Placeholder until maskwatch.video offers a file-to-file pipeline; answers 501 meanwhile.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from maskwatch.serve.errors import ApiError
from maskwatch.serve.routes.common import require_token, upload_body_schema
from maskwatch.serve.routes.schemas import VideoResult, error_responses

router = APIRouter(prefix="/api/v1", tags=["api v1"], dependencies=[Depends(require_token)])


@router.post(
    "/video",
    summary="Annotate a short video (MP4 + JSONL to download)",
    response_model=VideoResult,
    responses=error_responses(400, 401, 413, 415, 422, 503),
    openapi_extra=upload_body_schema("video (MP4, MOV, WebM, MKV, AVI)"),
)
async def video(request: Request):
    raise ApiError(501, "video_unavailable", "video processing is not available in this build")
