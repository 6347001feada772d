"""WebSocket `/api/v1/live`: the web page streams webcam frames, the server answers detections.

Protocol (JSON text messages, frames as binary):

1. client connects; if the server has a token, the client sends `{"type": "auth", "token": "..."}`
   first (or passes `?token=` in the URL; the server redacts it from the access log);
2. server sends `{"type": "ready", "labels": [...], "max_frame_bytes": n}`;
3. client sends one JPEG (or PNG/WebP) frame as a binary message and waits;
4. server answers `{"type": "detections", "frame": i, "width", "height", "detections": [...],
   "counts": {label: n}, "ms": server time}` or `{"type": "busy", "retry_after": s}` when every
   worker is taken, or `{"type": "error", "error": code, "detail": ...}` for a bad frame.

The client sends the next frame only after an answer (backpressure), so a slow server lowers the
frame rate instead of growing a queue; the server also processes one frame per connection at a time.
"""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from maskwatch.errors import BadImageError
from maskwatch.serve.engine import count_labels, detect_job
from maskwatch.serve.errors import ApiError
from maskwatch.serve.limits import check_pixels, require_image
from maskwatch.serve.routes.common import token_matches

router = APIRouter()

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013


async def _authenticate(ws: WebSocket, token: str | None, timeout: float) -> bool:
    if not token:
        return True
    if token_matches(token, ws.query_params.get("token")):
        return True
    try:
        message = await asyncio.wait_for(ws.receive_text(), timeout=timeout)
        given = json.loads(message).get("token") if message.startswith("{") else None
    except (TimeoutError, ValueError, KeyError, AttributeError, RuntimeError):
        given = None
    if token_matches(token, given if isinstance(given, str) else None):
        return True
    await ws.send_json(
        {
            "type": "error",
            "error": "unauthorized",
            "detail": 'send {"type": "auth", "token": "..."} as the first message; the token was missing or wrong',
        }
    )
    await ws.close(code=POLICY_VIOLATION)
    return False


@router.websocket("/api/v1/live")
async def live(ws: WebSocket) -> None:
    runtime = ws.app.state.runtime
    settings = runtime.settings
    await ws.accept()
    if not await _authenticate(ws, settings.token, settings.auth_timeout):
        runtime.stats.refused("unauthorized")
        return
    try:
        pool = runtime.require_pool()
    except ApiError as exc:
        await ws.send_json({"type": "error", "error": exc.error, "detail": exc.detail})
        await ws.close(code=TRY_AGAIN_LATER)
        return
    labels = pool.engines[0].labels
    await ws.send_json({"type": "ready", "labels": labels, "max_frame_bytes": settings.max_body_bytes})
    runtime.stats.client(+1)
    frame = 0
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                text = message.get("text") or ""
                if '"ping"' in text:
                    await ws.send_json({"type": "pong"})
                continue
            frame += 1
            await ws.send_json(await _answer(runtime, data, frame, labels))
    except WebSocketDisconnect:
        pass
    finally:
        runtime.stats.client(-1)


async def _answer(runtime, data: bytes, frame: int, labels: list[str]) -> dict:
    settings = runtime.settings
    started = time.perf_counter()
    try:
        if len(data) > settings.max_body_bytes:
            raise ApiError(413, "body_too_large", f"frame of {len(data):,} bytes is above {settings.max_body_bytes:,}")
        require_image(data)
        check_pixels(data, settings.max_pixels)
        record, _ = await runtime.run(detect_job, data, f"frame {frame}", settings.max_pixels, False, True)
    except ApiError as exc:
        runtime.stats.refused(exc.error)
        if exc.error == "busy":
            return {"type": "busy", "frame": frame, "retry_after": settings.retry_after}
        return {"type": "error", "frame": frame, "error": exc.error, "detail": exc.detail}
    except BadImageError as exc:
        runtime.stats.refused("bad_image")
        return {"type": "error", "frame": frame, "error": "bad_image", "detail": exc.reason}
    runtime.stats.frame()
    return {
        "type": "detections",
        "frame": frame,
        "width": record["width"],
        "height": record["height"],
        "detections": record["detections"],
        "counts": count_labels(record["detections"], labels),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
