"""What a source means, decided once: `Source.parse(x)` for everything `maskwatch detect` takes.

A user types an image, a folder (searched recursively), a glob (`"shots/**/*.jpg"`), a list of
files, a video file, a camera index (`0`) or a stream URL (`rtsp://...`). `Source.parse` turns it
into one `Source` with a `kind`; the source then opens itself: `images()` lists the image files of
an image source, `open()` gives the `FrameSource` of a video, camera or stream (the decoders:
`decode` for files and streams through PyAV, `camera` through OpenCV).

Rules, the same for images and video everywhere: a file's suffix says image or video (`.gif` is an
image: photo archives hold GIFs; animated ones are read as their first frame); a URL must use a
protocol the decoder streams (rtsp, rtsps, rtmp, rtmps, http, https, udp, rtp, tcp, srt, or file://
for a local video), any other scheme is refused with the list; digits that are not a file are a
camera index.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from maskwatch.errors import SourceError
from maskwatch.images import IMAGE_SUFFIXES, is_image_path, iter_image_files
from maskwatch.video.camera import CameraSource
from maskwatch.video.decode import StreamSource, VideoFileSource
from maskwatch.video.frames import Frame, FrameSource, SourceWarning

__all__ = [
    "VIDEO_SUFFIXES",
    "CameraSource",
    "Frame",
    "FrameSource",
    "Source",
    "SourceKind",
    "SourceWarning",
    "StreamSource",
    "VideoFileSource",
    "is_video_source",
    "open_source",
    "parse_source",
]

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp"}
)
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "rtp", "tcp", "srt")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_GLOB_CHARS = re.compile(r"[*?\[]")


class SourceKind(StrEnum):
    IMAGE = "image"
    FOLDER = "folder"
    GLOB = "glob"
    FILES = "files"
    VIDEO = "video"
    CAMERA = "camera"
    URL = "url"


@dataclass(frozen=True)
class Source:
    """A parsed source: its kind and what to open (a path, a pattern, paths, a camera index, a URL)."""

    kind: SourceKind
    value: str | int | tuple[str, ...]

    @classmethod
    def parse(cls, source: str | int | os.PathLike | Sequence[str | os.PathLike] | Source) -> Source:
        """Decide what kind of source this is; a path that does not exist is a SourceError."""
        if isinstance(source, Source):
            return source
        if isinstance(source, bool):
            raise SourceError(f"{source!r}: not a source (give an image, folder, glob, video, camera index or URL)")
        if isinstance(source, int):
            return cls(SourceKind.CAMERA, source)
        if isinstance(source, Sequence) and not isinstance(source, str):
            return cls._files(source)
        text = os.fspath(source).strip()
        if not text:
            raise SourceError("empty source: give an image, folder, glob, video, camera index or URL")
        url = _URL.match(text)
        if url:
            scheme = url.group(1).lower()
            if scheme == "file":
                return cls(SourceKind.VIDEO, text[len("file://") :])
            if scheme not in STREAM_SCHEMES:
                schemes = ", ".join(STREAM_SCHEMES)
                raise SourceError(f"{text}: {scheme}:// is not a stream protocol maskwatch reads ({schemes}, file)")
            return cls(SourceKind.URL, text)
        path = Path(text).expanduser()
        if path.is_dir():
            return cls(SourceKind.FOLDER, str(path))
        suffix = path.suffix.lower()
        if path.is_file() or (suffix in VIDEO_SUFFIXES and not _GLOB_CHARS.search(text)):
            # A missing video file is reported by its decoder ("video file not found").
            return cls(SourceKind.VIDEO if suffix in VIDEO_SUFFIXES else SourceKind.IMAGE, str(path))
        if text.isdigit():
            return cls(SourceKind.CAMERA, int(text))
        if _GLOB_CHARS.search(text):
            return cls(SourceKind.GLOB, os.path.expanduser(text))
        raise SourceError(f"{text}: no such file or folder (nor a camera index, URL or glob pattern)")

    @classmethod
    def _files(cls, paths: Sequence[str | os.PathLike]) -> Source:
        if not paths:
            raise SourceError("empty list of files")
        files = []
        for item in paths:
            path = Path(os.fspath(item)).expanduser()
            if not path.is_file():
                raise SourceError(f"{path}: no such file")
            if not is_image_path(path):
                raise SourceError(f"{path}: not an image file ({', '.join(sorted(IMAGE_SUFFIXES))})")
            files.append(str(path))
        return cls(SourceKind.FILES, tuple(files))

    @property
    def is_video(self) -> bool:
        """Frames in time order (tracking, MP4 output) rather than separate images."""
        return self.kind in (SourceKind.VIDEO, SourceKind.CAMERA, SourceKind.URL)

    @property
    def name(self) -> str:
        """For messages and output names: the path, pattern, URL, or `camera N`."""
        if self.kind == SourceKind.CAMERA:
            return f"camera{self.value}"
        if self.kind == SourceKind.FILES:
            return f"{len(self.value)} files"
        return str(self.value)

    def images(self) -> list[Path]:
        """The image files of an image/folder/glob/list source, sorted; SourceError when there are none."""
        if self.kind == SourceKind.IMAGE:
            return [Path(self.value)]
        if self.kind == SourceKind.FILES:
            return [Path(p) for p in self.value]
        if self.kind == SourceKind.FOLDER:
            files = list(iter_image_files(self.value, recursive=True))
        elif self.kind == SourceKind.GLOB:
            matches = sorted(glob.glob(str(self.value), recursive=True))
            files = [Path(p) for p in matches if os.path.isfile(p) and is_image_path(p)]
            if not files and matches:
                raise SourceError(f"{self.value}: matches {len(matches)} path(s) but no image files")
        else:
            raise SourceError(f"{self.value}: a {self.kind.value} source has no image files")
        if not files:
            raise SourceError(f"{self.value}: no image files found ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return files

    def relative_name(self, path: Path) -> Path:
        """Where an image's outputs go below save_dir: its path relative to the folder/glob root.

        Keeps `a/img.jpg` and `b/img.jpg` of one folder apart instead of overwriting each other.
        """
        if self.kind == SourceKind.FOLDER:
            root = Path(self.value)
        elif self.kind == SourceKind.GLOB:
            root = Path(_glob_root(str(self.value)))
        else:
            return Path(path.name)
        try:
            return path.resolve().relative_to(root.resolve())
        except ValueError:
            return Path(path.name)

    def open(self, **options) -> FrameSource:
        """The FrameSource of a video, camera or stream source; `options` go to its decoder
        (e.g. `open_timeout`, `max_retries`, `strict`)."""
        if self.kind == SourceKind.CAMERA:
            return CameraSource(int(self.value), **options)
        if self.kind == SourceKind.URL:
            return StreamSource(str(self.value), **options)
        if self.kind == SourceKind.VIDEO:
            return VideoFileSource(str(self.value), **options)
        raise SourceError(f"{self.name}: a {self.kind.value} source holds images, not video frames")


def parse_source(source) -> Source:
    """`Source.parse(source)`."""
    return Source.parse(source)


def is_video_source(source: object) -> bool:
    """True for what `open_source` opens as video: a camera index, a stream URL or a video file."""
    try:
        return Source.parse(source).is_video  # type: ignore[arg-type]
    except SourceError:
        return False


def open_source(source: str | int | os.PathLike | FrameSource | Source, **options) -> FrameSource:
    """The FrameSource of a camera index (int or "0"), a URL ("rtsp://...") or a video file.

    `options` go to the decoder (e.g. `open_timeout`, `max_retries`, `strict`). An existing
    FrameSource is returned as it is.
    """
    if isinstance(source, FrameSource):
        return source
    return Source.parse(source).open(**options)


def _glob_root(pattern: str) -> str:
    """The longest leading folder of a glob pattern without wildcards ("shots/**/*.jpg" -> "shots")."""
    fixed = []
    for part in Path(pattern).parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."
