"""`maskwatch.serve.run.serve()`: run the web app + REST API with uvicorn until a signal stops it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from maskwatch.settings import overrides_for


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    cors: list[str] | str | None = None,
    workers: int = 2,
    queue: int = 32,
    max_wait: float = 5.0,
    model: str | os.PathLike | None = None,
    max_upload_mb: float = 10.0,
    max_video_mb: float = 50.0,
    max_video_seconds: float = 30.0,
    max_pixels: int = 40_000_000,
    max_pixels_in_flight: int | None = None,
    max_video_frames: int = 1800,
    log_level: str = "info",
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> bool:
    """Serve the web page (live webcam + upload) and the REST API until SIGINT/SIGTERM; OpenAPI docs at /docs.

    The Python twin of `maskwatch serve` (same arguments; sizes in MB as on the command line, every
    other setting of ServeSettings from MASKWATCH_* variables or `overrides`: `{"keep_results": 4}`
    or `["keep_results=4"]`, the CLI's `--set`, which win over both). Returns True when a signal
    stopped it.
    """
    import uvicorn

    from maskwatch.serve.app import create_app, install_log_redaction
    from maskwatch.serve.settings import MB, ServeSettings, parse_origins

    given = dict(
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
    settings = ServeSettings.from_env(**{**given, **overrides_for(ServeSettings, overrides)})
    app = create_app(settings)
    auth = "token required" if settings.auth_required else "no token (open)"
    print(f"maskwatch serve: http://{host}:{port}/  ({settings.workers} worker(s), {auth})")
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
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits 3 when it cannot start (port in use, ...): that is 2 here
        if exc.code in (0, None) or server.signalled:
            raise
        from maskwatch.errors import MaskwatchError

        raise MaskwatchError(f"{host}:{port}: the server could not start (the reason is logged above)") from None
    return server.signalled


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
