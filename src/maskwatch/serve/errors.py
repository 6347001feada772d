"""One shape for every refusal: JSON `{"error": code, "detail": message}` plus the right status.

Clients (the web page, scripts, the tests) switch on the short `error` code; people read `detail`,
which says what to change. Handlers here also turn FastAPI's own errors (404, 405, validation)
into the same shape, so nothing the server sends back is a bare HTML page or a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger("maskwatch.serve")


class ApiError(StarletteHTTPException):
    """A refusal with a machine-readable code. Subclasses HTTPException so it can be raised from
    anywhere in request handling (even from inside the body stream) and still reach the handler."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.error = error


def error_body(error: str, detail: str) -> dict[str, str]:
    return {"error": error, "detail": detail}


def error_response(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(error, detail), status_code=status, headers=headers)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through `error_response` and count refusals in app.state.stats."""

    def count(request: Request, code: str) -> None:
        stats = getattr(request.app.state, "stats", None)
        if stats is not None:
            stats.refused(code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = exc.error if isinstance(exc, ApiError) else _STATUS_CODES.get(exc.status_code, "error")
        detail = str(exc.detail)
        if not isinstance(exc, ApiError) and exc.status_code == 404:
            detail = f"{request.url.path} does not exist; the API is described at /docs"
        elif not isinstance(exc, ApiError) and exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
        count(request, code)
        return error_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        count(request, "invalid_parameter")
        return error_response(422, "invalid_parameter", "; ".join(parts) or "invalid request")

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client hung up mid-upload: nobody will read an answer, and it is not a server error.
        count(request, "client_disconnected")
        return error_response(400, "client_disconnected", "the client closed the connection during the upload")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the type and message only: never the request headers (they may carry the token).
        log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        count(request, "internal_error")
        return error_response(500, "internal_error", "the server failed on this request; see the server log")
