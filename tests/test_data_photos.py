"""Whole-photo sources: real webmask photos, faces found by the pipeline's own face detector."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwatch import data
from maskwatch.data import DatasetError
from maskwatch.train.faces import pipeline_face_finder


@pytest.fixture(scope="module")
def photo_root(data_dir: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    (root / "with_mask").mkdir()
    for path in sorted((data_dir / "webmask" / "with_mask").glob("*.jpg"))[:6]:
        shutil.copy(path, root / "with_mask")
    (root / "with_mask" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def test_largest_face_of_each_real_photo_gets_the_folder_label(photo_root: Path) -> None:
    ds = data.load_photo_dataset(photo_root, faces="largest", min_face=24, find_faces=pipeline_face_finder())
    assert 3 <= len(ds) <= 6  # YuNet finds a face in about 9 of 10 webmask photos
    assert len({s.path for s in ds.samples}) == len(ds)  # one face per photo
    assert {s.label for s in ds.samples} == {"with_mask"}
    assert all(s.box[2] - s.box[0] >= 24 for s in ds.samples)
    assert any(s.kind == "bad_image" and s.path.endswith("broken.jpg") for s in ds.skipped)
    missed = [s for s in ds.skipped if s.kind == "no_face"]
    assert len(ds) + len(missed) == 6


def test_all_faces_and_min_face_with_an_injected_finder(photo_root: Path) -> None:
    def two_faces(rgb: np.ndarray) -> np.ndarray:
        return np.array([[10, 10, 90, 100], [120, 20, 135, 35]], dtype=float)  # 80 px and 15 px wide

    every = data.load_photo_dataset(photo_root, faces="all", min_face=10, find_faces=two_faces)
    assert len(every) == 2 * 6
    big_only = data.load_photo_dataset(photo_root, faces="all", min_face=24, find_faces=two_faces)
    assert len(big_only) == 6
    largest = data.load_photo_dataset(photo_root, faces="largest", min_face=1, find_faces=two_faces)
    assert all(s.box == (10.0, 10.0, 90.0, 100.0) for s in largest.samples)


def test_no_face_anywhere_is_a_clear_error(photo_root: Path) -> None:
    with pytest.raises(DatasetError, match="no face found"):
        data.load_photo_dataset(photo_root, find_faces=lambda rgb: np.zeros((0, 4)))


def test_faces_option_is_checked(photo_root: Path) -> None:
    with pytest.raises(DatasetError, match="largest"):
        data.load_photo_dataset(photo_root, faces="biggest", find_faces=pipeline_face_finder())
    with pytest.raises(DatasetError, match="face finder"):
        data.load_photo_dataset(photo_root)
