"""Make a short video from a still photo by slowly panning across it, with the boxes on every frame.

Why: the project has annotated photos (voc3) but no annotated videos. A pan over a photo is a
video whose ground truth is known exactly (each labelled face box moves with the pan), so tests
and benchmarks can check tracking (one id per face) and label smoothing on real faces, and the web
app can offer a demo clip, without shipping or downloading any video.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class PanClip:
    """A written clip and its ground truth: `boxes[f]` (N, 4) xyxy per frame, `labels` per box.

    `visible[f]` marks boxes fully inside frame f (faces cut by the frame edge are not expected
    to be detected reliably).
    """

    path: Path
    frames: int
    size: tuple[int, int]
    fps: float
    boxes: list[np.ndarray]
    visible: list[np.ndarray]
    labels: list[str]


def pan_offsets(frames: int, max_dx: int, max_dy: int) -> list[tuple[int, int]]:
    """A smooth back-and-forth pan: x follows half a cosine, y drifts slowly (a few px per frame)."""
    out = []
    for i in range(frames):
        phase = i / max(1, frames - 1)
        dx = round(max_dx * (0.5 - 0.5 * np.cos(np.pi * phase)))
        dy = round(max_dy * phase)
        out.append((int(dx), int(dy)))
    return out


def make_pan_clip(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: list[str],
    path: str | os.PathLike,
    size: tuple[int, int] = (640, 480),
    frames: int = 40,
    fps: float = 25.0,
    pan: tuple[int, int] = (64, 24),
    crf: int = 20,
    noise: float = 0.0,
    seed: int = 0,
    gop: int | None = None,
) -> PanClip:
    """Scale `image` (RGB) to cover size + pan, then write `frames` crops moving by `pan` px in total.

    `boxes` are xyxy in `image` pixels. The clip is H.264 (maskwatch.video.writer.VideoWriter).
    `noise` adds Gaussian sensor-like noise (std in grey levels) that changes every frame, as a
    real camera's does; without it, a pan over a still photo compresses to almost nothing after
    the first frame. `gop` sets the keyframe interval (see VideoWriter).
    """
    import cv2

    from maskwatch.video.writer import VideoWriter

    width, height = size
    max_dx, max_dy = pan
    src_h, src_w = image.shape[:2]
    scale = max((width + max_dx) / src_w, (height + max_dy) / src_h)
    big_w, big_h = int(np.ceil(src_w * scale)), int(np.ceil(src_h * scale))
    big = cv2.resize(image, (big_w, big_h), interpolation=cv2.INTER_CUBIC)
    scaled = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) * scale
    per_frame, visible = [], []
    rng = np.random.default_rng(seed)
    with VideoWriter(path, fps=fps, crf=crf, gop=gop) as writer:
        for dx, dy in pan_offsets(frames, max_dx, max_dy):
            view = big[dy : dy + height, dx : dx + width]
            if noise > 0:
                view = np.clip(view + rng.normal(0.0, noise, view.shape), 0, 255).astype(np.uint8)
            writer.write(view)
            moved = scaled - np.array([dx, dy, dx, dy], dtype=np.float32)
            per_frame.append(moved)
            inside = (moved[:, 0] >= 0) & (moved[:, 1] >= 0) & (moved[:, 2] <= width) & (moved[:, 3] <= height)
            visible.append(inside)
    return PanClip(Path(path), frames, (width, height), fps, per_frame, visible, list(labels))
