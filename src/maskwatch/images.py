"""Load any image a user may throw at maskwatch as a plain RGB uint8 array, or say clearly why not.

One loader serves training data, detection and the web API, so every stage treats odd files the
same way: EXIF rotation applied, grayscale/RGBA/palette/16-bit converted to 8-bit RGB (alpha
composited on white), truncated or non-image files refused, and decompression bombs refused
before any pixel is decoded.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from maskwatch.atomic import atomic_write_bytes
from maskwatch.errors import BadImageError

#: Largest image accepted, in pixels (about 8K x 5K). Larger files are refused before decoding.
MAX_PIXELS = 40_000_000
#: Pixels decoded for detection (read_image): larger images are decoded reduced to this (12 Mpx,
#: a phone photo, decodes whole). Decoding costs ~3 bytes per decoded pixel, whatever the file says.
DECODE_PIXELS = 12_000_000

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an 8-bit RGB array (16-bit scaled down, alpha on white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        gray = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        gray = ((arr - lo) / (hi - lo + 1e-12) * 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    # np.array copies Pillow's buffer once; the array must not share memory with the closed image.
    return np.array(img, dtype=np.uint8)


@dataclass(frozen=True)
class DecodedImage:
    """An image as decoded: `rgb` (possibly reduced) and the full size its header declares.

    `scale` = rgb width / full width (1.0 when decoded whole). Boxes found on `rgb` are divided
    by `scale` to get full-image pixels.
    """

    rgb: np.ndarray
    width: int
    height: int

    @property
    def scale(self) -> float:
        return self.rgb.shape[1] / self.width if self.width else 1.0

    @property
    def reduced(self) -> bool:
        return self.rgb.shape[1] != self.width or self.rgb.shape[0] != self.height


def _bomb_message(exc: Exception, max_pixels: int) -> str:
    """Pillow's bomb check quotes Pillow's limit; say maskwatch's instead."""
    found = _PILLOW_PIXELS.search(str(exc))
    size = f" ({int(found.group(1)):,} pixels)" if found else ""
    return f"refused as a decompression bomb: image declares{size} more than maskwatch's limit of {max_pixels:,} pixels"


_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
#: Modes Image.reduce handles; others (palette, 16-bit, CMYK...) are converted to RGB first.
_REDUCIBLE = frozenset({"RGB", "RGBA", "L", "LA", "I", "F"})


def _reduce(img: Image.Image, max_decoded: int) -> Image.Image:
    """Decode img at no more than max_decoded pixels (the whole image is never held for JPEG).

    JPEG: libjpeg's DCT scaling (`draft`) decodes at 1/2, 1/4 or 1/8 directly, so a 40 Mpx JPEG
    costs a few tens of MB instead of ~700 MB. Other formats are decoded (Pillow's buffer only)
    and shrunk right away; the full-size numpy copies are never made.
    """
    width, height = img.size
    if img.format == "JPEG":
        # The largest DCT scale (1/2, 1/4, 1/8) that fits the budget; draft() never goes below the
        # size asked for, so ask for exactly that scale.
        scale = next((s for s in (0.5, 0.25, 0.125) if s * s * width * height <= max_decoded), 0.125)
        img.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    img.load()
    if img.width * img.height <= max_decoded:
        return img
    if img.mode not in _REDUCIBLE:
        img = Image.fromarray(_to_rgb(img))
    # An integer box reduction: one output-sized buffer (a resize would hold a second large one).
    return img.reduce(math.ceil(math.sqrt(img.width * img.height / max_decoded)))


def _open(
    source: str | os.PathLike | bytes, name: str, max_pixels: int, max_decoded: int | None = None
) -> DecodedImage:
    data = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data) as img:
                width, height = img.size  # from the header: nothing decoded yet
                if width * height > max_pixels:
                    raise BadImageError(
                        name,
                        f"image is {width}x{height} = {width * height:,} pixels, above maskwatch's limit of "
                        f"{max_pixels:,}; resize it first",
                    )
                if width == 0 or height == 0:
                    raise BadImageError(name, "image has zero width or height")
                if max_decoded is not None and width * height > max_decoded:
                    decoded = _reduce(img, max_decoded)
                else:
                    img.load()
                    decoded = img
                transpose = _ORIENTATION_TRANSPOSE.get(img.getexif().get(_EXIF_ORIENTATION, 1))
                if transpose is not None:
                    decoded = decoded.transpose(transpose)
                    if transpose in _SWAPS_SIDES:
                        width, height = height, width
                return DecodedImage(_to_rgb(decoded), int(width), int(height))
    except BadImageError:
        raise
    except FileNotFoundError:
        raise BadImageError(name, "file not found") from None
    except IsADirectoryError:
        raise BadImageError(name, "is a folder, not an image") from None
    except PermissionError:
        raise BadImageError(name, "permission denied (the file is not readable by this user)") from None
    except UnidentifiedImageError:
        raise BadImageError(name, "not an image file (format not recognised)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(name, _bomb_message(exc, max_pixels)) from None
    except OSError as exc:
        raise BadImageError(name, f"corrupt or truncated image ({exc})") from None
    except (ValueError, SyntaxError, TypeError, IndexError) as exc:
        raise BadImageError(name, f"cannot decode image ({exc})") from None
    finally:
        _report_warnings(name, caught)


_EXIF_ORIENTATION = 0x0112
#: EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = frozenset(
    {Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90}
)


