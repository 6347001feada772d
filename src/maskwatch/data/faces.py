"""Turn a FaceDataset into pixels: (N, H, W, 3) uint8 faces and int64 labels.

Exactly the inference path: `images.load_image` (EXIF, modes, size limit), `images.crop_box`
with the sample's margin for scene images, `images.resize_face` to the model input. Each
image file is decoded once even when it holds many faces (VOC scenes), on a few threads
(Pillow and OpenCV release the GIL while decoding and resizing). A bad file is logged with
its reason and skipped, never raised, so one broken download does not stop a training run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from maskwatch.data.samples import FaceDataset, SkippedFile
from maskwatch.errors import BadImageError, ConfigError
from maskwatch.images import crop_box, load_image, resize_face

log = logging.getLogger(__name__)


def _size(input_size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (input_size, input_size) if isinstance(input_size, int) else (int(v) for v in input_size)
    if height < 1 or width < 1:
        raise ConfigError(f"input_size must be positive, got {input_size}")
    return height, width


def load_faces(
    dataset: FaceDataset,
    input_size: int | tuple[int, int],
    workers: int = 2,
    progress: bool = True,
    jitter: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[SkippedFile]]:
    """Load, crop and resize every sample.

    Args:
        dataset: the samples to load.
        input_size: model input as (height, width), or one int for a square input.
        workers: decoding threads.
        progress: show a tqdm progress bar (on a terminal only).
        jitter: move and scale every scene box by up to this fraction of its size (training only:
            detector boxes never sit exactly where an annotator drew); reproducible per `seed`.

    Returns (x, y, skipped): x uint8 (N, H, W, 3) RGB, y int64 (N,) label indices into
    `dataset.labels`, in dataset order with skipped samples left out; skipped lists the
    files (or faces) that could not be loaded, with the reason. `dataset.skipped` (files
    dropped while the dataset was built) is not repeated here.
    """
    from tqdm.auto import tqdm

    height, width = _size(input_size)
    by_path: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(dataset.samples):
        by_path[sample.path].append(i)
    x = np.empty((len(dataset), height, width, 3), dtype=np.uint8)
    ok = np.zeros(len(dataset), dtype=bool)

    def load_file(item: tuple[str, list[int]]) -> tuple[int, list[SkippedFile]]:
        path, indices = item
        try:
            image = load_image(path)
        except BadImageError as exc:
            return len(indices), _skip(path, exc.reason, "bad_image", indices)
        except Exception as exc:  # never let one file stop the run
            return len(indices), _skip(path, f"unexpected error ({type(exc).__name__}: {exc})", "bad_image", indices)
        skipped: list[SkippedFile] = []
        for i in indices:
            sample = dataset.samples[i]
            try:
                box = sample.box if sample.box is None or not jitter else jitter_box(sample.box, jitter, seed, i)
                face = image if box is None else crop_box(image, box, sample.margin)
                if face.size == 0:
                    reason = f"box {sample.box} is outside the {image.shape[1]}x{image.shape[0]} image"
                    skipped += _skip(path, reason, "box_outside", [i])
                    continue
                x[i] = resize_face(face, (height, width))
                ok[i] = True
            except Exception as exc:  # a malformed box (e.g. NaN) in a hand-made sample
                skipped += _skip(path, f"cannot crop box {sample.box} ({type(exc).__name__}: {exc})", "bad_box", [i])
        return len(indices), skipped

    skipped: list[SkippedFile] = []
    with (
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
        tqdm(total=len(dataset), desc="loading faces", unit="face", disable=None if progress else True) as bar,
    ):
        for done, problems in pool.map(load_file, by_path.items()):
            skipped.extend(problems)
            bar.update(done)

    y = dataset.label_indices()
    if ok.all():
        return x, y, skipped
    return x[ok], y[ok], skipped


def jitter_box(box: tuple[float, float, float, float], amount: float, seed: int, index: int) -> tuple[float, ...]:
    """The box shifted by up to `amount` of its size and scaled by 1 +- amount (sample `index`, `seed`)."""
    rng = np.random.default_rng([seed, index])
    dx, dy, scale = rng.uniform(-amount, amount, 3)
    width, height = box[2] - box[0], box[3] - box[1]
    cx, cy = (box[0] + box[2]) / 2 + dx * width, (box[1] + box[3]) / 2 + dy * height
    half_w, half_h = width * (1 + scale) / 2, height * (1 + scale) / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def _skip(path: str, reason: str, kind: str, indices: list[int]) -> list[SkippedFile]:
    suffix = f" ({len(indices)} faces)" if len(indices) > 1 else ""
    log.warning("skipped %s%s: %s", path, suffix, reason)
    return [SkippedFile(path, reason, kind, tuple(indices))]


def loaded_indices(dataset: FaceDataset, skipped: list[SkippedFile]) -> list[int]:
    """Dataset positions of the rows `load_faces` returned (x[k] is dataset.samples[result[k]])."""
    lost = {i for s in skipped for i in s.indices}
    return [i for i in range(len(dataset)) if i not in lost]
