"""Training data that is partly broken: every bad file, box and link is named and skipped, never fatal."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from maskwatch import data
from maskwatch.train.config import load_config

LABELS = ["with_mask", "without_mask", "mask_weared_incorrect"]


def _bomb_png(path: Path, width: int = 60_000, height: int = 60_000) -> None:
    """A tiny valid PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    )


def _voc_slice(data_dir: Path, root: Path, n: int = 3) -> list[Path]:
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    xmls = sorted((data_dir / "voc3" / "annotations").glob("*.xml"))[:n]
    for xml in xmls:
        shutil.copy(xml, root / "annotations")
        shutil.copy(data_dir / "voc3" / "images" / f"{xml.stem}.jpg", root / "images")
    return [root / "annotations" / x.name for x in xmls]


def test_bomb_image_inside_voc_is_skipped_with_maskwatchs_reason(data_dir: Path, tmp_path: Path) -> None:
    xmls = _voc_slice(data_dir, tmp_path)
    bomb = tmp_path / "images" / f"{xmls[0].stem}.jpg"
    bomb.unlink()
    _bomb_png(bomb.with_suffix(".png"))
    xmls[0].write_text(xmls[0].read_text().replace(".jpg<", ".png<"))
    ds = data.load_voc_dataset(tmp_path, labels=LABELS)
    bad = [s for s in ds.skipped if s.kind == "bad_image"]
    assert len(bad) == 1 and "maskwatch" in bad[0].reason and bad[0].path == str(xmls[0])
    assert len(ds) > 0 and all(xmls[0].stem not in s.path for s in ds.samples)


def test_unknown_class_skips_the_box_not_the_dataset(data_dir: Path, tmp_path: Path) -> None:
    xmls = _voc_slice(data_dir, tmp_path)
    text = xmls[1].read_text()
    first_name = text.split("<name>")[1].split("</name>")[0]
    xmls[1].write_text(text.replace(f"<name>{first_name}</name>", "<name>helmet</name>", 1))
    ds = data.load_voc_dataset(tmp_path, labels=LABELS)
    unknown = [s for s in ds.skipped if s.kind == "unknown_label"]
    assert len(unknown) == 1 and "helmet" in unknown[0].reason and unknown[0].path == str(xmls[1])
    assert len(ds) > 0


def test_label_map_null_drops_a_class_in_the_config(tmp_path: Path, data_dir: Path) -> None:
    cfg = load_config(
        {"data": {"sources": [{"type": "voc", "path": str(data_dir / "voc3"), "label_map": {"helmet": None}}]}}
    )
    assert cfg.data.sources[0].label_map == {"helmet": None}
    ds = data.load_voc_dataset(data_dir / "voc3", label_map={"mask_weared_incorrect": None})
    assert "mask_weared_incorrect" not in ds.labels


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_broken_links_and_link_loops_are_named(data_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "faces"
    for label in ("with_mask", "without_mask"):
        (root / label).mkdir(parents=True)
        for path in sorted((data_dir / "mask2" / label).glob("*.jpg"))[:3]:
            shutil.copy(path, root / label)
    (root / "with_mask" / "gone.jpg").symlink_to(tmp_path / "does_not_exist.jpg")
    (root / "without_mask" / "loop").symlink_to(root / "without_mask", target_is_directory=True)
    (root / "unlabelled").mkdir()
    ds = data.load_folder_dataset(root, labels=["with_mask", "without_mask"], group_by="stem")
    reasons = {Path(s.path).name: s.reason for s in ds.skipped}
    assert "broken symbolic link" in reasons["gone.jpg"]
    assert "loop" in reasons["loop"]
    assert "not in labels" in reasons["unlabelled"]
    assert len(ds) == 6
