"""YOLO datasets: a real slice of scenes_yolo, and broken label files made in tmp_path."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from maskwatch import data
from maskwatch.data import DatasetError

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _real_slice(data_dir: Path, root: Path, n: int = 6) -> list[str]:
    """The first n scenes_yolo images with their label files, copied into root; returns their stems."""
    src = data_dir / "scenes_yolo"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    shutil.copy(src / "data.yaml", root / "data.yaml")
    stems = sorted(p.stem for p in (src / "labels").glob("*.txt"))[:n]
    for stem in stems:
        shutil.copy(next((src / "images").glob(f"{stem}.*")), root / "images")
        shutil.copy(src / "labels" / f"{stem}.txt", root / "labels")
    return stems


def test_real_scenes_give_one_sample_per_box_in_pixels(data_dir: Path, tmp_path: Path) -> None:
    stems = _real_slice(data_dir, tmp_path)
    ds = data.load_yolo_dataset(tmp_path, labels=LABELS, min_face=1)
    lines = sum(len((tmp_path / "labels" / f"{s}.txt").read_text().split()) // 5 for s in stems)
    assert 0 < len(ds) == lines - sum(s.kind == "small_face" for s in ds.skipped)
    sample = ds.samples[0]
    width, height = Image.open(sample.path).size
    x1, y1, x2, y2 = sample.box
    assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    # normalised centre/size -> pixels: the first line of that file, scaled by the image size
    first = (tmp_path / "labels" / f"{Path(sample.path).stem}.txt").read_text().split()
    assert (x1 + x2) / 2 == pytest.approx(float(first[1]) * width, abs=0.5)
    assert x2 - x1 == pytest.approx(float(first[3]) * width, abs=0.5)
    assert {s.group for s in ds.samples} <= set(stems)  # one group per scene
    assert set(ds.counts()) == set(LABELS)


def test_bad_label_lines_and_files_are_skipped_and_counted(data_dir: Path, tmp_path: Path) -> None:
    stems = _real_slice(data_dir, tmp_path, n=5)
    good = len(data.load_yolo_dataset(tmp_path, labels=LABELS, min_face=1))
    labels = tmp_path / "labels"
    (labels / f"{stems[0]}.txt").write_text(
        "0 0.5 0.5 0.2 0.2\n"  # fine
        "7 0.5 0.5 0.2 0.2\n"  # class id data.yaml does not name
        "0 abc 0.5 0.2 0.2\n"  # non-numeric
        "0 1.8 1.9 0.1 0.1\n"  # box outside the image
        "1 0.5 0.5 0.2\n"  # 4 fields
    )
    (labels / f"{stems[1]}.txt").write_text("")  # empty label file: no faces
    (labels / f"{stems[2]}.txt").unlink()  # missing label file
    ds = data.load_yolo_dataset(tmp_path, labels=LABELS, min_face=1)
    kinds = Counter(s.kind for s in ds.skipped)
    assert kinds["unknown_class"] == 1
    assert kinds["bad_label"] == 2
    assert kinds["box_outside"] == 1
    assert kinds["no_faces"] == 1
    assert kinds["missing_labels"] == 1
    assert len(ds) < good
    assert any(stems[2] in s.path and "no label file" in s.reason for s in ds.skipped)
    assert all(Path(s.path).stem in set(stems) for s in ds.samples)


def test_corrupt_image_is_skipped_not_fatal(data_dir: Path, tmp_path: Path) -> None:
    stems = _real_slice(data_dir, tmp_path, n=3)
    image = next((tmp_path / "images").glob(f"{stems[0]}.*"))
    image.write_bytes(b"not an image at all")
    ds = data.load_yolo_dataset(tmp_path, labels=LABELS, min_face=1)
    assert any(s.kind == "bad_image" and s.path == str(image) for s in ds.skipped)
    assert len(ds) > 0


def test_label_map_drops_a_class_and_unknown_labels_skip_boxes(data_dir: Path, tmp_path: Path) -> None:
    _real_slice(data_dir, tmp_path)
    only_masked = data.load_yolo_dataset(tmp_path, label_map={"without_mask": None}, min_face=1)
    assert set(only_masked.counts()) == {"with_mask"}
    narrow = data.load_yolo_dataset(tmp_path, labels=["with_mask", "other"], min_face=1)
    assert any(s.kind == "unknown_label" for s in narrow.skipped)
    assert {s.label for s in narrow.samples} == {"with_mask"}


def test_data_yaml_is_required_and_checked(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="data.yaml"):
        data.load_yolo_dataset(tmp_path)
    (tmp_path / "data.yaml").write_text("names: 3\n")
    with pytest.raises(DatasetError, match="names"):
        data.load_yolo_dataset(tmp_path)


def test_roboflow_split_folders_from_data_yaml(data_dir: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    stems = _real_slice(data_dir, flat, n=4)
    root = tmp_path / "roboflow"
    for split, chosen in (("train", stems[:2]), ("valid", stems[2:])):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir()
        for stem in chosen:
            shutil.copy(next((flat / "images").glob(f"{stem}.*")), root / split / "images")
            shutil.copy(flat / "labels" / f"{stem}.txt", root / split / "labels")
    (root / "data.yaml").write_text("train: train/images\nval: valid/images\nnames: [with_mask, without_mask]\n")
    ds = data.load_yolo_dataset(root, min_face=1)
    assert {Path(s.path).stem for s in ds.samples} == set(stems)
