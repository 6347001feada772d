"""`create_app(settings)`: the FastAPI application behind `maskwatch serve`.

Layout: `/` the web page (static/), `/api/v1/*` the REST + WebSocket API (bearer token when
configured), `/healthz` and `/readyz` probes, `/metrics` for Prometheus, `/docs` the generated
OpenAPI page. Models load once per worker in the background after startup (see runtime.Runtime).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from maskwatch.serve.engine import Engine, default_engine_factory, engine_from_detector
from maskwatch.serve.errors import install_error_handlers
from maskwatch.serve.limits import BodyLimitMiddleware
from maskwatch.serve.metrics import MetricsMiddleware
from maskwatch.serve.runtime import Runtime
from maskwatch.serve.settings import ServeSettings

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """
Find every face in an image and label it **with_mask**, **without_mask** or
**mask_weared_incorrect**.

* `POST /api/v1/detect` - image in (multipart field `file` or raw body), JSON out (the same record as
  `maskwatch detect --save-json`), or the annotated JPEG with `?annotate=true`.
* `POST /api/v1/classify` - one face crop in, label + probabilities out.
* `POST /api/v1/video` - a short video in, annotated MP4 + JSONL out (download links).
* `GET /api/v1/model` - labels, input size, model card, versions.
* `WS /api/v1/live` - binary JPEG frames in, detections out (see the web page at `/`).
* `GET /metrics` - Prometheus metrics (requests, latency, faces by label, queue depth, busy refusals).

Busy workers: a request waits its turn while its expected wait stays under the server's limit
(5 s by default); otherwise it gets 503 with `Retry-After` (seconds) at once.

When the server runs with `--token`, every `/api/*` call needs `Authorization: Bearer <token>`
(the WebSocket: first message `{"type": "auth", "token": "..."}`). Every refusal is JSON
`{"error": code, "detail": message}`.
"""


def create_app(
    settings: ServeSettings | None = None,
    *,
    detector_factory: Callable[[], object] | None = None,
) -> FastAPI:
    """Build the app. `detector_factory` replaces the real MaskDetector (one call per worker);
    it exists for tests that need a controllable detector, the server itself never passes it."""
    settings = settings or ServeSettings.from_env()
    if detector_factory is None:
        engine_factory: Callable[[], Engine] = default_engine_factory(settings.model, settings.model_threads)
    else:

        def engine_factory() -> Engine:
            return engine_from_detector(detector_factory())

    runtime = Runtime(settings, engine_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        install_log_redaction()  # here, after the server has configured its loggers
        runtime.loop = asyncio.get_running_loop()
        loading = asyncio.create_task(runtime.load())
        app.state.loading = loading
        try:
            yield
        finally:
            runtime.begin_shutdown()
            if not loading.done():
                loading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loading
            runtime.close()

    from maskwatch.version import __version__

    app = FastAPI(
        title="maskwatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from local files: the page must work without internet
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.stats = runtime.stats
    install_error_handlers(app)

    def limit_for(path: str) -> int | None:
        if path.startswith("/api/v1/video"):
            return settings.max_video_bytes
        if path.startswith("/api/"):
            return settings.max_body_bytes
        return None

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics)
    if settings.cors_origins:
        # Outermost, so refusals (401, 413, 503) carry CORS headers too and the page can read them.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After", "X-Maskwatch-Faces"],
            max_age=600,
        )

    from maskwatch.serve.routes import api, health, live, video

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(video.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_offline_docs(app)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    return app


class RedactTokenFilter(logging.Filter):
    """Blank `token=...` in access-log lines (the WebSocket may carry the token in its URL)."""

    _pattern = re.compile(r"(token=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._pattern.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self._pattern.sub(r"\1***", record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokenFilter) for f in logger.filters):
            logger.addFilter(RedactTokenFilter())


def _add_offline_docs(app: FastAPI) -> None:
    """`/docs`: FastAPI's Swagger UI page with Swagger UI 5 served from the fastapi-offline wheel.

    FastAPI's default page loads Swagger UI from a CDN, which leaves it blank on offline machines
    (gates, CCTV networks). The files must be Swagger UI 5 or later: FastAPI writes OpenAPI 3.1,
    which Swagger UI 4 refuses ("Unable to render this definition"); fastapi-offline ships 5.x.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi_offline.core import _STATIC_PATH as swagger_ui_path

    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="maskwatch API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
        )
