"""Camera-like degradation: reproducible under a seed, and it really removes detail."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskwatch.data.degrade import DegradeProbabilities, degrade, degrade_batch, sharpness
from maskwatch.data.faces import jitter_box
from maskwatch.images import load_image, resize_face


def _real_faces(data_dir: Path, n: int = 12) -> np.ndarray:
    files = sorted((data_dir / "real3" / "without_mask").glob("*.jpg"))[:n]
    return np.stack([resize_face(load_image(f), (160, 160)) for f in files])


def test_same_seed_same_result_other_seed_other_result(data_dir: Path) -> None:
    faces = _real_faces(data_dir)
    a, b = degrade_batch(faces, seed=3), degrade_batch(faces, seed=3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, degrade_batch(faces, seed=4))
    assert a.shape == faces.shape and a.dtype == np.uint8
    assert np.array_equal(faces, _real_faces(data_dir))  # the input is left alone


def test_each_step_degrades_a_real_face(data_dir: Path) -> None:
    faces = _real_faces(data_dir)
    clean = sharpness(faces)
    off = {name: 0.0 for name in DegradeProbabilities.__dataclass_fields__}
    for step in ("downscale", "blur"):
        only = DegradeProbabilities(**{**off, step: 1.0})
        assert sharpness(degrade_batch(faces, 0, only)) < 0.6 * clean, step
    blocks = degrade_batch(faces, 0, DegradeProbabilities(**{**off, "pixelate": 1.0}))

    def colours(image: np.ndarray) -> int:
        return len(np.unique(image.reshape(-1, 3), axis=0))

    assert all(colours(b) < 0.2 * colours(f) for b, f in zip(blocks, faces, strict=True))
    noisy = degrade_batch(faces, 0, DegradeProbabilities(**{**off, "noise": 1.0}))
    assert np.abs(noisy.astype(int) - faces).mean() > 2
    grey = degrade_batch(faces, 0, DegradeProbabilities(**{**off, "grayscale": 1.0}))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    jpeg = degrade_batch(faces, 0, DegradeProbabilities(**{**off, "jpeg": 1.0}))
    assert np.abs(jpeg.astype(int) - faces).mean() > 0
    dark_or_bright = degrade_batch(faces, 0, DegradeProbabilities(**{**off, "exposure": 1.0}))
    assert np.abs(dark_or_bright.mean(axis=(1, 2, 3)) - faces.mean(axis=(1, 2, 3))).mean() > 5


def test_all_off_changes_nothing(data_dir: Path) -> None:
    faces = _real_faces(data_dir, 3)
    off = DegradeProbabilities(**{name: 0.0 for name in DegradeProbabilities.__dataclass_fields__})
    rng = np.random.default_rng(0)
    assert all(np.array_equal(degrade(f, rng, off), f) for f in faces)


def test_downscaled_faces_are_as_poor_as_real_small_faces(data_dir: Path) -> None:
    """A degraded large face should carry about as little detail as a real < 24 px face enlarged."""
    from maskwatch import data

    ds = data.load_yolo_dataset(data_dir / "scenes_yolo", min_face=8)
    small = [s for s in ds.samples if s.box[2] - s.box[0] < 24][:40]
    x_small, _, _ = data.load_faces(data.FaceDataset(small, ds.labels), 160, progress=False)
    off = {name: 0.0 for name in DegradeProbabilities.__dataclass_fields__}
    shrunk = degrade_batch(_real_faces(data_dir, 40), 1, DegradeProbabilities(**{**off, "downscale": 1.0}))
    assert sharpness(shrunk) < 3 * sharpness(x_small)
    assert sharpness(_real_faces(data_dir, 40)) > 3 * sharpness(x_small)


def test_box_jitter_is_bounded_and_reproducible() -> None:
    box = (100.0, 100.0, 140.0, 150.0)
    moved = [jitter_box(box, 0.1, seed=1, index=i) for i in range(50)]
    assert moved[3] == jitter_box(box, 0.1, seed=1, index=3)
    assert len(set(moved)) == 50
    for x1, _, x2, _ in moved:
        assert abs((x1 + x2) / 2 - 120) <= 0.1 * 40 + 1e-6
        assert 0.9 * 40 - 1e-6 <= x2 - x1 <= 1.1 * 40 + 1e-6
