"""YOLO detection datasets (images/ + labels/*.txt + data.yaml): one sample per labelled face box.

The format Roboflow and ultralytics export, and how shared/data/scenes_yolo ships: one text file
per image with a line `class x_center y_center width height` per box, all normalised to 0..1, and
a `data.yaml` that names the class ids. Label files are untrusted text, so every line is checked:
a non-numeric field, a class id `data.yaml` does not name, a box outside the image or too small
is skipped and counted with its reason; an image without a label file is skipped and counted;
an empty label file is an image without faces (nothing to train on, counted too).

Layouts found (ultralytics' rule: a label file sits where the image is, `images` -> `labels`):
`root/images/*.jpg` + `root/labels/*.txt`, or the split folders data.yaml names
(`train: train/images`, `val: valid/images`, ...).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import yaml

from maskwatch.data.samples import DatasetError, SkippedFile
from maskwatch.data.scenes import SceneBoxes, Skip, image_size, scene_loader
from maskwatch.images import iter_image_files

log = logging.getLogger(__name__)

#: A label file is a few hundred bytes per image; anything this large is not one.
MAX_LABEL_BYTES = 1_000_000


def read_class_names(root: Path) -> dict[int, str]:
    """Class id -> name from root/data.yaml (`names` as a list or an {id: name} mapping)."""
    path = root / "data.yaml"
    if not path.is_file():
        raise DatasetError(f"{root}: no data.yaml (a YOLO dataset names its classes there: names: [with_mask, ...])")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid YAML ({exc})") from None
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, list):
        return {i: str(name) for i, name in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: `names` keys must be class ids (0, 1, ...), got {list(names)}") from None
    raise DatasetError(f"{path}: needs `names`, a list of class names or an {{id: name}} mapping")


def image_folders(root: Path) -> list[Path]:
    """The image folders of the dataset: data.yaml's train/val/test entries that exist, else root/images."""
    spec = yaml.safe_load((root / "data.yaml").read_text(encoding="utf-8")) or {}
    base = root / str(spec.get("path") or ".") if not os.path.isabs(str(spec.get("path") or "")) else root
    folders: list[Path] = []
    for key in ("train", "val", "test"):
        entries = spec.get(key)
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, str) and not os.path.isabs(entry):  # never leave the dataset folder
                folder = (base / entry).resolve()
                if folder.is_dir() and folder.is_relative_to(root.resolve()) and folder not in folders:
                    folders.append(folder)
    if not folders and (root / "images").is_dir():
        folders.append(root / "images")
    if not folders:
        raise DatasetError(f"{root}: no images/ folder and no existing train/val/test folder in data.yaml")
    return folders


def label_file(image: Path) -> Path:
    """ultralytics' rule: the last `images` folder of the path becomes `labels`, suffix .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def parse_label_line(line: str, names: dict[int, str]) -> tuple[str, tuple[float, float, float, float]]:
    """(class name, normalised xc, yc, w, h) of one line; raises Skip with the reason."""
    fields = line.split()
    if len(fields) != 5:
        raise Skip("bad_label", f"expected 5 fields (class xc yc w h), got {len(fields)}")
    try:
        class_id = int(fields[0])
        xc, yc, w, h = (float(v) for v in fields[1:])
    except ValueError:
        raise Skip("bad_label", f"non-numeric field in {line.strip()!r}") from None
    if class_id not in names:
        raise Skip("unknown_class", f"class id {class_id} is not in data.yaml names {sorted(names)}")
    if not all(math.isfinite(v) for v in (xc, yc, w, h)) or w <= 0 or h <= 0:
        raise Skip("bad_box", f"box {xc, yc, w, h} has no area or is not finite")
    return names[class_id], (xc, yc, w, h)


def _read_yolo(root: Path, boxes: SceneBoxes) -> str:
    """Every labelled box of the dataset's images (see the module docstring) into `boxes`."""
    names = read_class_names(root)
    images = sorted(p for folder in image_folders(root) for p in iter_image_files(folder))
    if not images:
        raise DatasetError(f"{root}: no images in {', '.join(str(f) for f in image_folders(root))}")
    for image in images:
        try:
            lines = _read_lines(label_file(image))
            width, height = image_size(image)
        except Skip as skip:
            boxes.skip(image, skip)
            continue
        if not lines:
            boxes.skipped.append(SkippedFile(str(image), "empty label file: no face boxes", "no_faces"))
            continue
        for k, line in enumerate(lines):
            try:
                name, (xc, yc, w, h) = parse_label_line(line, names)
                label = boxes.label(name)
                if label is None:
                    continue
                box = (xc - w / 2) * width, (yc - h / 2) * height, (xc + w / 2) * width, (yc + h / 2) * height
                boxes.add(image, label, box, width, height)
            except Skip as skip:
                boxes.skip(label_file(image), skip, f"line {k + 1}")
    return f"{len(images)} images"


load_yolo_dataset = scene_loader(
    _read_yolo,
    "YOLO",
    """One sample per face box of a YOLO dataset (see the module docstring for the layouts).

Args as `load_voc_dataset` (one loader: `data.scenes.scene_loader`): margin added when
cropping, min_face in pixels, label_map renames (None drops) class names, labels fixes the
order (a box of a class outside it is skipped and counted), source names the samples (default:
the root folder's name).
Every box of one image shares the group (the image stem), so a scene never straddles splits.
""",
)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise Skip("missing_labels", f"no label file {path.name} (expected at {path})")
    try:
        if path.stat().st_size > MAX_LABEL_BYTES:
            raise Skip("bad_label", f"label file is larger than {MAX_LABEL_BYTES:,} bytes; not a YOLO label file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Skip("bad_label", "label file is not UTF-8 text") from None
    except OSError as exc:
        raise Skip("bad_label", f"cannot read label file ({exc.strerror or exc})") from None
    return [line for line in text.splitlines() if line.strip()]
