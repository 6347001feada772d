"""Pascal VOC datasets: hostile or broken XML made in tmp_path, and the real voc3 slice."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskwatch import data
from maskwatch.data import DatasetError
from maskwatch.images import crop_box, load_image, resize_face


def _object(name: str, box) -> str:
    xmin, ymin, xmax, ymax = box
    return (
        f"<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def _voc(root: Path, stem: str, objects, size=(200, 100), written_size="same", xml: str | None = None) -> None:
    """An image of `size` (w, h) and its annotation; written_size None omits <size>."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    w, h = size
    ramp = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None].repeat(h, 0).repeat(3, 2)
    Image.fromarray(ramp).save(root / "images" / f"{stem}.png")
    if xml is None:
        ws = size if written_size == "same" else written_size
        size_xml = "" if ws is None else f"<size><width>{ws[0]}</width><height>{ws[1]}</height><depth>3</depth></size>"
        body = "".join(_object(n, b) for n, b in objects)
        xml = f"<annotation><folder>images</folder><filename>{stem}.png</filename>{size_xml}{body}</annotation>"
    (root / "annotations" / f"{stem}.xml").write_text(xml)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<annotation><filename>laughs.png</filename><object><name>&lol4;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>50</ymax></bndbox></object></annotation>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>external.png</filename><object><name>&xxe;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>50</ymax></bndbox></object></annotation>"""


@pytest.fixture
def hostile_voc(tmp_path: Path) -> Path:
    root = tmp_path / "voc"
    _voc(root, "good", [("with_mask", (10, 10, 50, 60)), ("without_mask", (100, 20, 140, 70))])
    _voc(root, "edge", [("with_mask", (180, -5, 230, 40))])  # partly outside: clipped
    _voc(root, "outside", [("with_mask", (250, 10, 300, 50)), ("without_mask", (5, 5, 45, 45))])
    _voc(root, "tiny", [("mask_weared_incorrect", (10, 10, 15, 40)), ("with_mask", (60, 10, 100, 50))])
    _voc(root, "nosize", [("with_mask", (150, 50, 260, 150))], written_size=None)
    _voc(root, "wrongsize", [("without_mask", (150, 50, 260, 150))], written_size=(640, 480))
    _voc(root, "badbox", [("with_mask", ("a", 1, 2, 3)), ("with_mask", (50, 50, 20, 80)), ("", (1, 1, 40, 40))])
    _voc(root, "malformed", [], xml="<annotation><filename>malformed.png</filename><object><name>with_mask</name>")
    _voc(root, "laughs", [], xml=BILLION_LAUGHS)
    _voc(root, "external", [], xml=EXTERNAL_ENTITY)
    (root / "annotations" / "noimage.xml").write_text(
        f"<annotation><filename>../../etc/noimage.png</filename>{_object('with_mask', (1, 1, 40, 40))}</annotation>"
    )
    return root


def _skips(ds) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in ds.skipped:
        found.setdefault(Path(s.path).stem, []).append(s.kind)
    return found


def test_hostile_and_broken_annotations_are_skipped_with_reasons(hostile_voc: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="maskwatch.data"):
        ds = data.load_voc_dataset(hostile_voc)

    assert _skips(ds) == {
        "badbox": ["bad_box", "bad_box", "bad_label"],
        "external": ["unsafe_xml"],
        "laughs": ["unsafe_xml"],
        "malformed": ["bad_xml"],
        "noimage": ["missing_image"],
        "outside": ["box_outside"],
        "tiny": ["small_face"],
    }
    reasons = {Path(s.path).stem: s.reason for s in ds.skipped}
    assert "EntitiesForbidden" in reasons["laughs"]
    assert "min_face=8" in reasons["tiny"] and "5x30" in reasons["tiny"]
    for stem in ("laughs", "external", "malformed", "noimage"):  # whole-file problems are logged by name
        assert any(f"{stem}.xml" in r.getMessage() for r in caplog.records)

    boxes = {(Path(s.path).stem, s.label): s.box for s in ds}
    assert boxes[("good", "with_mask")] == (10, 10, 50, 60)
    assert boxes[("edge", "with_mask")] == (180, 0, 200, 40)
    assert boxes[("nosize", "with_mask")] == (150, 50, 200, 100)  # size read from the image
    assert boxes[("wrongsize", "without_mask")] == (150, 50, 200, 100)
    assert ds.counts() == {"with_mask": 4, "without_mask": 3}  # mask_weared_incorrect only had a tiny face
    assert {s.group for s in ds} == {"good", "edge", "outside", "tiny", "nosize", "wrongsize"}
    assert all(s.margin == 0.1 and s.source == "voc" for s in ds)


def test_min_face_and_label_map(hostile_voc: Path) -> None:
    ds = data.load_voc_dataset(
        hostile_voc, min_face=4, label_map={"mask_weared_incorrect": "incorrect", "without_mask": None}, margin=0.2
    )
    assert ds.counts() == {"incorrect": 1, "with_mask": 4}
    assert "small_face" not in ds.skipped_by_kind()
    assert all(s.margin == 0.2 for s in ds)


def test_voc_crops_match_the_inference_crop(hostile_voc: Path) -> None:
    ds = data.load_voc_dataset(hostile_voc)
    x, y, skipped = data.load_faces(ds, (32, 32), progress=False)
    assert not skipped and len(x) == len(ds)
    for i, sample in enumerate(ds):
        expected = resize_face(crop_box(load_image(sample.path), sample.box, 0.1), (32, 32))
        assert np.array_equal(x[i], expected)
    # the ramp image grows left to right: a face further right is brighter
    left = next(i for i, s in enumerate(ds) if s.group == "good" and s.label == "with_mask")
    right = next(i for i, s in enumerate(ds) if s.group == "good" and s.label == "without_mask")
    assert x[right].mean() > x[left].mean() + 50
    assert list(y) == list(ds.label_indices())

    # a box that lies outside its image (hand-made sample) costs that face only, with the reason
    good = next(s for s in ds if s.group == "good")
    lost = data.FaceSample(good.path, good.label, good.group, (500.0, 500.0, 600.0, 650.0), "hand")
    nan = data.FaceSample(good.path, good.label, good.group, (float("nan"), 0.0, 9.0, 9.0), "hand")
    gone = data.FaceSample(str(hostile_voc / "images" / "gone.png"), good.label, "gone", None, "hand")
    mixed = data.FaceDataset([*ds.samples[:2], lost, nan, *ds.samples[2:], gone], ds.labels)
    x2, y2, skipped = data.load_faces(mixed, (32, 32), progress=False)
    assert {(s.kind, s.indices) for s in skipped} == {
        ("box_outside", (2,)),
        ("bad_box", (3,)),
        ("bad_image", (len(mixed) - 1,)),
    }
    assert np.array_equal(x2, x) and np.array_equal(y2, y)
    assert data.loaded_indices(mixed, skipped) == [i for i in range(len(mixed) - 1) if i not in (2, 3)]


def test_unusable_voc_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="annotations"):
        data.load_voc_dataset(tmp_path)
    _voc(tmp_path / "bad", "a", [], xml="<annotation>")
    with pytest.raises(DatasetError, match="no usable face"):
        data.load_voc_dataset(tmp_path / "bad")


def test_voc3_counts_match_the_xml(data_dir: Path) -> None:
    root = data_dir / "voc3"
    ds = data.load_voc_dataset(root)
    written: Counter[str] = Counter()
    too_small: Counter[str] = Counter()
    for xml in (root / "annotations").glob("*.xml"):
        ann = ET.parse(xml).getroot()
        w, h = int(ann.findtext("size/width")), int(ann.findtext("size/height"))
        for obj in ann.iter("object"):
            name = obj.findtext("name")
            x1, y1, x2, y2 = (float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
            written[name] += 1
            too_small[name] += min(min(x2, w) - max(x1, 0), min(y2, h) - max(y1, 0)) < data.MIN_FACE

    assert set(ds.labels) == {"with_mask", "without_mask", "mask_weared_incorrect"}
    assert all(n > 0 for n in ds.counts().values())
    assert sum(written.values()) == len(ds) + len(ds.skipped)
    assert ds.counts() == {label: written[label] - too_small[label] for label in ds.labels}
    assert ds.skipped_by_kind() == {"small_face": sum(too_small.values())}
    assert len({s.group for s in ds}) <= 300
    sizes = {}
    for s in ds:
        if s.path not in sizes:
            with Image.open(s.path) as img:
                sizes[s.path] = img.size
        w, h = sizes[s.path]
        x1, y1, x2, y2 = s.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert min(x2 - x1, y2 - y1) >= data.MIN_FACE
        assert s.group == Path(s.path).stem

    few = ds.subset([i for i, s in enumerate(ds) if s.group in sorted({s.group for s in ds})[:5]])
    x, y, skipped = data.load_faces(few, 40, progress=False)
    assert x.shape == (len(few), 40, 40, 3) and not skipped
