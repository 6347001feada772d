"""`cameras.yaml`: the streams of one deployment, their options, the event sink and the alerts.

::

    sink:
      jsonl: events/                 # one <camera name>.jsonl per camera (appended, flushed per event)
      webhook:                       # optional: POST each batch of events as a JSON array
        url: http://alerts.local:8080/maskwatch
        timeout: 2.0
        retries: 3
        backoff: 0.5                 # seconds, doubled after each failed try
    alerts:
      labels: [without_mask]         # a no_mask_alert when a person shows one of these labels ...
      after: 1.0                     # ... for this many seconds (of video time) in a row
    defaults:                        # pipeline options for every camera (see maskwatch.video)
      classify_every: 3
    cameras:
      - name: front-door
        source: 0                    # camera index, video file, or rtsp:// / http:// URL
      - name: lobby
        source: rtsp://10.0.0.12/stream1
        options: {detect_size: 480}  # overrides the defaults for this camera
        source_options: {read_timeout: 10}

Relative paths (a video file, the jsonl folder) are read from the YAML file's folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskwatch.detect.settings import DetectorSettings
from maskwatch.errors import ConfigError
from maskwatch.video.settings import VideoSettings

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: What a camera may set: the video pipeline's settings and the detector's (maskwatch's one
#: settings models, with their ranges), plus the classifier / face model files.
PIPELINE_OPTIONS = frozenset(VideoSettings.model_fields)
DETECTOR_OPTIONS = frozenset(DetectorSettings.model_fields) | {"model", "face_model"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookConfig(_Strict):
    url: str
    timeout: float = Field(2.0, gt=0, le=60)
    retries: int = Field(3, ge=0, le=20)
    backoff: float = Field(0.5, ge=0, le=60)
    queue: int = Field(1000, ge=1, le=1_000_000)
    batch: int = Field(50, ge=1, le=10_000)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not re.match(r"^https?://", url, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// URL")
        return url


class SinkConfig(_Strict):
    jsonl: Path | None = None
    webhook: WebhookConfig | None = None


class AlertConfig(_Strict):
    labels: list[str] = Field(default_factory=lambda: ["without_mask"])
    after: float = Field(1.0, ge=0, le=3600)


class CameraConfig(_Strict):
    name: str
    source: int | str
    options: dict = Field(default_factory=dict)
    source_options: dict = Field(default_factory=dict)
    max_frames: int | None = Field(None, ge=1)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("letters, digits, '-', '_' or '.', at most 64 (it names the camera's event file)")
        return name

    @field_validator("options")
    @classmethod
    def _options(cls, options: dict) -> dict:
        unknown = sorted(set(options) - PIPELINE_OPTIONS - DETECTOR_OPTIONS)
        if unknown:
            known = ", ".join(sorted(PIPELINE_OPTIONS | DETECTOR_OPTIONS))
            raise ValueError(f"unknown option(s) {unknown}; known: {known}")
        # Ranges and types as the settings models check them (a ConfigError is a ValueError).
        VideoSettings(**{k: v for k, v in options.items() if k in PIPELINE_OPTIONS})
        DetectorSettings(**{k: v for k, v in options.items() if k in DETECTOR_OPTIONS - {"model", "face_model"}})
        return options


class WatchConfig(_Strict):
    cameras: list[CameraConfig] = Field(min_length=1)
    sink: SinkConfig = Field(default_factory=SinkConfig)
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    defaults: dict = Field(default_factory=dict)
    #: CPUs a stream reserves when it runs as a Ray actor (a 640x480 stream needs about half a core).
    cpus_per_stream: float = Field(0.5, gt=0, le=64)

    @model_validator(mode="after")
    def _unique_names(self) -> WatchConfig:
        names = [camera.name for camera in self.cameras]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"camera names must be unique: {twice}")
        CameraConfig._options(self.defaults)
        return self

    def camera_options(self, camera: CameraConfig) -> tuple[dict, dict]:
        """(detector options, pipeline options) of a camera: the defaults, then its own."""
        merged = {**self.defaults, **camera.options}
        detector = {k: v for k, v in merged.items() if k in DETECTOR_OPTIONS}
        pipeline = {k: v for k, v in merged.items() if k in PIPELINE_OPTIONS}
        return detector, pipeline


def load_config(path: str | os.PathLike) -> WatchConfig:
    """Read and check cameras.yaml; ConfigError naming the file and the field on any problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'cameras' list")
    try:
        config = WatchConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    return resolve_paths(config, path.parent)


def resolve_paths(config: WatchConfig, base: Path) -> WatchConfig:
    """Video files and the jsonl folder relative to the config's folder; camera indices stay ints."""
    for camera in config.cameras:
        source = camera.source
        if isinstance(source, str) and source.isdigit():
            camera.source = int(source)
        elif isinstance(source, str) and "://" not in source and not Path(source).expanduser().is_absolute():
            camera.source = str(base / source)
    if config.sink.jsonl is not None and not config.sink.jsonl.expanduser().is_absolute():
        config.sink.jsonl = base / config.sink.jsonl
    return config
