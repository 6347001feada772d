"""`maskwatch serve`: run the web app + REST API with uvicorn (mirrors `create_app(ServeSettings(...))`)."""

from __future__ import annotations

import contextlib
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
    ] = 32,
    max_wait: Annotated[
        float,
        typer.Option(
            min=0.1, help="Longest wait for a worker, in seconds; a request expected to wait longer gets 503."
        ),
    ] = 5.0,
    model: Annotated[
        Path | None, typer.Option(help="Classifier model (.tflite/.onnx/.keras); default: the shipped one.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest image upload / live frame, in MB.")] = 10.0,
    max_video_mb: Annotated[float, typer.Option(help="Largest video upload, in MB.")] = 50.0,
    max_video_seconds: Annotated[float, typer.Option(help="Longest video processed, in seconds.")] = 30.0,
    max_pixels: Annotated[
        int, typer.Option(help="Largest image, width x height (decompression-bomb guard).")
    ] = 40_000_000,
    max_pixels_in_flight: Annotated[
        int | None,
        typer.Option(
            help="Decoded pixels of all images processed at once (default: --max-pixels).", show_default=False
        ),
    ] = None,
    max_video_frames: Annotated[int, typer.Option(min=1, help="Most frames processed per video.")] = 1800,
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
        max_wait=max_wait,
        max_pixels_in_flight=max(max_pixels_in_flight or max_pixels, max_pixels),
        max_video_frames=max_video_frames,
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
    server = _Server(config)
    server.runtime = app.state.runtime
    server.run()
    if server.signalled:
        raise typer.Exit(0)  # stopped on purpose: no KeyboardInterrupt traceback


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, which also cancels running jobs as soon as SIGINT/SIGTERM arrives.

        uvicorn waits for open requests before the app's shutdown runs; a video job would hold it
        for minutes. Telling the runtime at the signal makes running jobs stop between two frames
        and answer 503, so the server is gone within seconds, without a 500 or a traceback.
        """

        runtime = None
        signalled = False

        def handle_exit(self, sig, frame) -> None:
            self.signalled = True
            if self.runtime is not None:
                self.runtime.begin_shutdown()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            # uvicorn re-raises the signal after a graceful stop (a KeyboardInterrupt traceback for
            # SIGINT); the stop was asked for and is done, so it is not re-raised here.
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return Server


def _Server(config):  # noqa: N802 (a class built lazily: uvicorn is imported only to serve)
    return _server_class()(config)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
