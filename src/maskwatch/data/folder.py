"""Folder-per-class datasets: root/<class name>/*.jpg, each file one face crop.

The most common way face-mask sets are published (and the layout of shared/data/mask2).
Any class names work; a label map renames or drops classes. Files are only listed here,
except when groups come from perceptual hashes, which needs the pixels (unreadable files
are then skipped right away and reported).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from maskwatch.data.groups import group_by_stem_and_hash, hash_files, path_key, read_manifest_groups
from maskwatch.data.labels import LabelMap, map_label, order_labels
from maskwatch.data.samples import DatasetError, FaceDataset, FaceSample, SkippedFile
from maskwatch.images import iter_image_files

log = logging.getLogger(__name__)


def class_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found (expected one sub-folder per class)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DatasetError(f"{root}: no class folders inside (expected e.g. {root}/with_mask/*.jpg)")
    return folders


def load_folder_dataset(
    root: str | os.PathLike,
    manifest: str | os.PathLike | None = None,
    label_map: LabelMap | None = None,
    *,
    labels: Sequence[str] | None = None,
    group_by: Literal["phash", "stem"] = "phash",
    source: str | None = None,
    workers: int = 2,
) -> FaceDataset:
    """Read root/<class>/<images> into a FaceDataset (one sample per file, box None).

    Args:
        root: folder with one sub-folder per class (nested folders inside a class are read too).
        manifest: optional CSV with columns file, group (paths relative to the CSV's folder)
            giving the split groups; files it does not list are grouped by file stem.
        label_map: rename class folders (old -> new); a folder mapped to None is not read.
        labels: label order (the model's output order); default sorted class names.
        group_by: without a manifest, "phash" merges near-duplicate images (and equal stems)
            into one group; "stem" only merges equal file stems (no pixels read).
        source: name stored in every sample (default: the root folder's name).
        workers: threads used for hashing.

    Raises DatasetError when the folder is missing or holds no image at all; an empty class
    folder only logs a warning (it may be intentional, but the model would never see it).
    """
    root = Path(root).absolute()
    source = source or root.name
    files: list[tuple[str, str]] = []  # (path, label)
    found_labels: list[str] = []
    problems: list[tuple[Path, str]] = []
    not_listed: list[SkippedFile] = []
    for folder in class_folders(root):
        label = map_label(folder.name, label_map)
        if label is None:
            log.info("%s: class folder dropped by label_map", folder)
            continue
        if labels is not None and label not in labels:
            hint = f"drop it with label_map: {{{folder.name}: null}}"
            reason = f"class {label!r} is not in labels {list(labels)} ({hint})"
            log.warning("skipped %s: %s", folder, reason)
            not_listed.append(SkippedFile(str(folder), reason, "unknown_label"))
            continue
        found_labels.append(label)
        images = [str(p) for p in iter_image_files(folder, problems=problems)]
        if not images:
            log.warning("%s: class folder %r has no images; class %r gets no samples", folder, folder.name, label)
        files.extend((path, label) for path in images)
    ordered = order_labels(found_labels, labels, str(root))
    if not files:
        left_out = "".join(f"; skipped {Path(s.path).name}: {s.reason}" for s in not_listed)
        classes = ", ".join(sorted(found_labels))
        raise DatasetError(f"{root}: no images found in its class folders ({classes}){left_out}")

    paths = [path for path, _ in files]
    skipped: list[SkippedFile] = not_listed + [SkippedFile(str(p), reason, "bad_link") for p, reason in problems]
    if manifest is not None:
        groups = manifest_groups(paths, manifest)
    elif group_by == "phash":
        hashes, unreadable = hash_files(paths, workers=workers)
        skipped += unreadable
        groups = group_by_stem_and_hash([p for p in paths if p in hashes], hashes)
    elif group_by == "stem":
        groups = group_by_stem_and_hash(paths, None)
    else:
        raise DatasetError(f"group_by must be 'phash' or 'stem', not {group_by!r}")

    samples = [FaceSample(p, label, groups[p], None, source) for p, label in files if p in groups]
    if not samples:
        raise DatasetError(f"{root}: none of its {len(files)} images could be read")
    return FaceDataset(samples, ordered, skipped)


def manifest_groups(paths: list[str], manifest: str | os.PathLike) -> dict[str, str]:
    listed = read_manifest_groups(manifest)
    groups = {p: listed[path_key(p)] for p in paths if path_key(p) in listed}
    unlisted = [p for p in paths if p not in groups]
    if unlisted:
        log.warning("%d files are not in %s; they are grouped by file stem", len(unlisted), manifest)
        groups.update(group_by_stem_and_hash(unlisted, None))
    return groups
