"""The data types every other stage codes against: one face sample, one skipped file, one dataset.

A dataset is only a list of *references* (file, label, group, optional box). Pixels are read
later by `load_faces`, so building, splitting and re-sampling datasets is instant and the
same dataset can be loaded at any input size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from maskwatch.errors import MaskwatchError


class DatasetError(MaskwatchError):
    """A dataset cannot be built: missing or empty folder, no usable faces, unknown label."""


@dataclass(frozen=True)
class FaceSample:
    """One face to train on.

    `box` is None when the file is already a face crop (folder datasets); for scene images
    (VOC) it is the face box (x1, y1, x2, y2) in pixels, already clipped to the image, and
    `margin` (fraction of the box size per side) is added when the pixels are cut out, the
    same way detection crops are made. `group` ties together samples that must never be
    split apart (the same photo, near-duplicates, faces of one scene). `source` names the
    dataset the sample came from. `real` is False for pasted-on or generated masks, which never
    count as evidence of real-world accuracy.
    """

    path: str
    label: str
    group: str
    box: tuple[float, float, float, float] | None = None
    source: str = ""
    margin: float = 0.1
    real: bool = True

    @property
    def face_width(self) -> float | None:
        """Width of the face in its source image (pixels); None for a crop file (read the image)."""
        return None if self.box is None else self.box[2] - self.box[0]


@dataclass(frozen=True)
class SkippedFile:
    """A file (or one face of a file) left out, and why: reported, never raised.

    `kind` is a short category ("bad_image", "bad_xml", "small_face", ...) used to
    summarise skips by reason; `reason` is the full human message. From `load_faces`,
    `indices` are the dataset positions of the samples this file cost (a VOC image holds
    several), so callers can line the returned arrays up with the samples.
    """

    path: str
    reason: str
    kind: str = "other"
    indices: tuple[int, ...] = ()


@dataclass
class FaceDataset:
    """Samples plus the ordered label list (label index = position in `labels`)."""

    samples: list[FaceSample]
    labels: list[str]
    skipped: list[SkippedFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.samples = list(self.samples)
        self.labels = list(self.labels)
        self.skipped = list(self.skipped)
        if len(set(self.labels)) != len(self.labels):
            raise DatasetError(f"duplicate label names in {self.labels}")
        unknown = sorted({s.label for s in self.samples} - set(self.labels))
        if unknown:
            raise DatasetError(f"samples have labels {unknown} that are not in the label list {self.labels}")

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[FaceSample]:
        return iter(self.samples)

    def counts(self) -> dict[str, int]:
        """Samples per label, in label order (labels without samples count 0)."""
        found = Counter(s.label for s in self.samples)
        return {label: found.get(label, 0) for label in self.labels}

    def label_indices(self) -> np.ndarray:
        """Label index of every sample, int64 (N,)."""
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index[s.label] for s in self.samples], dtype=np.int64)

    def groups(self) -> list[str]:
        """Group id of every sample, in sample order."""
        return [s.group for s in self.samples]

    def subset(self, indices: Iterable[int], keep_skipped: bool = False) -> FaceDataset:
        """A dataset of the samples at `indices` (same labels; skipped kept only if asked)."""
        samples = [self.samples[i] for i in indices]
        return FaceDataset(samples, self.labels, self.skipped if keep_skipped else [])

    def skipped_by_kind(self) -> dict[str, int]:
        """How many files were skipped per kind of problem, most frequent first."""
        return dict(Counter(s.kind for s in self.skipped).most_common())

    def summary(self) -> str:
        """One human line: size, counts per label, skipped files by kind."""
        counts = ", ".join(f"{label} {n:,}" for label, n in self.counts().items())
        text = f"{len(self):,} faces ({counts}) in {len(set(self.groups())):,} groups"
        if self.skipped:
            kinds = ", ".join(f"{kind} {n:,}" for kind, n in self.skipped_by_kind().items())
            text += f"; skipped {len(self.skipped):,} ({kinds})"
        return text

    def __str__(self) -> str:
        return f"FaceDataset: {self.summary()}"


def merge_labels(label_lists: Sequence[Sequence[str]]) -> list[str]:
    """Union of label lists keeping first-seen order (the first dataset's order wins)."""
    merged: list[str] = []
    for labels in label_lists:
        merged.extend(label for label in labels if label not in merged)
    return merged


def combine(*datasets: FaceDataset) -> FaceDataset:
    """Concatenate datasets: samples and skipped files appended, labels unioned in first-seen order.

    Example: combine(mask2, voc3) -> labels with_mask, without_mask, mask_weared_incorrect.
    """
    if not datasets:
        raise DatasetError("combine() needs at least one dataset")
    labels = merge_labels([ds.labels for ds in datasets])
    samples = [s for ds in datasets for s in ds.samples]
    skipped = [s for ds in datasets for s in ds.skipped]
    return FaceDataset(samples, labels, skipped)
