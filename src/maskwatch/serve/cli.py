"""`maskwatch serve`: run the web app + REST API with uvicorn (mirrors `create_app(ServeSettings(...))`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 = every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MASKWATCH_TOKEN",
            show_envvar=True,
            show_default=False,
            help="Require 'Authorization: Bearer TOKEN' on /api (prefer the env variable: flags show in `ps`).",
        ),
    ] = None,
    cors: Annotated[
        list[str] | None,
        typer.Option(
            help="Browser origin allowed to call the API (repeat, or comma-separated), e.g. https://a.example."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Inference worker threads (each loads its own models).")] = 2,
    queue: Annotated[
        int, typer.Option(min=0, help="Requests that may wait for a worker; beyond: 503 + Retry-After.")
    ] = 2,
    model: Annotated[
        Path | None, typer.Option(help="Classifier model (.tflite/.onnx/.keras); default: the shipped one.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest image upload / live frame, in MB.")] = 10.0,
    max_video_mb: Annotated[float, typer.Option(help="Largest video upload, in MB.")] = 50.0,
    max_video_seconds: Annotated[float, typer.Option(help="Longest video processed, in seconds.")] = 30.0,
    max_pixels: Annotated[
        int, typer.Option(help="Largest image, width x height (decompression-bomb guard).")
    ] = 40_000_000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the web page (live webcam + upload) and the REST API; OpenAPI docs at /docs."""
    import uvicorn

    from maskwatch.serve.app import create_app, install_log_redaction
    from maskwatch.serve.settings import MB, ServeSettings, parse_origins

    settings = ServeSettings.from_env(
        model=str(model) if model else None,
        token=token or None,
        cors_origins=parse_origins(cors) if cors else None,
        workers=workers,
        queue=queue,
        max_body_bytes=int(max_upload_mb * MB),
        max_video_bytes=int(max_video_mb * MB),
        max_video_seconds=max_video_seconds,
        max_pixels=max_pixels,
    )
    app = create_app(settings)
    auth = "token required" if settings.auth_required else "no token (open)"
    typer.echo(f"maskwatch serve: http://{host}:{port}/  ({settings.workers} worker(s), {auth})")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=settings.max_body_bytes + 1024,
        timeout_graceful_shutdown=5,
    )
    install_log_redaction()  # after Config, which (re)configures uvicorn's loggers
    uvicorn.Server(config).run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
