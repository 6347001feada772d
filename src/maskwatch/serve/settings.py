"""Everything an operator can tune about `maskwatch serve`, in one settings model.

The CLI fills it from flags, `MASKWATCH_<FIELD>` environment variables fill what the flags leave
(`MASKWATCH_TOKEN`, `MASKWATCH_CORS` comma-separated, `MASKWATCH_WORKERS`, `MASKWATCH_MODEL`...),
tests build it directly. Limits live here (not as constants in the routes) so a deployment can
tighten them without touching code, and so tests can shrink them to provoke each refusal cheaply.
A value out of range is a ConfigError naming the key and the allowed range (maskwatch.settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from maskwatch.errors import ConfigError
from maskwatch.images import MAX_PIXELS
from maskwatch.settings import EnvSettings

MB = 1024 * 1024


class ServeSettings(EnvSettings):
    """Server configuration. All sizes are in bytes, durations in seconds."""

    env_names: ClassVar[dict[str, str]] = {"cors_origins": "cors"}

    #: Classifier model file; None means the default model shipped with maskwatch.
    model: str | None = None
    #: Bearer token required on /api (None = open). Never logged, never echoed back.
    token: str | None = Field(default=None, repr=False)
    #: Origins allowed to call the API from a browser (CORS); empty = same origin only.
    cors_origins: tuple[str, ...] = ()
    #: Inference worker threads; each holds its own loaded models (runtimes are not thread-safe).
    workers: int = Field(2, ge=1)
    #: Requests allowed to wait for a worker (the waiting room, first come first served).
    queue: int = Field(32, ge=0)
    #: Longest wait for a worker, in seconds. A request expected to wait longer (requests ahead x
    #: measured service time / workers), or still waiting after it, gets 503 + Retry-After.
    max_wait: float = Field(5.0, gt=0)
    #: Threads each model runtime may use inside one worker.
    model_threads: int = Field(1, ge=1)
    #: Largest request body for images and live frames.
    max_body_bytes: int = Field(10 * MB, gt=0)
    #: Largest decoded image (width * height); larger files are refused before decoding.
    max_pixels: int = Field(MAX_PIXELS, gt=0)
    #: Decoded pixels (width * height) of all images being processed at once, across workers:
    #: memory follows pixels, not upload bytes; a big image waits until the budget has room.
    max_pixels_in_flight: int = Field(MAX_PIXELS, gt=0)
    #: Largest uploaded video and longest duration processed.
    max_video_bytes: int = Field(50 * MB, gt=0)
    max_video_seconds: float = Field(30.0, gt=0)
    #: Work limits on one video, enforced while it is decoded (header fields can lie): frames
    #: processed and seconds of processing; beyond either the rest is cut, with a warning.
    max_video_frames: int = Field(1800, gt=0)
    max_video_work_seconds: float = Field(120.0, gt=0)
    #: Bad messages (undecodable frames, unknown text) a live WebSocket may send in a row
    #: before the server closes it with code 1008 (policy violation).
    max_bad_frames: int = Field(5, gt=0)
    #: Finished video results kept for download (oldest removed first).
    keep_results: int = Field(8, ge=0)
    #: Where video results are written; None = a temporary folder removed at shutdown.
    results_dir: str | None = None
    #: Seconds a client is told to wait when the server is saturated.
    retry_after: int = Field(1, ge=0)
    #: Seconds a live WebSocket client has to authenticate before it is closed.
    auth_timeout: float = Field(10.0, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value):
        return parse_origins(value) if isinstance(value, str | list | tuple) else value

    @model_validator(mode="after")
    def _consistent(self) -> ServeSettings:
        if self.max_pixels_in_flight < self.max_pixels:
            raise ConfigError(
                f"max_pixels_in_flight ({self.max_pixels_in_flight:,}) must be at least max_pixels "
                f"({self.max_pixels:,}), or the largest allowed image could never start"
            )
        if self.model is not None and not Path(self.model).is_file():
            raise ConfigError(f"model file {self.model} not found")
        return self

    @property
    def auth_required(self) -> bool:
        return bool(self.token)


def parse_origins(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """'https://a.example, https://b.example' -> ('https://a.example', 'https://b.example')."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    return tuple(item.strip().rstrip("/") for item in items if item.strip())
