"""What a detection source string means, and which image files it stands for.

`maskwatch detect SOURCE` takes what a user would type: an image, a folder (searched recursively),
a glob (`"shots/**/*.jpg"`), a video file, a camera index (`0`) or a stream URL (`rtsp://...`).
Images are handled here; video-like sources are handed to maskwatch.video.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from maskwatch.errors import SourceError
from maskwatch.images import IMAGE_SUFFIXES, is_image_path, iter_image_files

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp"}
)
_URL = re.compile(r"^(rtsp|rtsps|rtmp|rtmps|http|https|udp|tcp|srt|file)://", re.IGNORECASE)
_GLOB_CHARS = re.compile(r"[*?\[]")


class SourceKind(StrEnum):
    IMAGE = "image"
    FOLDER = "folder"
    GLOB = "glob"
    VIDEO = "video"
    CAMERA = "camera"
    URL = "url"


@dataclass(frozen=True)
class Source:
    """A parsed source: its kind and the value to open (a path, a pattern, a camera index, a URL)."""

    kind: SourceKind
    value: str | int

    @property
    def is_video(self) -> bool:
        """Video-like sources go to maskwatch.video (frames, tracking, MP4 output)."""
        return self.kind in (SourceKind.VIDEO, SourceKind.CAMERA, SourceKind.URL)


def parse_source(source: str | int | os.PathLike) -> Source:
    """Decide what kind of source this is; a path that does not exist is a SourceError."""
    if isinstance(source, bool):
        raise SourceError(f"{source!r}: not a detection source")
    if isinstance(source, int):
        return Source(SourceKind.CAMERA, source)
    text = os.fspath(source).strip()
    if not text:
        raise SourceError("empty source: give an image, folder, glob, video, camera index or URL")
    if _URL.match(text):
        return Source(SourceKind.URL, text)
    path = Path(text).expanduser()
    if path.is_dir():
        return Source(SourceKind.FOLDER, str(path))
    if path.is_file():
        kind = SourceKind.VIDEO if path.suffix.lower() in VIDEO_SUFFIXES else SourceKind.IMAGE
        return Source(kind, str(path))
    if text.isdigit():
        return Source(SourceKind.CAMERA, int(text))
    if _GLOB_CHARS.search(text):
        return Source(SourceKind.GLOB, os.path.expanduser(text))
    raise SourceError(f"{text}: no such file or folder (nor a camera index, URL or glob pattern)")


def list_images(source: Source) -> list[Path]:
    """The image files an image/folder/glob source stands for, sorted; SourceError when there are none."""
    if source.kind == SourceKind.IMAGE:
        return [Path(source.value)]
    if source.kind == SourceKind.FOLDER:
        files = list(iter_image_files(source.value, recursive=True))
    elif source.kind == SourceKind.GLOB:
        matches = sorted(glob.glob(str(source.value), recursive=True))
        files = [Path(p) for p in matches if os.path.isfile(p) and is_image_path(p)]
        if not files and matches:
            raise SourceError(f"{source.value}: matches {len(matches)} path(s) but no image files")
    else:
        raise SourceError(f"{source.value}: a {source.kind.value} source has no image files")
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise SourceError(f"{source.value}: no image files found ({suffixes})")
    return files


def relative_name(path: Path, source: Source) -> Path:
    """Where an image's outputs go below save_dir: its path relative to the folder/glob root.

    Keeps `a/img.jpg` and `b/img.jpg` of one folder apart instead of overwriting each other.
    """
    if source.kind == SourceKind.FOLDER:
        root = Path(source.value)
    elif source.kind == SourceKind.GLOB:
        root = Path(_glob_root(str(source.value)))
    else:
        return Path(path.name)
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return Path(path.name)


def _glob_root(pattern: str) -> str:
    """The longest leading folder of a glob pattern without wildcards ("shots/**/*.jpg" -> "shots")."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."
