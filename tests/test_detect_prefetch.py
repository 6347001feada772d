"""Folder runs decode and detect ahead in a background thread: same results, in order, bounded, bad files skipped."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import maskwatch
from maskwatch.detect.pipeline import MaskDetector
from maskwatch.detect.prefetch import detect_ahead
from maskwatch.images import load_image

SCENES = ("maksssksksss104", "maksssksksss311", "maksssksksss331", "maksssksksss389", "maksssksksss739")


@pytest.fixture()
def folder(data_dir: Path, tmp_path: Path) -> Path:
    for i, stem in enumerate(SCENES):
        shutil.copy(data_dir / "voc3" / "images" / f"{stem}.jpg", tmp_path / f"{i}_{stem}.jpg")
    (tmp_path / "2b_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return tmp_path


def test_detect_ahead_keeps_order_skips_bad_files_and_stays_bounded(folder: Path) -> None:
    paths = sorted(folder.glob("*.jpg"))
    started: list[str] = []
    threads: set[str] = set()

    def load(path: Path) -> np.ndarray:
        started.append(path.name)
        return load_image(path)

    def find(rgb: np.ndarray):
        threads.add(threading.current_thread().name)
        return rgb.shape

    seen = []
    for i, item in enumerate(detect_ahead(paths, load, find, depth=2)):
        assert len(started) <= i + 3  # never more than depth + 1 images in flight
        seen.append(item.path.name)
        if item.path.name == "2b_broken.jpg":
            assert item.error is not None and "2b_broken.jpg" in str(item.error)
            assert item.image is None
        else:
            assert item.error is None and item.faces == item.image.shape
    assert seen == [p.name for p in paths]
    assert threads and all(name.startswith("maskwatch-prefetch") for name in threads)


def test_detect_ahead_stops_reading_when_the_caller_stops(folder: Path) -> None:
    started: list[Path] = []

    def load(path: Path) -> np.ndarray:
        started.append(path)
        return load_image(path)

    items = detect_ahead(sorted(folder.glob("*.jpg")), load, lambda rgb: None, depth=1)
    next(items)
    items.close()
    assert len(started) <= 3


def test_folder_run_with_prefetch_equals_one_image_at_a_time(folder: Path) -> None:
    detector = MaskDetector(quiet=True)
    results = maskwatch.detect(folder, detector=detector, verbose=False)
    assert [Path(r["source"]).name for r in results] == sorted(p.name for p in folder.glob("*_maks*.jpg"))
    for result in results:
        expected = detector.process(load_image(result["source"]))
        boxes = np.array([d["box"] for d in result["detections"]]).reshape(-1, 4)
        np.testing.assert_allclose(boxes, expected.xyxy.reshape(-1, 4), atol=0.06)
        assert [d["label"] for d in result["detections"]] == list(expected.data["class_name"])
