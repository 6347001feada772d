"""Group ids: which files must stay on the same side of a train/validation split.

Face-mask sets are full of copies: the same photo with and without a pasted mask, rotated or
recoloured "augmented" copies, consecutive video frames. If one copy is in train and another
in validation, validation accuracy measures memory, not generalisation. Groups come from a
manifest when the dataset ships one; otherwise near-duplicates are found with a perceptual
hash (pHash, Hamming distance <= 6 of 64 bits) and merged transitively, together with files
that share a file stem (paired datasets name both versions of a photo alike).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from maskwatch.data.samples import DatasetError, SkippedFile
from maskwatch.errors import BadImageError
from maskwatch.images import load_image

log = logging.getLogger(__name__)

#: Largest pHash Hamming distance (of 64 bits) still counted as the same picture.
PHASH_MAX_DISTANCE = 6


def read_manifest_groups(manifest: str | os.PathLike) -> dict[str, str]:
    """Map every file of a manifest CSV (columns file, group; paths relative to the CSV) to its group."""
    path = Path(manifest)
    if not path.is_file():
        raise DatasetError(f"{path}: manifest file not found")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "group"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path}: manifest needs columns file and group; missing {sorted(missing)}")
        base = path.parent
        return {path_key(base / row["file"]): row["group"] for row in reader if row["file"] and row["group"]}


def path_key(path: str | os.PathLike) -> str:
    """A canonical spelling of a file path, so manifest rows and found files compare equal."""
    return os.path.normcase(os.path.abspath(path))


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving), for transitive merging of near-duplicates."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64 element."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[values.view(np.uint8)].reshape(*values.shape, 8).sum(axis=-1)


def near_duplicate_pairs(hashes: np.ndarray, max_distance: int = PHASH_MAX_DISTANCE) -> list[tuple[int, int]]:
    """All index pairs (i < j) whose 64-bit hashes differ in at most max_distance bits.

    Brute force in row blocks (about 32 MB each): 5,000 hashes take well under a second.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    block = max(1, (1 << 22) // max(n, 1))
    pairs: list[tuple[int, int]] = []
    for start in range(0, n, block):
        rows = hashes[start : start + block]
        close = _popcount(rows[:, None] ^ hashes[None, :]) <= max_distance
        for i, j in zip(*np.nonzero(close), strict=True):
            if start + i < j:
                pairs.append((int(start + i), int(j)))
    return pairs


def phash_of(path: str | os.PathLike) -> int:
    """64-bit pHash of an image file, read with the project's loader (EXIF, modes) first."""
    import imagehash
    from PIL import Image

    value = imagehash.phash(Image.fromarray(load_image(path)))
    return int(str(value), 16)


def hash_files(paths: Sequence[str], workers: int = 2) -> tuple[dict[str, int], list[SkippedFile]]:
    """pHash every file; unreadable files are returned as skipped instead of raising."""
    hashes: dict[str, int] = {}
    skipped: list[SkippedFile] = []

    def one(path: str) -> tuple[str, int | None, str]:
        try:
            return path, phash_of(path), ""
        except BadImageError as exc:
            return path, None, exc.reason
        except Exception as exc:  # a broken file must never stop the folder
            return path, None, f"unexpected error while reading ({type(exc).__name__}: {exc})"

    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # disable=None: a bar on a terminal, silence in logs and tests
        for path, value, reason in tqdm(pool.map(one, paths), total=len(paths), desc="hashing", disable=None):
            if value is None:
                log.warning("skipped %s: %s", path, reason)
                skipped.append(SkippedFile(path, reason, "bad_image"))
            else:
                hashes[path] = value
    return hashes, skipped


def group_by_stem_and_hash(
    paths: Sequence[str], hashes: dict[str, int] | None, max_distance: int = PHASH_MAX_DISTANCE
) -> dict[str, str]:
    """Group id per path: files sharing a stem or a near-identical pHash are merged transitively.

    The id is the smallest file stem in the group, so a lone file's group is its own stem.
    """
    paths = list(paths)
    sets = UnionFind(len(paths))
    first_with_stem: dict[str, int] = {}
    for i, path in enumerate(paths):
        sets.union(i, first_with_stem.setdefault(Path(path).stem, i))
    if hashes:
        hashed = [i for i, p in enumerate(paths) if p in hashes]
        values = np.array([hashes[paths[i]] for i in hashed], dtype=np.uint64)
        for a, b in near_duplicate_pairs(values, max_distance):
            sets.union(hashed[a], hashed[b])
    names: dict[int, str] = {}
    for i, path in enumerate(paths):
        root = sets.find(i)
        stem = Path(path).stem
        names[root] = min(names.get(root, stem), stem)
    return {path: names[sets.find(i)] for i, path in enumerate(paths)}
