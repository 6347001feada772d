"""Load any image a user may throw at maskwatch as a plain RGB uint8 array, or say clearly why not.

One loader serves training data, detection and the web API, so every stage treats odd files the
same way: EXIF rotation applied, grayscale/RGBA/palette/16-bit converted to 8-bit RGB (alpha
composited on white), truncated or non-image files refused, and decompression bombs refused
before any pixel is decoded.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskwatch.errors import BadImageError

#: Largest image accepted, in pixels (about 8K x 5K). Larger files are refused before decoding.
MAX_PIXELS = 40_000_000

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
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def _open(source: str | os.PathLike | bytes, name: str, max_pixels: int) -> np.ndarray:
    data = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise BadImageError(
                        name,
                        f"image is {width}x{height} = {width * height:,} pixels, above the limit of "
                        f"{max_pixels:,}; resize it first",
                    )
                if width == 0 or height == 0:
                    raise BadImageError(name, "image has zero width or height")
                img.load()
                img = ImageOps.exif_transpose(img)
                return _to_rgb(img)
    except BadImageError:
        raise
    except FileNotFoundError:
        raise BadImageError(name, "file not found") from None
    except IsADirectoryError:
        raise BadImageError(name, "is a folder, not an image") from None
    except UnidentifiedImageError:
        raise BadImageError(name, "not an image file (format not recognised)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(name, f"refused as a decompression bomb: {exc}") from None
    except OSError as exc:
        raise BadImageError(name, f"corrupt or truncated image ({exc})") from None
    except (ValueError, SyntaxError, TypeError, IndexError) as exc:
        raise BadImageError(name, f"cannot decode image ({exc})") from None


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an (H, W, 3) RGB uint8 array; raise BadImageError naming the file."""
    return _open(path, str(path), max_pixels)


def decode_image(data: bytes, name: str = "<upload>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes (an upload) exactly as load_image reads files."""
    if not data:
        raise BadImageError(name, "empty file")
    return _open(bytes(data), name, max_pixels)


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the file name looks like an image maskwatch reads."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def iter_image_files(folder: str | os.PathLike, recursive: bool = True) -> Iterator[Path]:
    """Image files below folder, in a stable (sorted) order; hidden files and folders are skipped."""
    root = Path(folder)
    pattern = "**/*" if recursive else "*"
    for path in sorted(root.glob(pattern)):
        if path.is_file() and is_image_path(path) and not any(p.startswith(".") for p in path.relative_to(root).parts):
            yield path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write data to path through a temporary file in the same folder, then rename.

    A crash mid-write leaves the old file (or nothing), never a half-written one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Text version of atomic_write_bytes (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


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
