"""Everything an operator can tune about `maskwatch serve`, in one dataclass.

The CLI fills it from flags, `ServeSettings.from_env()` from `MASKWATCH_*` variables, tests build it
directly. Limits live here (not as constants in the routes) so a deployment can tighten them
without touching code, and so tests can shrink them to provoke each refusal cheaply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from maskwatch.errors import ConfigError
from maskwatch.images import MAX_PIXELS

MB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Server configuration. All sizes are in bytes, durations in seconds."""

    #: Classifier model file; None means the default model shipped with maskwatch.
    model: str | None = None
    #: Bearer token required on /api (None = open). Never logged, never echoed back.
    token: str | None = field(default=None, repr=False)
    #: Origins allowed to call the API from a browser (CORS); empty = same origin only.
    cors_origins: tuple[str, ...] = ()
    #: Inference worker threads; each holds its own loaded models (runtimes are not thread-safe).
    workers: int = 2
    #: Requests allowed to wait for a worker (the waiting room, first come first served).
    queue: int = 32
    #: Longest wait for a worker, in seconds. A request expected to wait longer (requests ahead x
    #: measured service time / workers), or still waiting after it, gets 503 + Retry-After.
    max_wait: float = 5.0
    #: Threads each model runtime may use inside one worker.
    model_threads: int = 1
    #: Largest request body for images and live frames.
    max_body_bytes: int = 10 * MB
    #: Largest decoded image (width * height); larger files are refused before decoding.
    max_pixels: int = MAX_PIXELS
    #: Decoded pixels (width * height) of all images being processed at once, across workers:
    #: memory follows pixels, not upload bytes; a big image waits until the budget has room.
    max_pixels_in_flight: int = MAX_PIXELS
    #: Largest uploaded video and longest duration processed.
    max_video_bytes: int = 50 * MB
    max_video_seconds: float = 30.0
    #: Work limits on one video, enforced while it is decoded (header fields can lie): frames
    #: processed and seconds of processing; beyond either the rest is cut, with a warning.
    max_video_frames: int = 1800
    max_video_work_seconds: float = 120.0
    #: Bad messages (undecodable frames, unknown text) a live WebSocket may send in a row
    #: before the server closes it with code 1008 (policy violation).
    max_bad_frames: int = 5
    #: Finished video results kept for download (oldest removed first).
    keep_results: int = 8
    #: Where video results are written; None = a temporary folder removed at shutdown.
    results_dir: str | None = None
    #: Seconds a client is told to wait when the server is saturated.
    retry_after: int = 1
    #: Seconds a live WebSocket client has to authenticate before it is closed.
    auth_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.queue < 0:
            raise ConfigError(f"queue must be >= 0, got {self.queue}")
        for name in (
            "max_body_bytes",
            "max_pixels",
            "max_video_bytes",
            "max_video_frames",
            "max_video_work_seconds",
            "max_bad_frames",
            "max_wait",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_pixels_in_flight < self.max_pixels:
            raise ConfigError(
                f"max_pixels_in_flight ({self.max_pixels_in_flight:,}) must be at least max_pixels "
                f"({self.max_pixels:,}), or the largest allowed image could never start"
            )
        if self.model is not None and not Path(self.model).is_file():
            raise ConfigError(f"model file {self.model} not found")

    @property
    def auth_required(self) -> bool:
        return bool(self.token)

    def with_(self, **changes) -> ServeSettings:
        """A copy with some fields changed (settings are immutable once the app runs)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> ServeSettings:
        """Read MASKWATCH_TOKEN, MASKWATCH_CORS (comma-separated), MASKWATCH_WORKERS, MASKWATCH_MODEL.

        Explicit keyword overrides (CLI flags) win over the environment; None overrides are ignored.
        """
        env = os.environ if environ is None else environ
        values: dict = {}
        if env.get("MASKWATCH_TOKEN"):
            values["token"] = env["MASKWATCH_TOKEN"]
        if env.get("MASKWATCH_CORS"):
            values["cors_origins"] = parse_origins(env["MASKWATCH_CORS"])
        if env.get("MASKWATCH_WORKERS"):
            try:
                values["workers"] = int(env["MASKWATCH_WORKERS"])
            except ValueError:
                raise ConfigError(
                    f"MASKWATCH_WORKERS must be a whole number, got {env['MASKWATCH_WORKERS']!r}"
                ) from None
        if env.get("MASKWATCH_MODEL"):
            values["model"] = env["MASKWATCH_MODEL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def parse_origins(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'https://a.example, https://b.example' -> ('https://a.example', 'https://b.example')."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    return tuple(item.strip().rstrip("/") for item in items if item.strip())
