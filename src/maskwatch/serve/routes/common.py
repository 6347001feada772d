"""Pieces every API route shares: the v1 router with the bearer-token check, reading an upload within limits."""

from __future__ import annotations

import hmac
import os
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from maskwatch.serve.errors import ApiError
from maskwatch.serve.limits import too_large
from maskwatch.serve.runtime import Runtime

_bearer = HTTPBearer(
    auto_error=False,
    description="Needed only when the server was started with --token (or MASKWATCH_TOKEN).",
)


#: `?filename=` names a raw-body upload in the answer (multipart uploads carry their own name).
FilenameQuery = Annotated[
    str | None, Query(max_length=255, description="name of a raw-body upload, echoed back as `source`")
]


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a guess was right."""
    if not expected:
        return True
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """401 unless the request carries `Authorization: Bearer <token>` (when a token is set)."""
    expected = get_runtime(request).settings.token
    if not expected:
        return
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "this server needs a token: send the header 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(expected, credentials.credentials):
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not valid for this server",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


_UNSAFE = re.compile(r"[^\w.\- ()+]")


def clean_name(name: str | None, default: str = "upload") -> str:
    """A file name safe to echo back: no folders, no control characters, at most 120 characters."""
    if not name:
        return default
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = _UNSAFE.sub("_", base)[:120]
    return base or default


def upload_body_schema(what: str) -> dict:
    """OpenAPI request body: a multipart form with field `file`, or the raw bytes."""
    return {
        "requestBody": {
            "required": True,
            "description": f"The {what} as multipart field `file`, or as the raw request body. The type is "
            "read from the bytes (magic number), not from the file name or Content-Type.",
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }


async def read_upload(request: Request, limit: int) -> tuple[bytes, str]:
    """The uploaded bytes and a display name, never more than `limit` bytes read.

    BodyLimitMiddleware has already refused a too-large Content-Length; here the bytes are
    counted again as they arrive (chunked bodies declare no length).
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=4, max_part_size=64 * 1024) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(400, "missing_file", "the multipart form has no file field named 'file'")
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise too_large(limit)
            return data, clean_name(upload.filename)
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks), clean_name(request.query_params.get("filename"))


#: What an upload endpoint can answer besides its result.
UPLOAD_ERRORS = (400, 401, 413, 415, 422, 503)


async def _filename_query(filename: FilenameQuery = None) -> None:
    """`?filename=` of every upload endpoint, documented and checked here once (read_upload reads it)."""


def upload_route(router, path: str, summary: str, response_model, what: str, responses: dict | None = None):
    """`router.post` for an upload endpoint: its result model, its errors, its request body and its
    `?filename=` query, documented."""
    from maskwatch.serve.routes.schemas import error_responses

    return router.post(
        path,
        summary=summary,
        dependencies=[Depends(_filename_query)],
        response_model=response_model,
        # A record leaves out what it does not have (an image's face has no track_id), as every writer does.
        response_model_exclude_none=True,
        responses={**(responses or {}), **error_responses(*UPLOAD_ERRORS)},
        openapi_extra=upload_body_schema(what),
    )


def v1_router() -> APIRouter:
    """A router of REST API v1 (`/api/v1/...`): every route behind the bearer-token check."""
    return APIRouter(prefix="/api/v1", tags=["api v1"], dependencies=[Depends(require_token)])