def _report_warnings(name: str, caught: list[warnings.WarningMessage]) -> None:
    """Pillow's warnings (corrupt EXIF, ...) do not say which file; log them once with its name."""
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if text not in seen and not issubclass(warning.category, Image.DecompressionBombWarning):
            seen.add(text)
            if "exif" in text.lower() or "tag" in text.lower():
                log.warning("%s: damaged EXIF metadata ignored, the image is used (%s)", name, text.strip())
            else:
                log.warning("%s: %s", name, text.strip())


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an (H, W, 3) RGB uint8 array; raise BadImageError naming the file."""
    return _open(path, str(path), max_pixels).rgb


def decode_image(data: bytes, name: str = "<upload>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes (an upload) exactly as load_image reads files."""
    if not data:
        raise BadImageError(name, "empty file")
    return _open(bytes(data), name, max_pixels).rgb


def read_image(
    source: str | os.PathLike | bytes,
    max_decoded: int | None = DECODE_PIXELS,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> DecodedImage:
    """Read a file or bytes within a memory budget: images above max_decoded pixels are decoded reduced.

    The size comes from the header first: above max_pixels the image is refused, above
    max_decoded it is decoded at a smaller size (JPEG straight from the compressed data), so
    peak memory follows max_decoded, not the file. The result keeps the full size, for boxes
    in full-image pixels.
    """
    if isinstance(source, bytes | bytearray):
        if not source:
            raise BadImageError(name or "<upload>", "empty file")
        return _open(bytes(source), name or "<upload>", max_pixels, max_decoded)
    return _open(source, name or str(source), max_pixels, max_decoded)


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the file name looks like an image maskwatch reads."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def iter_image_files(
    folder: str | os.PathLike, recursive: bool = True, problems: list[tuple[Path, str]] | None = None
) -> Iterator[Path]:
    """Image files below folder, in a stable (sorted) order; hidden files and folders are skipped.

    Symbolic links to folders are followed once: a link back into a folder already walked (a loop)
    is not entered. A link whose target is missing, a loop and an unreadable folder are named in
    the log and appended to `problems` as (path, reason), never silently dropped.
    """
    root = Path(folder)

    def report(path: Path, reason: str) -> None:
        log.warning("skipped %s: %s", path, reason)
        if problems is not None:
            problems.append((path, reason))

    seen: set[str] = set()

    def walk(directory: Path) -> Iterator[Path]:
        real = os.path.realpath(directory)
        if real in seen:
            report(directory, "symbolic link loop (this folder was already read)")
            return
        seen.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            report(directory, f"cannot list folder ({exc.strerror or exc})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError as exc:
                report(path, f"cannot read ({exc.strerror or exc})")
                continue
            if entry.is_symlink() and not (is_dir or is_file):
                report(path, "broken symbolic link (its target does not exist)")
            elif is_dir:
                if recursive:
                    yield from walk(path)
            elif is_file and is_image_path(path):
                yield path

    yield from walk(root)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def save_image(path: str | os.PathLike, rgb: np.ndarray, quality: int = 92) -> Path:
    """Save an RGB array atomically; the format follows the file suffix (JPEG by default)."""
    target = Path(path)
    fmt = {".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}.get(target.suffix.lower(), "JPEG")
    buffer = io.BytesIO()
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    Image.fromarray(rgb).save(buffer, format=fmt, **kwargs)
    return atomic_write_bytes(target, buffer.getvalue())


def crop_box(image: np.ndarray, box: np.ndarray | list[float], margin: float = 0.1) -> np.ndarray:
    """Cut a face out of an image with `margin` (fraction of the box size) added on each side.

    The box is xyxy in pixels and is clipped to the image. Training crops (VOC boxes) and
    detection crops (face detector boxes) both go through here, so the classifier sees faces
    framed the same way in both. Returns an empty (0, 0, 3) array for a box fully outside.
    """
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    x1, x2 = x1 - margin * bw, x2 + margin * bw
    y1, y2 = y1 - margin * bh, y2 + margin * bh
    ix1, iy1 = max(0, int(round(x1))), max(0, int(round(y1)))
    ix2, iy2 = min(width, int(round(x2))), min(height, int(round(y2)))
    if ix2 <= ix1 or iy2 <= iy1:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    return image[iy1:iy2, ix1:ix2]


def resize_face(face: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a face crop to (height, width) the one way training and inference agree on.

    INTER_AREA when shrinking (no aliasing on large crops), INTER_LINEAR when enlarging.
    """
    import cv2

    height, width = size
    if face.shape[0] == height and face.shape[1] == width:
        return face
    shrink = face.shape[0] > height or face.shape[1] > width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(face, (width, height), interpolation=interpolation)
