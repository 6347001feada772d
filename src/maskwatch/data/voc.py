"""Pascal VOC datasets (images/ + annotations/*.xml): one sample per annotated face box.

This is how the andrewmvd face-mask set (shared/data/voc3) and most detection sets ship.
The XML is untrusted input, so it is parsed with defusedxml: entity declarations (billion
laughs) and external references are refused and that file is skipped with the reason.
Boxes are clipped to the real image size (read from the image header, EXIF rotation taken
into account, because `<size>` is sometimes missing or wrong); the crop margin is only
applied when pixels are loaded, exactly as detection crops are made.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from maskwatch.data.samples import DatasetError
from maskwatch.data.scenes import SceneBoxes, Skip, image_size, scene_loader
from maskwatch.images import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

#: A VOC annotation is a few KB; anything this large is not one.
MAX_XML_BYTES = 5_000_000


@dataclass(frozen=True)
class VocObject:
    """One `<object>` of an annotation, as written (label not yet mapped, box not yet clipped)."""

    name: str
    box: tuple[float, float, float, float] | None
    problem: str = ""


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    size: tuple[int, int] | None  # (width, height) as written, None when missing/unusable
    objects: list[VocObject]


def parse_voc_xml(path: str | os.PathLike) -> VocAnnotation:
    """Parse one annotation safely; raises Skip with the reason when the file cannot be used."""
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        if os.path.getsize(path) > MAX_XML_BYTES:
            raise Skip("bad_xml", f"annotation is larger than {MAX_XML_BYTES:,} bytes; not a VOC file")
        root = SafeET.parse(path).getroot()
    except defusedxml.DefusedXmlException as exc:
        raise Skip("unsafe_xml", f"unsafe XML refused ({type(exc).__name__}: {exc})") from None
    except SafeET.ParseError as exc:
        raise Skip("bad_xml", f"malformed XML ({exc})") from None
    except (OSError, ValueError) as exc:
        raise Skip("bad_xml", f"cannot read XML ({exc})") from None
    if root.tag != "annotation":
        raise Skip("bad_xml", f"root element is <{root.tag}>, not <annotation>")
    return VocAnnotation(
        filename=(root.findtext("filename") or "").strip(),
        size=_read_size(root),
        objects=[_read_object(obj) for obj in root.iter("object")],
    )


def _read_size(root: Element) -> tuple[int, int] | None:
    try:
        width, height = int(root.findtext("size/width", "")), int(root.findtext("size/height", ""))
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None


def _read_object(obj: Element) -> VocObject:
    name = (obj.findtext("name") or "").strip()
    try:
        box = tuple(float(obj.findtext(f"bndbox/{key}", "")) for key in ("xmin", "ymin", "xmax", "ymax"))
    except ValueError:
        return VocObject(name, None, "box missing or not numeric")
    if not all(math.isfinite(v) for v in box):
        return VocObject(name, None, f"box {box} is not finite")
    if box[2] <= box[0] or box[3] <= box[1]:
        return VocObject(name, None, f"box {box} has no area (xmax <= xmin or ymax <= ymin)")
    return VocObject(name, box)  # type: ignore[arg-type]


def find_image(images_dir: Path, filename: str, xml_stem: str) -> Path:
    """The image an annotation describes: `<filename>` in images_dir, else any image with its stem.

    Only the file name is used (never a path from the XML), so an annotation cannot point
    outside the images folder.
    """
    name = Path(filename.replace("\\", "/")).name
    if name and (images_dir / name).is_file():
        return images_dir / name
    for stem in dict.fromkeys(s for s in (Path(name).stem, xml_stem) if s):
        for suffix in sorted(IMAGE_SUFFIXES):
            for candidate in (images_dir / f"{stem}{suffix}", images_dir / f"{stem}{suffix.upper()}"):
                if candidate.is_file():
                    return candidate
    raise Skip("missing_image", f"image {filename or xml_stem!r} not found in {images_dir}")


def _subfolder(root: Path, names: Sequence[str]) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise DatasetError(f"{root}: no {' or '.join(names)} folder (expected a Pascal VOC layout: images/ + annotations/)")


def _read_voc(root: Path, boxes: SceneBoxes) -> str:
    """Every face box of root/annotations/*.xml (images in root/images/) into `boxes`."""
    annotations = _subfolder(root, ("annotations", "Annotations"))
    images_dir = _subfolder(root, ("images", "JPEGImages"))
    xml_files = sorted(p for p in annotations.glob("*.xml") if not p.name.startswith("."))
    if not xml_files:
        raise DatasetError(f"{annotations}: no .xml annotation files")
    size_fixed = 0
    for xml in xml_files:
        try:
            ann = parse_voc_xml(xml)
            image = find_image(images_dir, ann.filename, xml.stem)
            width, height = image_size(image)
        except Skip as skip:
            boxes.skip(xml, skip)
            continue
        size_fixed += ann.size != (width, height)
        for k, obj in enumerate(ann.objects):
            try:
                if not obj.name:
                    raise Skip("bad_label", "object has no <name>")
                label = boxes.label(obj.name)
                if label is None:
                    continue
                if obj.box is None:
                    raise Skip("bad_box", obj.problem)
                boxes.add(image, label, obj.box, width, height)
            except Skip as skip:
                boxes.skip(xml, skip, f"object {k} ({obj.name or 'no name'})")
    if size_fixed:
        log.info("%s: %d annotations had a missing or wrong <size>; the image's own size was used", root, size_fixed)
    return f"{len(xml_files)} annotation files"


load_voc_dataset = scene_loader(
    _read_voc,
    "VOC",
    """One sample per face box of root/annotations/*.xml (images in root/images/).

Args:
    root: folder with `images/` and `annotations/` (or VOC's `JPEGImages/` + `Annotations/`).
    margin: fraction of the box size added on each side when the face is cut out
        (the evaluation crops use 0.1).
    min_face: faces whose shorter side (after clipping) is below this many pixels are skipped.
    label_map: rename classes (old -> new); a class mapped to None is dropped.
    labels: label order; default sorted class names.
    source: name stored in every sample (default: the root folder's name).

Every face of one image shares the group (the image stem), so a scene never straddles
splits. Bad XML files, missing images and unusable boxes are skipped and listed in
`dataset.skipped`; a dataset without any usable face raises DatasetError.""",
)
