"""Refuse oversized, disguised and bomb uploads before they cost memory or CPU.

Three checks, cheapest first:

1. `BodyLimitMiddleware`: a declared Content-Length above the limit is answered 413 before a
   byte of the body is read; bodies without one (chunked) are counted as they stream in and cut
   off at the limit, so a liar cannot make the server buffer more than the limit.
2. `sniff`: the type is read from the first bytes (magic numbers), never from the file name or
   the Content-Type a client claims, so `payload.exe` renamed `face.jpg` is refused with 415.
3. `check_pixels`: the image header is parsed (no pixel decoded) and width x height compared with
   the pixel limit, so a 100 kB PNG declaring 50,000 x 50,000 pixels is refused with 413.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable

from maskwatch.serve.asgi import HttpMiddleware
from maskwatch.serve.errors import ApiError, error_body

# (kind, test) pairs; each test looks at the first bytes only.
_IMAGE_MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("bmp", lambda b: b[:2] == b"BM" and len(b) > 26),
    ("tiff", lambda b: b[:4] in (b"II*\x00", b"MM\x00*")),
)
_VIDEO_MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("mp4", lambda b: b[4:8] == b"ftyp"),
    ("webm", lambda b: b.startswith(b"\x1a\x45\xdf\xa3")),
    ("avi", lambda b: b[:4] == b"RIFF" and b[8:12] == b"AVI "),
)
IMAGE_KINDS = tuple(kind for kind, _ in _IMAGE_MAGIC)
VIDEO_KINDS = tuple(kind for kind, _ in _VIDEO_MAGIC)


def sniff(data: bytes) -> tuple[str, str] | None:
    """('image' | 'video', kind) from the magic number at the start of data, or None."""
    head = bytes(data[:32])
    for family, table in (("image", _IMAGE_MAGIC), ("video", _VIDEO_MAGIC)):
        for kind, test in table:
            if test(head):
                return family, kind
    return None


def require_image(data: bytes) -> str:
    """The image kind of data, or an ApiError a client can act on (400 empty, 415 not an image)."""
    if not data:
        raise ApiError(
            400,
            "empty_body",
            "the request carried no image: send the file as multipart field 'file' or as the raw request body",
        )
    found = sniff(data)
    if found is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "the bytes are not a JPEG, PNG, GIF, WebP, BMP or TIFF image "
            "(the type is read from the content, not the file name)",
        )
    family, kind = found
    if family != "image":
        raise ApiError(
            415, "unsupported_media_type", f"this is a {kind} video, not an image; send videos to POST /api/v1/video"
        )
    return kind


def require_video(data: bytes) -> str:
    """The video kind of data, or an ApiError (400 empty, 415 anything else)."""
    if not data:
        raise ApiError(400, "empty_body", "the request carried no video: send it as multipart field 'file'")
    found = sniff(data)
    if found is None or found[0] != "video":
        what = f"a {found[1]} image" if found else "not a video container maskwatch reads"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the upload is {what}; send an MP4, MOV, WebM, MKV or AVI video (images go to POST /api/v1/detect)",
        )
    return found[1]


def check_pixels(data: bytes, max_pixels: int) -> tuple[int, int]:
    """(width, height) from the image header; 413 above max_pixels, 422 if the header is unreadable.

    Only the header is parsed here, so a decompression bomb costs a few kilobytes, not gigabytes.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(
            413, "too_many_pixels", f"the image declares more pixels than the limit of {max_pixels:,}; resize it first"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ApiError(
            422, "bad_image", f"the image header cannot be read ({exc}); the file is corrupt or truncated"
        ) from None
    if width * height > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"the image is {width}x{height} = {width * height:,} pixels, above "
            f"the limit of {max_pixels:,}; resize it first",
        )
    if width == 0 or height == 0:
        raise ApiError(422, "bad_image", "the image has zero width or height")
    return width, height


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"the request body is larger than the limit of {limit:,} bytes "
        f"({limit / 1024 / 1024:.1f} MB); send a smaller file",
    )


class BodyLimitMiddleware(HttpMiddleware):
    """ASGI middleware capping HTTP request bodies under a path prefix.

    `limit_for(path)` gives the byte limit for a path (None = no limit). It is plain ASGI (not
    BaseHTTPMiddleware) so the body is never buffered here: bytes are only counted as they pass.
    """

    def __init__(self, app, limit_for: Callable[[str], int | None]) -> None:
        super().__init__(app)
        self.limit_for = limit_for

    async def http(self, scope, receive, send) -> None:
        limit = self.limit_for(scope.get("path", ""))
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_json(send, 413, error_body("body_too_large", str(too_large(limit).detail)), scope)
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised into whoever reads the body; the app's error handler answers 413.
                    raise too_large(limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_json(send, status: int, body: dict, scope) -> None:
    stats = getattr(getattr(scope.get("app"), "state", None), "stats", None)
    if stats is not None:
        stats.refused(body["error"])
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
