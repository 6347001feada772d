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
Every frame and ping gets an answer (a text message other than ping/auth gets an `error`); after
`max_bad_frames` bad messages in a row the server closes with 1008 (policy violation), so a broken
or hostile client cannot keep a connection busy. Query parameters other than `token` are refused
at the handshake with HTTP 422, like wrong parameters on the REST routes.
"""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from maskwatch.errors import BadImageError
from maskwatch.serve.engine import count_labels, detect_job
from maskwatch.serve.errors import ApiError, error_body
from maskwatch.serve.limits import check_pixels, require_image
from maskwatch.serve.routes.common import token_matches

router = APIRouter()

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013
#: Query parameters the live socket takes.
LIVE_PARAMETERS = ("token",)


async def _refuse_handshake(ws: WebSocket) -> bool:
    """Refuse unknown query parameters with HTTP 422 before the upgrade; True when refused."""
    unknown = sorted(set(ws.query_params) - set(LIVE_PARAMETERS))
    if not unknown:
        return False
    detail = f"unknown query parameter(s) {', '.join(unknown)}; /api/v1/live takes: {', '.join(LIVE_PARAMETERS)}"
    try:
        await ws.send_denial_response(JSONResponse(error_body("invalid_parameter", detail), status_code=422))
    except RuntimeError:  # a server without the denial-response extension: say it, then close
        await ws.accept()
        await ws.send_json({"type": "error", "error": "invalid_parameter", "detail": detail})
        await ws.close(code=POLICY_VIOLATION, reason="invalid query parameter")
    return True


async def _authenticate(ws: WebSocket, token: str | None, timeout: float) -> bool:
    if not token:
        return True
    if token_matches(token, ws.query_params.get("token")):
        return True
    try:
        message = await asyncio.wait_for(ws.receive_text(), timeout=timeout)
        given = json.loads(message).get("token") if message.startswith("{") else None
    except WebSocketDisconnect:
        return False  # the client left before authenticating: nothing to answer
    except (TimeoutError, ValueError, KeyError, AttributeError, RuntimeError):
        given = None
    if token_matches(token, given if isinstance(given, str) else None):
        return True
    try:
        await ws.send_json(
            {
                "type": "error",
                "error": "unauthorized",
                "detail": 'send {"type": "auth", "token": "..."} as the first message; the token was missing or wrong',
            }
        )
        await ws.close(code=POLICY_VIOLATION)
    except (WebSocketDisconnect, RuntimeError):
        pass  # gone meanwhile
    return False


@router.websocket("/api/v1/live")
async def live(ws: WebSocket) -> None:
    runtime = ws.app.state.runtime
    settings = runtime.settings
    if await _refuse_handshake(ws):
        runtime.stats.refused("invalid_parameter")
        return
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
    runtime.metrics.live_clients.inc()
    frame = bad = 0
    try:
        while not runtime.stopping.is_set():
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                answer = _text_answer(message.get("text") or "")
                if answer is None:
                    continue
            else:
                frame += 1
                answer = await _answer(runtime, data, frame, labels)
            bad = bad + 1 if answer["type"] == "error" else 0
            await ws.send_json(answer)
            if bad >= settings.max_bad_frames:
                await ws.close(code=POLICY_VIOLATION, reason=f"{bad} bad messages in a row")
                return
        await ws.close(code=GOING_AWAY, reason="server shutting down")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away (RuntimeError: sending on a socket that closed meanwhile)
    finally:
        runtime.stats.client(-1)
        runtime.metrics.live_clients.dec()


def _text_answer(text: str) -> dict | None:
    """Text messages: ping gets pong, an auth message (sent by clients even to an open server) is
    taken silently (None: no answer), anything else is an error."""
    try:
        kind = json.loads(text).get("type") if text.lstrip().startswith("{") else None
    except ValueError:
        kind = None
    if kind == "ping":
        return {"type": "pong"}
    if kind == "auth":
        return None
    return {
        "type": "error",
        "error": "bad_message",
        "detail": 'send frames as binary JPEG/PNG/WebP messages; text messages: {"type": "ping"}',
    }


async def _answer(runtime, data: bytes, frame: int, labels: list[str]) -> dict:
    settings = runtime.settings
    started = time.perf_counter()
    try:
        if len(data) > settings.max_body_bytes:
            raise ApiError(413, "body_too_large", f"frame of {len(data):,} bytes is above {settings.max_body_bytes:,}")
        require_image(data)
        width, height = check_pixels(data, settings.max_pixels)
        record, _ = await runtime.run(
            detect_job, data, f"frame {frame}", settings.max_pixels, False, True, cost=width * height
        )
    except ApiError as exc:
        runtime.stats.refused(exc.error)
        if exc.error == "busy":
            retry = int((exc.headers or {}).get("Retry-After", settings.retry_after))
            return {"type": "busy", "frame": frame, "retry_after": retry}
        return {"type": "error", "frame": frame, "error": exc.error, "detail": exc.detail}
    except BadImageError as exc:
        runtime.stats.refused("bad_image")
        return {"type": "error", "frame": frame, "error": "bad_image", "detail": exc.reason}
    runtime.stats.frame()
    runtime.metrics.live_frames.inc()
    runtime.metrics.count_faces(record["detections"])
    return {
        "type": "detections",
        "frame": frame,
        "width": record["width"],
        "height": record["height"],
        "detections": record["detections"],
        "counts": count_labels(record["detections"], labels),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
