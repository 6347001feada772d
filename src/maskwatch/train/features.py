"""Frozen-backbone features, computed once and cached as .npy in the run directory.

Why: in phase 1 the backbone is frozen and (without augmentation) sees the same images every
epoch, so its output never changes. Running it once and training only the small head on the
stored vectors turns each epoch from a full forward pass over every image into a few matrix
products. The cache key hashes the pixels *and* the feature extractor's weights, so a changed
dataset, input size, backbone or weights file can never reuse stale features.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from maskwatch.atomic import AtomicFile

log = logging.getLogger("maskwatch.train")


def cache_key(images: np.ndarray, features_model) -> str:
    """Hex digest of the pixels, their shape and every weight of `features_model`."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr((images.shape, str(images.dtype))).encode())
    digest.update(memoryview(np.ascontiguousarray(images)).cast("B"))
    for value in features_model.get_weights():  # values in layer order; names differ between builds
        value = np.ascontiguousarray(value)
        digest.update(repr((value.shape, str(value.dtype))).encode())
        digest.update(memoryview(value).cast("B"))
    return digest.hexdigest()


def compute_features(features_model, images: np.ndarray, batch_size: int = 64, desc: str = "features") -> np.ndarray:
    """Run the feature extractor in inference mode over uint8/float images, batch by batch.

    `predict_on_batch` runs the compiled graph (a plain eager call is several times slower).
    """
    from tqdm.auto import tqdm

    out = []
    # disable=None: no bar when output is not a terminal (logs, CI, --no-progress piped to a file).
    with tqdm(total=len(images), desc=desc, unit="img", leave=False, mininterval=1.0, disable=None) as bar:
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].astype(np.float32)
            out.append(np.asarray(features_model.predict_on_batch(batch), dtype=np.float32))
            bar.update(len(batch))
    if not out:
        shape = features_model.output_shape[1:]
        return np.zeros((0, *shape), dtype=np.float32)
    return np.concatenate(out)


def cached_features(
    features_model, images: np.ndarray, cache_dir: str | os.PathLike, split: str, batch_size: int = 64
) -> tuple[np.ndarray, Path, bool]:
    """Features of `images`, read from `<cache_dir>/<split>-<key>.npy` or computed and stored there.

    Returns (features, file, hit) where hit says whether the file already existed.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{split}-{cache_key(images, features_model)}.npy"
    if path.is_file():
        try:
            features = np.load(path, allow_pickle=False)
            if features.shape[0] == images.shape[0]:
                return features, path, True
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable feature cache (%s); computing again", path, exc)
    features = compute_features(features_model, images, batch_size, desc=f"{split} features")
    with AtomicFile(path, "wb") as handle:
        np.save(handle, features, allow_pickle=False)
    return features, path, False
