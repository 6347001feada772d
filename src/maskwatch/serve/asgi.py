"""The base of maskwatch's own middlewares: plain ASGI, HTTP requests only.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so a request body is never buffered on the
way (bytes are counted as they pass, responses stream); lifespan and WebSocket messages pass
through untouched. A middleware implements `http(scope, receive, send)`.
"""

from __future__ import annotations


class HttpMiddleware:
    """Calls `self.http` for HTTP requests and hands everything else straight to the app."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope, receive, send) -> None:
        raise NotImplementedError
