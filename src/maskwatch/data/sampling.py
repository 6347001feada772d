"""Re-sampling a dataset for training: cap classes, weight them, or repeat the rare ones.

Face-mask data is heavily imbalanced (voc3: 1,229 with_mask vs 29 mask_weared_incorrect).
Three standard answers, all by sample index so no pixels are touched: cap every class
(`sample_per_class`, e.g. a quick 2,000 train / 400 val run), weight the loss
(`class_weights`, Keras `class_weight=`), or repeat rare-class samples (`oversample`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from maskwatch.data.samples import FaceDataset
from maskwatch.errors import ConfigError


def _by_label(dataset: FaceDataset) -> dict[int, np.ndarray]:
    y = dataset.label_indices()
    return {i: np.flatnonzero(y == i) for i in range(len(dataset.labels))}


def sample_per_class(dataset: FaceDataset, n: int | Mapping[str, int], seed: int = 0) -> FaceDataset:
    """At most `n` random samples of each class (a dict gives a cap per label); order kept.

    Classes smaller than the cap are kept whole. Skipped files are carried over.
    """
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for i, idx in _by_label(dataset).items():
        cap = n.get(dataset.labels[i], len(idx)) if isinstance(n, Mapping) else n
        if cap < 0:
            raise ConfigError(f"per-class sample size must be >= 0, got {cap} for {dataset.labels[i]!r}")
        keep.extend(idx if len(idx) <= cap else rng.choice(idx, size=cap, replace=False))
    return dataset.subset(sorted(keep), keep_skipped=True)


def class_weights(dataset: FaceDataset) -> dict[int, float]:
    """Balanced loss weights per label index (n_samples / (n_classes * n_label)), for Keras.

    Every label index gets a key, as Keras expects; a label without samples gets 1.0 (it
    never occurs, so its weight never applies).
    """
    from sklearn.utils.class_weight import compute_class_weight

    y = dataset.label_indices()
    present = np.unique(y)
    weights = {i: 1.0 for i in range(len(dataset.labels))}
    if len(present):
        values = compute_class_weight("balanced", classes=present, y=y)
        weights.update({int(c): float(w) for c, w in zip(present, values, strict=True)})
    return weights


def oversample(dataset: FaceDataset, seed: int = 0, ratio: float = 0.5) -> FaceDataset:
    """Repeat samples of small classes until each has at least `ratio` x the largest class.

    Whole copies first, then a random remainder, so every sample of a rare class appears
    about equally often. Use it on the training split only (after `group_split`), or copies
    of one photo would end up on both sides. Empty classes stay empty.
    """
    if not 0 < ratio <= 1:
        raise ConfigError(f"oversample ratio must be in (0, 1], got {ratio}")
    rng = np.random.default_rng(seed)
    by_label = _by_label(dataset)
    largest = max((len(idx) for idx in by_label.values()), default=0)
    order: list[int] = list(range(len(dataset)))
    for idx in by_label.values():
        want = int(np.ceil(ratio * largest))
        if 0 < len(idx) < want:
            extra = want - len(idx)
            repeats, rest = divmod(extra, len(idx))
            order.extend(np.tile(idx, repeats).tolist())
            order.extend(rng.choice(idx, size=rest, replace=False).tolist())
    return dataset.subset(order, keep_skipped=True)
