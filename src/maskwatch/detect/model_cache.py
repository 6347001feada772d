"""Find the YuNet face model file, or fetch it once into the per-user cache.

Resolve order (first hit wins):

1. an explicit path (`--face-model PATH`, `face_model=`), else env `MASKWATCH_FACE_MODEL`;
2. the cache: `$MASKWATCH_HOME/face/<file>` (default home: the per-user cache folder,
   e.g. `~/.cache/maskwatch`);
3. a download from the OpenCV model zoo into the cache (timeout, sha256 check, atomic rename).

The .onnx is never shipped in the repository; a checksum pins the exact file so a corrupted or
swapped download is refused (and deleted) instead of silently giving worse detections.
Set `MASKWATCH_OFFLINE=1` to forbid the download (the detector then falls back to yuface).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from maskwatch.atomic import AtomicFile
from maskwatch.errors import ModelFileError
from maskwatch.home import maskwatch_home, offline

#: Seconds without any byte from the server before the download is abandoned.
DOWNLOAD_TIMEOUT = 30.0


@dataclass(frozen=True)
class ModelFile:
    """A downloadable model file pinned by its checksum."""

    file: str
    url: str
    sha256: str
    subdir: str = "face"


YUNET = ModelFile(
    file="face_detection_yunet_2023mar.onnx",
    url="https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
    sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
)


def cache_path(spec: ModelFile | None = None) -> Path:
    """`<home>/face/<file>`: where the cached copy of spec (default YuNet) lives, whether or not it exists."""
    spec = spec or YUNET
    return maskwatch_home() / spec.subdir / spec.file


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str, target: str | os.PathLike, sha256: str, timeout: float = DOWNLOAD_TIMEOUT, quiet: bool = False
) -> Path:
    """Download url to target: verified by sha256, written through a temp file + rename.

    Raises ModelFileError naming the URL when the server fails, is silent for `timeout` seconds,
    or sends a file with another checksum (the partial/corrupt file is deleted, never left as target).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"downloading {url} -> {target}", file=sys.stderr)
    digest = hashlib.sha256()
    started = time.monotonic()
    try:
        # AtomicFile: the partial or corrupt file is deleted on any error, never left as target.
        with AtomicFile(target, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "maskwatch"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                while True:
                    block = response.read(1 << 16)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
                    # The socket timeout bounds each read; this bounds a server that trickles bytes.
                    if time.monotonic() - started > 20 * timeout:
                        raise TimeoutError(f"download took longer than {20 * timeout:.0f} s")
            actual = digest.hexdigest()
            if actual != sha256:
                raise ModelFileError(
                    f"{url}: downloaded file has sha256 {actual}, expected {sha256}; the corrupt file was deleted"
                )
    except TimeoutError as exc:
        raise ModelFileError(f"{url}: download timed out ({exc or f'no answer within {timeout:g} s'})") from None
    except urllib.error.HTTPError as exc:
        raise ModelFileError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise ModelFileError(f"{url}: download timed out (no answer within {timeout:g} s)") from None
        raise ModelFileError(f"{url}: download failed ({reason})") from None
    except OSError as exc:
        raise ModelFileError(f"{url}: download failed ({exc})") from None
    return target


def resolve_face_model(
    path: str | os.PathLike | None = None,
    download: bool | None = None,
    spec: ModelFile | None = None,
    url: str | None = None,
    timeout: float | None = None,
    quiet: bool = False,
) -> Path:
    """The face model file to load, following the resolve order in the module docstring.

    `download=False` (or env MASKWATCH_OFFLINE=1) stops before the network step.
    An explicit path is used as given (any YuNet version); cached and downloaded files must match
    spec.sha256.
    """
    spec = spec or YUNET
    explicit = path if path is not None else os.environ.get("MASKWATCH_FACE_MODEL") or None
    if explicit is not None:
        candidate = Path(explicit).expanduser()
        if not candidate.is_file():
            raise ModelFileError(f"{candidate}: face model file not found")
        return candidate
    cached = cache_path(spec)
    if cached.is_file():
        actual = sha256_of(cached)
        if actual == spec.sha256:
            return cached
        if not quiet:
            print(f"notice: {cached} has sha256 {actual}, expected {spec.sha256}; fetching it again", file=sys.stderr)
    if download is None:
        download = not offline()
    if not download:
        raise ModelFileError(f"{cached}: not in the cache and downloads are off (MASKWATCH_OFFLINE)")
    try:
        return download_file(url or spec.url, cached, spec.sha256, timeout=timeout or DOWNLOAD_TIMEOUT, quiet=quiet)
    except OSError as exc:  # cache folder not writable (mkdir / temp file)
        raise ModelFileError(f"{cached.parent}: cannot write the model cache ({exc})") from None
