"""`maskwatch serve`: run the web app + REST API with uvicorn (mirrors `maskwatch.serve.run.serve`).

The limits' ranges come from ServeSettings (`settings.option`), the model the server checks them with;
any other setting is `--set KEY=VALUE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.serve.settings import ServeSettings
from maskwatch.settings import option


def serve_command(
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
    workers: Annotated[
        int,
        typer.Option(**option(ServeSettings, "workers", help="Inference worker threads (each loads its own models).")),
    ] = 2,
    queue: Annotated[
        int,
        typer.Option(
            **option(ServeSettings, "queue", help="Requests that may wait for a worker; beyond: 503 + Retry-After.")
        ),
    ] = 32,
    max_wait: Annotated[
        float,
        typer.Option(
            **option(
                ServeSettings,
                "max_wait",
                help="Longest wait for a worker, in seconds; a request expected to wait longer gets 503.",
            )
        ),
    ] = 5.0,
    model: Annotated[
        Path | None, typer.Option(help="Classifier model (.tflite/.onnx/.keras); default: the shipped one.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest image upload / live frame, in MB.")] = 10.0,
    max_video_mb: Annotated[float, typer.Option(help="Largest video upload, in MB.")] = 50.0,
    max_video_seconds: Annotated[
        float, typer.Option(**option(ServeSettings, "max_video_seconds", help="Longest video processed, in seconds."))
    ] = 30.0,
    max_pixels: Annotated[
        int,
        typer.Option(
            **option(ServeSettings, "max_pixels", help="Largest image, width x height (decompression-bomb guard).")
        ),
    ] = 40_000_000,
    max_pixels_in_flight: Annotated[
        int | None,
        typer.Option(
            **option(
                ServeSettings,
                "max_pixels_in_flight",
                help="Decoded pixels of all images processed at once (default: --max-pixels).",
                show_default=False,
            )
        ),
    ] = None,
    max_video_frames: Annotated[
        int, typer.Option(**option(ServeSettings, "max_video_frames", help="Most frames processed per video."))
    ] = 1800,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Any other server setting (repeat), checked by ServeSettings: keep_results, max_bad_frames, "
            "model_threads, max_video_work_seconds, results_dir, ... (also MASKWATCH_<KEY>).",
        ),
    ] = None,
) -> None:
    """Serve the web page (live webcam + upload) and the REST API; OpenAPI docs at /docs."""
    from maskwatch.serve.run import serve

    if serve(
        host=host,
        port=port,
        token=token,
        cors=cors,
        workers=workers,
        queue=queue,
        max_wait=max_wait,
        model=model,
        max_upload_mb=max_upload_mb,
        max_video_mb=max_video_mb,
        max_video_seconds=max_video_seconds,
        max_pixels=max_pixels,
        max_pixels_in_flight=max_pixels_in_flight,
        max_video_frames=max_video_frames,
        log_level=log_level,
        overrides=overrides,
    ):
        raise typer.Exit(0)  # stopped on purpose: no KeyboardInterrupt traceback
