"""Response shapes, declared so the generated OpenAPI page (/docs) documents them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from maskwatch.records import CropRecord, ImageRecord


class ErrorBody(BaseModel):
    error: str = Field(description="short machine-readable code, e.g. body_too_large, unsupported_media_type")
    detail: str = Field(description="what went wrong and what to change")


# The records every writer uses (maskwatch.records): an API answer is what `--save-json` writes.
ImageResult = ImageRecord
ClassifyResult = CropRecord


class VideoResult(BaseModel):
    id: str
    source: str
    frames: int
    fps: float
    width: int
    height: int
    counts: dict[str, int] = Field(description="people (tracked faces) per majority label")
    people: int = Field(description="distinct tracked faces")
    warnings: list[str] = Field(default_factory=list, description="decoding problems (truncated file...)")
    video_url: str = Field(description="annotated H.264 MP4")
    jsonl_url: str = Field(description="one JSON line per frame")


def error_responses(*codes: int) -> dict:
    text = {
        400: "empty body or missing file field",
        401: "missing or wrong bearer token",
        413: "body larger than the limit, or image with too many pixels",
        415: "the bytes are not a supported image (or video)",
        422: "the file is corrupt or cannot be decoded",
        503: "models not loaded yet, or all workers busy (see Retry-After)",
    }
    return {code: {"model": ErrorBody, "description": text.get(code, "error")} for code in codes}
