"""The pixel work behind synthetic incorrectly worn masks: find the pasted mask, recolour it, move it down.

Why a module of its own: `data/synthetic.py` decides *which* photos to pair and writes the data
set; this module holds the image operations on one aligned pair (numpy + OpenCV only, no files),
which the tests check pixel by pixel. The with_mask and without_mask photos of a pair differ
exactly where the mask was pasted; moving that region down uncovers the nose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Per-channel difference (0..255) above which a pixel counts as "the mask was pasted here".
DIFF_THRESHOLD = 40
#: Downward shift of the mask as a fraction of its own height (random in this range).
SHIFT_RANGE = (0.25, 0.45)


def mask_region(with_mask: np.ndarray, without_mask: np.ndarray, threshold: int = DIFF_THRESHOLD) -> np.ndarray:
    """Boolean (H, W) map of the pasted mask: where the two aligned photos differ.

    JPEG noise makes the raw difference speckled and the mask's flat middle can match the
    skin in one channel, so: blur, threshold the largest channel difference, open (drop
    specks), close (bridge gaps), keep the largest connected blob and fill its holes.
    """
    import cv2

    if with_mask.shape != without_mask.shape:
        raise ValueError(f"photos differ in size: {with_mask.shape} vs {without_mask.shape}")
    a = cv2.GaussianBlur(with_mask, (5, 5), 0).astype(np.int16)
    b = cv2.GaussianBlur(without_mask, (5, 5), 0).astype(np.int16)
    diff = (np.abs(a - b).max(axis=2) > threshold).astype(np.uint8)
    side = max(3, round(min(diff.shape) * 0.02) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    diff = cv2.morphologyEx(diff, cv2.MORPH_OPEN, kernel)
    diff = cv2.morphologyEx(diff, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3 * side, 3 * side)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(diff, connectivity=8)
    if count <= 1:
        return np.zeros(diff.shape, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blob = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(blob)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def shift_mask_down(
    with_mask: np.ndarray, without_mask: np.ndarray, region: np.ndarray, shift: int, feather: int = 3
) -> np.ndarray:
    """The without_mask photo with the with_mask pixels of `region` pasted `shift` pixels lower.

    Rows above the moved mask stay the without_mask photo, so the nose shows. The paste edge
    is feathered over a few pixels so the model cannot learn a hard seam instead of the mask.
    """
    import cv2

    if shift < 0:
        raise ValueError("shift must be >= 0 (the mask moves down)")
    height = region.shape[0]
    moved_region = np.zeros_like(region)
    moved_pixels = np.zeros_like(with_mask)
    if shift < height:
        moved_region[shift:] = region[: height - shift]
        moved_pixels[shift:] = with_mask[: height - shift]
    alpha = moved_region.astype(np.float32)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (2 * feather + 1, 2 * feather + 1), 0) * moved_region
    alpha = alpha[..., None]
    out = alpha * moved_pixels.astype(np.float32) + (1.0 - alpha) * without_mask.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def recolour_mask(rgb: np.ndarray, region: np.ndarray, colour: Sequence[int]) -> np.ndarray:
    """`rgb` with the pixels of `region` recoloured to `colour`, keeping their relative shading.

    The brightness of each mask pixel relative to the mask's median brightness (folds, edges,
    straps) multiplies the new colour, so the mask keeps its shape and texture.
    """
    out = rgb.copy()
    pixels = rgb[region].astype(np.float32)
    if len(pixels) == 0:
        return out
    luminance = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    shade = luminance / max(float(np.median(luminance)), 1.0)
    out[region] = np.clip(shade[:, None] * np.asarray(colour, dtype=np.float32)[None, :] + 0.5, 0, 255).astype(np.uint8)
    return out


def region_rows(region: np.ndarray) -> tuple[int, int]:
    """First and last row (inclusive) the region covers."""
    rows = np.flatnonzero(region.any(axis=1))
    return int(rows[0]), int(rows[-1])


def choose_shift(
    region: np.ndarray,
    rng: np.random.Generator,
    landmarks: tuple[float, float] | None = None,
    shift_range: tuple[float, float] = SHIFT_RANGE,
) -> int:
    """Pixels to move the mask down.

    Without landmarks: a random fraction of the mask height in `shift_range`. With the nose
    and mouth rows: the mask's top edge goes to just below the nose tip, up to a third of the
    way to the mouth (kept within 0.8x..1.4x of `shift_range` so a bad landmark cannot move
    the mask off the face or leave it in place).
    """
    top, bottom = region_rows(region)
    mask_height = bottom - top + 1
    low, high = shift_range
    if landmarks is not None:
        nose_y, mouth_y = landmarks
        if mouth_y > nose_y > top:
            target = nose_y + rng.uniform(0.05, 0.35) * (mouth_y - nose_y)
            fraction = float(np.clip((target - top) / mask_height, 0.8 * low, 1.4 * high))
            return max(1, round(fraction * mask_height))
    return max(1, round(rng.uniform(low, high) * mask_height))
