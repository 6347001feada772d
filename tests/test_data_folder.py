"""Folder-per-class datasets and load_faces on every kind of bad or odd image file.

All files are made here in tmp_path, so each case is known exactly.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwatch import data
from maskwatch.data import DatasetError
from maskwatch.errors import ConfigError

SIZE = (24, 24)


def _pattern(seed: int, shape=(48, 40)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize(shape[::-1], Image.BILINEAR))


def _save(path: Path, image: Image.Image, fmt: str | None = None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt, **kwargs)
    return path


def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    """A 2-class folder with good images of every mode and three unreadable files."""
    root = tmp_path / "faces"
    good, bad = root / "with_mask", root / "without_mask"
    _save(good / "rgb.jpg", Image.fromarray(_pattern(0)))
    _save(good / "gray.png", Image.fromarray(np.full((30, 30), 77, np.uint8)))
    rgba = np.zeros((30, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 15:, 3] = 255  # left half transparent -> white, right half opaque red
    _save(good / "rgba.png", Image.fromarray(rgba, "RGBA"))
    palette = Image.fromarray(np.repeat(np.array([[0] * 15 + [1] * 15], np.uint8), 30, axis=0), "P")
    palette.putpalette([10, 120, 240, 250, 20, 30])
    _save(good / "palette.png", palette)
    _save(good / "sixteen.png", Image.fromarray(np.full((30, 30), 65535 // 2, np.uint16)))
    for i in range(3):
        _save(bad / f"face{i}.jpg", Image.fromarray(_pattern(10 + i)))
    (bad / "corrupt.jpg").write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    full = _jpeg_bytes(np.random.default_rng(6).integers(0, 256, (80, 80, 3), dtype=np.uint8))
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (bad / "notes.jpg").write_text("this is a text file renamed to .jpg\n")
    (bad / "readme.txt").write_text("not an image suffix: ignored")
    return root


BAD_FILES = {"corrupt.jpg", "truncated.jpg", "notes.jpg"}


def test_load_faces_skips_bad_files_and_converts_modes(odd_folder: Path, caplog) -> None:
    ds = data.load_folder_dataset(odd_folder, group_by="stem")
    assert ds.labels == ["with_mask", "without_mask"]
    assert ds.counts() == {"with_mask": 5, "without_mask": 6}  # readme.txt is not listed
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        x, y, skipped = data.load_faces(ds, SIZE, workers=2, progress=False)

    assert {Path(s.path).name for s in skipped} == BAD_FILES
    assert all(s.kind == "bad_image" and s.reason for s in skipped)
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "truncated" in reasons["truncated.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    for name in BAD_FILES:  # one log line naming the file and its reason
        assert any(name in r.getMessage() and reasons[name] in r.getMessage() for r in caplog.records)

    assert x.dtype == np.uint8 and x.shape == (8, *SIZE, 3)
    assert y.dtype == np.int64 and list(y) == [0] * 5 + [1] * 3
    kept = [s for s in ds.samples if Path(s.path).name not in BAD_FILES]
    by_name = {Path(s.path).stem: x[i] for i, s in enumerate(kept)}
    assert np.all(by_name["gray"] == 77)
    assert np.all(by_name["rgba"][:, :10] == 255)  # transparent composited on white
    assert np.all(by_name["rgba"][:, 14:] == (200, 0, 0))
    assert np.all(by_name["palette"][:, :10] == (10, 120, 240))
    assert np.all(by_name["palette"][:, 14:] == (250, 20, 30))
    assert np.all(np.abs(by_name["sixteen"].astype(int) - 127) <= 1)  # 16-bit scaled, not clipped

    rows = data.loaded_indices(ds, skipped)
    assert [ds.samples[i] for i in rows] == kept
    assert sorted(i for s in skipped for i in s.indices) == sorted(set(range(len(ds))) - set(rows))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :20] = 255  # left half white
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # viewer must rotate 90 degrees clockwise: the white half ends up on top
    _save(tmp_path / "rot" / "a" / "rotated.jpg", image, "JPEG", exif=exif.tobytes(), quality=95)
    _save(tmp_path / "rot" / "a" / "plain.jpg", image, "JPEG", quality=95)
    ds = data.load_folder_dataset(tmp_path / "rot", group_by="stem")
    x, _, skipped = data.load_faces(ds, (40, 20), progress=False)
    assert not skipped
    plain, rotated = (x[[Path(s.path).stem for s in ds.samples].index(n)].astype(int) for n in ("plain", "rotated"))
    assert rotated[:16].mean() > 240 and rotated[24:].mean() < 15
    assert plain[:, :8].mean() > 240 and plain[:, 12:].mean() < 15  # without EXIF: no rotation


def test_phash_grouping_skips_unreadable_files_at_build_time(odd_folder: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        ds = data.load_folder_dataset(odd_folder)  # group_by="phash" reads every image
    assert {Path(s.path).name for s in ds.skipped} == BAD_FILES
    assert len(ds) == 8 and not {Path(s.path).name for s in ds} & BAD_FILES
    assert ds.skipped_by_kind() == {"bad_image": 3}
    assert "skipped 3 (bad_image 3)" in ds.summary()
    _, _, skipped = data.load_faces(ds, SIZE, progress=False)
    assert skipped == []


def test_empty_dataset_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        data.load_folder_dataset(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match=str(empty)):
        data.load_folder_dataset(empty)
    (empty / "with_mask").mkdir()
    (empty / "without_mask").mkdir()
    with pytest.raises(DatasetError, match=f"{empty}.*no images"):
        data.load_folder_dataset(empty)


def test_empty_class_folder_is_a_warning(tmp_path: Path, caplog) -> None:
    _save(tmp_path / "ds" / "with_mask" / "a.jpg", Image.fromarray(_pattern(1)))
    (tmp_path / "ds" / "without_mask").mkdir()
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        ds = data.load_folder_dataset(tmp_path / "ds", group_by="stem")
    assert ds.counts() == {"with_mask": 1, "without_mask": 0}
    assert any("without_mask" in r.getMessage() and "no images" in r.getMessage() for r in caplog.records)


def test_label_map_order_and_hidden_folders(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    for folder, n in (("mask", 2), ("no_mask", 3), ("junk", 1), ("incorrect", 1)):
        for i in range(n):
            _save(root / folder / f"{folder}{i}.png", Image.fromarray(_pattern(i)))
    _save(root / "mask" / ".ipynb_checkpoints" / "mask0-checkpoint.png", Image.fromarray(_pattern(0)))
    _save(root / ".trash" / "x.png", Image.fromarray(_pattern(0)))
    mapping = {"mask": "with_mask", "no_mask": "without_mask", "junk": None, "incorrect": "mask_weared_incorrect"}

    ds = data.load_folder_dataset(root, label_map=mapping, group_by="stem")
    assert ds.labels == sorted(["with_mask", "without_mask", "mask_weared_incorrect"])
    assert ds.counts() == {"mask_weared_incorrect": 1, "with_mask": 2, "without_mask": 3}
    assert all("checkpoint" not in s.path and ".trash" not in s.path for s in ds)
    assert {s.source for s in ds} == {"ds"}

    order = ["with_mask", "without_mask", "mask_weared_incorrect"]
    ds = data.load_folder_dataset(root, label_map=mapping, labels=order, group_by="stem")
    assert ds.labels == order
    assert list(ds.label_indices()) == [2, 0, 0, 1, 1, 1]  # folders read sorted: incorrect, mask, no_mask
    with pytest.raises(DatasetError, match="junk"):  # nothing usable: the error names what was left out
        data.load_folder_dataset(root, labels=order, group_by="stem")
    partial = data.load_folder_dataset(root, label_map={"mask": "with_mask"}, labels=order, group_by="stem")
    assert partial.counts()["with_mask"] == 2  # an unknown class folder is skipped and named, not fatal
    assert {Path(s.path).name for s in partial.skipped if s.kind == "unknown_label"} == {"junk", "incorrect", "no_mask"}


def test_manifest_groups_relative_to_the_manifest(tmp_path: Path, caplog) -> None:
    root = tmp_path / "sets" / "two"
    for cls, names in (("with_mask", ["p1", "q"]), ("without_mask", ["p2", "r", "unlisted"])):
        for name in names:
            _save(root / cls / f"{name}.jpg", Image.fromarray(_pattern(len(name))))
    manifest = tmp_path / "sets" / "MANIFEST.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "class", "group"])
        for rel, cls, group in (
            ("two/with_mask/p1.jpg", "with_mask", "pair"),
            ("two/without_mask/p2.jpg", "without_mask", "pair"),
            ("two/with_mask/q.jpg", "with_mask", "gq"),
            ("two/without_mask/r.jpg", "without_mask", "gr"),
        ):
            writer.writerow([rel, cls, group])
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        ds = data.load_folder_dataset(root, manifest=manifest)
    groups = {Path(s.path).stem: s.group for s in ds}
    assert groups == {"p1": "pair", "p2": "pair", "q": "gq", "r": "gr", "unlisted": "unlisted"}
    assert any("1 files are not in" in r.getMessage() for r in caplog.records)

    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nx.jpg,a\n")
    with pytest.raises(DatasetError, match="group"):
        data.load_folder_dataset(root, manifest=bad)


def test_load_faces_checks_input_size(odd_folder: Path) -> None:
    ds = data.load_folder_dataset(odd_folder, group_by="stem")
    with pytest.raises(ConfigError, match="input_size"):
        data.load_faces(ds, 0, progress=False)
    x, y, _ = data.load_faces(ds.subset([0, 1]), (16, 12), progress=False)
    assert x.shape == (2, 16, 12, 3) and y.shape == (2,)
