"""Which image files a bulk source stands for, on this disk or in an object store.

A source is what `maskwatch detect` takes (an image, a folder, a glob) plus, for the Ray engine:
an object-store URI (`s3://bucket/photos/`, `gs://bucket/2024/*.jpg`, `file:///data/photos`), a
file list (`list.txt`, one path or URI a line, relative paths from the list's folder) or a Python
list of any of these. Files are opened through pyarrow filesystems, which every Ray node has and
which handle S3 / GCS credentials the usual way (environment, instance metadata).

Each file has a `key`, the `source` string of its result rows: for local files the path exactly
as the local engine reports it (so both engines give the same records), for an object store the
full URI. Resuming compares keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from maskwatch.errors import SourceError
from maskwatch.images import is_image_path

_URI = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_GLOB_CHARS = re.compile(r"[*?\[]")
#: Schemes pyarrow opens as filesystems (http/rtsp stay video streams).
OBJECT_STORE_SCHEMES = frozenset({"s3", "gs", "gcs", "file", "hdfs", "viewfs", "abfs", "abfss", "az"})


@dataclass(frozen=True)
class InputFile:
    key: str  # the `source` of its rows
    path: str  # the path inside its filesystem
    fs: int  # index into Inputs.filesystems


@dataclass
class Inputs:
    files: list[InputFile]
    filesystems: list  # pyarrow.fs.FileSystem

    def __len__(self) -> int:
        return len(self.files)


def is_object_store_uri(source: object) -> bool:
    match = _URI.match(str(source)) if isinstance(source, str) else None
    return bool(match) and match.group(1).lower() in OBJECT_STORE_SCHEMES


def resolve_inputs(source, filesystem=None) -> Inputs:
    """The image files of source (see the module docstring); SourceError when there are none.

    `filesystem`: a pyarrow FileSystem that source's paths live in (then source is a path or a
    list of paths inside it, no scheme).
    """
    filesystems: list = []
    files: list[InputFile] = []
    seen: set[str] = set()
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    if not items:
        raise SourceError("empty source list")
    for item in items:
        for key, path, fs in _expand(item, filesystem):
            if key in seen:
                continue
            seen.add(key)
            if not any(fs is known for known in filesystems):
                filesystems.append(fs)
            index = next(i for i, known in enumerate(filesystems) if known is fs)
            files.append(InputFile(key, path, index))
    if not files:
        raise SourceError(f"{source}: no image files found")
    return Inputs(files, filesystems)


def _local_fs():
    from pyarrow import fs

    global _LOCAL
    if _LOCAL is None:
        _LOCAL = fs.LocalFileSystem()
    return _LOCAL


_LOCAL = None


def _expand(item, filesystem) -> Iterable[tuple[str, str, object]]:
    text = os.fspath(item)
    if filesystem is not None:
        return [(p, p, filesystem) for p in _list_fs(filesystem, text, text)]
    if is_object_store_uri(text):
        return _expand_uri(text)
    if text.lower().endswith(".txt") and Path(text).is_file():
        return _expand_list_file(Path(text))
    return _expand_local(text)


def _expand_local(text: str) -> list[tuple[str, str, object]]:
    from maskwatch.video.sources import Source, SourceKind

    parsed = Source.parse(text)
    if parsed.kind not in (SourceKind.IMAGE, SourceKind.FOLDER, SourceKind.GLOB):
        raise SourceError(f"{text}: a {parsed.kind.value} source; the Ray engine detects on images")
    fs = _local_fs()
    return [(str(path), str(Path(path).resolve()), fs) for path in parsed.images()]


def _expand_list_file(list_file: Path) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not is_object_store_uri(entry) and not Path(entry).expanduser().is_absolute():
            entry = str(list_file.parent / entry)
        try:
            out.extend(_expand(entry, None))
        except SourceError as exc:
            raise SourceError(f"{list_file}:{number}: {exc}") from None
    return out


def _expand_uri(uri: str) -> list[tuple[str, str, object]]:
    from pyarrow import fs as pafs

    scheme = _URI.match(uri).group(1).lower()
    head, pattern = _split_glob(uri)
    try:
        filesystem, root = pafs.FileSystem.from_uri(head)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise SourceError(f"{uri}: cannot open this location ({exc})") from None
    prefix = f"{scheme}://"
    paths = _list_fs(filesystem, root, uri)
    if pattern is not None:
        matcher = glob_regex(pattern)
        paths = [p for p in paths if matcher.fullmatch(PurePosixPath(p).relative_to(root).as_posix())]
    # file:///abs/path keeps its three slashes; s3://bucket/key has the bucket in the path.
    return [(prefix + p if scheme != "file" else "file://" + p, p, filesystem) for p in paths]


def glob_regex(pattern: str) -> re.Pattern:
    """A glob as shells and pathlib read it: `*` and `?` stay inside one folder, `**/` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _split_glob(uri: str) -> tuple[str, str | None]:
    """("s3://b/photos", "**/*.jpg") for "s3://b/photos/**/*.jpg"; (uri, None) without wildcards."""
    if not _GLOB_CHARS.search(uri.split("://", 1)[1]):
        return uri, None
    scheme, rest = uri.split("://", 1)
    parts = rest.split("/")
    fixed = []
    for part in parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return f"{scheme}://{'/'.join(fixed)}", "/".join(parts[len(fixed) :])


def _list_fs(filesystem, root: str, shown: str) -> list[str]:
    """Image files at or below root in filesystem, sorted."""
    from pyarrow import fs as pafs

    try:
        info = filesystem.get_file_info(root)
    except OSError as exc:
        raise SourceError(f"{shown}: cannot list ({exc})") from None
    if info.type == pafs.FileType.File:
        return [root]
    if info.type != pafs.FileType.Directory:
        raise SourceError(f"{shown}: no such file or folder")
    try:
        entries = filesystem.get_file_info(pafs.FileSelector(root, recursive=True))
    except OSError as exc:
        raise SourceError(f"{shown}: cannot list ({exc})") from None
    names = [
        e.path
        for e in entries
        if e.type == pafs.FileType.File
        and is_image_path(e.path)
        and not any(part.startswith(".") for part in PurePosixPath(e.path).relative_to(root).parts)
    ]
    return sorted(names)
