"""Camera-like degradation of face crops: what entrance cameras and CCTV do to a face.

Why: the training faces are mostly large and clean, while the faces a camera sees are a few
dozen pixels wide, blurred, noisy, heavily compressed, grey at night and badly exposed. A model
that never saw such faces falls back on whatever class its small training faces mostly had
(with_mask, in voc3). Each step below is drawn independently with its own probability, in the
order a camera applies them: exposure -> few pixels (downscale or pixelation) -> optics (blur)
-> sensor (noise) -> IR/grayscale -> encoder (JPEG). Everything is numpy + OpenCV on uint8 RGB
images, deterministic for a given `numpy.random.Generator`, so a training run repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Width range (pixels) a face is shrunk to by `downscale`: the small faces of crowd scenes.
SMALL_WIDTH = (10, 48)
#: JPEG quality range of `jpeg` (cheap CCTV encoders and re-shared web photos).
JPEG_QUALITY = (20, 70)


@dataclass(frozen=True)
class DegradeProbabilities:
    """Probability of each step (0 = never). Same names as the training config's `degrade` section."""

    downscale: float = 0.5
    blur: float = 0.3
    jpeg: float = 0.4
    noise: float = 0.25
    pixelate: float = 0.1
    grayscale: float = 0.15
    exposure: float = 0.3

    @classmethod
    def from_config(cls, cfg: object) -> DegradeProbabilities:
        """Take the matching fields of any config object (e.g. train.config.DegradeConfig)."""
        return cls(**{name: float(getattr(cfg, name)) for name in cls.__dataclass_fields__})


def degrade(face: np.ndarray, rng: np.random.Generator, p: DegradeProbabilities | None = None) -> np.ndarray:
    """One degraded copy of an (H, W, 3) uint8 RGB face (same shape); the input is not changed."""
    p = p or DegradeProbabilities()
    out = face
    height, width = face.shape[:2]
    if rng.random() < p.exposure:
        gain, gamma = rng.uniform(0.45, 1.6), rng.uniform(0.6, 1.6)
        lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma * gain, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, lut)
    if rng.random() < p.downscale:
        small_w = int(rng.integers(SMALL_WIDTH[0], SMALL_WIDTH[1] + 1))
        small_h = max(2, round(small_w * height / width))
        out = cv2.resize(out, (small_w, small_h), interpolation=cv2.INTER_AREA)
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)  # as resize_face enlarges
    elif rng.random() < p.pixelate:
        block = int(rng.integers(max(2, width // 40), max(3, width // 12) + 1))
        out = cv2.resize(out, (max(1, width // block), max(1, height // block)), interpolation=cv2.INTER_AREA)
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_NEAREST)
    if rng.random() < p.blur:
        out = _blur(out, rng)
    if rng.random() < p.noise:
        sigma = rng.uniform(3.0, 14.0)
        out = np.clip(out.astype(np.float32) + rng.normal(0.0, sigma, out.shape), 0, 255).astype(np.uint8)
    if rng.random() < p.grayscale:
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        if rng.random() < 0.5:  # IR cameras: flat, bright skin and high contrast
            grey = cv2.equalizeHist(grey)
        out = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    if rng.random() < p.jpeg:
        quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out if out is not face else face.copy()


def _blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus (Gaussian) or motion blur (a line kernel at a random angle)."""
    width = image.shape[1]
    if rng.random() < 0.6:
        sigma = rng.uniform(0.5, 2.5) * width / 112
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma)
    length = max(3, int(rng.uniform(0.02, 0.07) * width) | 1)
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def degrade_batch(x: np.ndarray, seed: int, p: DegradeProbabilities | None = None) -> np.ndarray:
    """A degraded copy of every face of an (N, H, W, 3) uint8 batch, reproducible for a seed."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = degrade(x[i], rng, p)
    return out


def degraded_copies(dataset, input_size, cfg, seed: int, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`cfg.copies` degraded versions of every face of a dataset, each cut with a jittered box.

    cfg is a DegradeConfig (copies, box_jitter and the step probabilities). Copy k is cut and
    degraded with seed (seed, k), so the copies differ from each other and repeat run to run.
    """
    from maskwatch.data.faces import load_faces

    probabilities = DegradeProbabilities.from_config(cfg)
    xs, ys = [], []
    for k in range(cfg.copies):
        copy_seed = seed * 1000 + k + 1
        x, y, _ = load_faces(dataset, input_size, progress=progress, jitter=cfg.box_jitter, seed=copy_seed)
        xs.append(degrade_batch(x, copy_seed, probabilities))
        ys.append(y)
    if not xs:
        return np.zeros((0, *input_size, 3), np.uint8), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


def sharpness(faces: np.ndarray) -> float:
    """Mean variance of the Laplacian over faces: how much fine detail survives (for tests and reports)."""
    values = [cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in faces]
    return float(np.mean(values)) if values else 0.0
